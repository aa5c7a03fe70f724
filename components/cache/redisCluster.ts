import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { cidrProblem } from "../shared/cidr";
import { TAG_TIER, withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem, withWiringProblems } from "../shared/errors";
import { jsonSecret } from "../shared/secrets";
import { REDIS_PORT } from "./ports";
import { ClientFlowArgs, clientEgressRules } from "../shared/flows";

export { REDIS_PORT };

/** ElastiCache engines that speak the Redis protocol ownCloud uses. Valkey is about 20 % cheaper per node. */
export type RedisEngine = "redis" | "valkey";
export const REDIS_ENGINES: readonly RedisEngine[] = ["redis", "valkey"];
/** Default engine version per engine (parameter group family `default.<engine><major>`). */
const DEFAULT_ENGINE_VERSION: Record<RedisEngine, string> = { redis: "7.1", valkey: "8.0" };

/**
 * What the cache is: shards, replicas, node type, engine, windows. Plain values, checked by `resolveRedisClusterSettings` before anything exists.
 */
export interface RedisClusterSettings {
    /** CIDRs that may connect on 6379, only where a security group cannot be referenced. */
    clientCidrs?: string[];
    /**
     * Number of shards (node groups). `1` (default): cluster mode disabled, one primary and
     * `replicasPerShard` replicas — what ownCloud recommends for file locking. `2`–`500`: cluster
     * mode enabled (clients must speak Redis Cluster). 
     */
    shards?: number;
    /** Replicas per shard, 0–5. Default 1. Automatic failover and Multi-AZ are on whenever this is ≥ 1. */
    replicasPerShard?: number;
    /** ElastiCache node type. Default `cache.t4g.micro`. Previous-generation types are refused. */
    nodeType?: string;
    /**
     * `redis` (default) or `valkey`: Valkey is a Redis-compatible fork (same protocol, AUTH, TLS and
     * failover) that ElastiCache lists about 20 % cheaper per node hour.
     */
    engine?: RedisEngine;
    /** Engine version. Default `7.1` for redis, `8.0` for valkey. */
    engineVersion?: string;
    /** Days of automatic snapshots to keep, 0–35. Default 1 (0 turns backups off: not allowed in prod by the policy pack). */
    snapshotRetentionDays?: number;
    /** Daily snapshot window (UTC, `hh24:mi-hh24:mi`). Default `03:00-04:00`. */
    snapshotWindow?: string;
    /** Weekly maintenance window (UTC, `ddd:hh24:mi-ddd:hh24:mi`). Default `sun:04:30-sun:05:30`. */
    maintenanceWindow?: string;
    /** Days Secrets Manager keeps the deleted auth secret recoverable, 0 or 7–30. Default 7. */
    secretRecoveryWindowDays?: number;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/** Settings plus wiring: where the cache lives and who may reach it (IDs, dependencies). */
export interface RedisClusterArgs extends RedisClusterSettings, ClientFlowArgs {
    /** VPC of the cache (its security group is created there). */
    vpcId: pulumi.Input<string>;
    /**
     * Private subnets for the cache nodes, ideally one per AZ. At least 2 (in different AZs) when
     * there are replicas, so Multi-AZ can place the replica away from the primary.
     */
    subnetIds: pulumi.Input<string>[];
    /** Security groups whose members may connect on 6379 (e.g. the web tier's SG, also across a same-region peering). */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /**
     * Resources that must exist before the security group may name a client group of another VPC:
     * the VPC peering to it (AWS refuses a reference to a peer VPC's group until the peering is
     * active). Default: none (clients in the same VPC).
     */
    crossVpcDependsOn?: pulumi.Resource[];
    /** KMS key for at-rest encryption and the auth secret. Default: AWS-managed keys. */
    kmsKeyId?: pulumi.Input<string>;
}

export interface ResolvedRedisClusterArgs {
    shards: number;
    replicasPerShard: number;
    clusterMode: boolean;
    automaticFailover: boolean;
    nodeType: string;
    engine: RedisEngine;
    engineVersion: string;
    snapshotRetentionDays: number;
    snapshotWindow: string;
    maintenanceWindow: string;
    secretRecoveryWindowDays: number;
    clientCidrs: string[];
    tags: Record<string, string>;
}

/** Node families without Multi-AZ failover or encryption support (previous generation). */
const UNSUPPORTED_FAMILIES = ["t1", "m1", "m2", "m3", "c1", "r3"];

/** Defaults of the settings: the one home of each (the stack's config schema takes them from here). */
export const REDIS_CLUSTER_DEFAULTS = {
    shards: 1,
    replicasPerShard: 1,
    nodeType: "cache.t4g.micro",
    engine: "redis",
    snapshotRetentionDays: 1,
    snapshotWindow: "03:00-04:00",
    maintenanceWindow: "sun:04:30-sun:05:30",
    secretRecoveryWindowDays: 7,
} as const satisfies Partial<RedisClusterSettings>;

/**
 * Checks the settings alone (every problem at once) and fills in the defaults. `subnetCount`: the
 * private subnets (one per AZ) the cache will use, known before any subnet exists.
 */
export function resolveRedisClusterSettings(name: string, args: RedisClusterSettings, subnetCount: number): ResolvedRedisClusterArgs {
    const d = REDIS_CLUSTER_DEFAULTS;
    const problems: ArgProblem[] = [];
    const shards = args.shards ?? d.shards;
    const replicasPerShard = args.replicasPerShard ?? d.replicasPerShard;
    if (!Number.isInteger(shards) || shards < 1 || shards > 500) {
        problems.push(problem("shards", `${shards} is outside 1–500 (1 = cluster mode disabled, 2+ = cluster mode enabled)`));
    }
    if (!Number.isInteger(replicasPerShard) || replicasPerShard < 0 || replicasPerShard > 5) {
        problems.push(problem("replicasPerShard", `${replicasPerShard} is outside 0–5`));
    }
    const clusterMode = shards > 1;
    if (clusterMode && replicasPerShard < 1) {
        problems.push(
            problem("replicasPerShard", `cluster mode (shards: ${shards}) needs at least 1 replica per shard, or losing one node loses ` +
                "that shard's keys and ElastiCache cannot fail over; set replicasPerShard ≥ 1",
        ));
    }
    const nodeType = args.nodeType ?? d.nodeType;
    const family = /^cache\.([a-z0-9]+)\.[a-z0-9]+$/.exec(nodeType)?.[1];
    if (!family) {
        problems.push(problem("nodeType", `"${nodeType}" is not an ElastiCache node type like cache.t4g.micro`));
    } else if (UNSUPPORTED_FAMILIES.includes(family)) {
        problems.push(
            problem("nodeType", `${nodeType} is a previous-generation type without Multi-AZ failover or encryption support; ` +
                "use a current one such as cache.t4g.micro, cache.m7g.large or cache.r7g.large",
        ));
    }
    const engine: RedisEngine = args.engine ?? d.engine;
    if (!REDIS_ENGINES.includes(engine)) problems.push(problem("engine", `"${engine}" is not one of ${REDIS_ENGINES.join(", ")}`));
    const snapshotRetentionDays = args.snapshotRetentionDays ?? d.snapshotRetentionDays;
    if (!Number.isInteger(snapshotRetentionDays) || snapshotRetentionDays < 0 || snapshotRetentionDays > 35) {
        problems.push(problem("snapshotRetentionDays", `${snapshotRetentionDays} is outside 0–35`));
    }
    const secretRecoveryWindowDays = args.secretRecoveryWindowDays ?? d.secretRecoveryWindowDays;
    if (!(secretRecoveryWindowDays === 0 || (secretRecoveryWindowDays >= 7 && secretRecoveryWindowDays <= 30))) {
        problems.push(problem("secretRecoveryWindowDays", `${secretRecoveryWindowDays} must be 0 or 7–30 (Secrets Manager's limits)`));
    }
    if (subnetCount < 1) {
        problems.push(problem("subnetIds", "give at least one private subnet"));
    } else if (replicasPerShard >= 1 && subnetCount < 2) {
        problems.push(problem("subnetIds", "Multi-AZ with replicas needs subnets in at least 2 availability zones; give one private subnet per AZ"));
    }
    const clientCidrs = args.clientCidrs ?? [];
    for (const c of clientCidrs) {
        const p = cidrProblem(c);
        if (p) problems.push(problem("clientCidrs", `${p}`));
        else if (c.endsWith("/0")) problems.push(problem("clientCidrs", `${c} would expose Redis to every address; name the clients' security group or CIDR`));
    }
    if (problems.length > 0) throw new InvalidArgsError("RedisCluster", name, problems);
    return {
        shards,
        replicasPerShard,
        clusterMode,
        automaticFailover: replicasPerShard >= 1,
        nodeType,
        engine,
        engineVersion: args.engineVersion ?? DEFAULT_ENGINE_VERSION[engine] ?? "7.1",
        snapshotRetentionDays,
        snapshotWindow: args.snapshotWindow ?? d.snapshotWindow,
        maintenanceWindow: args.maintenanceWindow ?? d.maintenanceWindow,
        secretRecoveryWindowDays,
        clientCidrs,
        tags: args.tags ?? {},
    };
}

/** Settings (see `resolveRedisClusterSettings`) and the wiring's own rule: someone must be able to reach the cache. */
export function resolveRedisClusterArgs(name: string, args: RedisClusterArgs): ResolvedRedisClusterArgs {
    const noClients = (args.clientSecurityGroupIds ?? []).length === 0 && (args.clientCidrs ?? []).length === 0;
    return withWiringProblems(
        "RedisCluster",
        name,
        () => resolveRedisClusterSettings(name, args, args.subnetIds.length),
        noClients ? [problem(["clientSecurityGroupIds", "clientCidrs"], "give the web tier's security group (or CIDRs), or nothing can reach the cache")] : [],
    );
}

/**
 * An ElastiCache for Redis replication group for ownCloud's file locking and memory cache: TLS in
 * transit, encrypted at rest, an AUTH token generated here and kept in Secrets Manager (and only as
 * a Pulumi secret), its own subnet group, a security group open on 6379 to the named clients only,
 * automatic failover and Multi-AZ whenever there is a replica, daily snapshots, automatic minor
 * upgrades.
 */
export class RedisCluster extends pulumi.ComponentResource {
    /** Primary endpoint (cluster mode disabled) or configuration endpoint (cluster mode enabled). */
    public readonly endpoint: pulumi.Output<string>;
    /** Reader endpoint (cluster mode disabled only; empty otherwise). */
    public readonly readerEndpoint: pulumi.Output<string>;
    public readonly port: number = REDIS_PORT;
    /** Secrets Manager secret holding `{"authToken": …}`; readers need secretsmanager:GetSecretValue on it. */
    public readonly authSecretArn: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly clusterModeEnabled: boolean;
    public readonly replicationGroupId: pulumi.Output<string>;

