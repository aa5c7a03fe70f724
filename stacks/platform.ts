import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Bastion, resolveBastionSettings } from "../components/access/bastion";
import { TAG_TIER } from "../components/shared/conventions";
import { ArgProblem, describeProblem, InvalidArgsError } from "../components/shared/errors";
import { GaleraCluster, resolveGaleraClusterSettings } from "../components/database/galeraCluster";
import { GlusterDisperseVolume, resolveGlusterSettings } from "../components/storage/glusterDisperseVolume";
import { Observability } from "../components/monitoring/observability";
import { OwnCloudWebTier, resolveWebTierSettings } from "../components/web/ownCloudWebTier";
import { PeeredVpc, resolvePeeredVpcArgs } from "../components/network/peeredVpc";
import { RedisCluster, resolveRedisClusterSettings } from "../components/cache/redisCluster";
import { VpcPeering } from "../components/network/vpcPeering";
import { ComponentRole, CONFIG_SCHEMA, ConfigError, ConfigKey, ConfigKeyName, ParsedPlatformConfig, PlatformConfig, PlatformSettings, TierName, TIERS } from "./config";
import { OPERATIONS_OUTPUT, operationsOutput, SSH_KEY_OUTPUT } from "./operations";

export interface Platform {
    vpcs: Record<TierName, PeeredVpc>;
    peerings: VpcPeering[];
    bastion: Bastion;
    /** The web nodes' security group: every data tier admits its clients by this group. */
    webSecurityGroup: aws.ec2.SecurityGroup;
    galera: GaleraCluster;
    gluster: GlusterDisperseVolume;
    redis: RedisCluster;
    web: OwnCloudWebTier;
    observability: Observability;
    /** What the stack exports. */
    outputs: Record<string, unknown>;
}

/** Tags every resource carries (the policy pack requires them). */
export function platformTags(environment: string): Record<string, string> {
    return { Project: "owncloud-ha", Environment: environment, ManagedBy: "pulumi" };
}

