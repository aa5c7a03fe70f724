/**
 * GlusterFS bootstrap plans (pure functions, no Pulumi resources).
 *
 * `glusterPlan()` turns settings into the ordered steps that build a dispersed volume on N storage
 * nodes (one brick per node); `glusterClientPlan()` returns the steps that mount it on web hosts.
 * The Pulumi component and the local lab execute exactly these steps (see plan.ts).
 *
 * Order (the plan encodes it with `dependsOn`):
 *   1. every node: prepare-brick (XFS -i size=512 on the dedicated device, brick = sub-directory)
 *   2. every node: glusterd (install, bounded brick port range, start)    — after its own brick
 *   2b. every node: rejoin (a replaced/wiped node takes its old peer UUID back; an empty brick is
 *                   reset-brick'ed and fully healed; a no-op otherwise)    — after its own glusterd
 *   3. node 1:     create-volume (peer probe, create only if absent, options, start)
 *                                                                          — after ALL nodes' step 2b
 *   4. node 1:     verify-volume (all bricks online, nothing pending heal) — after step 3
 */
import { BootstrapPlan, BootstrapStep } from "../shared/bootstrapPlan";
import { GLUSTER_BRICK_PORTS, GLUSTERD_PORTS } from "./ports";
import { nodeMetricsEnv } from "../shared/nodeMetrics";
import { BackupSettings, backupEnv, validateBackupSettings } from "../shared/backupPlan";

export interface GlusterNode {
    /** Logical host name the runner resolves (e.g. `fs1`). */
    host: string;
    /** Address the other nodes and the clients use (peer probe, brick address, volfile server). */
    address: string;
    /** Block device of this node's dedicated data volume; defaults to `GlusterSettings.brickDevice`. */
    device?: string;
}

export interface GlusterSettings {
    /** Storage nodes, one brick each, in brick order. Node 1 (index 0) forms the pool. */
    nodes: GlusterNode[];
    /**
     * `Cluster` dimension of the CloudWatch metrics the nodes publish (the component's name). Set:
     * glusterd.sh installs the metrics timer (systemd hosts). Unset (the lab): no metrics settings.
     */
    metricsCluster?: string;
    /**
     * Backups of the volume's content to S3 (a tar.zst snapshot on a schedule). Set: one
     * `gluster-backup-<node>` step per node installs them once the volume is verified. Unset: none.
     */
    backup?: BackupSettings;
    /** Volume name (letters, digits, `_`, `-`). Default `gfs_v_r5`. */
    volumeName?: string;
    /** Bricks in the disperse set (N). Must equal the number of nodes. Default: number of nodes. */
    disperse?: number;
    /** Bricks that may be lost without losing data (R). N > 2R. Default 1. */
    redundancy?: number;
    /**
     * Clients allowed to mount: IPv4 addresses or CIDRs (e.g. the web subnets). Converted to
     * GlusterFS `auth.allow` patterns by `glusterAuthAllow()`.
     */
    clientCidrs: string[];
    /** `network.ping-timeout` in seconds. Default `DEFAULT_PING_TIMEOUT_S`. */
    pingTimeoutSeconds?: number;
    /** `disperse.shd-max-threads`: entries each self-heal daemon heals in parallel. Default `DEFAULT_HEAL_THREADS`. */
    healThreads?: number;
    /**
     * `client.tcp-user-timeout` and `server.tcp-user-timeout` (Linux TCP_USER_TIMEOUT) in seconds; 0 = leave
     * GlusterFS's defaults. Default: ping-timeout - 2. See `DEFAULT_PING_TIMEOUT_S` for why both are needed.
     */
    tcpUserTimeoutSeconds?: number;
    /** First/last port glusterd hands to bricks (glusterd.vol base-port/max-port). */
    basePort?: number;
    maxPort?: number;
    /** Default block device for nodes that do not name one. */
    brickDevice?: string;
    /** Directory under which each brick's filesystem is mounted. Default `/data/glusterfs`. */
    brickRoot?: string;
    /** Owner of the volume root (the owncloud/server image runs as www-data, uid/gid 33). */
    ownerUid?: number;
    ownerGid?: number;
    /** Accept a disperse/redundancy combination GlusterFS does not consider optimal. Default false. */
    allowNonOptimal?: boolean;
    /**
     * Bound (seconds) for the waits inside the scripts (peers connected, bricks online, heals done).
     * Default 300: on a re-run after an incident, verify waits for pending heals, which took 50-170 s
     * for ~400-900 small files in the lab.
     */
    waitSeconds?: number;
}

