/** Galera + HAProxy in the lab: plans built from the lab's hosts, status, the recovery procedure. */
import * as path from "path";
import { galeraRollingRestartPlan, GaleraNode } from "../../components/database/plan";
import { GALERA_PORTS } from "../../components/database/ports";
import { decideOnce as sharedDecideOnce, recoverGalera as sharedRecoverGalera } from "../ops/galera-recovery";
import { HOSTS, Lab, log } from "./lab-core";
import { userDataSetting, webUserData } from "./replay/record";
import { LAB_GALERA_SYNC_TIMEOUT_S, labGaleraRecoveryTarget, labOpsTarget, labRunner } from "./lab-ops";

export const DB_NODES: GaleraNode[] = HOSTS.filter((h) => h.role === "db").map((h) => ({ name: h.name, address: h.ip }));
export { WEB_HOSTS } from "./web-lab";
export const DESIGNATED = DB_NODES[0].name;

export const labGaleraRestartPlan = () =>
    galeraRollingRestartPlan({ clusterName: "owncloud", nodes: DB_NODES, bootstrapNode: DESIGNATED, appHosts: "198.18.0.%", syncTimeoutSeconds: LAB_GALERA_SYNC_TIMEOUT_S });

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
    const h = await lab.sh(node, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 4 socat - TCP:127.0.0.1:${GALERA_PORTS.health} 2>/dev/null | head -n1`, { timeoutMs: 6000 });
    return {
        node,
        running,
        clusterSize: kv.WSREP_CLUSTER_SIZE ? Number(kv.WSREP_CLUSTER_SIZE) : undefined,
        clusterStatus: kv.WSREP_CLUSTER_STATUS,
        state: kv.WSREP_LOCAL_STATE_COMMENT,
        health: Number(h.stdout.split(" ")[1]) || undefined,
    };
}

let serverHosts: Map<string, string> | undefined;
/**
 * The lab db host behind each of the web hosts' HAProxy server names: the names the web user data's
 * GALERA_BACKENDS gives (`name=address`, the program's node names), mapped by address.
 */
function haproxyServerHosts(lab: Lab): Map<string, string> {
    if (!serverHosts) {
        const backends = userDataSetting(webUserData(lab.recording()), "GALERA_BACKENDS");
        if (!backends) throw new Error("the recorded web user data sets no GALERA_BACKENDS");
        serverHosts = new Map(
            backends.split(",").map((entry) => {
                const [name, address] = entry.split("=");
                const host = HOSTS.find((h) => h.ip === address);
                if (!host) throw new Error(`GALERA_BACKENDS names ${name}=${address}, which is no lab host's address`);
                return [name, host.name] as const;
            }),
        );
    }
    return serverHosts;
}

/**
 * Which node a web host's HAProxy sends writes to, from its `show stat`: with `balance first` the first
 * UP server of tier 1 (the designated writer), else the first UP backup (no allbackups): a Synced
 * fallback `<node>-synced`, then a Donor `<node>-donor`. Returns the lab db host and the server's name.
 */
export async function haproxyRoute(lab: Lab, web: string): Promise<{ node: string; server: string }> {
    const r = await lab.sh(web, "echo 'show stat' | socat -t2 stdio UNIX-CONNECT:/run/haproxy/admin.sock", { timeoutMs: 5000 });
    if (r.code !== 0) return { node: "haproxy-down", server: "haproxy-down" };
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("galera-writer,") && !/,(FRONTEND|BACKEND),/.test(l));
    // columns: pxname,svname,...,status(17),...,act(19),bck(20)
    const parsed = rows.map((l) => l.split(",")).map((c) => ({ name: c[1], status: c[17], backup: c[20] === "1" }));
    const up = parsed.filter((p) => p.status.startsWith("UP"));
    const active = up.find((p) => !p.backup) ?? up.find((p) => p.backup);
    if (!active) return { node: "none-up", server: "none-up" };
    const name = active.name.replace(/-(synced|donor)$/, "");
    return { node: haproxyServerHosts(lab).get(name) ?? name, server: active.name };
}
export async function haproxyWriter(lab: Lab, web: string): Promise<string> {
    return (await haproxyRoute(lab, web)).node;
}

/** The program's name of a lab db host's Galera node (what the writer row and the node's own checks use). */
export function galeraNodeName(host: string): string {
    return HOSTS.find((h) => h.role === "db" && h.name === host)?.nodeName ?? host;
}

/** The lab db host of a Galera node name ("" stays ""). */
export function labHostOfGaleraNode(node: string): string {
    return HOSTS.find((h) => h.role === "db" && h.nodeName === node)?.name ?? node;
}

/**
 * Designate `node` as the single writer (what an operator does for a planned switchover: one
 * replicated row, README "Galera writer"), through the first node that answers SQL.
 */
export async function designateWriter(lab: Lab, node: string): Promise<void> {
    const sql = `INSERT INTO owncloud_ha.writer (id, node, since) VALUES (1, '${galeraNodeName(node)}', NOW(6)) ON DUPLICATE KEY UPDATE node = VALUES(node), since = VALUES(since);`;
    let last = "";
    for (const n of DB_NODES) {
        const r = await dbQuery(lab, n.name, sql);
        if (r.code === 0) return;
        last = `${n.name}: ${r.stderr.trim()}`;
    }
    throw new Error(`cannot designate ${node} as the writer: ${last}`);
}

/** The designated writer as the cluster records it ("" when none). */
export async function designatedWriter(lab: Lab): Promise<string> {
    for (const n of DB_NODES) {
        const r = await dbQuery(lab, n.name, "SELECT node FROM owncloud_ha.writer WHERE id = 1;");
        if (r.code === 0) return labHostOfGaleraNode(r.stdout.trim());
    }
    return "";
}

/** One round of the recovery procedure's reading half (report.sh on every node, then decide.sh): scripts/ops/galera-recovery.ts. */
export async function decideOnce(_lab: Lab, tryPc: boolean): Promise<{ decision: string; reports: string[] }> {
    const target = labOpsTarget();
    const runner = labRunner(target);
    try {
        return await sharedDecideOnce(labGaleraRecoveryTarget(target), { runner, log }, tryPc);
    } finally {
        runner.close();
    }
}

/**
 * Bring every Galera node back with the decision procedure, no human choice: the very code of
 * `npm run ops -- <stack> galera-recover` (scripts/ops/galera-recovery.ts) over the same ssh
 * transport, through the lab's bastion, with the outputs `up` wrote for `npm run ops -- lab`.
 */
export async function recoverGalera(_lab: Lab, notes: string[] = []): Promise<void> {
    const target = labOpsTarget();
    const runner = labRunner(target);
    try {
        await sharedRecoverGalera(labGaleraRecoveryTarget(target), { runner, log }, notes);
    } finally {
        runner.close();
    }
}

export const LAB_DIR = path.resolve(__dirname);