/** Zones from config, or the region's first available default zones (an invoke: works in preview). */
async function resolveZones(cfg: PlatformConfig): Promise<string[]> {
    const needed = Math.max(...TIERS.map((t) => cfg.network[t].azCount));
    if (cfg.availabilityZones.length > 0) return cfg.availabilityZones;
    const found = await aws.getAvailabilityZones({
        state: "available",
        filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    if (found.names.length < needed) {
        throw new ConfigError([
            `owncloud-ha:*AzCount: ${needed} availability zones requested but the region offers ${found.names.length} ` +
                `(${found.names.join(", ")}); lower the counts or choose another region`,
        ]);
    }
    return found.names;
}

/** The stack keys that feed (or shape) each component setting: the schema's `feeds`, reversed. */
const KEYS_OF = ((): Record<ComponentRole, Record<string, ConfigKeyName[]>> => {
    const keys: Record<ComponentRole, Record<string, ConfigKeyName[]>> = { webVpc: {}, dbVpc: {}, fsVpc: {}, bastion: {}, galera: {}, gluster: {}, redis: {}, web: {} };
    for (const [key, entry] of Object.entries(CONFIG_SCHEMA) as [ConfigKeyName, ConfigKey][]) {
        for (const feed of entry.feeds ?? []) (keys[feed.role][feed.setting] ??= []).push(key);
    }
    return keys;
})();

/**
 * The components' settings from config alone (IDs only exist later): one loop over the schema's
 * `feeds`, then what the stack composes from several keys (the schema's `shapes` entries name the
 * keys whose errors these are).
 */
export function platformSettings(cfg: PlatformConfig, zones: string[]): PlatformSettings {
    const settings: Record<ComponentRole, Record<string, unknown>> = { webVpc: {}, dbVpc: {}, fsVpc: {}, bastion: {}, galera: {}, gluster: {}, redis: {}, web: {} };
    for (const [key, entry] of Object.entries(CONFIG_SCHEMA) as [ConfigKeyName, ConfigKey][]) {
        for (const feed of entry.feeds ?? []) {
            if (feed.derived) continue;
            const value = feed.value ? feed.value(cfg.values[key] as never, cfg.values) : cfg.values[key];
            if (value !== undefined) settings[feed.role][feed.setting] = value;
        }
    }
    for (const tier of TIERS) settings[`${tier}Vpc`].availabilityZones = zones.slice(0, cfg.network[tier].azCount);
    settings.bastion.sshTargetCidrs = TIERS.map((t) => cfg.network[t].cidr);
    // The database user's host and the volume's auth.allow: the web VPC, where the clients are.
    settings.galera.clientCidrs = [cfg.network.web.cidr];
    settings.gluster.clientCidrs = [cfg.network.web.cidr];
    const tags = platformTags(cfg.environment);
    for (const role of Object.keys(settings) as ComponentRole[]) settings[role].tags = tags;
    return settings as unknown as PlatformSettings;
}

/** One component problem as the user reads it: under the stack key(s) that fed the argument(s). */
function stackProblem(cfg: PlatformConfig, role: ComponentRole, e: InvalidArgsError, issue: ArgProblem): { keys: ConfigKeyName[]; text: string } {
    const keysOf = (arg: string) => KEYS_OF[role][arg] ?? [];
    const name = (k: ConfigKeyName) => `${cfg.project}:${k}`;
    const keys = [...new Set(issue.args.flatMap(keysOf))];
    if (keys.length === 0) return { keys, text: `${e.component} "${e.resourceName}": ${describeProblem(issue)}` };
    if (issue.render) return { keys, text: `${issue.render((arg) => keysOf(arg).map(name).join("/") || arg)} (${e.component})` };
    return { keys, text: `${keys.map(name).join("/")} (${e.component} ${describeProblem(issue)})` };
}

/**
 * Runs every component's settings check with the values the stack will use, before a single
 * resource is registered: a bad setting must not leave half a platform behind. Problems are
 * reported against the stack keys they come from (a setting all three VPCs share, once), after
 * the config's own problems (`parsed`); a key the config already refuses is left to that message.
 * Wiring (IDs) is checked by the components.
 */
export function preflight(cfg: PlatformConfig, zones: string[], settings: PlatformSettings, parsed?: Pick<ParsedPlatformConfig, "problems" | "keysWithProblems">): void {
    const problems = new Set<string>(parsed?.problems ?? []);
    const check = (role: ComponentRole, resolve: () => unknown) => {
        try {
            resolve();
        } catch (e) {
            if (!(e instanceof InvalidArgsError)) throw e;
            for (const issue of e.issues) {
                const p = stackProblem(cfg, role, e, issue);
                if (p.keys.length === 0 || !p.keys.every((k) => parsed?.keysWithProblems.has(k))) problems.add(p.text);
            }
        }
    };
    const subnetCidrs: Partial<Record<TierName, string[]>> = {};
    for (const tier of TIERS) {
        check(`${tier}Vpc`, () => (subnetCidrs[tier] = resolvePeeredVpcArgs(`${cfg.environment}-${tier}`, settings[`${tier}Vpc`]).subnets.privateCidrs));
    }
    check("bastion", () => resolveBastionSettings("bastion", settings.bastion));
    // A cluster's fixed addresses come from its VPC's subnets: checked once that VPC's settings are good.
    const db = subnetCidrs.db;
    const fs = subnetCidrs.fs;
    if (db) check("galera", () => resolveGaleraClusterSettings("galera", { ...settings.galera, subnetCidrs: db }, cfg.network.db.azCount));
    if (fs) check("gluster", () => resolveGlusterSettings("gluster", { ...settings.gluster, subnetCidrs: fs }, cfg.network.fs.azCount));
    check("redis", () => resolveRedisClusterSettings("redis", settings.redis, cfg.network.db.azCount));
    check("web", () => resolveWebTierSettings("web", settings.web));
    if (zones.length === 0) problems.add(`${cfg.project}:availabilityZones: no availability zone to use`);
    if (problems.size > 0) throw new ConfigError([...problems]);
}

/**
 * The web nodes' egress to the data tiers used to be created here, as children of the web nodes'
 * group; the components that serve those ports now create it (both sides of each flow). Aliases
 * give the rules their old URNs, so an existing stack adopts them instead of deleting and
 * re-creating them (which would briefly cut the web nodes off).
 */
function formerWebEgress(env: string, webSecurityGroup: pulumi.Resource, formerNames: Record<string, string>): pulumi.ResourceTransformation {
    return ({ type, name, props, opts }) => {
        const former = formerNames[name];
        if (type !== "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" || former === undefined) return undefined;
        return { props, opts: pulumi.mergeOptions(opts, { aliases: [{ name: `${env}-web-to-${former}-out`, parent: webSecurityGroup }] }) };
    };
}

/**
 * Composes the platform for one environment. Only composition lives here: every decision about a
 * resource is made (and tested) in its component. `parsed`: the config's own problems (from
 * `parsePlatformConfig`), reported together with the components' before anything is created.
 */
export async function buildPlatform(cfg: PlatformConfig, parsed?: Pick<ParsedPlatformConfig, "problems" | "keysWithProblems">): Promise<Platform> {
    const env = cfg.environment;
    const tags = platformTags(env);
    const zones = await resolveZones(cfg);
    const planned = platformSettings(cfg, zones);
    preflight(cfg, zones, planned, parsed);

    const vpcs = {} as Record<TierName, PeeredVpc>;
    for (const tier of TIERS) vpcs[tier] = new PeeredVpc(`${env}-${tier}`, planned[`${tier}Vpc`]);

    // The web tier talks to both data tiers; db and fs never talk to each other, so they are not
    // peered (peering is not transitive, so nothing reaches fs from db through web either).
    const peeringTo = {} as Record<"db" | "fs", VpcPeering>;
    const peerings = (["db", "fs"] as const).map(
        (other) =>
            (peeringTo[other] = new VpcPeering(`${env}-web-${other}`, {
                requesterVpcId: vpcs.web.vpcId,
                requesterCidrBlock: vpcs.web.cidrBlock,
                requesterRouteTableIds: vpcs.web.routeTableIds,
                accepterVpcId: vpcs[other].vpcId,
                accepterCidrBlock: vpcs[other].cidrBlock,
                accepterRouteTableIds: vpcs[other].routeTableIds,
                tags,
            })),
    );

    const bastion = new Bastion(`${env}-bastion`, {
        ...planned.bastion,
        vpcId: vpcs.web.vpcId,
        // Behind an Instance Connect Endpoint the bastion needs no public subnet.
        subnetId: cfg.bastion.access === "publicIp" ? vpcs.web.publicSubnetIds[0] : vpcs.web.privateSubnetIds[0],
        internetGateway: vpcs.web.internetGateway,
    });
    const access = bastion.access();

    // Created before the data tiers so they can admit the web nodes by group (also across the
    // peerings); each tier adds the group's egress to its own ports (both sides of the flow).
    const webSecurityGroup = new aws.ec2.SecurityGroup(`${env}-web-nodes-sg`, {
        vpcId: vpcs.web.vpcId,
        description: "ownCloud web nodes: clients of Galera, GlusterFS and Redis",
        tags: { ...tags, [TAG_TIER]: "web", Name: `${env}-web-nodes` },
    });

    const galera = new GaleraCluster(`${env}-galera`, {
        ...planned.galera,
        vpcId: vpcs.db.vpcId,
        subnetIds: vpcs.db.privateSubnetIds,
        subnetCidrs: vpcs.db.privateSubnetCidrs,
        clientSecurityGroupIds: [webSecurityGroup.id],
        bastion: access,
        // The web and bastion groups live in the web VPC: referable only once the peering is active.
        crossVpcDependsOn: [peeringTo.db],
        egressDependsOn: vpcs.db.egressReady,
    }, { transformations: [formerWebEgress(env, webSecurityGroup, { [`${env}-galera-client0-out-mysql`]: "galera-sql", [`${env}-galera-client0-out-health`]: "galera-health" })] });
    const redis = new RedisCluster(`${env}-redis`, {
        ...planned.redis,
        vpcId: vpcs.db.vpcId,
        subnetIds: vpcs.db.privateSubnetIds,
        clientSecurityGroupIds: [webSecurityGroup.id],
        crossVpcDependsOn: [peeringTo.db],
    }, { transformations: [formerWebEgress(env, webSecurityGroup, { [`${env}-redis-client0-out-redis`]: "redis" })] });
    const gluster = new GlusterDisperseVolume(`${env}-gluster`, {
        ...planned.gluster,
        vpcId: vpcs.fs.vpcId,
        subnetIds: vpcs.fs.privateSubnetIds,
        subnetCidrs: vpcs.fs.privateSubnetCidrs,
        clientSecurityGroupIds: [webSecurityGroup.id],
        bastion: access,
        crossVpcDependsOn: [peeringTo.fs],
        egressDependsOn: vpcs.fs.egressReady,
    }, { transformations: [formerWebEgress(env, webSecurityGroup, { [`${env}-gluster-client0-out-glusterd`]: "glusterd", [`${env}-gluster-client0-out-bricks`]: "gluster-bricks" })] });

    const web = new OwnCloudWebTier(`${env}-owncloud`, {
        ...planned.web,
        vpcId: vpcs.web.vpcId,
        publicSubnetIds: vpcs.web.publicSubnetIds,
        privateSubnetIds: vpcs.web.privateSubnetIds,
        nodeSecurityGroupId: webSecurityGroup.id,
        galeraWriterOrder: galera.writerOrder,
        // The application's own secret: web nodes never see the root, SST or health passwords.
        galeraSecretArn: galera.appSecretArn,
        glusterServers: gluster.nodeAddresses,
        glusterVolume: gluster.volumeName,
        redisEndpoint: redis.endpoint,
        redisClusterMode: redis.clusterModeEnabled,
        redisPort: redis.port,
        redisSecretArn: redis.authSecretArn,
        keyPairName: bastion.keyPairName,
        bastionSecurityGroupId: bastion.securityGroupId,
    }, {
        // Web nodes install ownCloud on first boot: the database and the volume must be verified first.
        dependsOn: [
            // Nodes install packages and pull the image at first boot: their VPC's way out first.
            ...vpcs.web.egressReady,
            ...galera.ready,
            ...gluster.ready,
            redis,
        ],
    });

    const observability = new Observability(`${env}-ops`, {
        alarmEmail: cfg.alarmEmail,
        albArnSuffix: web.albArnSuffix,
        targetGroupArnSuffix: web.targetGroupArnSuffix,
        autoScalingGroupName: web.autoScalingGroupName,
        autoScalingMaxSize: cfg.web.maxSize,
        instances: [
            ...galera.instanceIds.map((instanceId, i) => ({ label: `galera-node${i + 1}`, instanceId })),
            ...gluster.instanceIds.map((instanceId, i) => ({ label: `gluster-node${i + 1}`, instanceId })),
        ],
        galeraClusters: [{ ...galera.metrics, label: "galera" }],
        glusterVolumes: [{ ...gluster.metrics, label: "gluster" }],
        redisReplicationGroupId: redis.replicationGroupId,
        redisShards: cfg.redis.shards,
        redisReplicasPerShard: cfg.redis.replicasPerShard,
        tags,
    });
    const region = aws.getRegionOutput().region;

    const outputs: Record<string, unknown> = {
        siteUrl: web.siteUrl,
        dashboardUrl: pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${observability.dashboardName}`,
        alarmTopicArn: observability.topicArn,
        albDnsName: web.albDnsName,
        ownCloudAdminSecretArn: web.adminSecretArn,
        vpcIds: { web: vpcs.web.vpcId, db: vpcs.db.vpcId, fs: vpcs.fs.vpcId },
        subnetIds: Object.fromEntries(
            TIERS.map((t) => [t, { public: vpcs[t].publicSubnetIds, private: vpcs[t].privateSubnetIds }]),
        ),
        availabilityZones: zones,
        bastionPublicIp: bastion.publicIp,
        [SSH_KEY_OUTPUT]: bastion.privateKeyOpenssh,
        bastionSshCommand:
            cfg.bastion.access === "publicIp"
                ? pulumi.interpolate`pulumi stack output --show-secrets bastionPrivateKey > bastion.key && chmod 600 bastion.key && ssh -i bastion.key ${bastion.sshUser}@${bastion.publicIp}`
                : pulumi.interpolate`pulumi stack output --show-secrets bastionPrivateKey > bastion.key && chmod 600 bastion.key && ssh -i bastion.key -o ProxyCommand='aws ec2-instance-connect open-tunnel --instance-id ${bastion.instanceId}' ${bastion.sshUser}@${bastion.instanceId}`,
        ...(cfg.bastion.access === "instanceConnectEndpoint"
            ? { bastionTunnelCommand: pulumi.interpolate`aws ec2-instance-connect open-tunnel --instance-id ${bastion.instanceId} --remote-port 22 --local-port ${String(cfg.bastion.tunnelPort)}` }
            : {}),
        webSecurityGroupId: webSecurityGroup.id,
        galeraWriterOrder: galera.writerOrder,
        galeraSecretArn: galera.secretArn,
        glusterMountSource: gluster.mountSource,
        glusterBackupVolfileServers: gluster.backupVolfileServers,
        // Where the operators' restore tooling finds the backups (galera/ and files/ prefixes).
        galeraBackupBucketName: galera.backupBucketName,
        glusterBackupBucketName: gluster.backupBucketName,
        redisEndpoint: redis.endpoint,
        redisPort: redis.port,
        redisAuthSecretArn: redis.authSecretArn,
        // What `npm run ops` needs to reach the nodes (scripts/ops): bastion, user, node addresses, URNs.
        [OPERATIONS_OUTPUT]: operationsOutput(access, galera, gluster),
    };
    return { vpcs, peerings, bastion, webSecurityGroup, galera, gluster, redis, web, observability, outputs };
}