export interface GlusterClientSettings {
    /** Web hosts (logical names) that mount the volume. */
    hosts: string[];
    /** Gluster node addresses; the first is the primary volfile server, the others are backups. */
    servers: string[];
    volumeName?: string;
    /** Default `/mnt/owncloud-data`. */
    mountPoint?: string;
    /** Step ids (e.g. the verify step of `glusterPlan`) every mount waits for. */
    after?: string[];
}

/**
 * Why 10 s: a node that vanishes silently (instance or AZ loss, network cut; no TCP RST) stalls every
 * file operation on every client until the ping timer declares the brick dead. The default of 42 s
 * is longer than a user waits for a page and long enough for load-balancer health checks to fail
 * every web node at once (they all share the volume). Much lower is not better: each expiry makes the clients drop
 * and re-establish the connection, locks and open fds, and the brick then needs a heal, so a
 * spurious expiry under load (a brick busy on a slow EBS burst bucket) costs far more than it saves.
 * 10 s is ~1000x the intra-region RTT, long enough to ride out a GC/IO pause or an EBS hiccup,
 * and short enough that a web request still completes after a node loss.
 * A killed process (TCP RST/FIN) is detected at once whatever this value is.
 *
 * The ping timer alone does NOT bound a silent stall by ping-timeout T: a ping goes out every T, and
 * when the timer fires it re-arms for another T if a message was received, or a queued one finished
 * sending, in the last T (rpc-clnt-ping.c rpc_clnt_ping_timer_expired), so the stall lands anywhere in
 * (T, 2T] and beyond (measured in the lab with T = 10: 10.6 s and 14.9 s). The plan therefore also
 * sets TCP_USER_TIMEOUT (client.tcp-user-timeout / server.tcp-user-timeout) to T - 2: the kernel
 * aborts a connection whose sent request stays unacknowledged that long, which is exactly the
 * situation of a client waiting on a vanished brick. Kernel-level ACKs do not depend on the brick
 * process being responsive, so a busy brick is not affected.
 *
 * Neither bounds a brick that is alive but frozen (SIGSTOP, hung event threads): its kernel ACKs, so
 * TCP_USER_TIMEOUT never sees unacknowledged data, and only the ping timer ends the wait (measured:
 * 12.8-19.8 s with T = 10). The brick watchdog (BRICK_WATCHDOG below) bounds that case by T: it kills
 * such a brick, and a killed process is detected at once.
 */
export const DEFAULT_PING_TIMEOUT_S = 10;
/** Name of the brick watchdog service (systemd unit on the nodes, the lab launcher's service name). */
export const BRICK_WATCHDOG_SERVICE = "owncloud-ha-brick-watchdog";
/**
 * The brick watchdog (scripts/node/gluster/brick-watchdog.sh) pings its node's own brick over loopback with
 * the RPC the clients' ping timer uses, every `intervalS`, each probe bounded by `deadlineS`, and
 * SIGKILLs a brick that has answered nothing for `brickWatchdogKillAfter()` seconds over at least
 * `minMisses` probes in a row.
 *
 * Why it exists: ping-timeout does NOT bound the stall behind a frozen brick (SIGSTOPped, or its
 * event threads hung) that keeps its sockets open. The kernel keeps ACKing, so TCP_USER_TIMEOUT and
 * keepalive never fire; the client's ping timer (rpc-clnt-ping.c, rpc_clnt_ping_timer_expired)
 * disconnects only when BOTH the last message received AND the last message sent are older than
 * ping-timeout, and re-arms for another full period otherwise — "sent" being any request the client
 * pushed out, so a client that keeps writing keeps the dead brick alive in its eyes. Killing the process
 * closes its sockets: every client sees the disconnect at once (as after a crash, measured at
 * 0.13 s) and the disperse volume carries on with the other bricks.
 *
 * Bound: a freeze right after a successful probe is detected at the latest when the misses have
 * lasted killAfter, i.e. killAfter + interval + deadline after the freeze = ping-timeout. A brick
 * answering no loopback NULL RPC for 7 s (the default) is hung: the ping is served by rpcsvc in the
 * event thread, without disk I/O. Two misses in a row are required so that a node that was itself
 * paused (its clock jumps) does not kill a healthy brick.
 */
