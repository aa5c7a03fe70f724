/**
 * Benchmarks (figures only): Galera commits/s from web1 through its node-local HAProxy versus
 * directly to the writer node, same run, alternating, 1 and 4 client connections.
 */
import { GALERA_PORTS } from "../../components/database/ports";
import * as fs from "fs";
import * as path from "path";
import { Lab, log } from "./lab-core";
import { DB_NODES } from "./galera-lab";
import { createTable, runWriterProcess } from "./galera-client";

const ROUNDS = 8;
const ROUND_MS = 1500;

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

/** names: [] = all; otherwise any of "galera", "gluster". */
export async function runBench(lab: Lab, names: string[]): Promise<BenchResult[]> {
    const want = (n: string) => names.length === 0 || names.includes(n);
    const writer = DB_NODES[0];
    const results: BenchResult[] = [];
    let startId = 1;
    for (const concurrency of want("galera") ? [1, 4] : []) {
        const table = `bench_c${concurrency}`;
        await createTable(lab, table);
        const via: number[] = [];
        const direct: number[] = [];
        // paired rounds in alternating order (D H, H D, …) cancel drift (disk cache, other load);
        // the figure is the median of the per-round ratios (commits are fsync-bound and noisy here)
        const ratios: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
            const pair: Record<string, number> = {};
            for (const which of round % 2 === 0 ? ["direct", "haproxy"] : ["haproxy", "direct"]) {
                const m = which === "direct"
                    ? await measure(lab, writer.address, GALERA_PORTS.mysql, concurrency, table, startId, ROUND_MS)
                    : await measure(lab, "127.0.0.1", GALERA_PORTS.mysql, concurrency, table, startId, ROUND_MS);
                startId += 100_000_000;
                pair[which] = m.commitsPerSecond;
            }
            direct.push(pair.direct);
            via.push(pair.haproxy);
            ratios.push(pair.haproxy / pair.direct);
            log(`bench c=${concurrency} round ${round + 1}: direct ${pair.direct.toFixed(0)}/s, haproxy ${pair.haproxy.toFixed(0)}/s`);
        }
        const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
        const sorted = [...ratios].sort((a, b) => a - b);
        const ratio = sorted[Math.floor(sorted.length / 2)];
        results.push({
            name: `galera-commits-haproxy-vs-direct-c${concurrency}`,
            ok: ratio >= 0.9,
            figures: {
                connections: concurrency,
                directCommitsPerSecond: Math.round(avg(direct)),
                haproxyCommitsPerSecond: Math.round(avg(via)),
                ratio: Math.round(ratio * 1000) / 1000,
                ratioOfMeans: Math.round((avg(via) / avg(direct)) * 1000) / 1000,
                rounds: ROUNDS,
                secondsPerRun: ROUND_MS / 1000,
                target: ">= 0.9",
            },
        });
    }
    // Gluster benchmark (owned by the Gluster helper), when present
    const gb = path.join(__dirname, "scenarios", "gluster-bench.ts");
    if (want("gluster") && fs.existsSync(gb)) {
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
