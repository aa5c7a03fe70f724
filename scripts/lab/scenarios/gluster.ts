/**
 * GlusterFS fault scenarios. Each one: the volume is healthy (every brick online, 0 pending heals),
 * a client on web1 writes files with checksums to the Gluster mount (every acknowledged write is
 * recorded; bounded in count and time) and reads earlier files back, the fault is injected and
 * lifted, heal is awaited (bounded) and every acknowledged file is compared with its checksum — from
 * web1, and again from web2 with a DIFFERENT brick down, so the reads must use the healed brick.
 *
 *   gluster-kill-host        SIGKILL every gluster process of fs1 (also web's first volfile server)
 *   gluster-net-cut          fs2 silently cut off the network for longer than network.ping-timeout
 *   gluster-mount-first-down web2 mounts while fs1 (first volfile server) is down: killed, then cut off
 *   gluster-replace-node     fs3 replaced by a "new instance": gluster killed, /var/lib/glusterd and the
 *                            brick's filesystem wiped, then fs3's plan steps re-run (what Pulumi does
 *                            for a replaced instance): same address, old peer UUID, reset-brick, full heal
 */
import { Lab, sleep } from "../lab-core";
import { Scenario, ScenarioResult } from "../types";
import { brickPaths } from "../../../components/bootstrap/gluster";
import {
    MOUNT_POINT,
    PING_TIMEOUT_S,
    VOLUME,
    cutNetwork,
    isMounted,
    killGlusterHost,
    gluster,
    labGlusterPlans,
    labGlusterSettings,
    readWriterLog,
    restoreNetwork,
    startGlusterd,
    startWriter,
    verifyAcked,
    waitClientConnected,
    waitHealed,
    waitWriter,
    WriterLog,
} from "../gluster-lab";

const KILL_STALL_TARGET_S = 5;
const FAULT_AT_S = 5;
const HOLD_S = 20; // > ping-timeout, so the cut brick is really declared dead
const AFTER_S = 10;
const MAX_FILES = 3000;
const HEAL_TIMEOUT_S = 300;

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Fault {
    victim: string;
    inject(lab: Lab): Promise<void>;
    restore(lab: Lab): Promise<void>;
}

/** Stall = longest stretch without any completed client operation, inside [from, to]. */
function stallIn(w: WriterLog, from: number, to: number): { gap: number; op: number } {
    let gap = 0;
    let op = 0;
    let prev = from;
    for (const o of w.ops) {
        if (o.t1 < from) continue;
        if (o.t0 > to) break;
        gap = Math.max(gap, o.t1 - prev);
        op = Math.max(op, o.t1 - Math.max(o.t0, from));
        prev = o.t1;
    }
    gap = Math.max(gap, Math.min(to, w.ops.length ? w.ops[w.ops.length - 1].t1 : to) - prev);
    return { gap, op };
}

/** Copy web1's writer log to web2 and verify all acked files from web2 while `down` is killed. */
async function crossCheck(lab: Lab, dir: string, logf: string, down: string, notes: string[]) {
    const content = (await lab.exec("web1", ["cat", logf])).stdout;
    await lab.exec("web2", ["bash", "-c", `cat > ${logf}`], { input: content });
    const reconnect = await waitClientConnected(lab, "web2", 60);
    notes.push(`web2's client was connected to every brick ${round(reconnect, 1)} s after the heal finished`);
    const killed = await killGlusterHost(lab, down);
    notes.push(`cross-check: killed ${killed.length} gluster processes on ${down}; reading every acked file from web2 (needs the healed brick)`);
    try {
        return await verifyAcked(lab, "web2", dir, logf);
    } finally {
        await startGlusterd(lab, down);
        await waitHealed(lab, HEAL_TIMEOUT_S);
    }
}

