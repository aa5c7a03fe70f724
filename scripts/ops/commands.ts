/**
 * The operators' runbook as commands. Each takes the target and a NodeRunner (real ssh or a fake)
 * and runs only the node scripts the program staged (or the backup scripts it installs).
 */
import { NodeRunner, RunResult, tail } from "./transport";
import { OpsNode, OpsTarget, OpsUsageError } from "./target";
import { describeStep, lastJson, parseRestoreTime, restoreSteps, restoreToPointInTime } from "./restore-procedure";

export type Print = (line: string) => void;

// ------------------------------------------------------------------------------------ status

export interface NodeState {
    node: OpsNode;
    /** Short human summary of the node's state. */
    state: string;
    /** Anything that needs attention (empty when healthy). */
    problems: string[];
    /** What the node's status script printed (empty when it did not answer). */
    fields: Record<string, string>;
    /** The node's status script answered. */
    answered: boolean;
}

export const STATUS_TIMEOUT_S = { galera: 30, gluster: 150 } as const;

/** Parses `key=value` lines (gluster/status.sh: values may hold spaces). */
export function parseKvLines(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return out;
}

/** Parses `key=value` pairs separated by spaces (galera/status.sh's one line). */
export function parseKv(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of text.trim().split(/\s+/)) {
        const i = p.indexOf("=");
        if (i > 0) out[p.slice(0, i)] = p.slice(i + 1);
    }
    return out;
}

/** One Galera node from galera/status.sh: healthy = running, Primary, Synced (4), full size, health 200. */
export function galeraNodeState(node: OpsNode, clusterSize: number, r: RunResult): NodeState {
    if (r.code !== 0) return { node, state: "unreachable", problems: [`status.sh failed (exit ${r.code}): ${tail(r, 2)}`], fields: {}, answered: false };
    const kv = parseKv(r.stdout.trim().split("\n").pop() ?? "");
    if (kv.running !== "1") return { node, state: "mariadbd stopped", problems: ["mariadbd is not running"], fields: kv, answered: true };
    const problems: string[] = [];
    if (kv.cluster_status !== "Primary") problems.push(`cluster status ${kv.cluster_status ?? "?"}`);
    if (kv.state !== "4") problems.push(`local state ${kv.state_comment ?? "?"} (${kv.state ?? "?"}), not Synced`);
    if (kv.cluster_size !== String(clusterSize)) problems.push(`cluster size ${kv.cluster_size ?? "?"} of ${clusterSize}`);
    if (kv.health !== "200") problems.push(`health check answers ${kv.health ?? "?"}`);
    return { node, state: `${kv.state_comment ?? "?"} ${kv.cluster_status ?? "?"} size=${kv.cluster_size ?? "?"}/${clusterSize} health=${kv.health ?? "?"}`, problems, fields: kv, answered: true };
}

/** One GlusterFS node from gluster/status.sh (its glusterd's view of the volume). */
export function glusterNodeState(node: OpsNode, nodeCount: number, r: RunResult): NodeState {
    const kv = parseKvLines(r.stdout);
    if (r.code !== 0) return { node, state: "glusterd not answering", problems: [kv.error ?? `status.sh failed (exit ${r.code}): ${tail(r, 2)}`], fields: kv, answered: false };
    const problems: string[] = [];
    if (kv.status !== "Started") problems.push(`volume ${kv.status ?? "?"}`);
    const online = Number(kv.bricks_online);
    if (!(online === nodeCount && kv.bricks_total === String(nodeCount))) problems.push(`bricks online ${kv.bricks_online ?? "?"}/${kv.bricks_total ?? "?"}`);
    if (kv.pending_heals !== "0") problems.push(`pending heals ${kv.pending_heals ?? "?"}`);
    return { node, state: `${kv.status ?? "?"} bricks=${kv.bricks_online ?? "?"}/${kv.bricks_total ?? "?"} heals=${kv.pending_heals ?? "?"}`, problems, fields: kv, answered: true };
}

export async function galeraStates(t: OpsTarget, runner: NodeRunner, nodes = t.galera.nodes): Promise<NodeState[]> {
    return Promise.all(
        nodes.map(async (n) => galeraNodeState(n, t.galera.nodes.length, await runner.runScript(n, { script: "galera/status.sh", timeoutSeconds: STATUS_TIMEOUT_S.galera }))),
    );
}

