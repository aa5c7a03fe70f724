/**
 * Gluster bench (figures only, no pass/fail threshold): sequential write (with fsync) and read (page
 * cache dropped) of a MIB-sized file, 1 MiB blocks, on
 *   - a single local brick filesystem (XFS on fs1's loop device, outside the brick directory),
 *   - the Gluster mount on web1, healthy volume,
 *   - the Gluster mount on web1, degraded volume (every gluster process of fs3 killed),
 * reported as MB/s and as ratios to the local brick. Every lab host shares the same 2 vCPUs and the
 * same disk, so the ratios show protocol + erasure-coding overhead, not AWS network figures.
 */
import * as path from "path";
import { HOST_SCRIPTS, Lab } from "../lab-core";
import { ScenarioResult } from "../types";
import { MOUNT_POINT, killGlusterHost, startGlusterd, waitHealed, isMounted } from "../gluster-lab";

const MIB = 256;
const RUNS = 3;
const BENCH = path.join(HOST_SCRIPTS, "lab/gluster/seqbench.sh");

async function seq(lab: Lab, host: string, mode: "write" | "read", file: string): Promise<number> {
    const args = mode === "write" ? ["bash", BENCH, "write", file, String(MIB)] : ["bash", BENCH, "read", file];
    const r = await lab.exec(host, args, { timeoutMs: 700_000 });
    const m = /mbps=([\d.]+)/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`${mode} ${file} on ${host} failed: ${r.stderr.trim()}`);
    return Number(m[1]);
}

interface Figures { write: number; read: number; writeRange: string; readRange: string }

async function measure(lab: Lab, host: string, file: string): Promise<Figures> {
    const w: number[] = [];
    const rd: number[] = [];
    for (let i = 0; i < RUNS; i++) {
        w.push(await seq(lab, host, "write", file));
        rd.push(await seq(lab, host, "read", file));
    }
    await lab.exec(host, ["rm", "-f", file], { timeoutMs: 120_000 });
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const range = (a: number[]) => `${r1(Math.min(...a))}-${r1(Math.max(...a))}`;
    return { write: mean(w), read: mean(rd), writeRange: range(w), readRange: range(rd) };
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

export async function runGlusterBench(lab: Lab): Promise<ScenarioResult> {
    const t0 = Date.now();
    const notes: string[] = [`${MIB} MiB file, 1 MiB blocks, mean of ${RUNS} runs; write includes fsync, read after drop_caches`];
    const figures: ScenarioResult["figures"] = {};
    let ok = false;
    let killed = false;
    try {
        await waitHealed(lab, 120);
        if (!(await isMounted(lab, "web1"))) throw new Error(`${MOUNT_POINT} not mounted on web1`);
        const local = await measure(lab, "fs1", "/data/glusterfs/gfs_v_r5/brick_a/bench.bin");
        await lab.exec("web1", ["mkdir", "-p", `${MOUNT_POINT}/lab-bench`]);
        const healthy = await measure(lab, "web1", `${MOUNT_POINT}/lab-bench/healthy.bin`);
        killed = (await killGlusterHost(lab, "fs3")).length > 0;
        const degraded = await measure(lab, "web1", `${MOUNT_POINT}/lab-bench/degraded.bin`);
        await startGlusterd(lab, "fs3");
        killed = false;
        const heal = await waitHealed(lab, 300);
        Object.assign(figures, {
            localBrickWriteMBps: r1(local.write),
            localBrickReadMBps: r1(local.read),
            glusterHealthyWriteMBps: r1(healthy.write),
            glusterHealthyReadMBps: r1(healthy.read),
            glusterDegradedWriteMBps: r1(degraded.write),
            glusterDegradedReadMBps: r1(degraded.read),
            healthyWriteRatio: r2(healthy.write / local.write),
            healthyReadRatio: r2(healthy.read / local.read),
            degradedWriteRatio: r2(degraded.write / local.write),
            degradedReadRatio: r2(degraded.read / local.read),
            healSecondsAfterDegraded: r1(heal),
            rangeMBps: `local W ${local.writeRange} R ${local.readRange}; healthy W ${healthy.writeRange} R ${healthy.readRange}; degraded W ${degraded.writeRange} R ${degraded.readRange}`,
        });
        ok = true;
    } catch (e) {
        notes.push(`error: ${(e as Error).message}`);
        if (killed) { try { await startGlusterd(lab, "fs3"); } catch { /* reported */ } }
    }
    return { name: "gluster-seq-bench", ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
}
