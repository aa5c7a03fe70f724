/**
 * The lab's ElastiCache stand-in: two Debian 12 hosts running Debian's redis-server 7.0, configured
 * from the RECORDED replication group (scripts/lab/replay/record.ts `redisGroups`), so the web nodes
 * reach "the primary endpoint" as they would in AWS: `tls://<primary endpoint>:<port>` with the AUTH
 * token from the recorded secret.
 *
 * Modelled (ElastiCache behaviour for the recorded settings; sources in docs/verified-against.md,
 * "ElastiCache and ALB stand-ins"):
 * - in-transit encryption: TLS only (`port 0`, `tls-port <port>`), no client certificates
 *   (`tls-auth-clients no`: ElastiCache asks for none), TLS on the replication link;
 * - AUTH: `requirepass` = the recorded token, `masterauth` the same on every node (any node may
 *   become a replica after a failover);
 * - cluster mode disabled, one primary and one replica (`replicaof`, read-only replica);
 * - no persistence on the node: no AOF (unsupported since Redis 2.8.22 on ElastiCache, off for
 *   Multi-AZ groups) and no RDB save points, so a restarted node comes back empty, as a rebooted
 *   ElastiCache primary does;
 * - `maxmemory-policy` of the recorded parameter group (ElastiCache's default: volatile-lru);
 * - the primary endpoint: a stable lab address (`endpointAddress`) that the current primary holds
 *   as a second address; the recorded endpoint name resolves to it on the clients (/etc/hosts).
 *   ElastiCache re-points the endpoint's DNS name at the promoted replica; the stand-in moves the
 *   address instead (elasticache-failover.sh), which clients see the same way: the name keeps
 *   working, existing connections break.
 * - automatic failover: a watcher probes the primary every FAILOVER_PROBE_INTERVAL_SECONDS and
 *   promotes the replica after FAILOVER_FAILED_PROBES failed probes (`failoverDecision`).
 *
 * Not modelled: the node type's memory and `reserved-memory-percent` (no `maxmemory`: the host's
 * memory is the limit), cluster mode enabled, more than one replica (choice of the replica with
 * the least lag), the reader endpoint and node endpoint names (not recorded), snapshots and their
 * window, the replacement node ElastiCache launches after a failover (the lab re-runs this
 * generator with the roles swapped and restarts the old primary as the replica), encryption at
 * rest, maintenance windows, IAM auth.
 */
import { REDIS_PORT } from "../../components/cache/ports";
import { InvalidArgsError, problem, type ArgProblem } from "../../components/shared/errors";
import type { LabRecording, LabRedisGroup } from "./replay/record";

/** Where the integrator installs the node's TLS files on a stand-in host (readable by the redis user). */
export const REDIS_TLS_DIR = "/etc/redis/tls";
export const REDIS_TLS_FILES = { cert: `${REDIS_TLS_DIR}/redis.crt`, key: `${REDIS_TLS_DIR}/redis.key`, ca: `${REDIS_TLS_DIR}/ca.pem` } as const;
/** Debian's redis-server.service starts `/usr/bin/redis-server /etc/redis/redis.conf`. */
export const REDIS_CONF_PATH = "/etc/redis/redis.conf";

/**
 * ElastiCache does not document how it detects a failed primary; it documents the result: writes
 * resume "typically just a few seconds" after a primary failure once the replica is promoted
 * (AutoFailover, "Failure scenarios when only the primary node fails"). The watcher's figures are
 * ours, chosen to land inside "a few seconds": 3 failed probes 1 s apart (each probe bounded by
 * the same 1 s), then promotion.
 */
export const FAILOVER_PROBE_INTERVAL_SECONDS = 1;
export const FAILOVER_FAILED_PROBES = 3;

/** ElastiCache's default `maxmemory-policy` for every Redis family since 2.6.13 (ParameterGroups.Redis). */
export const ELASTICACHE_DEFAULT_MAXMEMORY_POLICY = "volatile-lru";

export interface StandinHost {
    /** The lab host's name (redis1, redis2). */
    name: string;
    /** Its own address on the lab segment. */
    address: string;
}

export interface ElasticacheStandinOptions {
    primary: StandinHost;
    replica: StandinHost;
    /** The stable lab address the recorded primary endpoint name resolves to; the current primary holds it. */
    endpointAddress: string;
}

/** What `issueCert(dir, name, {dnsNames, ips})` (scripts/lab/lab-ca.ts) is asked for, per host. */
export interface CertRequest {
    name: string;
    dnsNames: string[];
    ips: string[];
}

export interface RedisStandinHost extends StandinHost {
    role: "primary" | "replica";
    /** The whole /etc/redis/redis.conf (it holds the AUTH token: install it 0640 redis:redis). */
    redisConf: string;
    cert: CertRequest;
}

