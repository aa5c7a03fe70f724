/**
 * GlusterFS in the lab: the `up` hook (runs the same plans the cloud runs), the `status` helper and
 * the fault-injection helpers the Gluster scenarios and bench use.
 */
import * as path from "path";
import { HOST_SCRIPTS, Lab, launchedAtUp, log, sleep, shq } from "./lab-core";
import {
    DEFAULT_MOUNT_POINT,
    DEFAULT_PING_TIMEOUT_S,
    DEFAULT_VOLUME,
    GlusterSettings,
} from "../../components/storage/plan";

export const VOLUME = DEFAULT_VOLUME;
export const MOUNT_POINT = DEFAULT_MOUNT_POINT;
export const PING_TIMEOUT_S = DEFAULT_PING_TIMEOUT_S;

export const fsHosts = (lab: Lab) => lab.hosts.filter((h) => h.role === "fs");
export const webHosts = (lab: Lab) => lab.hosts.filter((h) => h.role === "web" && launchedAtUp(h));

export function labGlusterSettings(lab: Lab): GlusterSettings {
    return {
        nodes: fsHosts(lab).map((h) => ({ host: h.name, address: h.ip, device: lab.brickDevice(h.name) })),
        volumeName: VOLUME,
        disperse: 3,
        redundancy: 1,
        // the web hosts only (CIDR form on purpose: glusterAuthAllow turns /32s into exact addresses)
        clientCidrs: webHosts(lab).map((h) => `${h.ip}/32`),
        pingTimeoutSeconds: PING_TIMEOUT_S,
        ownerUid: 33,
        ownerGid: 33,
    };
}

export interface GlusterStatus {
    volume: string;
    type: string;
    status: string;
    bricksOnline: number;
    bricksTotal: number;
    pendingHeals: number | "?";
    askedHost: string;
    mounts: Record<string, boolean>;
}

/** Runs scripts/node/gluster/status.sh on the first fs host that answers. */
export async function glusterStatus(lab: Lab): Promise<GlusterStatus | string> {
    for (const h of fsHosts(lab)) {
        const r = await lab.exec(h.name, ["env", `GLUSTER_VOLUME=${VOLUME}`, "bash", path.join(HOST_SCRIPTS, "node/gluster/status.sh")], { timeoutMs: 90_000 });
        if (r.code !== 0) continue;
        const kv = Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
        const mounts: Record<string, boolean> = {};
        for (const w of webHosts(lab)) mounts[w.name] = await isMounted(lab, w.name);
        return {
            volume: kv.volume,
            type: kv.type,
            status: kv.status,
            bricksOnline: Number(kv.bricks_online),
            bricksTotal: Number(kv.bricks_total),
            pendingHeals: kv.pending_heals === "?" ? "?" : Number(kv.pending_heals),
            askedHost: h.name,
            mounts,
        };
    }
    return "no fs host answers (glusterd down everywhere?)";
}

export async function isMounted(lab: Lab, web: string): Promise<boolean> {
    const r = await lab.sh(web, `[ "$(findmnt -n -o FSTYPE --mountpoint ${MOUNT_POINT})" = fuse.glusterfs ] && timeout 10 stat -f ${MOUNT_POINT} >/dev/null`, { timeoutMs: 20_000 });
    return r.code === 0;
}

// ------------------------------------------------------------------ fault injection

/**
 * SIGKILL every gluster process (glusterd, glusterfsd bricks, glustershd, fuse clients) living in the
 * host's network namespace. Selected by namespace, never by name alone: all lab hosts share one PID
 * namespace. Returns the killed command names.
 */
export async function killGlusterHost(lab: Lab, host: string): Promise<string[]> {
    const script = `
me=$(readlink /proc/self/ns/net)
for d in /proc/[0-9]*; do
  p=\${d#/proc/}
  [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$me" ] || continue
  c=$(cat "$d/comm" 2>/dev/null) || continue
  case "$c" in glusterd|glusterfsd|glusterfs) kill -9 "$p" 2>/dev/null && echo "$c:$p" ;; esac
done
true`;
    const r = await lab.sh(host, script, { timeoutMs: 30_000 });
    return r.stdout.trim().split("\n").filter(Boolean);
}

