/** Galera + HAProxy in the lab: plans built from the lab's hosts, status, the recovery procedure. */
import * as path from "path";
import { galeraPlan, galeraRollingRestartPlan, haproxyPlan, GaleraNode } from "../../components/bootstrap/galera";
import { BootstrapStep } from "../../components/bootstrap/plan";
import { HOSTS, Lab, REMOTE_SCRIPTS, log, shq, sleep } from "./lab-core";

export const DB_NODES: GaleraNode[] = HOSTS.filter((h) => h.role === "db").map((h) => ({ name: h.name, address: h.ip }));
export const WEB_HOSTS = HOSTS.filter((h) => h.role === "web").map((h) => h.name);
export const DESIGNATED = DB_NODES[0].name;

export const labGaleraPlan = () =>
    galeraPlan({ clusterName: "oclab", nodes: DB_NODES, bootstrapNode: DESIGNATED, appHosts: "198.18.0.%", syncTimeoutSeconds: 300 });
export const labGaleraRestartPlan = () =>
    galeraRollingRestartPlan({ clusterName: "oclab", nodes: DB_NODES, bootstrapNode: DESIGNATED, appHosts: "198.18.0.%", syncTimeoutSeconds: 300 });
export const labHaproxyPlan = () => haproxyPlan({ webHosts: WEB_HOSTS, galeraNodes: DB_NODES });

export interface GaleraNodeStatus {
    node: string;
    running: boolean;
    clusterSize?: number;
    clusterStatus?: string;
    state?: string;
    health?: number;
}

/** Local query inside a db host as root over the unix socket (lab-side observation). */
export async function dbQuery(lab: Lab, host: string, sql: string, timeoutMs = 10_000) {
    return lab.exec(host, ["mariadb", "--no-defaults", "--socket=/run/mysqld/mysqld.sock", "-uroot", "-N", "-B", "--connect-timeout=2"], {
        input: sql,
        timeoutMs,
    });
}

export async function galeraNodeStatus(lab: Lab, node: string): Promise<GaleraNodeStatus> {
    const running = (await lab.svc(node, "status", "mariadb")).code === 0;
    if (!running) return { node, running };
    const r = await dbQuery(
        lab,
        node,
        "SET SESSION wsrep_sync_wait=0; SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('WSREP_CLUSTER_SIZE','WSREP_CLUSTER_STATUS','WSREP_LOCAL_STATE_COMMENT');",
        5000,
    );
    const kv: Record<string, string> = {};
    for (const line of r.stdout.split("\n")) {
        const [k, v] = line.split("\t");
        if (k) kv[k.toUpperCase()] = v;
    }
    const h = await lab.sh(node, "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 4 socat - TCP:127.0.0.1:9200 2>/dev/null | head -n1", { timeoutMs: 6000 });
    return {
        node,
        running,
        clusterSize: kv.WSREP_CLUSTER_SIZE ? Number(kv.WSREP_CLUSTER_SIZE) : undefined,
        clusterStatus: kv.WSREP_CLUSTER_STATUS,
        state: kv.WSREP_LOCAL_STATE_COMMENT,
        health: Number(h.stdout.split(" ")[1]) || undefined,
    };
}

/** Which server a web host's HAProxy sends writes to (first UP non-backup, else first UP backup). */
export async function haproxyWriter(lab: Lab, web: string): Promise<string> {
    const r = await lab.sh(web, "echo 'show stat' | socat -t2 stdio UNIX-CONNECT:/run/haproxy/admin.sock", { timeoutMs: 5000 });
    if (r.code !== 0) return "haproxy-down";
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("galera-writer,") && !/,(FRONTEND|BACKEND),/.test(l));
    // columns: pxname,svname,...,status(17),...,act(19),bck(20)
    const parsed = rows.map((l) => l.split(",")).map((c) => ({ name: c[1], status: c[17], backup: c[20] === "1" }));
    const up = parsed.filter((p) => p.status.startsWith("UP"));
    const active = up.find((p) => !p.backup) ?? up.find((p) => p.backup);
    return active ? active.name : "none-up";
}

function stepFor(host: string, script: string, env: Record<string, string>, id = `${script}-${host}`): BootstrapStep {
    return { id, host, script, env, secrets: [], dependsOn: [], description: id };
}

