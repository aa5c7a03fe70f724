/**
 * The operators' runbook as commands. Each takes the target and a NodeRunner (real ssh or a fake)
 * and runs only the node scripts the program staged (or the backup scripts it installs).
 */
import { NodeRunner, RunResult, tail } from "./transport";
import { OpsNode, OpsTarget, OpsUsageError } from "./target";

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
 * The scripts' contract as this tool reads it: every node runs the script; the one that takes the
 * backup exits 0 and prints the object key(s) it wrote as its last stdout line; a node that is not
 * the chosen one exits 0 and prints nothing, or a last line starting with "skip".
 */
export function backupResult(r: RunResult): { failed: boolean; took: boolean; line: string } {
    const line = r.stdout.trim().split("\n").pop()?.trim() ?? "";
    return { failed: r.code !== 0, took: r.code === 0 && line !== "" && !/^skip/i.test(line), line };
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
//
// The restore procedure, kept apart so the backup scripts' owner can adjust it to their contract.
// What it assumes of the scripts backup-install.sh installs (BACKUP_SCRIPTS):
//   galera/restore.sh   RESTORE_DRY_RUN=1: check that a backup (and the binary logs) cover RESTORE_TO
//                       (empty = the latest backup) and touch nothing; exit 0 when it can restore.
//                       RESTORE_ROLE=source: replace the stopped node's datadir with the backup,
//                       rolled forward to RESTORE_TO, ready to bootstrap. RESTORE_ROLE=joiner: move
//                       the stopped node's datadir aside, so it joins the restored node by SST.
//   gluster/restore.sh  RESTORE_DRY_RUN=1 as above; otherwise restore the volume's files as of
//                       RESTORE_TO (GLUSTER_VOLUME names the volume).
// Galera is then started with the very steps of the recovery (start.sh bootstrap on the restored
// node, the others joined one at a time, verify.sh everywhere).

/** `restore [--to TIME]` argument: an ISO-8601 UTC time, or none (the latest backup). */
export function parseRestoreTime(v: string | undefined): string | undefined {
    if (v === undefined) return undefined;
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/.test(v) || Number.isNaN(Date.parse(v))) {
        throw new OpsUsageError(`--to ${v}: give a UTC time like 2026-11-29T14:05:00Z`);
    }
    return v;
}

export interface RestoreStep {
    node: OpsNode;
    script: string;
    env: Record<string, string>;
    timeoutSeconds: number;
    /** What the step does, for the printed plan. */
    what: string;
}

export const RESTORE_TIMEOUT_S = 4 * 3600;

/**
 * The restore as data (pure): `checks` touch nothing and must all pass before any step runs;
 * `steps` run in order, one at a time. The Galera source is the plan's bootstrap node; the files
 * are restored from the first GlusterFS node (the volume is shared: once is enough).
 */
