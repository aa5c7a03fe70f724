/**
 * Galera fault scenarios. A client on web1 writes through web1's HAProxy (127.0.0.1:3306) rows with
 * increasing ids and records every acknowledged commit; after the fault is healed every node must
 * hold every acknowledged row.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, REPO, log, runSync, sleep } from "../lab-core";
import { DB_NODES, WEB_HOSTS, dbQuery, decideOnce, designateWriter, designatedWriter, galeraNodeStatus, haproxyRoute, haproxyWriter, labHostOfGaleraNode, recoverGalera } from "../galera-lab";
import { createTable, firstCommitAfter, lostAcked, maxGapAfter, runAppClient, startWriter, WriterHandle } from "../galera-client";
import { Scenario, ScenarioResult } from "../types";
import { GALERA_PORTS } from "../../../components/database/ports";

const WEB = "web1";
const r2 = (x: number | undefined) => (x === undefined ? -1 : Math.round(x * 100) / 100);

export async function waitFor(desc: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
        if (await fn()) return (Date.now() - t0) / 1000;
        await sleep(250);
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${desc}`);
}

export async function allSynced(lab: Lab): Promise<boolean> {
    const st = await Promise.all(DB_NODES.map((n) => galeraNodeStatus(lab, n.name)));
    return st.every((s) => s.running && s.state === "Synced" && s.clusterSize === DB_NODES.length && s.health === 200);
}

/** Waits (bounded) for every node Synced; on timeout the error carries each node's last status. */
export async function waitAllSynced(lab: Lab, desc: string, timeoutMs: number): Promise<number> {
    try {
        return await waitFor(desc, timeoutMs, () => allSynced(lab));
    } catch (e) {
        const st = await Promise.all(DB_NODES.map((n) => galeraNodeStatus(lab, n.name)));
        throw new Error(`${(e as Error).message}; nodes: ${st.map((x) => JSON.stringify(x)).join(" ")}`);
    }
}

export async function writerIs(lab: Lab, node: string): Promise<boolean> {
    return (await haproxyWriter(lab, WEB)) === node;
}

/**
 * Precondition for every scenario: 3 nodes Synced, db1 the designated writer, every web host writes
 * to it. The writer is sticky (it stays where a failover moved it), so a scenario that moved it is
 * followed by a planned switchover back to db1. Repairs with the decision procedure.
 */
export async function ensureHealthy(lab: Lab, notes: string[]): Promise<void> {
    for (const n of DB_NODES) runSync(["ip", "link", "set", `ocl-${n.name}`, "up"], { allowFail: true });
    if (!(await allSynced(lab))) {
        const st = await Promise.all(DB_NODES.map((n) => galeraNodeStatus(lab, n.name)));
        notes.push(`precondition: cluster not healthy (${st.map((x) => JSON.stringify(x)).join(" ")}), running the recovery procedure`);
        await recoverGalera(lab, notes);
        await waitAllSynced(lab, "all nodes Synced", 120_000);
    }
    const first = DB_NODES[0].name;
    if ((await designatedWriter(lab)) !== first) {
        notes.push(`precondition: switchover of the designated writer back to ${first}`);
        await designateWriter(lab, first);
    }
    await waitFor(`every web host's HAProxy writing to ${first}`, 30_000, async () =>
        (await Promise.all(WEB_HOSTS.map((w) => haproxyWriter(lab, w)))).every((n) => n === first));
}

/**
 * Sticky writer: once `node` is back and Synced, wait longer than a server takes to rise (rise 3 x
 * downinter 1 s), then every web host must still route writes to `writer`, not back to `node`.
 */
async function staysOn(lab: Lab, writer: string, figures: ScenarioResult["figures"]): Promise<boolean> {
    await sleep(6000);
    const routes = await Promise.all(WEB_HOSTS.map((w) => haproxyWriter(lab, w)));
    figures.writerAfterReturn = routes.join(",");
    figures.designatedWriter = await designatedWriter(lab);
    return routes.every((r) => r === writer) && figures.designatedWriter === writer;
}