    constructor(name: string, args: RedisClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const a = resolveRedisClusterArgs(name, args);
        super("owncloud-ha:cache:RedisCluster", name, {}, opts);
        const tags = (extra: Record<string, string>) => withTags(a.tags, { [TAG_TIER]: "redis", ...extra });
        this.clusterModeEnabled = a.clusterMode;

        // ElastiCache AUTH tokens allow printable ASCII except / " @; alphanumerics avoid every quoting trap.
        const token = new random.RandomPassword(`${name}-auth-token`, { length: 64, special: false }, { parent: this });
        const secret = jsonSecret(
            `${name}-auth`,
            {
                namePrefix: `owncloud-ha/${name}/redis-auth-`,
                description: `AUTH token of the ${name} Redis replication group`,
                kmsKeyId: args.kmsKeyId,
                recoveryWindowInDays: a.secretRecoveryWindowDays,
                tags: tags({}),
            },
            { authToken: token.result },
            this,
        );
        this.authSecretArn = secret.arn;

        const ingress: aws.types.input.ec2.SecurityGroupIngress[] = [];
        if ((args.clientSecurityGroupIds ?? []).length > 0) {
            ingress.push({
                description: "Redis (TLS) from client security groups",
                protocol: "tcp",
                fromPort: REDIS_PORT,
                toPort: REDIS_PORT,
                securityGroups: args.clientSecurityGroupIds,
            });
        }
        if (a.clientCidrs.length > 0) {
            ingress.push({
                description: "Redis (TLS) from client CIDRs",
                protocol: "tcp",
                fromPort: REDIS_PORT,
                toPort: REDIS_PORT,
                cidrBlocks: a.clientCidrs,
            });
        }
        // No egress rules: the cache never opens connections.
        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            { vpcId: args.vpcId, description: `Redis ${name}: ${REDIS_PORT} from its clients only`, ingress, egress: [], tags: tags({ Name: `${name}-sg` }) },
            { parent: this, dependsOn: (args.clientSecurityGroupIds ?? []).length > 0 ? args.crossVpcDependsOn : undefined },
        );
        this.securityGroupId = sg.id;
        if (args.clientEgress ?? true) {
            const flow = { id: "redis", protocol: "tcp" as const, from: REDIS_PORT, to: REDIS_PORT, description: "Redis (TLS)" };
            clientEgressRules(name, args.clientSecurityGroupIds ?? [], sg.id, [flow], a.tags, { parent: sg, dependsOn: args.crossVpcDependsOn });
        }

