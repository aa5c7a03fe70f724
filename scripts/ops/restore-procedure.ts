/**
 * The point-in-time restore procedure, one home for the operators' `restore` command and the lab's
 * drill: every step is a node script (scripts/node/galera/restore.sh, binlog-ship.sh, stop.sh,
 * start.sh; scripts/node/gluster/restore.sh) run as root on the node through the ops transport, so the
 * lab proves exactly what an operator runs.
 *
 *   0. checks, touching nothing: a complete database backup and a file snapshot exist before TIME
 *      (restore.sh check on the first node of each tier);
 *   1. ship the last binary logs from every database node that answers (best effort: a node that is
 *      gone has shipped up to its last minute);
 *   2. stop mariadb on every database node (a restore replaces the cluster's data; no node may keep
 *      serving the old state);
 *   3. on the bootstrap node: replace the datadir with the newest backup before TIME and replay the
 *      binary logs up to TIME (restore.sh datadir);
 *   4. start it as a new cluster (start.sh bootstrap: it refuses unless every peer is provably down);
 *   5. on every other node, one at a time: empty the datadir and join by SST;
 *   6. files: unpack the newest snapshot before TIME into the Gluster volume (gluster/restore.sh).
 *
 * ownCloud must be in maintenance mode meanwhile (`occ maintenance:mode --on` on one web node), and
 * `occ files:scan --all` afterwards reconciles files written after the file snapshot.
 */
import { OpsNode } from "./target";
import { NodeRunner, RunResult, ScriptRun } from "./transport";

export interface RestoreTarget {
    /** Database nodes; `bootstrapNode` is restored and starts the new cluster. */
    galera: { nodes: OpsNode[]; bootstrapNode: string; syncTimeoutSeconds: number };
    /** Gluster nodes; the first that succeeds restores the files. Empty: no file restore. */
    gluster: { nodes: OpsNode[] };
}

export interface RestoreReport {
    to: string;
    shipped: Record<string, string>;
    database: Record<string, unknown>;
    files?: Record<string, unknown>;
    seconds: { database: number; files: number; total: number };
}

/** Bound of a step that moves a whole backup (download, prepare, replay, unpack). */
export const RESTORE_STREAM_TIMEOUT_S = 6 * 3600;

/** A UTC time as the node scripts take it (`YYYY-MM-DDTHH:MM:SSZ`); throws naming the fix. */
export function parseRestoreTime(input: string): string {
    const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:Z|\+00:00)?$/.exec(input.trim());
    if (!m || Number.isNaN(Date.parse(`${m[1]}T${m[2]}Z`))) {
        throw new Error(`--to "${input}": give a UTC time like 2026-11-24T14:05:00Z (the restore keeps what was committed before it)`);
    }
    return `${m[1]}T${m[2]}Z`;
}

/** The JSON object a node script prints on its last stdout line ({} when there is none). */
export function lastJson(stdout: string): Record<string, unknown> {
    const line = stdout.trim().split("\n").pop() ?? "";
    try {
        return JSON.parse(line) as Record<string, unknown>;
    } catch {
        return {};
    }
}

const tail = (r: RunResult, n: number) => (r.stderr + r.stdout).trim().split("\n").slice(-n).join("\n");

export interface RestoreStep {
    node: OpsNode;
    run: ScriptRun;
    what: string;
}

/** The procedure as data (pure): checks first (they touch nothing), then the steps in order. */
export function restoreSteps(t: RestoreTarget, to: string): { checks: RestoreStep[]; ship: RestoreStep[]; stop: RestoreStep[]; database: RestoreStep[]; files: RestoreStep[] } {
    const boot = t.galera.nodes.find((n) => n.name === t.galera.bootstrapNode);
    if (!boot) throw new Error(`bootstrap node ${t.galera.bootstrapNode} is not one of the Galera nodes`);
    const others = t.galera.nodes.filter((n) => n !== boot);
    const peersOf = (n: OpsNode) => t.galera.nodes.filter((x) => x !== n).map((x) => x.address).join(",");
    const sync = t.galera.syncTimeoutSeconds;
    const step = (node: OpsNode, script: string, what: string, timeoutSeconds: number, args?: string[], env?: Record<string, string>): RestoreStep => ({
        node,
        what,
        run: { script, args, env, timeoutSeconds },
    });
    const fs = t.gluster.nodes;
    return {
        checks: [
            step(boot, "galera/restore.sh", `a complete database backup before ${to}`, 300, ["check", "--to", to]),
            ...(fs.length ? [step(fs[0], "gluster/restore.sh", `a complete file snapshot before ${to}`, 300, ["check", "--to", to])] : []),
        ],
        ship: t.galera.nodes.map((n) => step(n, "galera/binlog-ship.sh", "ship the last binary logs", 300)),
        stop: t.galera.nodes.map((n) => step(n, "galera/stop.sh", "stop mariadb", 330)),
        database: [
            step(boot, "galera/restore.sh", `restore the datadir to ${to}`, RESTORE_STREAM_TIMEOUT_S, ["datadir", "--to", to]),
            step(boot, "galera/start.sh", "start it as a new cluster", sync + 180, undefined, { GALERA_MODE: "bootstrap", GALERA_PEERS: peersOf(boot), GALERA_SYNC_TIMEOUT: String(sync) }),
            ...others.flatMap((n) => [
                step(n, "galera/restore.sh", "empty the datadir", 300, ["wipe"]),
                step(n, "galera/start.sh", "join by SST", sync + 60, undefined, { GALERA_MODE: "join", GALERA_PEERS: peersOf(n), GALERA_SYNC_TIMEOUT: String(sync) }),
            ]),
        ],
        files: fs.map((n) => step(n, "gluster/restore.sh", `restore the files to ${to}`, RESTORE_STREAM_TIMEOUT_S, ["files", "--to", to])),
    };
}