export const BRICK_WATCHDOG = { intervalS: 1, deadlineS: 2, minMisses: 2 } as const;

/** Seconds without an answer after which the watchdog kills the brick: ping-timeout − interval − deadline. */
export function brickWatchdogKillAfter(pingTimeoutSeconds: number): number {
    return pingTimeoutSeconds - BRICK_WATCHDOG.intervalS - BRICK_WATCHDOG.deadlineS;
}

/** Smallest ping-timeout the watchdog can keep: its minMisses probes must fit in it. */
export const MIN_PING_TIMEOUT_S = BRICK_WATCHDOG.minMisses * (BRICK_WATCHDOG.intervalS + BRICK_WATCHDOG.deadlineS);
/** 10 ports: one brick per node per volume plus room for restarts and a few more volumes. */
export const DEFAULT_BASE_PORT: number = GLUSTER_BRICK_PORTS.from;
export const DEFAULT_MAX_PORT: number = GLUSTER_BRICK_PORTS.to;
export const DEFAULT_VOLUME = "gfs_v_r5";
export const DEFAULT_BRICK_ROOT = "/data/glusterfs";
export const DEFAULT_MOUNT_POINT = "/mnt/owncloud-data";
export const DEFAULT_WAIT_S = 300;
/**
 * Why GlusterFS's own 1: a replaced node's brick is rebuilt entry by entry by the self-heal daemons
 * (`disperse.shd-max-threads`, 1-64). More threads look like a faster rebuild, but the lab does not
 * show it: with 4, a rebuild of about 3800 entries (3000 in one directory) had not finished after 3
 * runs of the rejoin step (1366 s, one entry still pending); with 1, the run before, 2155 entries were
 * still missing after the first 465 s. ownCloud keeps many files per directory, and parallel heals of
 * one directory's entries compete for that directory's locks. Raise it where a measured rebuild is
 * faster (the lab runs every node on 2 shared cores, which says little about larger nodes).
 */
export const DEFAULT_HEAL_THREADS = 1;
/** ownCloud's official image runs Apache/PHP as www-data (33:33); with OWNCLOUD_SKIP_CHOWN the volume root must already be its. */
export const OWNCLOUD_UID = 33;

export interface GlusterValidation {
    errors: string[];
    warnings: string[];
    /** The errors again, each with the settings it concerns (a caller that names them differently maps these). */
    issues: GlusterIssue[];
}

/** One error of `validateGlusterSettings`: the `GlusterSettings` fields it concerns and its text. */
export interface GlusterIssue {
    settings: (keyof GlusterSettings)[];
    text: string;
    /** For a rule between settings: the sentence with each setting called what the reader calls it. */
    render?: (nameOf: (setting: keyof GlusterSettings) => string) => string;
}

const VOLUME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4(s: string): number[] | undefined {
    const m = IPV4_RE.exec(s);
    if (!m) return undefined;
    const octets = m.slice(1, 5).map(Number);
    return octets.every((o) => o >= 0 && o <= 255) ? octets : undefined;
}

/** True when (N - R) is a power of two: GlusterFS's optimal disperse layouts (stripe = 512 B × (N-R)). */
export function isOptimalDisperse(disperse: number, redundancy: number): boolean {
    const data = disperse - redundancy;
    return data > 0 && (data & (data - 1)) === 0;
}

/** Optimal (N, R) pairs with N > 2R for a given node count range, for error messages. */
function optimalExamples(maxN: number): string {
    const out: string[] = [];
    for (let n = 3; n <= maxN; n++) {
        for (let r = 1; 2 * r < n; r++) {
            if (isOptimalDisperse(n, r)) out.push(`${n}/${r}`);
        }
    }
    return out.join(", ");
}