export interface ElasticacheStandin {
    group: string;
    port: number;
    tls: boolean;
    /** The name the web nodes dial (the recorded primary endpoint). */
    endpointName: string;
    endpointAddress: string;
    /** Key of `recording.secrets` holding `{"authToken": …}`; the failover script's stdin needs it. */
    authSecret?: string;
    hosts: RedisStandinHost[];
}

/** ElastiCache's AUTH token rule: 16–128 printable characters; of the non-alphanumerics only ! & # $ ^ < > -. */
function tokenProblem(token: string): string | undefined {
    if (token.length < 16 || token.length > 128) return `is ${token.length} characters long; ElastiCache takes 16–128`;
    if (!/^[A-Za-z0-9!&#$^<>-]+$/.test(token)) return "has characters other than letters, digits and ! & # $ ^ < > - (ElastiCache's AUTH token rule)";
    return undefined;
}

/** The one replication group of the recording, checked for what the stand-in can model. */
export function recordedRedisGroup(recording: LabRecording): LabRedisGroup {
    const groups = recording.redisGroups ?? [];
    if (groups.length !== 1) {
        throw new InvalidArgsError("ElastiCache stand-in", recording.stack, [
            problem("redisGroups", `the recording has ${groups.length} replication groups; the stand-in models exactly one (record the lab stack again with this record.ts)`),
        ]);
    }
    return groups[0];
}

/** The AUTH token of the group, from the recorded secret its token came from. */
export function recordedAuthToken(recording: LabRecording, group: LabRedisGroup): string | undefined {
    if (!group.authTokenSet) return undefined;
    const secret = group.authSecret ? recording.secrets[group.authSecret] : undefined;
    const token: unknown = secret ? JSON.parse(secret.secretString)?.authToken : undefined;
    if (typeof token !== "string") {
        throw new InvalidArgsError("ElastiCache stand-in", group.name, [
            problem("authToken", "the group has an AUTH token but no recorded Secrets Manager secret holds it as authToken; the web nodes could not read it either"),
        ]);
    }
    return token;
}

function validate(group: LabRedisGroup, token: string | undefined, opts: ElasticacheStandinOptions): ArgProblem[] {
    const problems: ArgProblem[] = [];
    if (group.clusterMode === "enabled" || (group.numNodeGroups ?? 1) !== 1) {
        problems.push(problem("clusterMode", `cluster mode ${group.clusterMode ?? "?"} with ${group.numNodeGroups ?? 1} shards: the stand-in models cluster mode disabled (redisShards: 1)`));
    }
    const replicas = group.replicasPerNodeGroup ?? (group.numCacheClusters !== undefined ? group.numCacheClusters - 1 : undefined);
    if (replicas !== 1) problems.push(problem("replicasPerNodeGroup", `${replicas ?? "unset"} replicas: the stand-in has one primary and one replica host (redisReplicasPerShard: 1)`));
    if (group.authTokenSet && group.transitEncryptionEnabled !== true) {
        problems.push(problem("transitEncryptionEnabled", "an AUTH token without in-transit encryption: ElastiCache takes AUTH only with TLS"));
    }
    if (!group.primaryEndpointAddress) problems.push(problem("primaryEndpointAddress", "no primary endpoint recorded (the web launch template's REDIS_HOST); record the lab stack again"));
    if (token !== undefined) {
        const p = tokenProblem(token);
        if (p) problems.push(problem("authToken", `the recorded token ${p}`));
    }
    const addresses = [opts.primary.address, opts.replica.address, opts.endpointAddress];
    for (const a of addresses) if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(a)) problems.push(problem("address", `"${a}" is not an IPv4 address`));
    if (new Set(addresses).size !== addresses.length) problems.push(problem("endpointAddress", `primary, replica and endpoint need three different addresses; got ${addresses.join(", ")}`));
    if (opts.primary.name === opts.replica.name) problems.push(problem("replica", `primary and replica are both ${opts.primary.name}`));
    return problems;
}

/** `maxmemory-policy` of the recorded custom parameter group, else ElastiCache's default. */
function maxmemoryPolicy(group: LabRedisGroup): string {
    return group.parameters?.find((p) => p.name === "maxmemory-policy")?.value ?? ELASTICACHE_DEFAULT_MAXMEMORY_POLICY;
}

function redisConf(group: LabRedisGroup, port: number, tls: boolean, token: string | undefined, role: "primary" | "replica", primary: StandinHost): string {
    const lines = [
        `# The lab's stand-in for a node of the ElastiCache replication group ${group.name} (${role}).`,
        "# Generated by scripts/lab/elasticache-standin.ts from the recorded inputs; do not edit.",
        // Every address: the host's own and, while it is the primary, the endpoint address it takes
        // over at failover (redis binds at start and does not pick up addresses added later).
        "bind 0.0.0.0",
        "protected-mode yes",
        ...(tls
            ? [
                  "port 0",
                  `tls-port ${port}`,
                  `tls-cert-file ${REDIS_TLS_FILES.cert}`,
                  `tls-key-file ${REDIS_TLS_FILES.key}`,
                  `tls-ca-cert-file ${REDIS_TLS_FILES.ca}`,
                  // ElastiCache's in-transit encryption asks clients for no certificate.
                  "tls-auth-clients no",
                  "tls-replication yes",
              ]
            : [`port ${port}`]),
        ...(token !== undefined ? [`requirepass ${token}`, `masterauth ${token}`] : []),
        ...(role === "replica" ? [`replicaof ${primary.address} ${port}`] : []),
        "replica-read-only yes",
        // No persistence on the node (ElastiCache: no AOF since 2.8.22; a rebooted node comes back empty).
        'save ""',
        "appendonly no",
        `maxmemory-policy ${maxmemoryPolicy(group)}`,
        // ElastiCache's fixed repl-timeout.
        "repl-timeout 60",
        // Debian's paths (redis-server.service: PIDFile, ReadWritePaths).
        "pidfile /run/redis/redis-server.pid",
        "logfile /var/log/redis/redis-server.log",
        "dir /var/lib/redis",
    ];
    return `${lines.join("\n")}\n`;
}

/**
 * The two stand-in hosts' configuration, from the recording: redis.conf per host and the
 * certificate each needs. Throws InvalidArgsError (every problem at once) for a recording the
 * stand-in cannot model.
 */
export function elasticacheStandin(recording: LabRecording, opts: ElasticacheStandinOptions): ElasticacheStandin {
    const group = recordedRedisGroup(recording);
    const token = recordedAuthToken(recording, group);
    const problems = validate(group, token, opts);
    if (problems.length > 0) throw new InvalidArgsError("ElastiCache stand-in", group.name, problems);
    const port = group.port ?? REDIS_PORT;
    const tls = group.transitEncryptionEnabled === true;
    const endpointName = group.primaryEndpointAddress!;
    const host = (h: StandinHost, role: "primary" | "replica"): RedisStandinHost => ({
        ...h,
        role,
        redisConf: redisConf(group, port, tls, token, role, opts.primary),
        // Either host may hold the endpoint, so both certificates name it; 127.0.0.1 for the lab's own redis-cli on the host.
        cert: { name: h.name, dnsNames: [endpointName, h.name], ips: [h.address, opts.endpointAddress, "127.0.0.1"] },
    });
    return {
        group: group.name,
        port,
        tls,
        endpointName,
        endpointAddress: opts.endpointAddress,
        ...(group.authSecret ? { authSecret: group.authSecret } : {}),
        hosts: [host(opts.primary, "primary"), host(opts.replica, "replica")],
    };
}

/** One probe of a node by the lab's watcher (`redis-cli … ROLE`, bounded by the probe interval). */
export interface NodeStatus {
    reachable: boolean;
    /** First element of ROLE: master or slave. */
    role?: "master" | "slave";
}

export interface PrimaryStatus extends NodeStatus {
    /** Probes in a row the primary did not answer (0 when the last one answered). */
    consecutiveFailures: number;
}

export type FailoverDecision = { action: "none" | "wait" | "promote"; reason: string };

/**
 * What the watcher does after a probe round: promote the replica (run elasticache-failover.sh
 * there) once the primary missed FAILOVER_FAILED_PROBES probes in a row and the replica is there
 * to take over; ElastiCache fails over only with automatic failover enabled.
 */
export function failoverDecision(
    primary: PrimaryStatus,
    replica: NodeStatus,
    group: Pick<LabRedisGroup, "automaticFailoverEnabled"> = { automaticFailoverEnabled: true },
    failedProbes: number = FAILOVER_FAILED_PROBES,
): FailoverDecision {
    if (group.automaticFailoverEnabled !== true) return { action: "none", reason: "automatic failover is off: ElastiCache replaces the failed primary, it promotes no replica" };
    if (primary.reachable) return { action: "none", reason: "the primary answers" };
    if (!replica.reachable) return { action: "none", reason: "the replica does not answer either: nothing to promote" };
    if (replica.role === "master") return { action: "none", reason: "the replica is already a primary" };
    if (primary.consecutiveFailures < failedProbes) {
        return { action: "wait", reason: `the primary missed ${primary.consecutiveFailures} of ${failedProbes} probes` };
    }
    return { action: "promote", reason: `the primary missed ${primary.consecutiveFailures} probes in a row (${failedProbes} × ${FAILOVER_PROBE_INTERVAL_SECONDS} s)` };
}
