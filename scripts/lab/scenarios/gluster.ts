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
 *   gluster-replace-node     the volume filled first (3000 small files, 4 of 8 MiB, 1500 created and
 *                            deleted); fs3 replaced by a "new instance": gluster killed, /var/lib/glusterd
 *                            and the brick's filesystem wiped, then fs3's plan steps re-run (what Pulumi
 *                            does for a replaced instance): same address, old peer UUID, reset-brick,
 *                            full heal; fs3's brick must then list exactly fs1's entries
 *   gluster-freeze-brick     fs2's brick process SIGSTOPped (it keeps its sockets; the kernel still ACKs)
 *                            while web1 and web2 write and read: once with fs2's brick watchdog stopped
 *                            (what the clients' ping timer alone does), once with it running (it must
 *                            kill the frozen brick so every client's stall stays <= ping-timeout)
 */
import { Lab, hostByName, sleep } from "../lab-core";
import { runAsUserData } from "../web-lab";
import { COMMAND_TYPE, type ReplayCommand } from "../replay/record";
import { Scenario, ScenarioResult } from "../types";
import { BRICK_WATCHDOG_SERVICE, brickPaths } from "../../../components/storage/plan";
import {
    MOUNT_POINT,
    PING_TIMEOUT_S,
    VOLUME,
    cutNetwork,
    isMounted,
    killGlusterHost,
    gluster,
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
/** A killed brick is known dead at once (its sockets reset); every second of writes while it is down
 * is heal work afterwards, so this hold is just long enough to write and read through the outage. */
const KILL_HOLD_S = 10;
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
async function crossCheck(lab: Lab, dir: string, logf: string, down: string, notes: string[], extra?: () => Promise<void>) {
    const content = (await lab.exec("web1", ["cat", logf])).stdout;
    await lab.exec("web2", ["bash", "-c", `cat > ${logf}`], { input: content });
    const reconnect = await waitClientConnected(lab, "web2", 60);
    notes.push(`web2's client was connected to every brick ${round(reconnect, 1)} s after the heal finished`);
    const killed = await killGlusterHost(lab, down);
    notes.push(`cross-check: killed ${killed.length} gluster processes on ${down}; reading every acked file from web2 (needs the healed brick)`);
    try {
        const v = await verifyAcked(lab, "web2", dir, logf);
        if (extra) await extra();
        return v;
    } finally {
        await startGlusterd(lab, down);
        await waitHealed(lab, HEAL_TIMEOUT_S);
    }
}

async function runFault(lab: Lab, name: string, fault: Fault, stallTargetS: number, crossDown: string, holdS = HOLD_S): Promise<ScenarioResult> {
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
        await startWriter(lab, "web1", dir, logf, MAX_FILES, FAULT_AT_S + holdS + AFTER_S);
        await sleep(FAULT_AT_S * 1000);
        const tFault = Date.now() / 1000;
        await fault.inject(lab);
        injected = true;
        lab.log(`${name}: fault injected on ${fault.victim}`);
        await sleep(holdS * 1000);
        const tRestore = Date.now() / 1000;
        await fault.restore(lab);
        injected = false;
        lab.log(`${name}: ${fault.victim} restored`);
        const w = await waitWriter(lab, "web1", logf, FAULT_AT_S + holdS + AFTER_S + 180);
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
    description: `kill -9 every gluster process on fs1 for ${KILL_HOLD_S} s during writes; reads/writes go on (stall <= ${KILL_STALL_TARGET_S} s); restart; heal to 0; all checksums match`,
    run: (lab) =>
        runFault(lab, "gluster-kill-host", {
            victim: "fs1",
            inject: async (l) => { await killGlusterHost(l, "fs1"); },
            restore: (l) => startGlusterd(l, "fs1"),
        }, KILL_STALL_TARGET_S, "fs2", KILL_HOLD_S),
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

/**
 * web2 mounts while fs1 is down, by the program's own gluster-mount.sh as its user data runs it (its
 * ownCloud stopped first: the container holds the mount); then writes and reads a file.
 */
const mountFirstDown: Scenario = {
    name: "gluster-mount-first-down",
    description: "web2 mounts the volume while the first volfile server (fs1) is down — processes killed, then cut off the network",
    run: async (lab) => {
        const t0 = Date.now();
        const notes: string[] = [];
        const figures: ScenarioResult["figures"] = {};
        let ok = true;
        const mount = () => runAsUserData(lab, "web2", "web/gluster-mount.sh", 300_000);
        const stopped = await lab.svc("web2", "stop", "owncloud");
        if (stopped.code !== 0) notes.push(`stopping owncloud on web2: ${stopped.stderr.trim()}`);
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
                const r = await mount();
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
        // leave web2 mounted and serving whatever happened
        if (!(await isMounted(lab, "web2"))) await mount();
        const started = await lab.svc("web2", "start", "owncloud");
        if (started.code !== 0) {
            ok = false;
            notes.push(`owncloud did not start again on web2: ${started.stderr.trim()}`);
        }
        notes.push(`fstab line on web2 names fs1 first and backup-volfile-servers=fs2:fs3 (volume ${VOLUME})`);
        return { name: "gluster-mount-first-down", ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    },
};

const REPLACED = "fs3";
const REPLACE_WRITE_S = 60;
/** Content on the volume before the replacement: more entries than one heal crawl of the step's bound
 * rebuilds on this machine (3000 files took two runs of the step, 1500 are the suite's share of time). */
const PREFILL_DIRS = 15;
const PREFILL_FILES_PER_DIR = 100;
const PREFILL_LARGE = 4; // 8 MiB each
/** Created and deleted before the replacement: the surviving bricks keep the emptied .glusterfs/xx/yy
 * directories of deleted files, which is what made inode counts a false measure of the rebuild. */
const CHURN_FILES = 750;
const PREFILL_SUMS = "/tmp/gluster-replace-prefill.sha256";

/** The UUID the pool (asked on fs1/fs2) lists for an address. */
async function poolUuid(lab: Lab, address: string): Promise<string | undefined> {
    const out = (await gluster(lab, ["pool", "list"], ["fs1", "fs2"])).stdout;
    return out.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => f[1] === address)?.[0];
}

/** web1: small files in nested directories plus a few large ones, checksummed locally first; then a
 * batch created and deleted again. */
async function prefill(lab: Lab, dir: string): Promise<void> {
    const r = await lab.sh("web1", `set -euo pipefail
src=$(mktemp -d)
for d in $(seq 1 ${PREFILL_DIRS}); do
    mkdir -p "$src/prefill/d$d"
    for f in $(seq 1 ${PREFILL_FILES_PER_DIR}); do head -c $((512 + RANDOM % 7680)) /dev/urandom > "$src/prefill/d$d/f$f"; done
done
mkdir -p "$src/prefill/large"
for f in $(seq 1 ${PREFILL_LARGE}); do head -c 8388608 /dev/urandom > "$src/prefill/large/l$f"; done
(cd "$src" && find prefill -type f -print0 | xargs -0 sha256sum) > ${PREFILL_SUMS}
mkdir -p ${dir}
tar -C "$src" -cf - prefill | tar -C ${dir} -xf -
mkdir -p "$src/churn"
for f in $(seq 1 ${CHURN_FILES}); do head -c 1024 /dev/urandom > "$src/churn/c$f"; done
tar -C "$src" -cf - churn | tar -C ${dir} -xf -
rm -rf ${dir}/churn "$src"
wc -l < ${PREFILL_SUMS}`, { timeoutMs: 900_000 });
    if (r.code !== 0) throw new Error(`prefill on web1 failed: ${r.stderr}`);
}

/** Checksums of the prefilled files as `web` reads them: mismatched or unreadable count. */
async function checkPrefill(lab: Lab, web: string, dir: string): Promise<{ files: number; bad: number; raw: string }> {
    const r = await lab.sh(web, `cd ${dir} && { sha256sum -c ${PREFILL_SUMS} 2>&1 || true; } | awk '/: OK$/ { ok++; next } { bad++; if (bad <= 5) print > "/dev/stderr" } END { printf "files=%d bad=%d\\n", ok + bad, bad }'`, { timeoutMs: 600_000 });
    const m = /files=(\d+) bad=(\d+)/.exec(r.stdout);
    if (!m) throw new Error(`prefill check on ${web} failed: ${r.stderr}${r.stdout}`);
    return { files: +m[1], bad: +m[2], raw: r.stderr.trim().split("\n").slice(0, 5).join("; ") };
}

/** Per brick: entries outside .glusterfs (count and digest of the sorted list), inodes in use, and
 * emptied .glusterfs/xx/yy directories (left behind by deleted files). */
async function brickFacts(lab: Lab, host: string, brickDir: string): Promise<{ entries: number; digest: string; inodesUsed: number; emptyGfidDirs: number }> {
    const r = await lab.sh(host, `set -euo pipefail
cd ${brickDir}
n=$(find . -mindepth 1 \\( -path ./.glusterfs -prune \\) -o -print | wc -l)
d=$(find . -mindepth 1 \\( -path ./.glusterfs -prune \\) -o -print | LC_ALL=C sort | sha256sum | cut -c1-16)
i=$(df --output=iused . | tail -n1 | tr -d ' ')
e=$(find .glusterfs -mindepth 2 -maxdepth 2 -type d -empty | wc -l)
echo "$n $d $i $e"`, { timeoutMs: 300_000 });
    const f = r.stdout.trim().split(/\s+/);
    if (r.code !== 0 || f.length !== 4) throw new Error(`brick facts on ${host} failed: ${r.stderr}`);
    return { entries: +f[0], digest: f[1], inodesUsed: +f[2], emptyGfidDirs: +f[3] };
}

/** What a failed rebuild looks like from the servers: heal info, sweeps in each self-heal log. */
async function healEvidence(lab: Lab): Promise<string> {
    const out: string[] = [];
    const sum = await gluster(lab, ["volume", "heal", VOLUME, "info", "summary"], ["fs1", "fs2"], 120_000);
    out.push(`heal info summary: ${sum.stdout.trim().split("\n").filter((l) => /^(Brick|Status|Total)/.test(l)).join(" | ")}`);
    for (const h of ["fs1", "fs2", "fs3"]) {
        const r = await lab.sh(h, `grep -h "full sweep" /var/log/glusterfs/glustershd.log 2>/dev/null | tail -n 4 | cut -c1-200; true`);
        out.push(`${h} shd: ${r.stdout.trim().split("\n").join(" | ")}`);
    }
    return out.join("\n");
}

/**
 * fs3 comes back as a new instance with the same address: empty /var/lib/glusterd (new peer UUID)
 * and an empty, freshly formatted data volume. Only fs3's own plan steps run again, as Pulumi runs
 * them when their trigger (the instance ID) changes. Before that the volume is filled (several
 * thousand small files, a few large ones, and a batch created and deleted); meanwhile web1 writes
 * and reads with checksums. Afterwards fs3's brick must list exactly the entries fs1's brick lists.
 */
const replaceNode: Scenario = {
    name: "gluster-replace-node",
    description: `fill the volume (${PREFILL_DIRS * PREFILL_FILES_PER_DIR} small + ${PREFILL_LARGE} large files, ${CHURN_FILES} created and deleted), kill ${REPLACED}, wipe its /var/lib/glusterd and its brick's filesystem, re-run only ${REPLACED}'s plan steps during writes: same address and peer UUID, reset-brick, full heal, brick entries equal to fs1's; 0 lost/corrupt`,
    run: async (lab) => {
        const t0 = Date.now();
        const name = "gluster-replace-node";
        const notes: string[] = [];
        const figures: ScenarioResult["figures"] = {};
        let ok = false;
        const stamp = Date.now();
        const dir = `${MOUNT_POINT}/lab-gluster/${name}-${stamp}`;
        const filled = `${MOUNT_POINT}/lab-gluster/${name}-filled-${stamp}`;
        const logf = `/tmp/${name}.log`;
        const settings = labGlusterSettings(lab);
        const idx = settings.nodes.findIndex((x) => x.host === REPLACED);
        const node = settings.nodes[idx];
        const { mount } = brickPaths(settings, idx);
        const refIdx = settings.nodes.findIndex((x) => x.host === "fs1");
        // What the engine re-runs for a replaced instance: every recorded step of that host, in order.
        const ip = hostByName(REPLACED).ip;
        const steps = lab.recording().resources.filter((r): r is ReplayCommand => r.type === COMMAND_TYPE && r.connection.host === ip);
        const isRejoin = (st: ReplayCommand) => st.name.includes("-gluster-rejoin-");
        try {
            await waitHealed(lab, 120);
            for (const w of ["web1", "web2"]) if (!(await isMounted(lab, w))) throw new Error(`${MOUNT_POINT} not mounted on ${w}`);
            const oldUuid = await poolUuid(lab, node.address);
            if (!oldUuid) throw new Error(`the pool does not list ${node.address}`);
            const f0 = Date.now();
            await prefill(lab, filled);
            figures.prefillSeconds = round((Date.now() - f0) / 1000, 1);
            await waitHealed(lab, 120);
            const before = await brickFacts(lab, "fs1", brickPaths(settings, refIdx).dir);
            Object.assign(figures, { entriesBefore: before.entries, inodesUsedFs1Before: before.inodesUsed });
            await startWriter(lab, "web1", dir, logf, MAX_FILES, REPLACE_WRITE_S);
            await sleep(FAULT_AT_S * 1000);
            // The old instance dies and stays dead: every gluster process of its glusterd unit
            // SIGKILLed and systemd's automatic restart (glusterd.service: Restart=on-abnormal)
            // cancelled, so nothing of the old instance runs while its state is wiped.
            const crashed = await lab.svc(REPLACED, "crash", "glusterd");
            if (crashed.code !== 0) throw new Error(`crashing glusterd on ${REPLACED}: ${crashed.stderr.trim()}`);
            const killed = await killGlusterHost(lab, REPLACED);
            notes.push(`glusterd.service crashed on ${REPLACED} (no restart); ${killed.length} gluster processes left to kill`);
            // the "new instance": no glusterd state, an unformatted data volume (the fstab line names
            // the old filesystem UUID, which prepare-brick replaces)
            const wipe = await lab.sh(REPLACED, `set -e
if findmnt -n ${mount} >/dev/null; then umount ${mount} 2>/dev/null || umount -l ${mount}; fi
wipefs -a -q ${node.device}
find /var/lib/glusterd -mindepth 1 -delete
: > /var/log/glusterfs/glustershd.log`, { timeoutMs: 60_000 });
            if (wipe.code !== 0) throw new Error(`wiping ${REPLACED} failed: ${wipe.stderr}`);
            notes.push(`${REPLACED}: /var/lib/glusterd removed, ${node.device} wiped (no filesystem)`);
            const r0 = Date.now();
            for (const step of steps) {
                const s0 = Date.now();
                let r = await lab.runRecorded(REPLACED, step);
                // The rejoin step's wait is bounded (waitSeconds); a full heal of a larger volume can
                // outlast it while going on in the background. The step then says "re-run to wait
                // again", which is what a second `pulumi up` does: do that, at most twice more.
                let attempts = 1;
                while (r.code !== 0 && isRejoin(step) && /re-run to wait again/.test(r.stderr) && attempts < 3) {
                    notes.push(`rejoin attempt ${attempts} timed out while the heal went on: ${r.stderr.trim().split("\n").slice(-12).join(" | ")}`);
                    attempts++;
                    r = await lab.runRecorded(REPLACED, step);
                }
                if (isRejoin(step)) figures.rejoinStepRuns = attempts;
                figures[`stepSeconds_${step.name}`] = round((Date.now() - s0) / 1000, 1);
                if (r.code !== 0) throw new Error(`${step.name} failed (exit ${r.code}): ${(r.stderr + r.stdout).trim().split("\n").slice(-16).join(" | ")}`);
                if (isRejoin(step)) notes.push(`rejoin: ${r.stderr.trim().split("\n").map((l) => l.replace(/^\S+ \[[^\]]*\] /, "")).join(" | ")}`);
            }
            const rejoinSeconds = (Date.now() - r0) / 1000;
            const newUuid = await poolUuid(lab, node.address);
            const w = await waitWriter(lab, "web1", logf, REPLACE_WRITE_S + 300);
            const h0 = Date.now();
            await waitHealed(lab, HEAL_TIMEOUT_S);
            const healAfter = (Date.now() - h0) / 1000;
            // a second run of the step (a second `pulumi up`) finds nothing to repair
            const again = await lab.runRecorded(REPLACED, steps.find(isRejoin)!);
            const rerunNoop = again.code === 0 && /nothing to repair/.test(again.stderr);
            if (!rerunNoop) notes.push(`re-run of the rejoin step: exit ${again.code}: ${again.stderr.trim().split("\n").slice(-4).join(" | ")}`);
            const ref = await brickFacts(lab, "fs1", brickPaths(settings, refIdx).dir);
            const mine = await brickFacts(lab, REPLACED, brickPaths(settings, idx).dir);
            const v1 = await verifyAcked(lab, "web1", dir, logf);
            const p1 = await checkPrefill(lab, "web1", filled);
            // reading every file with fs1 down needs fs3's rebuilt fragments (disperse 3, redundancy 1)
            await lab.exec("web2", ["bash", "-c", `cat > ${PREFILL_SUMS}`], { input: (await lab.exec("web1", ["cat", PREFILL_SUMS])).stdout });
            let p2 = { files: 0, bad: -1, raw: "not run" };
            const v2 = await crossCheck(lab, dir, logf, "fs1", notes, async () => { p2 = await checkPrefill(lab, "web2", filled); });
            const pool = (await gluster(lab, ["pool", "list"], ["fs1", "fs2"])).stdout.trim().split("\n").length - 1;
            // the self-heal daemons' parallel heals the recorded program set (healThreads)
            figures.healThreads = ((await gluster(lab, ["volume", "get", VOLUME, "disperse.shd-max-threads"], ["fs1", "fs2"])).stdout.match(/^disperse\.shd-max-threads\s+(\S+)/m) ?? [])[1] ?? "?";
            Object.assign(figures, {
                replaced: REPLACED,
                sameUuid: newUuid === oldUuid ? "yes" : `NO (${oldUuid} -> ${newUuid})`,
                poolEntries: pool,
                rejoinSeconds: round(rejoinSeconds, 1),
                healSecondsAfterSteps: round(healAfter, 1),
                rerunOfRejoinIsNoop: rerunNoop ? "yes" : "NO",
                brickEntriesFs1: ref.entries,
                brickEntriesReplaced: mine.entries,
                brickEntryListsEqual: ref.digest === mine.digest ? "yes" : "NO",
                inodesUsedFs1: ref.inodesUsed,
                inodesUsedReplaced: mine.inodesUsed,
                emptiedGfidDirsFs1: ref.emptyGfidDirs,
                emptiedGfidDirsReplaced: mine.emptyGfidDirs,
                prefilledFiles: p1.files,
                prefillBadWeb1: p1.bad,
                prefillBadWeb2WithFs1Down: p2.bad,
                ackedWrites: w.acked,
                failedWrites: w.failed,
                reads: w.reads,
                badReads: w.badReads,
                readErrors: w.readErrors,
                lostOrCorruptWeb1: v1.missing + v1.corrupt,
                lostOrCorruptWeb2WithFs1Down: v2.missing + v2.corrupt,
            });
            ok = newUuid === oldUuid && pool === 3 && w.acked > 0 && v1.acked === w.acked && v2.acked === w.acked &&
                v1.missing + v1.corrupt === 0 && v2.missing + v2.corrupt === 0 && w.badReads === 0 && w.failed === 0 &&
                rerunNoop && ref.digest === mine.digest && ref.entries > PREFILL_DIRS * PREFILL_FILES_PER_DIR &&
                p1.files === PREFILL_DIRS * PREFILL_FILES_PER_DIR + PREFILL_LARGE && p1.bad === 0 && p2.files === p1.files && p2.bad === 0;
            if (!ok) notes.push(`verify web1: ${v1.raw}; web2: ${v2.raw}; prefill web1: ${p1.raw}; web2: ${p2.raw}`);
            notes.push(await healEvidence(lab));
            await lab.exec("web1", ["rm", "-rf", dir, filled], { timeoutMs: 300_000 });
        } catch (e) {
            notes.push(`error: ${(e as Error).message}`);
            try { notes.push(await healEvidence(lab)); } catch (e2) { notes.push(`no heal evidence: ${(e2 as Error).message}`); }
            try {
                const w = await readWriterLog(lab, "web1", logf);
                figures.ackedWrites = w.acked;
            } catch { /* ignore */ }
        }
        return { name, ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    },
};

const FREEZE_VICTIM = "fs2";
/** Long enough for the clients' own ping timer to act when nothing else does (it can take up to ~2 x ping-timeout). */
const FREEZE_UNWATCHED_HOLD_S = 28;
/** The watchdog acts within ping-timeout; the rest of the hold shows the restarted brick serving again. */
const FREEZE_WATCHED_HOLD_S = 20;

/** PID of the brick process (glusterfsd) living in the host's network namespace, if any. */
async function brickPid(lab: Lab, host: string): Promise<number | undefined> {
    const r = await lab.sh(host, `
me=$(readlink /proc/self/ns/net)
for d in /proc/[0-9]*; do
  [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$me" ] || continue
  [ "$(cat "$d/comm" 2>/dev/null)" = glusterfsd ] && echo "\${d#/proc/}"
done
true`, { timeoutMs: 30_000 });
    const pids = r.stdout.trim().split("\n").filter(Boolean).map(Number);
    return pids.length === 1 ? pids[0] : undefined;
}

interface FreezePhase { ok: boolean; figures: ScenarioResult["figures"]; dirs: { web: string; dir: string; logf: string }[] }

/**
 * One freeze: writers on every web host, SIGSTOP fs2's brick for `holdS`, SIGCONT (if it still
 * exists), heal to 0, every acknowledged file checked from the host that wrote it.
 */
async function freezeOnce(lab: Lab, label: string, holdS: number, notes: string[]): Promise<FreezePhase> {
    const figures: ScenarioResult["figures"] = {};
    const webs = ["web1", "web2"];
    const stamp = Date.now();
    const dirs = webs.map((web) => ({ web, dir: `${MOUNT_POINT}/lab-gluster/freeze-${label}-${web}-${stamp}`, logf: `/tmp/gluster-freeze-${label}.log` }));
    await waitHealed(lab, 120);
    for (const web of webs) await waitClientConnected(lab, web, 60);
    const pid0 = await brickPid(lab, FREEZE_VICTIM);
    if (!pid0) throw new Error(`no single brick process on ${FREEZE_VICTIM}`);
    const runS = FAULT_AT_S + holdS + AFTER_S;
    for (const d of dirs) await startWriter(lab, d.web, d.dir, d.logf, MAX_FILES, runS);
    await sleep(FAULT_AT_S * 1000);
    const tFreeze = Date.now() / 1000;
    const stop = await lab.exec(FREEZE_VICTIM, ["kill", "-STOP", String(pid0)]);
    if (stop.code !== 0) throw new Error(`kill -STOP ${pid0} on ${FREEZE_VICTIM} failed: ${stop.stderr}`);
    lab.log(`gluster-freeze-brick/${label}: brick PID ${pid0} on ${FREEZE_VICTIM} stopped`);
    await sleep(holdS * 1000);
    const tThaw = Date.now() / 1000;
    const cont = await lab.exec(FREEZE_VICTIM, ["kill", "-CONT", String(pid0)]);
    const killedByWatchdog = cont.code !== 0;
    // a killed brick comes back through glusterd (bounded wait; the watchdog's log says when)
    let pid1 = await brickPid(lab, FREEZE_VICTIM);
    for (let i = 0; i < 60 && !pid1; i++) {
        await sleep(1000);
        pid1 = await brickPid(lab, FREEZE_VICTIM);
    }
    lab.log(`gluster-freeze-brick/${label}: SIGCONT ${cont.code === 0 ? "sent" : "found no process"}; brick PID now ${pid1 ?? "none"}`);
    const logs = [];
    for (const d of dirs) logs.push(await waitWriter(lab, d.web, d.logf, runS + 180));
    const h0 = Date.now();
    await waitHealed(lab, HEAL_TIMEOUT_S);
    const healS = (Date.now() - h0) / 1000;
    let ok = true;
    for (const [i, d] of dirs.entries()) {
        const w = logs[i];
        const v = await verifyAcked(lab, d.web, d.dir, d.logf);
        const stall = stallIn(w, tFreeze, tThaw + 5);
        const lost = v.missing + v.corrupt;
        Object.assign(figures, {
            [`${label}_${d.web}_stallSeconds`]: round(stall.gap),
            [`${label}_${d.web}_longestOpSeconds`]: round(stall.op),
            [`${label}_${d.web}_ackedWrites`]: w.acked,
            [`${label}_${d.web}_failedWrites`]: w.failed,
            [`${label}_${d.web}_reads`]: w.reads,
            [`${label}_${d.web}_badOrFailedReads`]: w.badReads + w.readErrors,
            [`${label}_${d.web}_lostOrCorrupt`]: lost,
        });
        if (!(w.acked > 0 && v.acked === w.acked && lost === 0 && w.badReads === 0)) {
            ok = false;
            notes.push(`${label} ${d.web}: verify ${v.raw}`);
        }
    }
    for (const d of dirs) {
        // what ended the wait in each client: its ping timer ("has not responded in the last N seconds")
        // or the brick's sockets closing (a kill)
        const m = await lab.sh(d.web, `grep -h -E 'client-1.*(has not responded in the last|disconnected from|timed out)' /var/log/glusterfs/mnt-*.log 2>/dev/null | tail -n 4 | cut -c1-200; true`);
        notes.push(`${label} ${d.web} client log: ${m.stdout.trim().split("\n").join(" | ") || "-"}`);
    }
    Object.assign(figures, {
        [`${label}_brickKilledDuringFreeze`]: killedByWatchdog ? "yes" : "no",
        [`${label}_brickRunningAfter`]: pid1 ? (pid1 === pid0 ? "yes (same process)" : "yes (new process)") : "no",
        [`${label}_healSeconds`]: round(healS, 1),
    });
    return { ok, figures, dirs };
}

/**
 * fs2's brick frozen (SIGSTOP: the process keeps its sockets, the kernel keeps ACKing) while both web
 * hosts write and read. Unwatched (fs2's watchdog stopped): the clients' ping timer alone; figures
 * only. Watched: every client's stall must stay <= ping-timeout, the watchdog must have killed the
 * frozen brick and restarted it. Both: 0 lost/corrupt acknowledged files, heal to 0; then web1's
 * files of the watched run are read from web2 with fs3 down (needs fs2's healed brick).
 */
const freezeBrick: Scenario = {
    name: "gluster-freeze-brick",
    description: `SIGSTOP ${FREEZE_VICTIM}'s brick during writes on web1 and web2: without its watchdog (${FREEZE_UNWATCHED_HOLD_S} s, figures only), then with it (${FREEZE_WATCHED_HOLD_S} s): each client stalls <= network.ping-timeout (${PING_TIMEOUT_S} s); 0 lost/corrupt; heal to 0`,
    run: async (lab) => {
        const t0 = Date.now();
        const name = "gluster-freeze-brick";
        const notes: string[] = [];
        const figures: ScenarioResult["figures"] = { victim: FREEZE_VICTIM, pingTimeoutSeconds: PING_TIMEOUT_S, stallBoundSeconds: PING_TIMEOUT_S };
        let ok = false;
        let watchdogStopped = false;
        const cleanup: string[] = [];
        try {
            for (const w of ["web1", "web2"]) if (!(await isMounted(lab, w))) throw new Error(`${MOUNT_POINT} not mounted on ${w}`);
            const stopped = await lab.svc(FREEZE_VICTIM, "stop", BRICK_WATCHDOG_SERVICE);
            if (stopped.code !== 0) throw new Error(`stopping ${BRICK_WATCHDOG_SERVICE} on ${FREEZE_VICTIM} failed: ${stopped.stderr}`);
            watchdogStopped = true;
            const before = await freezeOnce(lab, "unwatched", FREEZE_UNWATCHED_HOLD_S, notes);
            Object.assign(figures, before.figures);
            cleanup.push(...before.dirs.map((d) => d.dir));
            const started = await lab.svc(FREEZE_VICTIM, "start", BRICK_WATCHDOG_SERVICE);
            if (started.code !== 0) throw new Error(`starting ${BRICK_WATCHDOG_SERVICE} on ${FREEZE_VICTIM} failed: ${started.stderr}`);
            watchdogStopped = false;
            const after = await freezeOnce(lab, "watched", FREEZE_WATCHED_HOLD_S, notes);
            Object.assign(figures, after.figures);
            cleanup.push(...after.dirs.map((d) => d.dir));
            const wd = await lab.sh(FREEZE_VICTIM, `journalctl -u ${BRICK_WATCHDOG_SERVICE} -n 8 --no-pager 2>/dev/null; true`);
            notes.push(`${FREEZE_VICTIM} watchdog log: ${wd.stdout.trim().split("\n").join(" | ")}`);
            const web1 = after.dirs.find((d) => d.web === "web1")!;
            const cross = await crossCheck(lab, web1.dir, web1.logf, "fs3", notes);
            figures.watched_web1FilesReadFromWeb2WithFs3Down_lostOrCorrupt = cross.missing + cross.corrupt;
            const stallsOk = ["web1", "web2"].every((w) => (figures[`watched_${w}_stallSeconds`] as number) <= PING_TIMEOUT_S);
            ok = before.ok && after.ok && stallsOk && figures.watched_brickKilledDuringFreeze === "yes" &&
                figures.watched_brickRunningAfter === "yes (new process)" && cross.missing + cross.corrupt === 0 && cross.acked > 0;
            if (!stallsOk) notes.push(`a client stalled longer than ping-timeout (${PING_TIMEOUT_S} s) with the watchdog running`);
            await lab.exec("web1", ["rm", "-rf", ...cleanup], { timeoutMs: 300_000 });
        } catch (e) {
            notes.push(`error: ${(e as Error).message}`);
            const pid = await brickPid(lab, FREEZE_VICTIM);
            if (pid) await lab.exec(FREEZE_VICTIM, ["kill", "-CONT", String(pid)]);
        } finally {
            if (watchdogStopped) await lab.svc(FREEZE_VICTIM, "start", BRICK_WATCHDOG_SERVICE);
        }
        return { name, ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    },
};

export const scenarios: Scenario[] = [killHost, netCut, mountFirstDown, replaceNode, freezeBrick];
