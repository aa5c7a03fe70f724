/**
 * Lab client, run inside a web host's network namespace (nsenter --net) by the lab:
 *   tsx writer.ts   with a JSON config on stdin:
 *   { host, port, user, password, database, table, mode: "write" | "bench", durationMs, concurrency?, startId? }
 * mode "write": one connection, INSERT rows with increasing ids (autocommit); prints
 *   `A <id> <epoch_ms>` for every acknowledged commit, `E <epoch_ms> <code>` for every failure,
 *   `C <epoch_ms>` on (re)connect. Reconnects after 100 ms on any error. Ends after durationMs or SIGTERM.
 * mode "bench": `concurrency` connections insert as fast as they can for durationMs; prints one JSON line.
 */
import * as mysql from "mysql2/promise";
import { AppConnectionCfg, runClient, sleep } from "./client-io";

interface Cfg extends AppConnectionCfg {
    table: string;
    mode: "write" | "bench";
    durationMs: number;
    concurrency?: number;
    startId?: number;
}

async function connect(c: Cfg) {
    return mysql.createConnection({ host: c.host, port: c.port, user: c.user, password: c.password, database: c.database, connectTimeout: 1000 });
}

async function writeMode(c: Cfg) {
    let stop = false;
    process.on("SIGTERM", () => (stop = true));
    const end = Date.now() + c.durationMs;
    let id = c.startId ?? 1;
    let conn: mysql.Connection | undefined;
    while (!stop && Date.now() < end) {
        try {
            if (!conn) {
                conn = await connect(c);
                conn.on("error", () => undefined);
                process.stdout.write(`C ${Date.now()}\n`);
            }
            await conn.query({ sql: `INSERT INTO \`${c.table}\` (id, t) VALUES (?, ?)`, timeout: 15000 }, [id, Date.now()]);
            process.stdout.write(`A ${id} ${Date.now()}\n`);
            id++;
        } catch (e) {
            const err = e as { code?: string; errno?: number };
            process.stdout.write(`E ${Date.now()} ${err.code ?? err.errno ?? "ERR"}\n`);
            // the id is not reused: a failed commit may still have been applied (ambiguous)
            id++;
            try { conn?.destroy(); } catch { /* ignore */ }
            conn = undefined;
            await sleep(100);
        }
    }
    try { await conn?.end(); } catch { /* ignore */ }
}

async function benchMode(c: Cfg) {
    const n = c.concurrency ?? 1;
    const t0 = Date.now();
    const end = t0 + c.durationMs;
    let commits = 0;
    let errors = 0;
    await Promise.all(
        Array.from({ length: n }, async (_, w) => {
            const conn = await connect(c);
            let id = (c.startId ?? 1) + w * 10_000_000;
            while (Date.now() < end) {
                try {
                    await conn.query(`INSERT INTO \`${c.table}\` (id, t) VALUES (?, ?)`, [id++, Date.now()]);
                    commits++;
                } catch {
                    errors++;
                }
            }
            await conn.end();
        }),
    );
    const secs = (Date.now() - t0) / 1000;
    process.stdout.write(JSON.stringify({ commits, errors, seconds: secs, commitsPerSecond: commits / secs }) + "\n");
}

runClient<Cfg>("writer", (c) => (c.mode === "bench" ? benchMode(c) : writeMode(c)));