async function runFault(lab: Lab, name: string, fault: Fault, stallTargetS: number, crossDown: string): Promise<ScenarioResult> {
    const t0 = Date.now();
    const notes: string[] = [];
    const figures: ScenarioResult["figures"] = {};
    let ok = false;
    const dir = `${MOUNT_POINT}/lab-gluster/${name}-${Date.now()}`;
    const logf = `/tmp/${name}.log`;
    let injected = false;
    try {
        await waitHealed(lab, 120);
        for (const w of ["web1", "web2"]) if (!(await isMounted(lab, w))) throw new Error(`${MOUNT_POINT} not mounted on ${w}`);
        await startWriter(lab, "web1", dir, logf, MAX_FILES, FAULT_AT_S + HOLD_S + AFTER_S);
        await sleep(FAULT_AT_S * 1000);
        const tFault = Date.now() / 1000;
        await fault.inject(lab);
        injected = true;
        lab.log(`${name}: fault injected on ${fault.victim}`);
        await sleep(HOLD_S * 1000);
        const tRestore = Date.now() / 1000;
        await fault.restore(lab);
        injected = false;
        lab.log(`${name}: ${fault.victim} restored`);
        const w = await waitWriter(lab, "web1", logf, FAULT_AT_S + HOLD_S + AFTER_S + 180);
        const healT = Date.now();
        const healWait = await waitHealed(lab, HEAL_TIMEOUT_S);
        const healSeconds = (Date.now() - healT) / 1000;
        const v1 = await verifyAcked(lab, "web1", dir, logf);
        const v2 = await crossCheck(lab, dir, logf, crossDown, notes);
        const during = w.ops.filter((o) => o.t0 >= tFault + stallTargetS && o.t1 <= tRestore);
        const stall = stallIn(w, tFault, tRestore + 5);
        Object.assign(figures, {
            victim: fault.victim,
            ackedWrites: w.acked,
            failedWrites: w.failed,
            reads: w.reads,
            badReads: w.badReads,
            readErrors: w.readErrors,
            writesAckedWhileDown: during.filter((o) => o.kind === "w" && o.ok).length,
            readsOkWhileDown: during.filter((o) => o.kind === "r" && o.ok).length,
            lostOrCorruptWeb1: v1.missing + v1.corrupt,
            lostOrCorruptWeb2Degraded: v2.missing + v2.corrupt,
            clientStallSeconds: round(stall.gap),
            longestOpSeconds: round(stall.op),
            stallTargetSeconds: stallTargetS,
            healSeconds: round(healSeconds, 1),
            healWaitIncludingTrigger: round(healWait, 1),
            pingTimeoutSeconds: PING_TIMEOUT_S,
        });
        ok =
            w.acked > 0 && v1.acked === w.acked && v1.missing + v1.corrupt === 0 && v2.missing + v2.corrupt === 0 && v2.acked === w.acked &&
            w.badReads === 0 && w.readErrors === 0 && w.failed === 0 &&
            stall.gap <= stallTargetS &&
            (figures.writesAckedWhileDown as number) > 0 && (figures.readsOkWhileDown as number) > 0;
        if (!ok) notes.push(`verify web1: ${v1.raw}; web2: ${v2.raw}`);
        await lab.exec("web1", ["rm", "-rf", dir], { timeoutMs: 120_000 });
    } catch (e) {
        notes.push(`error: ${(e as Error).message}`);
        if (injected) {
            try { await fault.restore(lab); } catch (e2) { notes.push(`restore failed: ${(e2 as Error).message}`); }
        }
        try {
            const w = await readWriterLog(lab, "web1", logf);
            figures.ackedWrites = w.acked;
        } catch { /* ignore */ }
    }
    return { name, ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
}

const killHost: Scenario = {
    name: "gluster-kill-host",
    description: `kill -9 every gluster process on fs1 during writes; reads/writes go on (stall <= ${KILL_STALL_TARGET_S} s); restart; heal to 0; all checksums match`,
    run: (lab) =>
        runFault(lab, "gluster-kill-host", {
            victim: "fs1",
            inject: async (l) => { await killGlusterHost(l, "fs1"); },
            restore: (l) => startGlusterd(l, "fs1"),
        }, KILL_STALL_TARGET_S, "fs2"),
};

const netCut: Scenario = {
    name: "gluster-net-cut",
    description: `cut fs2 off the network for ${HOLD_S} s during writes; client stalls <= network.ping-timeout (${PING_TIMEOUT_S} s); heal to 0; all checksums match`,
    run: (lab) =>
        runFault(lab, "gluster-net-cut", {
            victim: "fs2",
            inject: (l) => cutNetwork(l, "fs2"),
            restore: (l) => restoreNetwork(l, "fs2"),
        }, PING_TIMEOUT_S, "fs3"),
};

/** web2 mounts (the real plan step, over SSH) while fs1 is down; then writes and reads a file. */
const mountFirstDown: Scenario = {
    name: "gluster-mount-first-down",
    description: "web2 mounts the volume while the first volfile server (fs1) is down — processes killed, then cut off the network",
    run: async (lab) => {
        const t0 = Date.now();
        const notes: string[] = [];
        const figures: ScenarioResult["figures"] = {};
        let ok = true;
        const step = labGlusterPlans(lab).clients.steps.find((s) => s.host === "web2")!;
        const variants: [string, (l: Lab) => Promise<void>, (l: Lab) => Promise<void>][] = [
            ["killed", async (l) => { await killGlusterHost(l, "fs1"); }, (l) => startGlusterd(l, "fs1")],
            ["cut", (l) => cutNetwork(l, "fs1"), (l) => restoreNetwork(l, "fs1")],
        ];
        for (const [label, inject, restore] of variants) {
            let down = false;
            try {
                await waitHealed(lab, 120);
                await lab.sh("web2", `umount ${MOUNT_POINT} 2>/dev/null || umount -l ${MOUNT_POINT} 2>/dev/null; true`);
                if (await isMounted(lab, "web2")) throw new Error("could not unmount web2 first");
                await inject(lab);
                down = true;
                const m0 = Date.now();
                const r = await lab.runStep(step, {});
                const mountS = (Date.now() - m0) / 1000;
                figures[`mountSeconds_fs1_${label}`] = round(mountS);
                figures[`mountExit_fs1_${label}`] = r.code;
                const mounted = await isMounted(lab, "web2");
                // a degraded write and read back through the new mount
                const f = `${MOUNT_POINT}/lab-gluster/mount-${label}-${Date.now()}`;
                const io = await lab.sh("web2", `set -e; mkdir -p ${MOUNT_POINT}/lab-gluster; head -c 1048576 /dev/urandom > /tmp/m.bin; a=$(sha256sum < /tmp/m.bin); dd if=/tmp/m.bin of=${f} bs=64k conv=fsync status=none; b=$(sha256sum < ${f}); [ "$a" = "$b" ] && echo "$a"`, { timeoutMs: 120_000 });
                figures[`degradedWriteRead_fs1_${label}`] = io.code === 0 ? "ok" : "FAILED";
                await restore(lab);
                down = false;
                const hs = await waitHealed(lab, HEAL_TIMEOUT_S);
                figures[`healSeconds_fs1_${label}`] = round(hs, 1);
                const sum = io.stdout.trim();
                const again = await lab.sh("web1", `sha256sum < ${f}`, { timeoutMs: 60_000 });
                const same = io.code === 0 && again.code === 0 && again.stdout.trim() === sum;
                figures[`checksumAfterHeal_fs1_${label}`] = same ? "match" : "MISMATCH";
                await lab.exec("web1", ["rm", "-f", f]);
                if (r.code !== 0 || !mounted || !same) {
                    ok = false;
                    notes.push(`${label}: mount exit ${r.code}, mounted=${mounted}: ${(r.stderr + r.stdout).trim().split("\n").slice(-5).join(" | ")}`);
                }
            } catch (e) {
                ok = false;
                notes.push(`${label}: error: ${(e as Error).message}`);
                if (down) { try { await restore(lab); } catch { /* reported above */ } }
            }
        }
        // leave web2 mounted whatever happened
        if (!(await isMounted(lab, "web2"))) await lab.runStep(step, {});
        notes.push(`fstab line on web2 names fs1 first and backup-volfile-servers=fs2:fs3 (volume ${VOLUME})`);
        return { name: "gluster-mount-first-down", ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    },
};

const REPLACED = "fs3";
const REPLACE_WRITE_S = 60;

/** The UUID the pool (asked on fs1/fs2) lists for an address. */
async function poolUuid(lab: Lab, address: string): Promise<string | undefined> {
    const out = (await gluster(lab, ["pool", "list"], ["fs1", "fs2"])).stdout;
    return out.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => f[1] === address)?.[0];
}

/**
 * fs3 comes back as a new instance with the same address: empty /var/lib/glusterd (new peer UUID)
 * and an empty, freshly formatted data volume. Only fs3's own plan steps run again, as Pulumi runs
 * them when their trigger (the instance ID) changes. Meanwhile web1 writes and reads with checksums.
 */
const replaceNode: Scenario = {
    name: "gluster-replace-node",
    description: `kill ${REPLACED}, wipe its /var/lib/glusterd and its brick's filesystem, re-run only ${REPLACED}'s plan steps during writes: same address and peer UUID, reset-brick, full heal, all bricks online; 0 lost/corrupt`,
    run: async (lab) => {
        const t0 = Date.now();
        const name = "gluster-replace-node";
        const notes: string[] = [];
        const figures: ScenarioResult["figures"] = {};
        let ok = false;
        const dir = `${MOUNT_POINT}/lab-gluster/${name}-${Date.now()}`;
        const logf = `/tmp/${name}.log`;
        const settings = labGlusterSettings(lab);
        const idx = settings.nodes.findIndex((x) => x.host === REPLACED);
        const node = settings.nodes[idx];
        const { mount } = brickPaths(settings, idx);
        const steps = labGlusterPlans(lab).server.steps.filter((s) => s.host === REPLACED);
        try {
            await waitHealed(lab, 120);
            for (const w of ["web1", "web2"]) if (!(await isMounted(lab, w))) throw new Error(`${MOUNT_POINT} not mounted on ${w}`);
            const oldUuid = await poolUuid(lab, node.address);
            if (!oldUuid) throw new Error(`the pool does not list ${node.address}`);
            await startWriter(lab, "web1", dir, logf, MAX_FILES, REPLACE_WRITE_S);
            await sleep(FAULT_AT_S * 1000);
            const killed = await killGlusterHost(lab, REPLACED);
            notes.push(`killed ${killed.length} gluster processes on ${REPLACED}`);
            // the "new instance": no glusterd state, an unformatted data volume (the fstab line names
            // the old filesystem UUID, which prepare-brick replaces)
            const wipe = await lab.sh(REPLACED, `set -e
if findmnt -n ${mount} >/dev/null; then umount ${mount} 2>/dev/null || umount -l ${mount}; fi
wipefs -a -q ${node.device}
find /var/lib/glusterd -mindepth 1 -delete`, { timeoutMs: 60_000 });
            if (wipe.code !== 0) throw new Error(`wiping ${REPLACED} failed: ${wipe.stderr}`);
            notes.push(`${REPLACED}: /var/lib/glusterd removed, ${node.device} wiped (no filesystem)`);
            const r0 = Date.now();
            for (const step of steps) {
                const s0 = Date.now();
                let r = await lab.runStep(step, {});
                // The rejoin step's wait is bounded (waitSeconds); a full heal of a larger volume can
                // outlast it while going on in the background. The step then says "re-run to wait
                // again", which is what a second `pulumi up` does: do that, at most twice more.
                let attempts = 1;
                while (r.code !== 0 && step.script === "gluster/rejoin.sh" && /re-run to wait again/.test(r.stderr) && attempts < 3) {
                    notes.push(`rejoin attempt ${attempts} timed out while the heal went on; re-running the step`);
                    attempts++;
                    r = await lab.runStep(step, {});
                }
                if (step.script === "gluster/rejoin.sh") figures.rejoinStepRuns = attempts;
                figures[`stepSeconds_${step.id}`] = round((Date.now() - s0) / 1000, 1);
                if (r.code !== 0) throw new Error(`${step.id} failed (exit ${r.code}): ${(r.stderr + r.stdout).trim().split("\n").slice(-6).join(" | ")}`);
                if (step.script === "gluster/rejoin.sh") notes.push(`rejoin: ${r.stderr.trim().split("\n").map((l) => l.replace(/^\S+ \[[^\]]*\] /, "")).join(" | ")}`);
            }
            const rejoinSeconds = (Date.now() - r0) / 1000;
            const newUuid = await poolUuid(lab, node.address);
            const w = await waitWriter(lab, "web1", logf, REPLACE_WRITE_S + 300);
            const h0 = Date.now();
            await waitHealed(lab, HEAL_TIMEOUT_S);
            const healAfter = (Date.now() - h0) / 1000;
            const v1 = await verifyAcked(lab, "web1", dir, logf);
            // reading every file with fs1 down needs fs3's rebuilt fragments (disperse 3, redundancy 1)
            const v2 = await crossCheck(lab, dir, logf, "fs1", notes);
            const pool = (await gluster(lab, ["pool", "list"], ["fs1", "fs2"])).stdout.trim().split("\n").length - 1;
            Object.assign(figures, {
                replaced: REPLACED,
                sameUuid: newUuid === oldUuid ? "yes" : `NO (${oldUuid} -> ${newUuid})`,
                poolEntries: pool,
                rejoinSeconds: round(rejoinSeconds, 1),
                healSecondsAfterSteps: round(healAfter, 1),
                ackedWrites: w.acked,
                failedWrites: w.failed,
                reads: w.reads,
                badReads: w.badReads,
                readErrors: w.readErrors,
                lostOrCorruptWeb1: v1.missing + v1.corrupt,
                lostOrCorruptWeb2WithFs1Down: v2.missing + v2.corrupt,
            });
            ok = newUuid === oldUuid && pool === 3 && w.acked > 0 && v1.acked === w.acked && v2.acked === w.acked &&
                v1.missing + v1.corrupt === 0 && v2.missing + v2.corrupt === 0 && w.badReads === 0 && w.failed === 0;
            if (!ok) notes.push(`verify web1: ${v1.raw}; web2: ${v2.raw}`);
            await lab.exec("web1", ["rm", "-rf", dir], { timeoutMs: 120_000 });
        } catch (e) {
            notes.push(`error: ${(e as Error).message}`);
            try {
                const w = await readWriterLog(lab, "web1", logf);
                figures.ackedWrites = w.acked;
            } catch { /* ignore */ }
        }
        return { name, ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    },
};

export const scenarios: Scenario[] = [killHost, netCut, mountFirstDown, replaceNode];