/**
 * Converts client addresses/CIDRs to an `auth.allow` value.
 *
 * GlusterFS 10.3 (Debian 12) does not match CIDR entries correctly (measured in the lab:
 * `auth.allow 198.19.0.31/32` admitted 198.19.0.32, `198.19.0.0/29` admitted .32 but refused .31),
 * so CIDRs are expanded into exact addresses and octet wildcards (`10.0.1.*`), which it matches
 * with fnmatch. The expansion is exact, never broader than the CIDR.
 */
export function glusterAuthAllow(cidrs: string[]): string {
    const patterns: string[] = [];
    for (const raw of cidrs) {
        const c = raw.trim();
        const [addr, prefixStr, extra] = c.split("/");
        const octets = parseIpv4(addr);
        if (!octets || extra !== undefined) throw new Error(`client CIDR "${raw}" is not an IPv4 address or CIDR`);
        const prefix = prefixStr === undefined ? 32 : Number(prefixStr);
        if (!/^\d{1,2}$/.test(prefixStr ?? "32") || prefix > 32) throw new Error(`client CIDR "${raw}" has an invalid prefix`);
        if (prefix < 8) {
            throw new Error(`client CIDR "${raw}" is broader than /8: auth.allow would admit (nearly) anyone; list the web subnets`);
        }
        const value = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        if ((value & ~mask) >>> 0 !== 0) {
            throw new Error(`client CIDR "${raw}" has host bits set (did you mean ${ipStr((value & mask) >>> 0)}/${prefix}?)`);
        }
        // Round the prefix up to the next octet boundary and enumerate the blocks in between.
        const boundary = Math.min(32, Math.ceil(prefix / 8) * 8);
        const count = 2 ** (boundary - prefix); // at most 128 (prefix /9, /17 or /25)
        const step = 2 ** (32 - boundary);
        const keepOctets = boundary / 8;
        for (let i = 0; i < count; i++) {
            const ip = ipStr((value + i * step) >>> 0).split(".");
            patterns.push(keepOctets === 4 ? ip.join(".") : [...ip.slice(0, keepOctets), "*"].join("."));
        }
    }
    const unique = [...new Set(patterns)];
    if (unique.length === 0) throw new Error("clientCidrs is empty: no client could mount the volume");
    if (unique.length > 256) throw new Error(`auth.allow would have ${unique.length} entries (max 256): use octet-aligned prefixes (/8, /16, /24)`);
    return unique.join(",");
}