export async function glusterStates(t: OpsTarget, runner: NodeRunner, nodes = t.gluster.nodes): Promise<NodeState[]> {
    return Promise.all(
        nodes.map(async (n) =>
            glusterNodeState(
                n,
                t.gluster.nodes.length,
                await runner.runScript(n, { script: "gluster/status.sh", env: { GLUSTER_VOLUME: t.gluster.volume }, timeoutSeconds: STATUS_TIMEOUT_S.gluster }),
            ),
        ),
    );
}

export function formatState(s: NodeState): string {
    return [s.node.tier.padEnd(7), s.node.name.padEnd(8), s.node.address.padEnd(15), s.state, s.problems.length ? `DEGRADED: ${s.problems.join("; ")}` : "ok"].join("  ");
}

/** `status`: one line per node; returns the exit code (1 when anything is degraded). */
export async function status(t: OpsTarget, runner: NodeRunner, print: Print): Promise<number> {
    const [db, fs] = await Promise.all([galeraStates(t, runner), glusterStates(t, runner)]);
    const all = [...db, ...fs];
    for (const s of all) print(formatState(s));
    return all.some((s) => s.problems.length > 0) ? 1 : 0;
}

// ------------------------------------------------------------------------------------ backup

/**
 * Where backup-install.sh puts the backup tooling on every node, and the scripts `backup`/`restore`
 * call. They read their settings (bucket, schedule) from /etc/owncloud-ha/backup.env on the node.
 */
export const BACKUP_DIR = "/opt/owncloud-ha/backup";
export const BACKUP_SCRIPTS = {
    galeraBackup: `${BACKUP_DIR}/galera/backup.sh`,
    galeraRestore: `${BACKUP_DIR}/galera/restore.sh`,
    glusterBackup: `${BACKUP_DIR}/gluster/backup.sh`,
    glusterRestore: `${BACKUP_DIR}/gluster/restore.sh`,
} as const;
export const BACKUP_TIMEOUT_S = 4 * 3600;

export interface BackupTaken {
    tier: "galera" | "gluster";
    node: string;
    /** The script's last stdout line: the object key(s) it wrote. */
    keys: string;
}

/**
 * The scripts' contract (galera/backup.sh, gluster/backup.sh): every node runs the script; the one
 * that takes the backup exits 0 and prints `{"backup": NAME, "url": …}` as its last stdout line; the
 * others exit 0 and print `{"skipped": true, "chosen": NODE}`.
 */
export function backupResult(r: RunResult): { failed: boolean; took: boolean; line: string } {
    const line = r.stdout.trim().split("\n").pop()?.trim() ?? "";
    const json = lastJson(r.stdout);
    return { failed: r.code !== 0, took: r.code === 0 && typeof json.backup === "string", line };
}

/**
 * `backup`: the database first, then the files (ownCloud's documented backup order). On each tier
 * every node runs its backup script in turn (one at a time: the scripts decide who takes it, and a
 * sequential run never has two deciding at once). Throws when a script fails or no node took one.
 */
export async function backup(t: OpsTarget, runner: NodeRunner, print: Print): Promise<BackupTaken[]> {
    const taken: BackupTaken[] = [];
    for (const [tier, nodes, script] of [
        ["galera", t.galera.nodes, BACKUP_SCRIPTS.galeraBackup],
        ["gluster", t.gluster.nodes, BACKUP_SCRIPTS.glusterBackup],
    ] as const) {
        const before = taken.length;
        for (const n of nodes) {
            const r = await runner.runScript(n, { script, timeoutSeconds: BACKUP_TIMEOUT_S });
            const res = backupResult(r);
            if (res.failed) throw new Error(`${script} on ${tier}-${n.name} failed (exit ${r.code}):\n${tail(r, 10)}`);
            if (res.took) {
                taken.push({ tier, node: n.name, keys: res.line });
                print(`${tier.padEnd(7)}  ${n.name.padEnd(8)}  took the backup: ${res.line}`);
            } else {
                print(`${tier.padEnd(7)}  ${n.name.padEnd(8)}  not the chosen node${res.line ? ` (${res.line})` : ""}`);
            }
        }
        if (taken.length === before) {
            throw new Error(`no ${tier} node took a backup: read ${script}'s log on the nodes (is /etc/owncloud-ha/backup.env there? is a node Synced and not the writer?)`);
        }
    }
    return taken;
}

// ------------------------------------------------------------------------------------ replace-node

export interface ReplacePlan {
    node: OpsNode;
    /** Preconditions that failed (replacing now could lose quorum or data). */
    blockers: string[];
    /** The exact command to run. */
    command: string;
}