export function restorePlan(t: OpsTarget, to: string | undefined): { checks: RestoreStep[]; steps: RestoreStep[] } {
    const at = to ?? "";
    const source = t.galera.nodes.find((n) => n.name === t.galera.bootstrapNode)!;
    const others = t.galera.nodes.filter((n) => n !== source);
    const fs = t.gluster.nodes[0];
    const peersOf = (n: OpsNode) => t.galera.nodes.filter((x) => x !== n).map((x) => x.address).join(",");
    const sync = String(t.galera.syncTimeoutSeconds);
    const startTimeout = t.galera.syncTimeoutSeconds + 60;
    const when = to ? `as of ${to}` : "from the latest backup";
    return {
        checks: [
            { node: source, script: BACKUP_SCRIPTS.galeraRestore, env: { GALERA_NODE_NAME: source.name, RESTORE_DRY_RUN: "1", RESTORE_TO: at }, timeoutSeconds: 600, what: `check that the database can be restored ${when}` },
            { node: fs, script: BACKUP_SCRIPTS.glusterRestore, env: { GLUSTER_VOLUME: t.gluster.volume, RESTORE_DRY_RUN: "1", RESTORE_TO: at }, timeoutSeconds: 600, what: `check that the files can be restored ${when}` },
        ],
        steps: [
            // The restored node last, so it is the last to leave the cluster.
            ...[...others, source].map((n) => ({ node: n, script: "galera/stop.sh", env: {}, timeoutSeconds: 330, what: "stop mariadbd" })),
            { node: source, script: BACKUP_SCRIPTS.galeraRestore, env: { GALERA_NODE_NAME: source.name, RESTORE_ROLE: "source", RESTORE_TO: at }, timeoutSeconds: RESTORE_TIMEOUT_S, what: `restore the datadir ${when}` },
            ...others.map((n) => ({ node: n, script: BACKUP_SCRIPTS.galeraRestore, env: { GALERA_NODE_NAME: n.name, RESTORE_ROLE: "joiner", RESTORE_TO: at }, timeoutSeconds: 600, what: "set the datadir aside (joins by SST)" })),
            { node: source, script: "galera/start.sh", env: { GALERA_MODE: "bootstrap", GALERA_FORCE_BOOTSTRAP: "1", GALERA_PEERS: peersOf(source), GALERA_SYNC_TIMEOUT: sync }, timeoutSeconds: startTimeout, what: "bootstrap the cluster from the restored data" },
            ...others.map((n) => ({ node: n, script: "galera/start.sh", env: { GALERA_MODE: "join", GALERA_PEERS: peersOf(n), GALERA_SYNC_TIMEOUT: sync }, timeoutSeconds: startTimeout, what: "join (SST from the restored node)" })),
            ...t.galera.nodes.map((n) => ({ node: n, script: "galera/verify.sh", env: { GALERA_EXPECTED_SIZE: String(t.galera.nodes.length) }, timeoutSeconds: 120, what: "verify Synced, Primary, health 200" })),
            { node: fs, script: BACKUP_SCRIPTS.glusterRestore, env: { GLUSTER_VOLUME: t.gluster.volume, RESTORE_TO: at }, timeoutSeconds: RESTORE_TIMEOUT_S, what: `restore the files ${when}` },
        ],
    };
}

const describeStep = (s: RestoreStep) => `${s.node.tier}-${s.node.name}: ${s.what} (${s.script})`;

/**
 * `restore [--to TIME] [--yes]`: runs the checks; without `execute` prints the plan and stops; with
 * it runs every step in order and stops at the first failure, saying where the cluster was left.
 */
export async function restore(t: OpsTarget, runner: NodeRunner, print: Print, opts: { to?: string; execute: boolean }): Promise<number> {
    const plan = restorePlan(t, opts.to);
    for (const c of plan.checks) {
        const r = await runner.runScript(c.node, c);
        if (r.code !== 0) {
            print(`cannot restore: ${describeStep(c)} failed (exit ${r.code}):\n${tail(r, 8)}`);
            print("Nothing was stopped or changed.");
            return 3;
        }
        print(`ok  ${describeStep(c)}`);
    }
    if (!opts.execute) {
        print("The restore would run, one step at a time (the database is down from the first step until the joins):");
        plan.steps.forEach((s, i) => print(`  ${i + 1}. ${describeStep(s)}`));
        print("Put ownCloud in maintenance mode first (occ maintenance:mode --on on one web node), then run again with --yes.");
        return 0;
    }
    for (const [i, s] of plan.steps.entries()) {
        print(`${i + 1}/${plan.steps.length} ${describeStep(s)}`);
        const r = await runner.runScript(s.node, s);
        if (r.code !== 0) {
            const firstRestore = plan.steps.findIndex((x) => x.script === BACKUP_SCRIPTS.galeraRestore);
            const where =
                i < firstRestore
                    ? "Only mariadbd was stopped (no data changed): `galera-recover` starts the cluster again on its old data."
                    : s.script === BACKUP_SCRIPTS.glusterRestore
                      ? "The database is restored and running; fix the cause and restore again (the database is restored again too)."
                      : "The database is down and its data directories were changed: fix the cause and run restore again with the same --to.";
            throw new Error(`${describeStep(s)} failed (exit ${r.code}):\n${tail(r, 10)}\n${where}`);
        }
    }
    print("restored. Then, on one web node: occ maintenance:data-fingerprint (clients resync), occ maintenance:mode --off.");
    return 0;
}
