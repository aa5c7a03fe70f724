/**
 * Benchmarks (figures only): Galera commits/s from web1 through its node-local HAProxy versus
 * directly to the writer node, same run, alternating, 1 and 4 client connections.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, log } from "./lab-core";
import { DB_NODES } from "./galera-lab";
import { createTable, runWriterProcess } from "./galera-client";

export interface BenchResult {
    name: string;
    ok: boolean;
    figures: Record<string, number | string>;
}

async function measure(lab: Lab, host: string, port: number, concurrency: number, table: string, startId: number, durationMs: number) {
    let line = "";
    const { done } = runWriterProcess(lab, "web1", { host, port, table, mode: "bench", durationMs, concurrency, startId }, (l) => (line = l));
    const err = await done;
    if (!line) throw new Error(`bench client failed: ${err}`);
    return JSON.parse(line) as { commits: number; errors: number; seconds: number; commitsPerSecond: number };
}

export async function runBench(lab: Lab, _names: string[]): Promise<BenchResult[]> {
    const writer = DB_NODES[0];
    const results: BenchResult[] = [];
    let startId = 1;
    for (const concurrency of [1, 4]) {
        const table = `bench_c${concurrency}`;
        await createTable(lab, table);
        const via: number[] = [];
        const direct: number[] = [];
        // alternate to cancel drift (disk cache, other load): D H D H D H
        for (let round = 0; round < 3; round++) {
            const d = await measure(lab, writer.address, 3306, concurrency, table, startId, 4000);
            startId += 100_000_000;
            const h = await measure(lab, "127.0.0.1", 3306, concurrency, table, startId, 4000);
            startId += 100_000_000;
            direct.push(d.commitsPerSecond);
            via.push(h.commitsPerSecond);
            log(`bench c=${concurrency} round ${round + 1}: direct ${d.commitsPerSecond.toFixed(0)}/s, haproxy ${h.commitsPerSecond.toFixed(0)}/s`);
        }
        const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
        const ratio = avg(via) / avg(direct);
        results.push({
            name: `galera-commits-haproxy-vs-direct-c${concurrency}`,
            ok: ratio >= 0.9,
            figures: {
                connections: concurrency,
                directCommitsPerSecond: Math.round(avg(direct)),
                haproxyCommitsPerSecond: Math.round(avg(via)),
                ratio: Math.round(ratio * 1000) / 1000,
                target: ">= 0.9",
            },
        });
    }
    // Gluster benchmark (owned by the Gluster helper), when present
    const gb = path.join(__dirname, "scenarios", "gluster-bench.ts");
    if (fs.existsSync(gb)) {
        const m = await import(gb);
        if (typeof m.runGlusterBench === "function") {
            const r = await m.runGlusterBench(lab);
            results.push({ name: r.name, ok: r.ok, figures: r.figures });
        }
    }
    return results;
}

export function printResults(results: BenchResult[]): void {
    for (const r of results) {
        console.log(`${r.ok ? "OK  " : "LOW "} ${r.name}`);
        for (const [k, v] of Object.entries(r.figures)) console.log(`        ${k}: ${v}`);
    }
}