/** `pulumi up --replace` of the node's instance (its data volume stays; the node's steps re-run). */
export function replaceCommand(t: OpsTarget, node: OpsNode): string {
    return `pulumi up --stack ${t.stack} --replace '${node.urn}'`;
}

/**
 * Checks that the rest of NODE's cluster can lose it: every other node healthy, and quorum (Galera:
 * more than half of the nodes) or the volume's redundancy (GlusterFS: at most this one brick
 * missing, and no heal pending while all bricks are up) kept without it.
 */
export async function replacePreconditions(t: OpsTarget, runner: NodeRunner, node: OpsNode): Promise<ReplacePlan> {
    const blockers: string[] = [];
    if (node.tier === "galera") {
        const n = t.galera.nodes.length;
        const others = await galeraStates(t, runner, t.galera.nodes.filter((x) => x !== node));
        for (const s of others) {
            // The size may already lack NODE (that is often why it is replaced); anything else must be healthy.
            const other = s.problems.filter((p) => !p.startsWith("cluster size"));
            if (other.length > 0) blockers.push(`${s.node.name}: ${other.join("; ")}`);
            else if (!(Number(s.fields.cluster_size) >= n - 1)) blockers.push(`${s.node.name} sees cluster size ${s.fields.cluster_size}: the other nodes are not all in its Primary Component`);
        }
        if (2 * (n - 1) <= n) blockers.push(`${n - 1} of ${n} nodes is no majority: the cluster would lose quorum without ${node.name}`);
    } else {
        const n = t.gluster.nodes.length;
        const others = await glusterStates(t, runner, t.gluster.nodes.filter((x) => x !== node));
        for (const s of others) {
            if (!s.answered) {
                blockers.push(`${s.node.name}: ${s.problems.join("; ")}`);
                continue;
            }
            const online = Number(s.fields.bricks_online);
            if (s.fields.status !== "Started") blockers.push(`${s.node.name}: volume ${s.fields.status ?? "?"}, not Started`);
            if (!(online >= n - 1)) blockers.push(`${s.node.name} sees ${s.fields.bricks_online ?? "?"}/${n} bricks online: a brick besides ${node.name}'s may be missing`);
            else if (online === n && s.fields.pending_heals !== "0") {
                blockers.push(`${s.node.name}: ${s.fields.pending_heals ?? "?"} entries pending heal with every brick up: wait until heal info reaches 0`);
            }
        }
    }
    return { node, blockers, command: replaceCommand(t, node) };
}

/** After the replacement: the node's whole tier healthy again (`replace-node NODE --verify`). */
export async function verifyReplaced(t: OpsTarget, runner: NodeRunner, node: OpsNode): Promise<NodeState[]> {
    return node.tier === "galera" ? galeraStates(t, runner) : glusterStates(t, runner);
}

// ------------------------------------------------------------------------------------ restore

/** `restore --to TIME`: a UTC time (one home: the procedure's parser); none = now. */
export function restoreTimeArg(v: string | undefined, now = new Date()): string {
    try {
        return parseRestoreTime(v ?? now.toISOString().replace(/\.\d{3}Z$/, "Z"));
    } catch (e) {
        throw new OpsUsageError((e as Error).message);
    }
}

/**
 * `restore [--to TIME] [--yes]`: the procedure of scripts/ops/restore-procedure.ts. Its checks always
 * run (they touch nothing); without `execute` the steps are printed and nothing else happens.
 */
export async function restore(t: OpsTarget, runner: NodeRunner, print: Print, opts: { to: string; execute: boolean }): Promise<number> {
    const target = { galera: t.galera, gluster: t.gluster };
    try {
        const report = await restoreToPointInTime(runner, target, opts.to, { execute: opts.execute, log: print });
        if (!report) {
            const s = restoreSteps(target, opts.to);
            print("The restore would run (the database is down from the stop until the joins):");
            [...s.ship, ...s.stop, ...s.database, ...s.files.slice(0, 1)].forEach((x, i) => print(`  ${i + 1}. ${describeStep(x)}`));
            print("Put ownCloud in maintenance mode first (occ maintenance:mode --on on one web node), then run again with --yes.");
            return 0;
        }
        print(`restored to ${report.to}: database ${JSON.stringify(report.database)}, files ${JSON.stringify(report.files ?? {})}, ${report.seconds.total.toFixed(0)} s`);
        print("Then, on one web node: occ files:scan --all, occ maintenance:data-fingerprint (clients resync), occ maintenance:mode --off.");
        return 0;
    } catch (e) {
        const m = (e as Error).message;
        print(m);
        if (m.startsWith("cannot restore:")) return 3;
        throw e;
    }
}