        const subnetGroup = new aws.elasticache.SubnetGroup(
            `${name}-subnets`,
            { description: `Private subnets of ${name}`, subnetIds: args.subnetIds, tags: tags({}) },
            { parent: this },
        );

        const major = a.engineVersion.split(".")[0];
        const group = new aws.elasticache.ReplicationGroup(
            `${name}-group`,
            {
                description: `ownCloud cache and file locking (${name})`,
                engine: a.engine,
                engineVersion: a.engineVersion,
                nodeType: a.nodeType,
                port: REDIS_PORT,
                clusterMode: a.clusterMode ? "enabled" : "disabled",
                parameterGroupName: `default.${a.engine}${major}${a.clusterMode ? ".cluster.on" : ""}`,
                numNodeGroups: a.shards,
                replicasPerNodeGroup: a.replicasPerShard,
                automaticFailoverEnabled: a.automaticFailover,
                multiAzEnabled: a.automaticFailover,
                subnetGroupName: subnetGroup.name,
                securityGroupIds: [sg.id],
                atRestEncryptionEnabled: true,
                kmsKeyId: args.kmsKeyId,
                transitEncryptionEnabled: true,
                authToken: token.result,
                autoMinorVersionUpgrade: true,
                snapshotRetentionLimit: a.snapshotRetentionDays,
                snapshotWindow: a.snapshotWindow,
                maintenanceWindow: a.maintenanceWindow,
                tags: tags({ Name: name }),
            },
            { parent: this },
        );
        this.replicationGroupId = group.id;
        this.endpoint = a.clusterMode ? group.configurationEndpointAddress : group.primaryEndpointAddress;
        this.readerEndpoint = a.clusterMode ? pulumi.output("") : group.readerEndpointAddress;

        this.registerOutputs({
            endpoint: this.endpoint,
            readerEndpoint: this.readerEndpoint,
            authSecretArn: this.authSecretArn,
            securityGroupId: this.securityGroupId,
        });
    }
}