/** Start a joiner back through the plan's script over SSH (what the cloud would run). */
async function rejoin(lab: Lab, node: string): Promise<void> {
    const peers = DB_NODES.filter((n) => n.name !== node).map((n) => n.address).join(",");
    const r = await lab.runStep(
        { id: `rejoin-${node}`, host: node, script: "galera/start.sh", env: { GALERA_MODE: "join", GALERA_PEERS: peers, GALERA_SYNC_TIMEOUT: "300" }, secrets: [], dependsOn: [], description: "" },
        {},
    );
    if (r.code !== 0) throw new Error(`rejoin of ${node} failed: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
}

/** A mark in a node's mariadb log (the journal of mariadb.service): the host's clock, which is this machine's. */
function logMark(): number {
    return Math.floor(Date.now() / 1000) - 1;
}
/** IST or SST from the node's mariadb log since the mark. */
async function stateTransfer(lab: Lab, node: string, since: number): Promise<string> {
    const text = (await lab.exec(node, ["journalctl", "-u", "mariadb", "--since", `@${since}`, "--no-pager", "-o", "cat"], { timeoutMs: 20_000 })).stdout;
    // The joiner always prepares an IST receiver; "for 0-N" means a full snapshot (SST, mariabackup)
    // followed by IST of the writesets committed meanwhile, "for A-N" with A > 0 means IST only
    // (the mariabackup SST script is then bypassed).
    const m = /Prepared IST receiver for (\d+)-(\d+)/.exec(text);
    if (!m) return "none-needed";
    return m[1] === "0" ? "SST" : `IST (${Number(m[2]) - Number(m[1]) + 1} writesets)`;
}

const PROBE = path.join(__dirname, "..", "galera-probe.ts");

/** scripts/lab/galera-probe.ts inside `web`'s network namespace, through its HAProxy as the app user. */
function startProbe(lab: Lab, web: string, cfg: Record<string, unknown>, onLine: (l: string) => void) {
    const { proc, done } = runAppClient(lab, web, PROBE, { host: "127.0.0.1", port: GALERA_PORTS.mysql, ...cfg }, onLine);
    return {
        done,
        stop: async () => {
            proc.kill("SIGTERM");
            await Promise.race([done, sleep(20_000)]);
            proc.kill("SIGKILL");
        },
    };
}

/** The app user's connection cap, from its one home (scripts/node/galera/lib.sh, which users.sh applies). */
function appMaxConnections(): number {
    const m = /^GALERA_APP_MAX_CONNECTIONS=(\d+)$/m.exec(fs.readFileSync(path.join(REPO, "scripts/node/galera/lib.sh"), "utf8"));
    if (!m) throw new Error("GALERA_APP_MAX_CONNECTIONS not found in scripts/node/galera/lib.sh");
    return Number(m[1]);
}

interface Ctx {
    lab: Lab;
    table: string;
    w: WriterHandle;
    notes: string[];
    figures: ScenarioResult["figures"];
}

async function scenario(lab: Lab, name: string, body: (c: Ctx) => Promise<boolean>): Promise<ScenarioResult> {
    const t0 = Date.now();
    const notes: string[] = [];
    const figures: ScenarioResult["figures"] = {};
    let ok = false;
    let w: WriterHandle | undefined;
    try {
        await ensureHealthy(lab, notes);
        const table = `w_${name.replace(/[^a-z0-9]/g, "_")}`;
        await createTable(lab, table);
        w = await startWriter(lab, WEB, table);
        await sleep(2000);
        const bodyOk = await body({ lab, table, w, notes, figures });
        await sleep(1500);
        await w.stop();
        figures.ackedWrites = w.acks.length;
        figures.failedCommits = w.errors.length;
        await waitAllSynced(lab, "all nodes Synced after the scenario", 120_000);
        const lost = await lostAcked(lab, table, w.acks);
        figures.lostAckedWrites = Math.max(...Object.values(lost));
        figures.lostAckedWritesPerNode = Object.entries(lost).map(([k, v]) => `${k}:${v}`).join(" ");
        ok = bodyOk && figures.lostAckedWrites === 0;
    } catch (e) {
        notes.push(`ERROR: ${(e as Error).message}`);
        if (w) await w.stop();
    }
    const res = { name, ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    log(`scenario ${name}: ${ok ? "PASS" : "FAIL"} ${JSON.stringify(figures)}`);
    return res;
}

/** After a full crash: run the recovery procedure, record how long it took, the writer outage and what it decided. */
async function recoverAndMeasure({ lab, w, notes, figures }: Ctx, tFault: number): Promise<string> {
    const t1 = Date.now();
    const decisions: string[] = [];
    await recoverGalera(lab, decisions);
    notes.push(...decisions);
    figures.recoverySeconds = r2((Date.now() - t1) / 1000);
    await waitFor("a commit after recovery", 60_000, async () => w.acks.some((a) => a.t > t1));
    figures.writerOutageSeconds = r2(firstCommitAfter(w, tFault));
    // Every decision in order (repeats of the same one counted), and the one that was acted on.
    const taken = decisions.filter((n) => n.startsWith("decision:")).map((n) => n.slice(10));
    const chain: string[] = [];
    for (const d of taken) {
        const last = chain[chain.length - 1];
        if (last !== undefined && last.replace(/ \(×\d+\)$/, "") === d) chain[chain.length - 1] = `${d} (×${Number(/ \(×(\d+)\)$/.exec(last)?.[1] ?? 1) + 1})`;
        else chain.push(d);
    }
    figures.decision = chain.join(" -> ");
    return taken[taken.length - 1] ?? "";
}

export const scenarios: Scenario[] = [
    {
        name: "galera-kill-nonwriter",
        description: "kill -9 a non-writer node (db3), restart it, it rejoins (IST/SST); writes continue",
        run: (lab) =>
            scenario(lab, "galera-kill-nonwriter", async ({ lab, w, notes, figures }) => {
                const victim = DB_NODES[2].name;
                const k = await lab.svc(victim, "kill", "mariadb");
                const tFault = Date.now(); // the process is dead once the launcher returned
                notes.push(k.stderr.trim());
                await sleep(4000);
                const off = logMark();
                const t1 = Date.now();
                await rejoin(lab, victim);
                figures.rejoinSeconds = r2((Date.now() - t1) / 1000);
                figures.stateTransfer = await stateTransfer(lab, victim, off);
                // the writer is not hit: its outage is the commit stall until the group evicts the victim
                figures.firstCommitAfterFaultSeconds = r2(firstCommitAfter(w, tFault));
                figures.maxCommitGapSeconds = r2(maxGapAfter(w, tFault));
                figures.writerOutageSeconds = figures.maxCommitGapSeconds;
                notes.push(`killed ${victim}; writes went on through ${await haproxyWriter(lab, WEB)}`);
                return figures.maxCommitGapSeconds <= 5;
            }),
    },
    {
        name: "galera-kill-writer",
        description: "kill -9 the active writer (db1): HAProxy fails over to db2 within 3 s; db1 restarts and rejoins, the writer stays on db2 (sticky)",
        run: (lab) =>
            scenario(lab, "galera-kill-writer", async ({ lab, w, notes, figures }) => {
                const victim = DB_NODES[0].name;
                const k = await lab.svc(victim, "kill", "mariadb");
                const tFault = Date.now(); // the process is dead once the launcher returned
                notes.push(k.stderr.trim());
                await waitFor("a commit after the fault", 30_000, async () => w.acks.some((a) => a.t > tFault));
                figures.writerOutageSeconds = r2(firstCommitAfter(w, tFault));
                figures.newWriter = await haproxyWriter(lab, WEB);
                await sleep(2000);
                const off = logMark();
                const t1 = Date.now();
                await rejoin(lab, victim);
                figures.rejoinSeconds = r2((Date.now() - t1) / 1000);
                figures.stateTransfer = await stateTransfer(lab, victim, off);
                const tBack = Date.now();
                const stayed = await staysOn(lab, figures.newWriter as string, figures);
                figures.maxCommitGapAfterReturnSeconds = r2(maxGapAfter(w, tBack));
                notes.push(`failover to ${figures.newWriter}; target writer outage <= 3 s; ${victim} back: the writer stays`);
                return stayed && (figures.writerOutageSeconds as number) >= 0 && (figures.writerOutageSeconds as number) <= 3;
            }),
    },
    {
        name: "galera-crash-all",
        description: "kill -9 all three nodes within a second, recover automatically with the decision procedure",
        run: (lab) =>
            scenario(lab, "galera-crash-all", async (c) => {
                const { lab, figures } = c;
                const t0 = Date.now();
                const killedAt: number[] = [];
                await Promise.all(DB_NODES.map(async (n) => { await lab.svc(n.name, "kill", "mariadb"); killedAt.push(Date.now()); }));
                const tFault = Math.min(...killedAt);
                figures.killSpreadSeconds = r2((Math.max(...killedAt) - t0) / 1000);
                await sleep(2000);
                await recoverAndMeasure(c, tFault);
                return true;
            }),
    },
    {
        name: "galera-partition",
        description: "cut the writer (db1) off the network: it must refuse writes as non-Primary, db2+db3 go on; heal, it rejoins and the writer stays on db2",
        run: (lab) =>
            scenario(lab, "galera-partition", async ({ lab, table, w, notes, figures }) => {
                const victim = DB_NODES[0].name;
                const tFault = Date.now();
                lab.booted.setLink(victim, false);
                let refused = false;
                try {
                    // commits in flight may still be acknowledged right after the cut: the outage is the
                    // longest commit gap until writes flow through the new writer
                    await waitFor("HAProxy moving off the isolated writer", 30_000, async () => !(await writerIs(lab, victim)));
                    const tMoved = Date.now();
                    await waitFor("a commit through the new writer", 30_000, async () => w.acks.some((a) => a.t > tMoved));
                    figures.writerOutageSeconds = r2(maxGapAfter(w, tFault));
                    figures.newWriter = await haproxyWriter(lab, WEB);
                    await waitFor(`${victim} non-Primary`, 20_000, async () => (await galeraNodeStatus(lab, victim)).clusterStatus === "non-Primary");
                    const ins = await dbQuery(lab, victim, `INSERT INTO owncloud.\`${table}\` (id, t) VALUES (-1, 0);`, 10_000);
                    refused = ins.code !== 0;
                    figures.isolatedNodeRefusedWrite = refused;
                    notes.push(`write on isolated ${victim}: ${refused ? ins.stderr.trim().split("\n").pop() : "ACCEPTED (bad)"}`);
                    const others = await Promise.all(DB_NODES.slice(1).map((n) => galeraNodeStatus(lab, n.name)));
                    figures.majoritySize = others[0].clusterSize ?? -1;
                } finally {
                    lab.booted.setLink(victim, true);
                }
                const tHeal = Date.now();
                figures.rejoinSeconds = r2(await waitFor(`${victim} Synced again`, 90_000, async () => {
                    const s = await galeraNodeStatus(lab, victim);
                    return s.state === "Synced" && s.clusterSize === DB_NODES.length;
                }));
                const stayed = await staysOn(lab, figures.newWriter as string, figures);
                figures.maxCommitGapAfterHealSeconds = r2(maxGapAfter(w, tHeal));
                return stayed && refused && figures.majoritySize === DB_NODES.length - 1;
            }),
    },
    {
        name: "galera-crash-staggered",
        description: "kill -9 db3, keep writing, then kill db1+db2 and lose every saved view (gvwstate.dat): the decision procedure must bootstrap the highest seqno, never db3",
        run: (lab) =>
            scenario(lab, "galera-crash-staggered", async (c) => {
                const { lab, figures } = c;
                await lab.svc(DB_NODES[2].name, "kill", "mariadb");
                await sleep(3000);
                const t0 = Date.now();
                await Promise.all(DB_NODES.slice(0, 2).map((n) => lab.svc(n.name, "kill", "mariadb")));
                const tFault = Date.now();
                await Promise.all(DB_NODES.map((n) => lab.sh(n.name, "rm -f /var/lib/mysql/gvwstate.dat")));
                figures.killSpreadSeconds = r2((tFault - t0) / 1000);
                const decision = await recoverAndMeasure(c, tFault);
                return /^bootstrap-force (db1|db2) highest-seqno/.test(decision);
            }),
    },
    {
        name: "galera-sst-rejoin",
        description: "kill -9 a non-writer node (db3) and wipe its data directory (disk replaced): configure + join rebuild it by a full mariabackup SST under write load",
        run: (lab) =>
            scenario(lab, "galera-sst-rejoin", async ({ lab, w, figures }) => {
                const victim = DB_NODES[2];
                await lab.svc(victim.name, "kill", "mariadb");
                const tFault = Date.now();
                await lab.sh(victim.name, "rm -rf /var/lib/mysql/* /var/lib/mysql/.[!.]*");
                const off = logMark();
                const t1 = Date.now();
                // the program's recorded configure step for this node (re-initialises the empty datadir), then join
                const [configure] = lab.recordedSteps(victim.name, "galera-configure");
                const r = await lab.runRecorded(victim.name, configure);
                if (r.code !== 0) throw new Error(`configure failed: ${r.stderr}`);
                await rejoin(lab, victim.name);
                figures.rejoinSeconds = r2((Date.now() - t1) / 1000);
                figures.stateTransfer = await stateTransfer(lab, victim.name, off);
                figures.maxCommitGapSeconds = r2(maxGapAfter(w, tFault));
                figures.writerOutageSeconds = figures.maxCommitGapSeconds;
                return figures.stateTransfer === "SST";
            }),
    },
    {
        name: "galera-replace-bootstrap-node",
        description:
            "replace the designated bootstrap node (db1, the writer): kill -9 it, wipe its datadir (a new instance and volume), then re-run exactly what Pulumi re-runs for a replaced node — configure and the plan's own bootstrap step — which must join the running cluster by SST, never start a new one",
        run: (lab) =>
            scenario(lab, "galera-replace-bootstrap-node", async ({ lab, w, figures }) => {
                const victim = DB_NODES[0];
                const uuidOf = async (node: string) => (await dbQuery(lab, node, "SHOW STATUS LIKE 'wsrep_cluster_state_uuid'")).stdout.trim().split(/\s+/)[1] ?? "";
                const before = await uuidOf(DB_NODES[1].name);
                await lab.svc(victim.name, "kill", "mariadb");
                const tFault = Date.now();
                await lab.sh(victim.name, "rm -rf /var/lib/mysql/* /var/lib/mysql/.[!.]*");
                const off = logMark();
                const t1 = Date.now();
                // what the engine re-runs for a replaced node: its recorded steps, configure then the bootstrap step
                for (const id of ["galera-configure", "galera-bootstrap"]) {
                    const [step] = lab.recordedSteps(victim.name, id);
                    const r = await lab.runRecorded(victim.name, step);
                    if (r.code !== 0) throw new Error(`${step.name} failed: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
                }
                figures.rejoinSeconds = r2((Date.now() - t1) / 1000);
                figures.stateTransfer = await stateTransfer(lab, victim.name, off);
                const stayed = await staysOn(lab, DB_NODES[1].name, figures);
                figures.writerOutageSeconds = r2(maxGapAfter(w, tFault));
                const after = await Promise.all(DB_NODES.map((n) => uuidOf(n.name)));
                figures.sameClusterUuid = after.every((u) => u === before && u !== "") ? "yes" : `no (${before} -> ${after.join(",")})`;
                return stayed && figures.stateTransfer === "SST" && figures.sameClusterUuid === "yes";
            }),
    },
    {
        name: "galera-recover-unknown-position",
        description:
            "kill -9 all three nodes and lose every saved view; db3's position cannot be recovered (its InnoDB file unreadable): the procedure must refuse and name db3, never bootstrap past it; once db3 reports, it bootstraps the highest seqno",
        run: (lab) =>
            scenario(lab, "galera-recover-unknown-position", async (c) => {
                const { lab, notes, figures } = c;
                const broken = DB_NODES[2].name;
                // Down and staying down (no automatic restart): the procedure's input is three stopped nodes.
                await Promise.all(DB_NODES.map((n) => lab.svc(n.name, "crash", "mariadb")));
                const tFault = Date.now();
                await Promise.all(DB_NODES.map((n) => lab.sh(n.name, "rm -f /var/lib/mysql/gvwstate.dat")));
                await lab.sh(broken, "chmod 000 /var/lib/mysql/ibdata1");
                let refusal = "";
                try {
                    const first = await decideOnce(lab, false);
                    refusal = first.decision;
                    notes.push(`with ${broken} unknown: ${first.decision}`);
                } finally {
                    await lab.sh(broken, "chmod 660 /var/lib/mysql/ibdata1");
                }
                figures.refusedWhileUnknown = refusal.startsWith(`refuse ${broken}: mariadbd --wsrep-recover failed`) ? "yes" : `no (${refusal})`;
                const decision = await recoverAndMeasure(c, tFault);
                return figures.refusedWhileUnknown === "yes" && /^bootstrap-force db[123] (highest-seqno|safe_to_bootstrap)/.test(decision);
            }),
    },
    {
        name: "galera-replace-unreachable-peers",
        description:
            "replace db1 (empty datadir) while its peers cannot be reached: the plan's bootstrap step must never start a new cluster — it refuses after its bounded wait, and once the peers answer it joins the running cluster by SST",
        run: (lab) =>
            scenario(lab, "galera-replace-unreachable-peers", async ({ lab, w, notes, figures }) => {
                const victim = DB_NODES[0];
                const peers = DB_NODES.slice(1);
                const uuidOf = async (node: string) => (await dbQuery(lab, node, "SHOW STATUS LIKE 'wsrep_cluster_state_uuid'")).stdout.trim().split(/\s+/)[1] ?? "";
                const before = await uuidOf(peers[0].name);
                await lab.svc(victim.name, "kill", "mariadb");
                const tFault = Date.now();
                await lab.sh(victim.name, "rm -rf /var/lib/mysql/* /var/lib/mysql/.[!.]*");
                const step = (id: string) => lab.recordedSteps(victim.name, id)[0];
                const configure = await lab.runRecorded(victim.name, step("galera-configure"));
                if (configure.code !== 0) throw new Error(`configure failed: ${configure.stderr.trim().split("\n").slice(-5).join("\n")}`);
                const cut = (on: boolean) =>
                    lab.sh(victim.name, peers.map((p) => `ip route ${on ? "replace" : "del"} unreachable ${p.address}/32`).join("; ") + (on ? "" : " || true"));
                const boot = step("galera-bootstrap");
                await cut(true);
                let first;
                try {
                    first = await lab.runRecorded(victim.name, boot, { GALERA_PEER_WAIT: "8" });
                } finally {
                    await cut(false);
                }
                const startedAlone = (await lab.svc(victim.name, "status", "mariadb")).code === 0;
                figures.refusedWhilePeersUnknown = first.code !== 0 && /did not answer on their Galera port/.test(first.stderr) && !startedAlone ? "yes" : `no (exit ${first.code}, mariadb running: ${startedAlone})`;
                notes.push(`first bootstrap attempt: ${first.stderr.trim().split("\n").pop()}`);
                // Second attempt: the peers stay unreachable for a few seconds, then answer; the step waits and joins.
                await cut(true);
                const healer = sleep(5000).then(() => cut(false));
                const t1 = Date.now();
                const second = await lab.runRecorded(victim.name, boot, { GALERA_PEER_WAIT: "60" });
                await healer;
                if (second.code !== 0) throw new Error(`bootstrap step after the peers answered failed: ${second.stderr.trim().split("\n").slice(-5).join("\n")}`);
                figures.rejoinSeconds = r2((Date.now() - t1) / 1000);
                const stayed = await staysOn(lab, DB_NODES[1].name, figures);
                figures.writerOutageSeconds = r2(maxGapAfter(w, tFault));
                const after = await Promise.all(DB_NODES.map((n) => uuidOf(n.name)));
                figures.sameClusterUuid = after.every((u) => u === before && u !== "") ? "yes" : `no (${before} -> ${after.join(",")})`;
                const recorded = (await lab.sh(victim.name, "cat /var/lib/mysql/owncloud-ha-cluster-uuid")).stdout.trim();
                figures.recordedClusterUuid = recorded === before ? "yes" : `no (${recorded})`;
                return stayed && figures.refusedWhilePeersUnknown === "yes" && figures.sameClusterUuid === "yes" && figures.recordedClusterUuid === "yes";
            }),
    },
    {
        name: "galera-freeze-writer",
        description:
            "gray failure: freeze the writer's mariadbd (SIGSTOP, sockets stay open) for 8 s: its health check times out, HAProxy moves writes to db2 within the bound; thawed, it rejoins and the writer stays on db2",
        run: (lab) =>
            scenario(lab, "galera-freeze-writer", async ({ lab, w, notes, figures }) => {
                const victim = DB_NODES[0].name;
                // The unit's main PID as the host sees it (its own PID namespace): signalled from inside the host.
                const pid = (await lab.svc(victim, "pid", "mariadb")).stdout.trim();
                if (!/^[1-9]\d*$/.test(pid)) throw new Error(`no mariadbd PID on ${victim}`);
                const signal = async (sig: string) => {
                    const r = await lab.exec(victim, ["kill", `-${sig}`, pid]);
                    if (r.code !== 0) throw new Error(`kill -${sig} ${pid} on ${victim}: ${r.stderr.trim()}`);
                };
                const tFault = Date.now();
                await signal("STOP");
                try {
                    await waitFor("HAProxy moving off the frozen writer", 30_000, async () => !(await writerIs(lab, victim)));
                    const tMoved = Date.now();
                    await waitFor("a commit through the new writer", 30_000, async () => w.acks.some((a) => a.t > tMoved));
                    figures.writerOutageSeconds = r2(maxGapAfter(w, tFault));
                    figures.newWriter = await haproxyWriter(lab, WEB);
                    await sleep(Math.max(0, 8000 - (Date.now() - tFault)));
                } finally {
                    await signal("CONT");
                }
                const tThaw = Date.now();
                figures.rejoinSeconds = r2(await waitFor(`${victim} Synced again`, 120_000, async () => {
                    const st = await galeraNodeStatus(lab, victim);
                    return st.state === "Synced" && st.clusterSize === DB_NODES.length && st.health === 200;
                }));
                const stayed = await staysOn(lab, figures.newWriter as string, figures);
                figures.maxCommitGapAfterThawSeconds = r2(maxGapAfter(w, tThaw));
                // The bound: a frozen node still accepts TCP, so each check costs its full `timeout
                // check` (1 s); fall 2 at inter 0.5 s marks it down after about 2.5 s, then
                // on-marked-down shutdown-sessions moves clients at once. 5 s leaves room for a loaded host.
                notes.push("bound: the evaluation's 2 s connect bound (or the verdict's 2 s age), 2 checks x fastinter, then on-marked-down shutdown-sessions; target writer outage <= 5 s");
                return stayed && (figures.writerOutageSeconds as number) >= 0 && (figures.writerOutageSeconds as number) <= 5;
            }),
    },
    {
        name: "galera-writer-disk-full",
        description:
            "gray failure: the writer's data volume runs full for 6 s (a file takes all but 256 MiB): its health check answers 503 below the 1 GiB floor, HAProxy moves writes to db2 within the bound; db2 takes the writer role once db1 has had no heartbeat for 3 s; freed, the writer stays on db2",
        run: (lab) =>
            scenario(lab, "galera-writer-disk-full", async ({ lab, w, notes, figures }) => {
                const victim = DB_NODES[0].name;
                const fill = "/var/lib/mysql/oclab-disk-full";
                const tFault = Date.now();
                const r = await lab.sh(victim, `set -e; mountpoint -q /var/lib/mysql; avail=$(df -B1 --output=avail /var/lib/mysql | tail -n1); fallocate -l $((avail - 268435456)) ${fill}; df -h --output=avail /var/lib/mysql | tail -n1`);
                if (r.code !== 0) throw new Error(`cannot fill ${victim}'s data volume: ${r.stderr.trim()}`);
                notes.push(`${victim}'s data volume filled: ${r.stdout.trim()} left`);
                try {
                    await waitFor("HAProxy moving off the writer whose volume is full", 30_000, async () => !(await writerIs(lab, victim)));
                    const tMoved = Date.now();
                    await waitFor("a commit through the new writer", 30_000, async () => w.acks.some((a) => a.t > tMoved));
                    figures.writerOutageSeconds = r2(maxGapAfter(w, tFault));
                    figures.failoverSeconds = r2((tMoved - tFault) / 1000);
                    figures.newWriter = await haproxyWriter(lab, WEB);
                    figures.healthWhileFull = (await galeraNodeStatus(lab, victim)).health ?? -1;
                    // a full disk is not fixed in a second: keep it full past the 3 s after which the
                    // writer role leaves a node without a heartbeat (a shorter glitch keeps the role)
                    await sleep(Math.max(0, 6000 - (Date.now() - tFault)));
                    figures.designatedWhileFull = await designatedWriter(lab);
                } finally {
                    await lab.sh(victim, `rm -f ${fill}`);
                }
                const tFreed = Date.now();
                const stayed = await staysOn(lab, figures.newWriter as string, figures);
                figures.maxCommitGapAfterFreedSeconds = r2(maxGapAfter(w, tFreed));
                // The bound: the check answers 503 at once (df on every check); fall 2 at inter 0.5 s
                // marks the writer down within about 1.5 s, then on-marked-down shutdown-sessions moves
                // clients at once. 5 s leaves room for a loaded host.
                notes.push("bound: 503 from the free-space floor, 2 checks x inter 0.5 s, then on-marked-down shutdown-sessions; target writer outage <= 5 s");
                return stayed && figures.healthWhileFull === 503 && (figures.writerOutageSeconds as number) >= 0 && (figures.writerOutageSeconds as number) <= 5;
            }),
    },
    {
        name: "galera-writer-sticky",
        description:
            "sticky single writer across web hosts: kill -9 the writer db1 -> web1 and web2 both move to db2; db1 restarts -> both stay on db2; reload, then restart web1's HAProxy -> still db2. Every 250 ms each web host opens a connection and asks @@wsrep_node_name: no sample where they differ",
        run: (lab) =>
            scenario(lab, "galera-writer-sticky", async ({ lab, w, notes, figures }) => {
                const victim = DB_NODES[0].name;
                const next = DB_NODES[1].name;
                const samples: Record<string, { t: number; node: string }[]> = {};
                const probes = WEB_HOSTS.map((web) => {
                    samples[web] = [];
                    return startProbe(lab, web, { mode: "route", intervalMs: 250 }, (l) => {
                        const f = l.split(" ");
                        if (f[0] === "R") samples[web].push({ t: Number(f[1]), node: labHostOfGaleraNode(f[2]) });
                    });
                });
                const lastOf = (web: string) => samples[web][samples[web].length - 1]?.node;
                const allOn = (node: string, since: number) =>
                    WEB_HOSTS.every((web) => samples[web].filter((x) => x.t > since).slice(-3).length === 3 && samples[web].filter((x) => x.t > since).slice(-3).every((x) => x.node === node));
                let ok = true;
                try {
                    await waitFor("both web hosts' probes answering", 20_000, async () => WEB_HOSTS.every((web) => lastOf(web) === victim));
                    // 1. kill the writer
                    await lab.svc(victim, "kill", "mariadb");
                    const tFault = Date.now();
                    await waitFor(`every web host writing to ${next}`, 30_000, async () => allOn(next, tFault));
                    figures.failoverSeconds = r2((Math.max(...WEB_HOSTS.map((web) => samples[web].find((x) => x.t > tFault && x.node === next)!.t)) - tFault) / 1000);
                    await waitFor("a commit after the fault", 30_000, async () => w.acks.some((a) => a.t > tFault));
                    figures.writerOutageSeconds = r2(firstCommitAfter(w, tFault));
                    figures.designatedAfterFailover = await designatedWriter(lab);
                    // 2. the old writer comes back
                    await rejoin(lab, victim);
                    await waitFor(`${victim} Synced with health 200`, 60_000, async () => (await galeraNodeStatus(lab, victim)).health === 200);
                    const tBack = Date.now();
                    ok = (await staysOn(lab, next, figures)) && ok;
                    figures.samplesOnReturnedNode = WEB_HOSTS.map((web) => samples[web].filter((x) => x.t > tBack && x.node === victim).length).reduce((a, b) => a + b, 0);
                    // 3. reload, then restart web1's HAProxy (a restart loses every in-memory state)
                    for (const action of ["reload", "restart"] as const) {
                        const r = await lab.svc(WEB_HOSTS[0], action, "haproxy");
                        if (r.code !== 0) throw new Error(`${action} of ${WEB_HOSTS[0]}'s HAProxy failed: ${r.stderr.trim()}`);
                        const tAct = Date.now();
                        await sleep(5000);
                        const after = samples[WEB_HOSTS[0]].filter((x) => x.t > tAct && !x.node.startsWith("ERR"));
                        figures[`${action}SamplesOnWriter`] = `${after.filter((x) => x.node === next).length}/${after.length}`;
                        ok = ok && after.length > 0 && after.every((x) => x.node === next);
                    }
                } finally {
                    await Promise.all(probes.map((p) => p.stop()));
                }
                // Divergence: every web1 sample against the web2 sample nearest in time (within 250 ms).
                const [a, b] = WEB_HOSTS;
                let pairs = 0;
                let diverged = 0;
                for (const x of samples[a].filter((s0) => !s0.node.startsWith("ERR"))) {
                    const y = samples[b].filter((s0) => !s0.node.startsWith("ERR") && Math.abs(s0.t - x.t) <= 250).sort((p, q) => Math.abs(p.t - x.t) - Math.abs(q.t - x.t))[0];
                    if (!y) continue;
                    pairs++;
                    if (y.node !== x.node) diverged++;
                }
                figures.routeSamples = WEB_HOSTS.map((web) => `${web}:${samples[web].length}`).join(" ");
                figures.failedProbeConnections = WEB_HOSTS.map((web) => `${web}:${samples[web].filter((x) => x.node.startsWith("ERR")).length}`).join(" ");
                figures.pairedSamples = pairs;
                figures.divergentSamples = diverged;
                notes.push("divergence: each web1 probe against the nearest web2 probe within 250 ms, both asking @@wsrep_node_name on a new connection");
                return ok && diverged === 0 && pairs > 0 && figures.samplesOnReturnedNode === 0;
            }),
    },
    {
        name: "galera-app-connection-cap",
        description:
            "the app user's MAX_USER_CONNECTIONS through web1's HAProxy: its full quota opens, one more is refused with 1226 (ER_USER_LIMIT_REACHED), while the writer's health answers 200, stays in HAProxy and root can still connect; then released",
        run: (lab) =>
            scenario(lab, "galera-app-connection-cap", async ({ lab, notes, figures }) => {
                const writer = DB_NODES[0].name;
                const cap = appMaxConnections();
                const countApp = async () => Number((await dbQuery(lab, writer, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'owncloud';")).stdout.trim());
                const maxConn = (await dbQuery(lab, writer, "SELECT @@max_connections, (SELECT MAX_USER_CONNECTIONS FROM mysql.user WHERE User = 'owncloud' LIMIT 1);")).stdout.trim().split(/\s+/);
                figures.maxConnections = Number(maxConn[0]);
                figures.appMaxUserConnections = Number(maxConn[1]);
                const before = await countApp(); // the scenario's own writer holds one
                figures.appConnectionsBefore = before;
                let opened = -1;
                let extra = "";
                const failures: string[] = [];
                const probe = startProbe(lab, WEB, { mode: "cap", count: cap - before }, (l) => {
                    const f = l.split(" ");
                    if (f[0] === "O") opened = Number(f[1]);
                    else if (f[0] === "X") extra = `${f[1]} ${f[2]}`;
                    else if (f[0] === "F") failures.push(`${f[1]} ${f[2]}`);
                });
                let ok = false;
                try {
                    await waitFor("the app user's quota opened and one more tried", 120_000, async () => extra !== "");
                    figures.appConnectionsOpened = opened;
                    figures.appConnectionsAtCap = await countApp();
                    figures.oneMoreRefusedWith = extra;
                    if (failures.length) notes.push(`connections refused before the cap: ${failures.slice(0, 3).join(", ")} (${failures.length})`);
                    const st = await galeraNodeStatus(lab, writer);
                    figures.healthAtCap = st.health ?? -1;
                    const route = await haproxyRoute(lab, WEB);
                    figures.haproxyServerAtCap = route.server;
                    const root = await dbQuery(lab, writer, "SELECT CURRENT_USER(), (SELECT COUNT(*) FROM information_schema.PROCESSLIST);");
                    figures.rootConnects = root.code === 0 ? "yes" : `no (${root.stderr.trim()})`;
                    figures.threadsAtCap = root.code === 0 ? Number(root.stdout.trim().split(/\s+/).pop()) : -1;
                    ok =
                        figures.appMaxUserConnections === cap &&
                        figures.appConnectionsAtCap === cap &&
                        /^1226 /.test(extra) &&
                        figures.healthAtCap === 200 &&
                        route.node === writer &&
                        !/-(synced|donor)$/.test(route.server) &&
                        figures.rootConnects === "yes";
                } finally {
                    await probe.stop();
                }
                await waitFor("the app connections released", 30_000, async () => (await countApp()) <= before);
                figures.appConnectionsAfter = await countApp();
                return ok;
            }),
    },
    {
        name: "galera-rolling-restart",
        description: "planned maintenance: the rolling-restart plan (db2, db3, then the writer db1) under write load",
        run: (lab) =>
            scenario(lab, "galera-rolling-restart", async ({ lab, w, figures }) => {
                const tStart = Date.now();
                await lab.runPlan((await import("../galera-lab")).labGaleraRestartPlan());
                figures.restartPlanSeconds = r2((Date.now() - tStart) / 1000);
                // the writer (db1, restarted last) hands over: the role stays with the node that took it
                const designated = await designatedWriter(lab);
                figures.designatedWriter = designated;
                await waitFor(`every web host writing to ${designated}`, 30_000, async () =>
                    (await Promise.all(WEB_HOSTS.map((x) => haproxyWriter(lab, x)))).every((n) => n === designated));
                figures.writerOutageSeconds = r2(maxGapAfter(w, tStart));
                return true;
            }),
    },
    {
        name: "galera-node-reboot",
        description:
            "a non-writer node (db3) reboots (`systemctl reboot` inside it, as an instance reboot does): its data volume is mounted from the program's fstab line before mariadb starts (the RequiresMountsFor= drop-in), mariadb starts by itself and rejoins by IST; writes continue",
        run: (lab) =>
            scenario(lab, "galera-node-reboot", async ({ lab, w, notes, figures }) => {
                const host = DB_NODES[2].name;
                const off = logMark();
                const t0 = Date.now();
                figures.rebootSeconds = r2(await lab.reboot(host));
                await waitAllSynced(lab, `${host} Synced again after its reboot`, 180_000);
                figures.syncedAfterRebootSeconds = r2((Date.now() - t0) / 1000);
                figures.stateTransfer = await stateTransfer(lab, host, off);
                const show = async (unit: string, prop: string) =>
                    (await lab.exec(host, ["systemctl", "show", "-P", prop, unit])).stdout.trim();
                const mountUnit = (await lab.exec(host, ["systemd-escape", "--path", "--suffix=mount", "/var/lib/mysql"])).stdout.trim();
                const mountedAt = Number(await show(mountUnit, "ActiveEnterTimestampMonotonic"));
                const mariadbAt = Number(await show("mariadb.service", "ExecMainStartTimestampMonotonic"));
                const source = (await lab.exec(host, ["findmnt", "-n", "-o", "SOURCE", "--mountpoint", "/var/lib/mysql"])).stdout.trim();
                figures.dataMountSource = source || "not mounted";
                figures.mariadbStartedAfterMountSeconds = mountedAt > 0 && mariadbAt > 0 ? r2((mariadbAt - mountedAt) / 1e6) : -1;
                figures.mariadbRequiresMount = (await show("mariadb.service", "Requires")).split(" ").includes(mountUnit) ? "yes" : "no";
                figures.maxCommitGapSeconds = r2(maxGapAfter(w, t0));
                notes.push(`${host} rebooted; ${mountUnit} active at ${mountedAt} us, mariadb started at ${mariadbAt} us (monotonic)`);
                return (
                    source !== "" && figures.mariadbRequiresMount === "yes" && (figures.mariadbStartedAfterMountSeconds as number) >= 0 &&
                    String(figures.stateTransfer).startsWith("IST") && (figures.maxCommitGapSeconds as number) <= 5
                );
            }),
    },
];