/** Bring a host's gluster back: glusterd restarts the bricks and the self-heal daemon of started volumes. */
export async function startGlusterd(lab: Lab, host: string): Promise<void> {
    const r = await lab.svc(host, "start", "glusterd");
    if (r.code !== 0) throw new Error(`glusterd on ${host} did not start: ${r.stderr}`);
}

/** Silent network cut (no RST, packets vanish): the host's interface goes down. */
/** Cuts a host off the network: its cable at the bridge is pulled (nothing inside the host changes). */
export async function cutNetwork(lab: Lab, host: string): Promise<void> {
    lab.booted.setLink(host, false);
}

export async function restoreNetwork(lab: Lab, host: string): Promise<void> {
    lab.booted.setLink(host, true);
}

/** Run gluster CLI on the first host in `prefer` whose glusterd answers. */
export async function gluster(lab: Lab, args: string[], prefer: string[], timeoutMs = 60_000) {
    let last = "";
    for (const h of prefer) {
        const r = await lab.exec(h, ["timeout", String(Math.ceil(timeoutMs / 1000)), "gluster", "--mode=script", ...args], { timeoutMs: timeoutMs + 5000 });
        if (r.code === 0) return { host: h, stdout: r.stdout };
        last = `${h}: ${r.stderr.trim() || r.stdout.trim()}`;
    }
    throw new Error(`gluster ${args.join(" ")} failed everywhere (${last})`);
}

/**
 * Wait until every brick is online and `heal info` reports 0 pending entries on all bricks (bounded).
 * Triggers an index heal first (what an operator does after a node returns). Returns seconds waited.
 */
export async function waitHealed(lab: Lab, timeoutS: number, prefer = fsHosts(lab).map((h) => h.name)): Promise<number> {
    const t0 = Date.now();
    try { await gluster(lab, ["volume", "heal", VOLUME], prefer); } catch { /* bricks may still be starting: the loop decides */ }
    let last: GlusterStatus | string = "";
    let kicked = Date.now();
    while ((Date.now() - t0) / 1000 < timeoutS) {
        last = await glusterStatus(lab);
        if (typeof last !== "string" && last.bricksOnline === last.bricksTotal && last.bricksTotal > 0 && last.pendingHeals === 0) {
            return (Date.now() - t0) / 1000;
        }
        if (Date.now() - kicked > 15_000) {
            kicked = Date.now();
            try { await gluster(lab, ["volume", "heal", VOLUME], prefer); } catch { /* retry later */ }
        }
        // every poll runs `heal info summary` (a gfapi client crawling every brick's index): poll
        // gently so the observer does not slow the heal it measures on this 2-vCPU box
        await sleep(3000);
    }
    throw new Error(`volume not healed within ${timeoutS}s: ${JSON.stringify(last)}`);
}

/**
 * Wait until a web host's FUSE client is connected to every brick again (bounded). A client
 * reconnects to a restarted brick on its own timer, seconds after heal info already reads 0: a second
 * fault inside that window leaves the client short of bricks (data unavailable, not lost). Operators
 * check the same thing (`gluster volume status VOL clients`) before taking another node down.
 */
export async function waitClientConnected(lab: Lab, web: string, timeoutS: number): Promise<number> {
    const t0 = Date.now();
    const ip = lab.hosts.find((h) => h.name === web)?.ip;
    if (!ip) throw new Error(`no lab host ${web}`);
    let last = "";
    while ((Date.now() - t0) / 1000 < timeoutS) {
        try {
            const out = (await gluster(lab, ["volume", "status", VOLUME, "clients"], fsHosts(lab).map((h) => h.name))).stdout;
            const bricks = out.split(/^Brick : /m).slice(1);
            const missing = bricks.filter((b) => !b.includes(`${ip}:`)).map((b) => b.split("\n")[0].trim());
            if (bricks.length === fsHosts(lab).length && missing.length === 0) return (Date.now() - t0) / 1000;
            last = `${bricks.length} bricks listed; ${web} not connected to ${missing.join(", ") || "-"}`;
        } catch (e) {
            last = (e as Error).message;
        }
        await sleep(1000);
    }
    throw new Error(`${web}'s GlusterFS client did not reconnect to every brick within ${timeoutS}s: ${last}`);
}

