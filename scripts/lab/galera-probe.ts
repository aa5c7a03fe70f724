/**
 * Lab probe, run inside a web host's network namespace (nsenter --net) by the lab, with a JSON
 * config on stdin: { host, port, user, password, database, mode, intervalMs?, count? }
 * mode "route": until SIGTERM, every intervalMs a NEW connection through the host's HAProxy asks
 *   `SELECT @@wsrep_node_name` (the node this web host routes writes to) and prints
 *   `R <epoch_ms> <node>` or `R <epoch_ms> ERR:<code>`.
 * mode "cap": opens `count` connections and holds them (`O <n>` once open), then one more, printing
 *   `X <errno> <code>` for its failure (or `X 0 OPENED` if the server let it in); holds all until
 *   SIGTERM, then closes them and prints `D`.
 */
import * as mysql from "mysql2/promise";
import { AppConnectionCfg, runClient, sleep } from "./client-io";

interface Cfg extends AppConnectionCfg {
    mode: "route" | "cap";
    intervalMs?: number;
    count?: number;
}

// A restarted HAProxy holds a new connection up to its 2 s inspect delay: allow for it.
const connect = (c: Cfg) => mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, database: c.database, connectTimeout: 4000 });
const errCode = (e: unknown) => (e as { code?: string }).code ?? (e as Error).message.slice(0, 40).replace(/\s+/g, "_");

async function routeMode(c: Cfg) {
    let stop = false;
    process.on("SIGTERM", () => (stop = true));
    while (!stop) {
        const t = Date.now();
        try {
            const conn = await connect(c);
            conn.on("error", () => undefined);
            try {
                const [rows] = await conn.query({ sql: "SELECT @@wsrep_node_name AS n", timeout: 4000 });
                process.stdout.write(`R ${t} ${(rows as { n: string }[])[0].n}\n`);
            } finally {
                await conn.end().catch(() => undefined);
            }
        } catch (e) {
            process.stdout.write(`R ${t} ERR:${errCode(e)}\n`);
        }
        await sleep(Math.max(0, (c.intervalMs ?? 250) - (Date.now() - t)));
    }
}

async function capMode(c: Cfg) {
    let stop = false;
    process.on("SIGTERM", () => (stop = true));
    const conns: mysql.Connection[] = [];
    const want = c.count ?? 0;
    // in batches: the server and HAProxy see a burst, not one connection at a time for minutes
    while (conns.length < want) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(50, want - conns.length) }, () => connect(c)));
        for (const b of batch) {
            if (b.status === "fulfilled") {
                b.value.on("error", () => undefined);
                conns.push(b.value);
            } else {
                process.stdout.write(`F ${b.reason?.errno ?? 0} ${errCode(b.reason)}\n`);
                stop = true;
            }
        }
        if (stop) break;
    }
    // every held connection really works (a query, not just a handshake)
    await Promise.all(conns.map((k) => k.query("SELECT 1")));
    process.stdout.write(`O ${conns.length}\n`);
    try {
        const extra = await connect(c);
        process.stdout.write("X 0 OPENED\n");
        conns.push(extra);
    } catch (e) {
        process.stdout.write(`X ${(e as { errno?: number }).errno ?? 0} ${errCode(e)}\n`);
    }
    while (!stop) await sleep(200);
    await Promise.all(conns.map((k) => k.end().catch(() => undefined)));
    process.stdout.write("D\n");
}

runClient<Cfg>("galera-probe", (c) => (c.mode === "route" ? routeMode(c) : capMode(c)));
