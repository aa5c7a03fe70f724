/**
 * The full-cluster Galera recovery procedure, one implementation for the operators' CLI
 * (`npm run ops -- <stack> galera-recover`) and the lab's scenarios: galera/report.sh on every node →
 * the pure decision galera/decide.sh → act (start.sh: bootstrap the one node it names, join the
 * others one at a time) → galera/verify.sh on every node. Never chooses a node itself: every choice
 * is decide.sh's. The transport is injected (real ssh, or a fake in the tests).
 */
import * as path from "path";
import { NodeRunner, RunResult, spawnBounded, tail } from "./transport";
import { OpsNode } from "./target";

export interface GaleraRecoveryTarget {
    /** Every node, in plan order (writer order). */
    nodes: OpsNode[];
    /** The plan's designated node (bootstraps a fresh cluster). */
    bootstrapNode: string;
    /** Seconds a starting node may take to reach Synced (the plan's setting: SST can be slow). */
    syncTimeoutSeconds: number;
}

/** Runs decide.sh with the report lines on stdin; returns its one line. */
export type Decider = (reports: string[], env: Record<string, string>) => Promise<RunResult>;

export interface RecoveryIo {
    runner: NodeRunner;
    /** Default: the repository's scripts/node/galera/decide.sh, run locally (it is pure: no node is touched). */
    decide?: Decider;
    log?: (msg: string) => void;
    sleep?: (ms: number) => Promise<void>;
}

/** decide.sh said no choice is provably safe; its reason says what to fix. */
export class RecoveryRefused extends Error {
    constructor(public readonly decision: string, public readonly reports: string[]) {
        super(
            `the decision procedure refused: ${decision.replace(/^refuse /, "")}\n` +
                `Nothing was started. Fix what it names, then run galera-recover again (it reports every node afresh).`,
        );
        this.name = "RecoveryRefused";
    }
}

/** Bounds of the procedure's steps (seconds). */
export const RECOVERY_BOUNDS = {
    /** report.sh may run `mariadbd --wsrep-recover`, which reads InnoDB's redo log. */
    reportSeconds: 300,
    /** How long nodes started together get to re-form a Primary Component by pc.recovery (README: "a minute"). */
    pcRecoverySeconds: 60,
    stopSeconds: 330,
    verifySeconds: 120,
    /** Pause before reporting again after decide.sh said `wait`. */
    waitMs: 5000,
    rounds: 6,
} as const;

const DECIDE_SH = path.resolve(__dirname, "..", "node", "galera", "decide.sh");

/** decide.sh from this checkout, run locally with a clean environment. */
export const localDecide: Decider = (reports, env) =>
    spawnBounded(["bash", DECIDE_SH], reports.join("\n") + "\n", 30_000, { PATH: process.env.PATH, ...env });

export interface ReportRound {
    decision: string;
    /** The report lines received (one per node that answered). */
    reports: string[];
    /** Nodes whose report.sh did not answer (they are missing from `reports`, so decide.sh refuses). */
    failures: { node: string; error: string }[];
}

/** The reading half: report.sh on every node (in parallel), then decide.sh. Touches nothing. */
export async function decideOnce(t: GaleraRecoveryTarget, io: RecoveryIo, tryPcRecovery: boolean): Promise<ReportRound> {
    const results = await Promise.all(
        t.nodes.map((n) => io.runner.runScript(n, { script: "galera/report.sh", env: { GALERA_NODE_NAME: n.name }, timeoutSeconds: RECOVERY_BOUNDS.reportSeconds })),
    );
    const reports: string[] = [];
    const failures: ReportRound["failures"] = [];
    results.forEach((r, i) => {
        const line = r.stdout.trim().split("\n").pop() ?? "";
        if (r.code === 0 && line.startsWith(`node=${t.nodes[i].name} `)) reports.push(line);
        else failures.push({ node: t.nodes[i].name, error: r.code === 0 ? `unexpected report: ${line}` : `exit ${r.code}: ${tail(r, 3)}` });
    });
    const d = await (io.decide ?? localDecide)(reports, {
        GALERA_NODES: t.nodes.map((n) => n.name).join(","),
        GALERA_DESIGNATED: t.bootstrapNode,
        GALERA_TRY_PC_RECOVERY: tryPcRecovery ? "1" : "0",
    });
    const decision = d.stdout.trim().split("\n").pop() ?? "";
    if (!/^(join|bootstrap|bootstrap-force|pc-recovery|wait|refuse)\b/.test(decision)) {
        throw new Error(`decide.sh gave no decision (exit ${d.code}): ${tail(d)}`);
    }
    return { decision, reports, failures };
}