async function runOne(lab: Lab, step: BootstrapStep) {
    const r = await lab.runStep(step, lab.secrets());
    if (r.code !== 0) throw new Error(`${step.script} on ${step.host} failed: ${(r.stderr + r.stdout).trim().split("\n").slice(-10).join("\n")}`);
    return r;
}

const peersOf = (name: string) => DB_NODES.filter((n) => n.name !== name).map((n) => n.address).join(",");

/** One round of the recovery procedure's reading half: report.sh on every node, then decide.sh. */
export async function decideOnce(lab: Lab, tryPc: boolean): Promise<{ decision: string; reports: string[]; stderr: string }> {
    const reports = await Promise.all(
        DB_NODES.map((n) => runOne(lab, stepFor(n.name, "galera/report.sh", { GALERA_NODE_NAME: n.name })).then((r) => r.stdout.trim())),
    );
    const decideEnv = { GALERA_NODES: DB_NODES.map((n) => n.name).join(","), GALERA_DESIGNATED: DESIGNATED, GALERA_TRY_PC_RECOVERY: tryPc ? "1" : "0" };
    // decide.sh is pure: run it on the bastion (any host with the scripts will do)
    const envStr = Object.entries(decideEnv).map(([k, v]) => `${k}=${shq(v)}`).join(" ");
    const d = await lab.ssh("bastion", `cd ${REMOTE_SCRIPTS} && env ${envStr} bash galera/decide.sh`, { input: reports.join("\n") + "\n" });
    return { decision: d.stdout.trim(), reports, stderr: d.stderr };
}

/**
 * Bring every Galera node back with the decision procedure (scripts/galera/decide.sh), no human
 * choice: report every node -> decide -> act; one retry without pc.recovery if it fails.
 */
export async function recoverGalera(lab: Lab, notes: string[] = []): Promise<void> {
    let tryPc = true;
    for (let round = 0; round < 4; round++) {
        const { decision, reports, stderr } = await decideOnce(lab, tryPc);
        log(`galera decision: ${decision}  (reports: ${reports.join(" | ")})`);
        notes.push(`decision: ${decision}`);
        const [action, node] = decision.split(" ");
        const stopped = async () => {
            const st = await Promise.all(DB_NODES.map((n) => lab.svc(n.name, "status", "mariadb")));
            return DB_NODES.filter((_, i) => st[i].code !== 0).map((n) => n.name);
        };
        if (action === "join") {
            for (const n of await stopped()) await runOne(lab, stepFor(n, "galera/start.sh", { GALERA_MODE: "join", GALERA_PEERS: peersOf(n), GALERA_SYNC_TIMEOUT: "300" }));
            return;
        } else if (action === "bootstrap" || action === "bootstrap-force") {
            await runOne(lab, stepFor(node, "galera/start.sh", {
                GALERA_MODE: "bootstrap", GALERA_PEERS: peersOf(node), GALERA_SYNC_TIMEOUT: "300",
                ...(action === "bootstrap-force" ? { GALERA_FORCE_BOOTSTRAP: "1" } : {}),
            }));
            for (const n of await stopped()) await runOne(lab, stepFor(n, "galera/start.sh", { GALERA_MODE: "join", GALERA_PEERS: peersOf(n), GALERA_SYNC_TIMEOUT: "300" }));
            return;
        } else if (action === "pc-recovery") {
            const rs = await Promise.all(
                DB_NODES.map((n) => lab.runStep(stepFor(n.name, "galera/start.sh", { GALERA_MODE: "join", GALERA_PEERS: peersOf(n.name), GALERA_SYNC_TIMEOUT: "40" }), {})),
            );
            if (rs.every((r) => r.code === 0)) return;
            notes.push("pc.recovery did not form a Primary Component in 40 s: stopping all nodes, deciding again without it");
            await Promise.all(DB_NODES.map((n) => lab.svc(n.name, "stop", "mariadb")));
            tryPc = false;
        } else if (action === "wait") {
            await sleep(5000);
        } else {
            throw new Error(`galera decision procedure refused: ${decision} ${stderr}`);
        }
    }
    throw new Error("galera recovery did not converge in 4 rounds");
}

export const LAB_DIR = path.resolve(__dirname);
