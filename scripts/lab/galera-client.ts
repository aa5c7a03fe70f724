/** Drives scripts/lab/writer.ts inside a web host and evaluates acknowledged writes. */
import { GALERA_PORTS } from "../../components/database/ports";
import { spawn } from "child_process";
import * as path from "path";
import { Lab, REPO, sleep } from "./lab-core";
import { DB_NODES, dbQuery } from "./galera-lab";

export interface WriterHandle {
    acks: { id: number; t: number }[];
    errors: { t: number; code: string }[];
    connects: number[];
    /** Stop and wait for the writer to exit. */
    stop(): Promise<void>;
    done: Promise<void>;
}

const TSX = path.join(REPO, "node_modules/.bin/tsx");
const WRITER = path.join(__dirname, "writer.ts");

export async function createTable(lab: Lab, table: string): Promise<void> {
    const r = await dbQuery(
        lab,
        DB_NODES[0].name,
        `DROP TABLE IF EXISTS owncloud.\`${table}\`; CREATE TABLE owncloud.\`${table}\` (id BIGINT NOT NULL PRIMARY KEY, t BIGINT NOT NULL) ENGINE=InnoDB;`,
    );
    if (r.code !== 0) {
        // db1 may be the node a previous scenario left down: try the others
        for (const n of DB_NODES.slice(1)) {
            const r2 = await dbQuery(lab, n.name, `DROP TABLE IF EXISTS owncloud.\`${table}\`; CREATE TABLE owncloud.\`${table}\` (id BIGINT NOT NULL PRIMARY KEY, t BIGINT NOT NULL) ENGINE=InnoDB;`);
            if (r2.code === 0) return;
        }
        throw new Error(`cannot create table ${table}: ${r.stderr}`);
    }
}

/**
 * A lab client (writer.ts, galera-probe.ts: scripts/lab/client-io.ts) inside `web`'s network
 * namespace as the app user: `cfg` as JSON on its stdin, each stdout line to `onLine`; `done`
 * resolves with its stderr once it exits.
 */
export function runAppClient(lab: Lab, web: string, script: string, cfg: Record<string, unknown>, onLine: (l: string) => void): { proc: ReturnType<typeof spawn>; done: Promise<string> } {
    const full = { user: "owncloud", password: lab.secrets().GALERA_APP_PASSWORD, database: "owncloud", ...cfg };
    const proc = spawn(lab.netnsArgs(web)[0], [...lab.netnsArgs(web).slice(1), TSX, script], { stdio: ["pipe", "pipe", "pipe"] });
    let buf = "";
    let err = "";
    proc.stdout!.on("data", (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
        }
    });
    proc.stderr!.on("data", (d) => (err += d));
    proc.stdin!.end(JSON.stringify(full));
    const done = new Promise<string>((resolve) => proc.on("close", () => resolve(err)));
    return { proc, done };
}

/** scripts/lab/writer.ts in `web` (see `runAppClient`). */
export function runWriterProcess(lab: Lab, web: string, cfg: Record<string, unknown>, onLine: (l: string) => void): { proc: ReturnType<typeof spawn>; done: Promise<string> } {
    return runAppClient(lab, web, WRITER, cfg, onLine);
}

export async function startWriter(lab: Lab, web: string, table: string, maxMs = 600_000): Promise<WriterHandle> {
    const h: WriterHandle = { acks: [], errors: [], connects: [], stop: async () => undefined, done: Promise.resolve() };
    const { proc, done } = runWriterProcess(lab, web, { host: "127.0.0.1", port: GALERA_PORTS.mysql, table, mode: "write", durationMs: maxMs }, (l) => {
        const f = l.split(" ");
        if (f[0] === "A") h.acks.push({ id: Number(f[1]), t: Number(f[2]) });
        else if (f[0] === "E") h.errors.push({ t: Number(f[1]), code: f[2] });
        else if (f[0] === "C") h.connects.push(Number(f[1]));
    });
    h.done = done.then(() => undefined);
    h.stop = async () => {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 20_000);
        await done;
        clearTimeout(t);
    };
    // wait for the first acknowledged commit (bounded)
    for (let i = 0; i < 100 && h.acks.length === 0; i++) await sleep(100);
    if (h.acks.length === 0) {
        await h.stop();
        throw new Error(`writer on ${web} got no commit within 10 s (errors: ${h.errors.map((e) => e.code).slice(0, 5).join(",")}; ${await done})`);
    }
    return h;
}

/** Seconds from the fault to the first acknowledged commit after it. */
export function firstCommitAfter(h: WriterHandle, tFault: number): number | undefined {
    const a = h.acks.find((x) => x.t > tFault);
    return a ? (a.t - tFault) / 1000 : undefined;
}

/** Longest gap between consecutive acknowledged commits after tFault (including fault -> first ack). */
export function maxGapAfter(h: WriterHandle, tFault: number): number {
    let prev = tFault;
    let gap = 0;
    for (const a of h.acks) {
        if (a.t <= tFault) continue;
        gap = Math.max(gap, a.t - prev);
        prev = a.t;
    }
    return gap / 1000;
}

/** Acknowledged ids missing on each given node (node must be running and Synced). */
export async function lostAcked(lab: Lab, table: string, acks: { id: number }[], nodes = DB_NODES.map((n) => n.name)): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const n of nodes) {
        const r = await dbQuery(lab, n, `SET SESSION wsrep_sync_wait=1; SELECT id FROM owncloud.\`${table}\`;`, 30_000);
        if (r.code !== 0) throw new Error(`reading ${table} on ${n} failed: ${r.stderr}`);
        const have = new Set(r.stdout.split("\n").filter(Boolean).map(Number));
        out[n] = acks.filter((a) => !have.has(a.id)).length;
    }
    return out;
}