/** Start the writer on a web host in the background (setsid), bounded by count and seconds. */
export async function startWriter(lab: Lab, web: string, dir: string, logf: string, count: number, seconds: number, kib = 64): Promise<void> {
    const w = path.join(HOST_SCRIPTS, "lab/gluster/writer.sh");
    const cmd = `setsid bash ${shq(w)} ${shq(dir)} ${shq(logf)} ${count} ${seconds} ${kib} 60 > ${shq(logf)}.out 2>&1 < /dev/null & echo $!`;
    const r = await lab.sh(web, cmd);
    if (r.code !== 0) throw new Error(`writer did not start on ${web}: ${r.stderr}`);
}

export interface WriterLog {
    acked: number;
    failed: number;
    reads: number;
    badReads: number;
    readErrors: number;
    done: boolean;
    /** longest single operation (write+fsync or read), seconds */
    maxOpSeconds: number;
    /** longest time between two consecutive completed operations, seconds */
    maxGapSeconds: number;
    ops: { kind: string; t0: number; t1: number; ok: boolean }[];
}

export async function readWriterLog(lab: Lab, web: string, logf: string): Promise<WriterLog> {
    const r = await lab.exec(web, ["cat", logf]);
    const out: WriterLog = { acked: 0, failed: 0, reads: 0, badReads: 0, readErrors: 0, done: false, maxOpSeconds: 0, maxGapSeconds: 0, ops: [] };
    for (const line of r.stdout.split("\n")) {
        const f = line.split(" ");
        if (f[0] === "DONE") out.done = true;
        if (f.length < 5) continue;
        const t0 = Number(f[3]);
        const t1 = Number(f[4]);
        if (f[0] === "A") { out.acked++; out.ops.push({ kind: "w", t0, t1, ok: true }); }
        if (f[0] === "E") { out.failed++; out.ops.push({ kind: "w", t0, t1, ok: false }); }
        if (f[0] === "R") {
            out.reads++;
            if (f[2] === "BAD") out.badReads++;
            if (f[2] === "ERR") out.readErrors++;
            out.ops.push({ kind: "r", t0, t1, ok: f[2] === "ok" });
        }
    }
    let prev = 0;
    for (const o of out.ops) {
        out.maxOpSeconds = Math.max(out.maxOpSeconds, o.t1 - o.t0);
        if (prev) out.maxGapSeconds = Math.max(out.maxGapSeconds, o.t1 - prev);
        prev = o.t1;
    }
    return out;
}

/** Wait (bounded) for the writer to print DONE. */
export async function waitWriter(lab: Lab, web: string, logf: string, timeoutS: number): Promise<WriterLog> {
    const t0 = Date.now();
    for (;;) {
        const w = await readWriterLog(lab, web, logf);
        if (w.done) return w;
        if ((Date.now() - t0) / 1000 > timeoutS) throw new Error(`writer on ${web} not done after ${timeoutS}s`);
        await sleep(1000);
    }
}

/** Check every acknowledged write against the volume, from `web`. */
export async function verifyAcked(lab: Lab, web: string, dir: string, logf: string): Promise<{ acked: number; ok: number; corrupt: number; missing: number; raw: string }> {
    const r = await lab.exec(web, ["bash", path.join(HOST_SCRIPTS, "lab/gluster/verify.sh"), dir, logf], { timeoutMs: 600_000 });
    const m = /acked=(\d+) ok=(\d+) corrupt=(\d+) missing=(\d+)/.exec(r.stdout);
    if (!m) throw new Error(`verify on ${web} failed: ${r.stderr}${r.stdout}`);
    return { acked: +m[1], ok: +m[2], corrupt: +m[3], missing: +m[4], raw: (r.stdout + r.stderr).trim().split("\n").slice(0, 10).join("; ") };
}

export { log };