/** The fields of one report.sh line. */
export function parseReport(line: string): Record<string, string> {
    return Object.fromEntries(line.split(/\s+/).filter((p) => p.includes("=")).map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
}

export interface RecoveryOutcome {
    /** Every decision taken, in order (`decision: …`) and what was done about it. */
    notes: string[];
}

/**
 * Brings every node back per decide.sh. Throws RecoveryRefused (nothing started) when the procedure
 * refuses, and an Error naming the node and its output when a step fails.
 */
export async function recoverGalera(t: GaleraRecoveryTarget, io: RecoveryIo, notes: string[] = []): Promise<RecoveryOutcome> {
    const log = io.log ?? (() => undefined);
    const sleep = io.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const byName = new Map(t.nodes.map((n) => [n.name, n]));
    const peersOf = (name: string) => t.nodes.filter((n) => n.name !== name).map((n) => n.address).join(",");
    const sync = String(t.syncTimeoutSeconds);
    const step = async (node: OpsNode, script: string, env: Record<string, string>, timeoutSeconds: number) => {
        log(`${node.name}: ${script} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
        const r = await io.runner.runScript(node, { script, env, timeoutSeconds });
        if (r.code !== 0) throw new Error(`${script} on ${node.name} failed (exit ${r.code}):\n${tail(r, 10)}`);
        return r;
    };
    const start = (node: OpsNode, mode: "join" | "bootstrap", extra: Record<string, string> = {}) =>
        step(node, "galera/start.sh", { GALERA_MODE: mode, GALERA_PEERS: peersOf(node.name), GALERA_SYNC_TIMEOUT: sync, ...extra }, t.syncTimeoutSeconds + 60);
    const verifyAll = async () => {
        for (const n of t.nodes) await step(n, "galera/verify.sh", { GALERA_EXPECTED_SIZE: String(t.nodes.length) }, RECOVERY_BOUNDS.verifySeconds);
        notes.push(`verified: ${t.nodes.length} nodes Synced, Primary, health 200`);
    };

    let tryPc = true;
    // Seconds spent on `wait` decisions since the last other decision (each round of waiting is
    // bounded by pcRecoverySeconds, the rounds by RECOVERY_BOUNDS.rounds).
    let waited = 0;
    for (let round = 0; round < RECOVERY_BOUNDS.rounds; ) {
        const { decision, reports, failures } = await decideOnce(t, io, tryPc);
        for (const f of failures) log(`${f.node}: no report (${f.error})`);
        log(`decision: ${decision}`);
        notes.push(`decision: ${decision}`);
        const [action, chosen] = decision.split(" ");
        const report = new Map(reports.map((l) => [parseReport(l).node, parseReport(l)]));
        // Already in the Primary Component and Synced: nothing to start there.
        const synced = (name: string) => {
            const r = report.get(name);
            return r?.running === "1" && r.status === "Primary" && r.state === "4";
        };
        if (action === "join") {
            // One at a time: start.sh waits until each is Synced (it only waits on a node that runs).
            for (const n of t.nodes) if (!synced(n.name)) await start(n, "join");
            await verifyAll();
            return { notes };
        }
        if (action === "bootstrap" || action === "bootstrap-force") {
            const node = byName.get(chosen);
            if (!node) throw new Error(`decide.sh chose ${chosen}, which is not a node of this cluster`);
            await start(node, "bootstrap", action === "bootstrap-force" ? { GALERA_FORCE_BOOTSTRAP: "1" } : {});
            for (const n of t.nodes) if (n !== node) await start(n, "join");
            await verifyAll();
            return { notes };
        }
        if (action === "pc-recovery") {
            // Every node kept its saved view: start them all at once and let pc.recovery re-form the Primary.
            log(`starting ${t.nodes.map((n) => n.name).join(", ")} together (galera/start.sh GALERA_MODE=join) for pc.recovery`);
            const rs = await Promise.all(
                t.nodes.map((n) =>
                    io.runner.runScript(n, {
                        script: "galera/start.sh",
                        env: { GALERA_MODE: "join", GALERA_PEERS: peersOf(n.name), GALERA_SYNC_TIMEOUT: String(RECOVERY_BOUNDS.pcRecoverySeconds) },
                        timeoutSeconds: RECOVERY_BOUNDS.pcRecoverySeconds + 60,
                    }),
                ),
            );
            if (rs.every((r) => r.code === 0)) {
                await verifyAll();
                return { notes };
            }
            notes.push(`pc.recovery formed no Primary Component within ${RECOVERY_BOUNDS.pcRecoverySeconds} s: stopping every node, deciding again without it`);
            for (const n of t.nodes) await step(n, "galera/stop.sh", {}, RECOVERY_BOUNDS.stopSeconds);
            tryPc = false;
            waited = 0;
            round++;
            continue;
        }
        // No node is in a Primary Component, every node reported, and some run without one: they can
        // only be waiting for a Primary (a node in SST has a Primary donor). After a full crash under
        // systemd, nodes restart, give up and restart again, so this mixes with `wait`: same bound.
        const nonePrimary = failures.length === 0 && reports.every((l) => parseReport(l).status !== "Primary");
        const waiting = action === "wait" || (nonePrimary && /^refuse node\(s\) .* run without a Primary Component/.test(decision));
        if (waiting) {
            // Every node runs without a Primary Component: after a full crash systemd restarts each
            // mariadbd (Debian's unit: Restart=on-abort) and they wait for a Primary that only
            // pc.recovery can re-form from saved views. Give it pcRecoverySeconds, then stop every
            // node and decide again from their recovered positions (never bootstrap while one runs).
            if (waited >= RECOVERY_BOUNDS.pcRecoverySeconds) {
                notes.push(`every node ran without a Primary Component for ${waited} s: stopping every node, deciding again from their positions`);
                log(notes[notes.length - 1]);
                for (const n of t.nodes) await step(n, "galera/stop.sh", {}, RECOVERY_BOUNDS.stopSeconds);
                tryPc = false;
                waited = 0;
                round++;
                continue;
            }
            await sleep(RECOVERY_BOUNDS.waitMs);
            waited += RECOVERY_BOUNDS.waitMs / 1000;
            continue;
        }
        throw new RecoveryRefused(decision, reports);
    }
    throw new Error(`the cluster did not recover in ${RECOVERY_BOUNDS.rounds} rounds (${notes.join("; ")}): run galera-recover again, or look at the nodes' MariaDB logs`);
}