function ipStr(v: number): string {
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

/** Effective TCP_USER_TIMEOUT in seconds (0 = not managed). */
export function tcpUserTimeout(s: Pick<GlusterSettings, "pingTimeoutSeconds" | "tcpUserTimeoutSeconds">): number {
    return s.tcpUserTimeoutSeconds ?? Math.max(1, (s.pingTimeoutSeconds ?? DEFAULT_PING_TIMEOUT_S) - 2);
}

/** Validates settings; errors make `glusterPlan` throw, warnings are informational. */
export function validateGlusterSettings(s: GlusterSettings): GlusterValidation {
    const issues: GlusterIssue[] = [];
    const fail = (settings: GlusterIssue["settings"], text: string) => issues.push({ settings, text });
    const failBetween = (settings: GlusterIssue["settings"], render: NonNullable<GlusterIssue["render"]>) => issues.push({ settings, text: render((x) => x), render });
    const warnings: string[] = [];
    const n = s.disperse ?? s.nodes?.length ?? 0;
    const r = s.redundancy ?? 1;
    const vol = s.volumeName ?? DEFAULT_VOLUME;
    const nodes = s.nodes ?? [];

    if (nodes.length === 0) fail(["nodes"], "nodes: at least one GlusterFS node is required");
    const hosts = nodes.map((x) => x.host);
    const addrs = nodes.map((x) => x.address);
    for (const [what, list] of [["host", hosts], ["address", addrs]] as const) {
        const dup = list.filter((v, i) => list.indexOf(v) !== i);
        if (dup.length) fail(["nodes"], `nodes: duplicate ${what} ${[...new Set(dup)].join(", ")}`);
    }
    for (const node of nodes) {
        if (!node.host) fail(["nodes"], "nodes: a node has no host name");
        if (!node.address || /\s|:/.test(node.address)) fail(["nodes"], `nodes: ${node.host} has an invalid address "${node.address}"`);
        if (!(node.device ?? s.brickDevice)) fail(["nodes"], `nodes: ${node.host} has no brick device (set device or brickDevice)`);
    }
    if (!VOLUME_RE.test(vol)) fail(["volumeName"], `volumeName "${vol}" must be 1-64 letters, digits, '_' or '-'`);
    if (!Number.isInteger(n) || !Number.isInteger(r)) fail(["disperse", "redundancy"], `disperse (${n}) and redundancy (${r}) must be integers`);
    if (r < 1) fail(["redundancy"], `redundancy ${r}: must be at least 1 (a disperse volume without redundancy loses data with any brick)`);
    if (n <= 2 * r) {
        failBetween(
            ["disperse", "redundancy"],
            (name) =>
                `${name("disperse")} ${n} with ${name("redundancy")} ${r}: a disperse volume needs more than 2 × redundancy bricks (at least ${2 * r + 1}): ` +
                `GlusterFS requires N > 2R (with N <= 2R the surviving bricks cannot outvote the lost ones); add nodes or lower ${name("redundancy")}, e.g. ${optimalExamples(8)}`,
        );
    }
    if (nodes.length > 0 && n !== nodes.length) {
        fail(["disperse", "redundancy"], `disperse ${n} != ${nodes.length} nodes: this component builds one brick per node (a single disperse set)`);
    }
    if (n > 2 * r && r >= 1 && !isOptimalDisperse(n, r)) {
        const msg = `disperse ${n} redundancy ${r} is not one of GlusterFS's optimal combinations (N - R = ${n - r} is not a power of 2, so writes need read-modify-write); optimal ones: ${optimalExamples(Math.max(8, n))}`;
        if (s.allowNonOptimal) warnings.push(msg);
        else fail(["disperse", "redundancy", "allowNonOptimal"], `${msg}. Set allowNonOptimal to accept it.`);
    }
    const t = s.pingTimeoutSeconds ?? DEFAULT_PING_TIMEOUT_S;
    if (!Number.isInteger(t) || t < MIN_PING_TIMEOUT_S || t > 1800) {
        fail(["pingTimeoutSeconds"], `pingTimeoutSeconds ${t}: must be an integer ${MIN_PING_TIMEOUT_S}..1800 (below ${MIN_PING_TIMEOUT_S} s the brick watchdog cannot miss ${BRICK_WATCHDOG.minMisses} pings before killing a brick, and busy bricks get declared dead)`);
    } else if (t > 42) warnings.push(`pingTimeoutSeconds ${t} is above GlusterFS's default 42 s: clients stall that long when a node vanishes`);
    const u = tcpUserTimeout(s);
    if (!Number.isInteger(u) || u < 0) fail(["tcpUserTimeoutSeconds"], `tcpUserTimeoutSeconds ${u}: must be a non-negative integer (0 = GlusterFS defaults)`);
    else if (u === 0) warnings.push(`tcpUserTimeoutSeconds 0: a silent node loss then stalls clients for up to 2 x ping-timeout (${2 * t} s)`);
    else if (Number.isInteger(t) && u >= t) fail(["tcpUserTimeoutSeconds", "pingTimeoutSeconds"], `tcpUserTimeoutSeconds ${u} must be below pingTimeoutSeconds ${t}, or the stall after a silent node loss exceeds ping-timeout`);
    const base = s.basePort ?? DEFAULT_BASE_PORT;
    const max = s.maxPort ?? DEFAULT_MAX_PORT;
    if (!Number.isInteger(base) || !Number.isInteger(max) || base < 1024 || max > 65535 || base > max) {
        fail(["basePort", "maxPort"], `brick port range ${base}-${max} is invalid (need 1024 <= basePort <= maxPort <= 65535)`);
    } else if (base <= GLUSTERD_PORTS.to && max >= GLUSTERD_PORTS.from) {
        fail(["basePort", "maxPort"], `brick port range ${base}-${max} overlaps glusterd's ${GLUSTERD_PORTS.from}-${GLUSTERD_PORTS.to}`);
    } else if (max - base + 1 < 2) {
        fail(["basePort", "maxPort"], `brick port range ${base}-${max} is too small: a restarted brick may need a new port while the old one is in TIME_WAIT`);
    }
    const ht = s.healThreads ?? DEFAULT_HEAL_THREADS;
    if (!Number.isInteger(ht) || ht < 1 || ht > 64) fail(["healThreads"], `healThreads ${ht}: must be an integer 1..64 (GlusterFS's range for disperse.shd-max-threads)`);
    const w = s.waitSeconds ?? DEFAULT_WAIT_S;
    if (!Number.isInteger(w) || w < 1) fail(["waitSeconds"], `waitSeconds ${w}: must be a positive integer`);
    for (const [k, v] of [["ownerUid", s.ownerUid], ["ownerGid", s.ownerGid]] as const) {
        if (v !== undefined && (!Number.isInteger(v) || v < 0)) fail([k], `${k} ${v}: must be a non-negative integer`);
    }
    if (s.backup !== undefined) for (const text of validateBackupSettings(s.backup, "files")) fail(["backup"], text);
    try {
        glusterAuthAllow(s.clientCidrs ?? []);
    } catch (e) {
        fail(["clientCidrs"], `clientCidrs: ${(e as Error).message}`);
    }
    return { errors: issues.map((i) => i.text), warnings, issues };
}

/** Brick names follow the seed: brick_a, brick_b, … */
export function brickName(index: number): string {
    return `brick_${String.fromCharCode(97 + (index % 26))}${index >= 26 ? Math.floor(index / 26) : ""}`;
}

/** Mount point and brick directory of node `index`. */
export function brickPaths(settings: Pick<GlusterSettings, "volumeName" | "brickRoot">, index: number): { mount: string; dir: string } {
    const root = (settings.brickRoot ?? DEFAULT_BRICK_ROOT).replace(/\/+$/, "");
    const mount = `${root}/${settings.volumeName ?? DEFAULT_VOLUME}/${brickName(index)}`;
    return { mount, dir: `${mount}/brick` };
}

/** The storage-side plan. Throws with every validation error at once. */
export function glusterPlan(settings: GlusterSettings): BootstrapPlan {
    const v = validateGlusterSettings(settings);
    if (v.errors.length) throw new Error(`invalid GlusterFS settings:\n  - ${v.errors.join("\n  - ")}`);
    const vol = settings.volumeName ?? DEFAULT_VOLUME;
    const nodes = settings.nodes;
    const n = settings.disperse ?? nodes.length;
    const r = settings.redundancy ?? 1;
    const wait = String(settings.waitSeconds ?? DEFAULT_WAIT_S);
    const steps: BootstrapStep[] = [];

    nodes.forEach((node, i) => {
        const p = brickPaths(settings, i);
        steps.push({
            id: `gluster-brick-${node.host}`,
            host: node.host,
            script: "gluster/prepare-brick.sh",
            env: { BRICK_DEVICE: (node.device ?? settings.brickDevice)!, BRICK_MOUNT: p.mount, BRICK_DIR: p.dir },
            secrets: [],
            dependsOn: [],
            description: `XFS (-i size=512) on ${node.host}'s data device, mounted at ${p.mount}; brick ${p.dir} is a sub-directory so 'force' is never needed`,
        });
        steps.push({
            id: `gluster-glusterd-${node.host}`,
            host: node.host,
            script: "gluster/glusterd.sh",
            env: {
                GLUSTER_BASE_PORT: String(settings.basePort ?? DEFAULT_BASE_PORT),
                GLUSTER_MAX_PORT: String(settings.maxPort ?? DEFAULT_MAX_PORT),
                GLUSTERD_PORT_FROM: String(GLUSTERD_PORTS.from),
                GLUSTERD_PORT_TO: String(GLUSTERD_PORTS.to),
                ...(settings.metricsCluster === undefined
                    ? {}
                    : { GLUSTER_METRICS_VOLUME: vol, GLUSTER_METRICS_BRICK_MOUNT: p.mount, ...nodeMetricsEnv(settings.metricsCluster, node.host) }),
            },
            secrets: [],
            dependsOn: [`gluster-brick-${node.host}`],
            description: `install and start glusterd on ${node.host} with brick ports bounded for the security group (after its brick exists)`,
        });
        steps.push({
            id: `gluster-rejoin-${node.host}`,
            host: node.host,
            script: "gluster/rejoin.sh",
            env: {
                GLUSTER_VOLUME: vol,
                GLUSTER_SELF: node.address,
                GLUSTER_PEERS: nodes.filter((x) => x !== node).map((x) => x.address).join(" "),
                GLUSTER_BRICK_DIR: p.dir,
                GLUSTER_WAIT_S: wait,
            },
            secrets: [],
            dependsOn: [`gluster-glusterd-${node.host}`],
            description: `${node.host} replaced or wiped: restore its peer UUID from the pool, reset-brick an empty brick and heal it fully (a no-op on a healthy node and on a first deployment)`,
        });
    });

    const first = nodes[0];
    const createEnv: Record<string, string> = {
        GLUSTER_VOLUME: vol,
        GLUSTER_PEERS: nodes.slice(1).map((x) => x.address).join(" "),
        GLUSTER_BRICKS: nodes.map((x, i) => `${x.address}:${brickPaths(settings, i).dir}`).join(" "),
        GLUSTER_DISPERSE: String(n),
        GLUSTER_REDUNDANCY: String(r),
        // The storage nodes are clients too: the file backup and restore mount the volume on them.
        GLUSTER_AUTH_ALLOW: glusterAuthAllow([...settings.clientCidrs, ...nodes.map((x) => `${x.address}/32`)]),
        GLUSTER_PING_TIMEOUT: String(settings.pingTimeoutSeconds ?? DEFAULT_PING_TIMEOUT_S),
        GLUSTER_HEAL_THREADS: String(settings.healThreads ?? DEFAULT_HEAL_THREADS),
        GLUSTER_WAIT_S: wait,
    };
    const userTimeout = tcpUserTimeout(settings);
    if (userTimeout > 0) createEnv.GLUSTER_TCP_USER_TIMEOUT = String(userTimeout);
    if (settings.ownerUid !== undefined) createEnv.GLUSTER_OWNER_UID = String(settings.ownerUid);
    if (settings.ownerGid !== undefined) createEnv.GLUSTER_OWNER_GID = String(settings.ownerGid);
    steps.push({
        id: "gluster-create-volume",
        host: first.host,
        script: "gluster/create-volume.sh",
        env: createEnv,
        secrets: [],
        dependsOn: nodes.flatMap((x) => [`gluster-glusterd-${x.host}`, `gluster-rejoin-${x.host}`]),
        description: `from ${first.host}: probe the other nodes, create ${vol} (disperse ${n} redundancy ${r}) only if absent, set options, start — only once every node is prepared`,
    });
    steps.push({
        id: "gluster-verify-volume",
        host: first.host,
        script: "gluster/verify-volume.sh",
        env: { GLUSTER_VOLUME: vol, GLUSTER_BRICKS_EXPECTED: String(n), GLUSTER_WAIT_S: wait, GLUSTER_REQUIRE_HEALED: "1" },
        secrets: [],
        dependsOn: ["gluster-create-volume"],
        description: `all ${n} bricks of ${vol} online and nothing pending heal`,
    });
    nodes.forEach((node, i) => {
        const killAfter = brickWatchdogKillAfter(settings.pingTimeoutSeconds ?? DEFAULT_PING_TIMEOUT_S);
        steps.push({
            id: `gluster-watchdog-${node.host}`,
            host: node.host,
            script: "gluster/brick-watchdog-install.sh",
            env: {
                GLUSTER_VOLUME: vol,
                GLUSTER_BRICK_DIR: brickPaths(settings, i).dir,
                GLUSTER_WATCHDOG_SERVICE: BRICK_WATCHDOG_SERVICE,
                GLUSTER_WATCHDOG_KILL_AFTER_S: String(killAfter),
                GLUSTER_WATCHDOG_INTERVAL_S: String(BRICK_WATCHDOG.intervalS),
                GLUSTER_WATCHDOG_DEADLINE_S: String(BRICK_WATCHDOG.deadlineS),
                GLUSTER_WATCHDOG_MIN_MISSES: String(BRICK_WATCHDOG.minMisses),
            },
            secrets: [],
            dependsOn: ["gluster-verify-volume"],
            description: `run ${node.host}'s brick watchdog: a brick that answers no ping for ${killAfter} s is killed and restarted, so no client waits on a frozen brick longer than ping-timeout`,
        });
    });
    if (settings.backup !== undefined) {
        const order = nodes.map((x) => ({ name: x.host, address: x.address }));
        for (const node of nodes) {
            steps.push({
                id: `gluster-backup-${node.host}`,
                host: node.host,
                script: "gluster/backup-install.sh",
                env: backupEnv(settings.backup, "files", node.host, order, { BACKUP_VOLUME: vol }),
                secrets: [],
                dependsOn: ["gluster-verify-volume"],
                description: `install the backup timer of ${vol}'s content on ${node.host} (nodes take it in order ${order.map((n) => n.name).join(", ")}) once the volume is verified`,
            });
        }
    }
    return { cluster: "gluster", steps, readyAfter: ["gluster-verify-volume"] };
}

/** web/gluster-mount.sh's environment: the lab's client plan and the cloud's web node boot (components/web/plan.ts) both use it. */
export function glusterClientEnv(servers: string[], volumeName: string, mountPoint: string): Record<string, string> {
    return { GLUSTER_SERVERS: servers.join(" "), GLUSTER_VOLUME: volumeName, GLUSTER_MOUNT_POINT: mountPoint, GLUSTERD_PORT: String(GLUSTERD_PORTS.from) };
}

/** The client-side plan: mount the volume on each web host (fstab, _netdev, backup volfile servers). */
export function glusterClientPlan(settings: GlusterClientSettings): BootstrapPlan {
    const errors: string[] = [];
    const vol = settings.volumeName ?? DEFAULT_VOLUME;
    const mp = settings.mountPoint ?? DEFAULT_MOUNT_POINT;
    if (!settings.hosts?.length) errors.push("hosts: at least one web host is required");
    if (!settings.servers?.length) errors.push("servers: at least one GlusterFS node address is required");
    else if (settings.servers.length < 2) errors.push("servers: give at least 2 addresses so the mount works while the first volfile server is down");
    if (new Set(settings.hosts ?? []).size !== (settings.hosts ?? []).length) errors.push("hosts: duplicate host names");
    if (new Set(settings.servers ?? []).size !== (settings.servers ?? []).length) errors.push("servers: duplicate addresses");
    for (const s of settings.servers ?? []) if (!s || /[\s:,]/.test(s)) errors.push(`servers: invalid address "${s}"`);
    if (!VOLUME_RE.test(vol)) errors.push(`volumeName "${vol}" must be 1-64 letters, digits, '_' or '-'`);
    if (!/^\/[^\s]*[^/\s]$/.test(mp)) errors.push(`mountPoint "${mp}" must be an absolute path without spaces`);
    if (errors.length) throw new Error(`invalid GlusterFS client settings:\n  - ${errors.join("\n  - ")}`);
    return {
        cluster: "gluster-clients",
        steps: settings.hosts.map((host) => ({
            id: `gluster-mount-${host}`,
            host,
            script: "web/gluster-mount.sh",
            env: glusterClientEnv(settings.servers, vol, mp),
            secrets: [],
            dependsOn: [...(settings.after ?? [])],
            description: `mount ${vol} on ${host} at ${mp} (fstab, _netdev, backup-volfile-servers=${settings.servers.slice(1).join(":")})`,
        })),
    };
}