export const describeStep = (s: RestoreStep) => `${s.node.tier}-${s.node.name}: ${s.what} (${s.run.script}${s.run.args ? " " + s.run.args.join(" ") : ""})`;

/**
 * Runs the checks; with `execute` false it stops there (returns undefined). Otherwise runs the
 * procedure and stops at the first failure, saying where the cluster was left.
 */
export async function restoreToPointInTime(
    runner: NodeRunner,
    t: RestoreTarget,
    toInput: string,
    opts: { execute: boolean; log?: (m: string) => void },
): Promise<RestoreReport | undefined> {
    const log = opts.log ?? (() => undefined);
    const to = parseRestoreTime(toInput);
    const plan = restoreSteps(t, to);
    const t0 = Date.now();
    for (const c of plan.checks) {
        const r = await runner.runScript(c.node, c.run);
        if (r.code !== 0) throw new Error(`cannot restore: ${describeStep(c)} failed (exit ${r.code}):\n${tail(r, 8)}\nNothing was stopped or changed.`);
        log(`ok  ${describeStep(c)}: ${JSON.stringify(lastJson(r.stdout))}`);
    }
    if (!opts.execute) return undefined;

    const must = async (s: RestoreStep, where: string) => {
        log(describeStep(s));
        const r = await runner.runScript(s.node, s.run);
        if (r.code !== 0) throw new Error(`${describeStep(s)} failed (exit ${r.code}):\n${tail(r, 12)}\n${where}`);
        return r;
    };
    const shipped: Record<string, string> = {};
    await Promise.all(
        plan.ship.map(async (s) => {
            const r = await runner.runScript(s.node, s.run);
            shipped[s.node.name] = r.code === 0 ? JSON.stringify(lastJson(r.stdout)) : `failed (exit ${r.code}): ${tail(r, 1)}`;
        }),
    );
    log(`shipped: ${JSON.stringify(shipped)}`);
    await Promise.all(plan.stop.map((s) => must(s, "Only mariadbd was stopped (no data changed): `galera-recover` starts the cluster again on its old data.")));
    let database: Record<string, unknown> = {};
    for (const [i, s] of plan.database.entries()) {
        const r = await must(
            s,
            i === 0
                ? "Every node is stopped; the bootstrap node's datadir is unchanged unless the log above says it was swapped: run restore again with the same --to."
                : "The data directories were changed: fix the cause and run restore again with the same --to.",
        );
        if (i === 0) database = lastJson(r.stdout);
    }
    const tDb = Date.now();
    let files: Record<string, unknown> | undefined;
    const errors: string[] = [];
    for (const s of plan.files) {
        log(describeStep(s));
        const r = await runner.runScript(s.node, s.run);
        if (r.code === 0) {
            files = { node: s.node.name, ...lastJson(r.stdout) };
            break;
        }
        errors.push(`${s.node.name}: ${tail(r, 3)}`);
    }
    if (plan.files.length && !files) {
        throw new Error(`the database is restored and running, but the file restore failed on every Gluster node:\n${errors.join("\n")}\nFix the cause and run gluster/restore.sh files --to ${to} on one of them.`);
    }
    const tEnd = Date.now();
    return { to, shipped, database, files, seconds: { database: (tDb - t0) / 1000, files: (tEnd - tDb) / 1000, total: (tEnd - t0) / 1000 } };
}
