import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Bastion, BastionAccess, resolveBastionArgs } from "../components/bastion";
import { TAG_TIER } from "../components/conventions";
import { InvalidArgsError } from "../components/errors";
import { GALERA_PORTS, GaleraCluster, GaleraClusterArgs, resolveGaleraClusterArgs } from "../components/galeraCluster";
import { GLUSTERD_PORTS, GlusterDisperseVolume, GlusterDisperseVolumeArgs, resolveGlusterArgs } from "../components/glusterDisperseVolume";
import { Observability } from "../components/observability";
import { OwnCloudWebTier, OwnCloudWebTierArgs, resolveWebTierArgs } from "../components/ownCloudWebTier";
import { PeeredVpc, PeeredVpcArgs, resolvePeeredVpcArgs } from "../components/peeredVpc";
import { REDIS_PORT, RedisCluster, RedisClusterArgs, resolveRedisClusterArgs } from "../components/redisCluster";
import { VpcPeering } from "../components/vpcPeering";
import { ConfigError, ConfigKeyName, PlatformConfig, TierName, TIERS } from "./config";
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

/** Component arguments, derived from config alone: IDs that only exist after creation are left out. */
interface PlannedArgs {
    vpc: Record<TierName, PeeredVpcArgs>;
    galera: Omit<GaleraClusterArgs, "vpcId" | "subnetIds" | "bastion" | "clientSecurityGroupIds">;
    gluster: Omit<GlusterDisperseVolumeArgs, "vpcId" | "subnetIds" | "bastion" | "clientSecurityGroupIds">;
    redis: Omit<RedisClusterArgs, "vpcId" | "subnetIds" | "clientSecurityGroupIds">;
    web: Pick<
        OwnCloudWebTierArgs,
        | "domain"
        | "certificateArn"
        | "hostedZoneId"
        | "plainHttpExemption"
        | "owncloudImage"
        | "instanceType"
        | "minSize"
        | "maxSize"
        | "desiredCapacity"
        | "deletionProtection"
        | "accessLogs"
        | "tags"
        | "spotAboveOnDemandBase"
    >;
}

/** Which stack setting each component argument comes from, so errors name what the user can change. */
const SETTING_OF: Record<string, Record<string, ConfigKeyName>> = {
    PeeredVpc: { natStrategy: "natStrategy", flowLogRetentionDays: "flowLogRetentionDays", natInstanceType: "natInstanceType" },
    Bastion: { adminCidrs: "adminCidrs", instanceType: "bastionInstanceType", amiId: "bastionAmiId", access: "bastionAccess", tunnelPort: "bastionTunnelPort" },
    GaleraCluster: {
        nodeCount: "galeraNodeCount",
        instanceType: "galeraInstanceType",
        dataVolumeSizeGb: "galeraDataVolumeSizeGb",
        subnetIds: "dbAzCount",
        backupRetentionDays: "backupRetentionDays",
        snapshotRetentionCount: "snapshotRetentionCount",
        backupOnCalendar: "galeraBackupSchedule",
        binlogIntervalSeconds: "galeraBinlogIntervalSeconds",
    },
    GlusterDisperseVolume: {
        backupRetentionDays: "backupRetentionDays",
        snapshotRetentionCount: "snapshotRetentionCount",
        backupOnCalendar: "filesBackupSchedule",
        nodeCount: "glusterNodeCount",
        redundancy: "glusterRedundancy",
        instanceType: "glusterInstanceType",
        brickVolumeSizeGb: "glusterBrickVolumeSizeGb",
    },
    OwnCloudWebTier: {
        domain: "domain",
        owncloudImage: "owncloudImage",
        instanceType: "webInstanceType",
        minSize: "webMinSize",
        maxSize: "webMaxSize",
        desiredCapacity: "webDesiredCapacity",
        spotAboveOnDemandBase: "webOnDemandBaseCapacity",
        "certificateArn/hostedZoneId": "certificateArn",
        privateSubnetIds: "webAzCount",
        publicSubnetIds: "webAzCount",
    },
    RedisCluster: {
        shards: "redisShards",
        replicasPerShard: "redisReplicasPerShard",
        nodeType: "redisNodeType",
        snapshotRetentionDays: "redisSnapshotRetentionDays",
        engine: "redisEngine",
        subnetIds: "dbAzCount",
    },
};

function planArgs(cfg: PlatformConfig, zones: string[]): PlannedArgs {
    const tags = platformTags(cfg.environment);
    const vpc = {} as Record<TierName, PeeredVpcArgs>;
    for (const tier of TIERS) {
        const net = cfg.network[tier];
        vpc[tier] = {
            cidrBlock: net.cidr,
            availabilityZones: zones.slice(0, net.azCount),
            privateSubnetPrefixLength: net.privateSubnetPrefixLength,
            publicSubnetPrefixLength: net.publicSubnetPrefixLength,
            natStrategy: cfg.natStrategy,
            egress: cfg.egress[tier],
            natInstanceType: cfg.natInstanceType,
            flowLogRetentionDays: cfg.flowLogRetentionDays,
            tags,
        };
    }
    const webCidr = cfg.network.web.cidr;
    return {
        vpc,
        galera: {
            nodeCount: cfg.galera.nodeCount,
            instanceType: cfg.galera.instanceType,
            dataVolumeSizeGb: cfg.galera.dataVolumeSizeGb,
            clientCidrs: [webCidr],
            backupRetentionDays: cfg.backup.retentionDays,
            snapshotRetentionCount: cfg.backup.snapshotRetentionCount,
            backupOnCalendar: cfg.backup.galeraSchedule,
            binlogIntervalSeconds: cfg.backup.galeraBinlogIntervalSeconds,
            tags,
        },
        gluster: {
            nodeCount: cfg.gluster.nodeCount,
            redundancy: cfg.gluster.redundancy,
            instanceType: cfg.gluster.instanceType,
            brickVolumeSizeGb: cfg.gluster.brickVolumeSizeGb,
            clientCidrs: [webCidr],
            backupRetentionDays: cfg.backup.retentionDays,
            snapshotRetentionCount: cfg.backup.snapshotRetentionCount,
            backupOnCalendar: cfg.backup.filesSchedule,
            tags,
        },
        redis: {
            shards: cfg.redis.shards,
            replicasPerShard: cfg.redis.replicasPerShard,
            nodeType: cfg.redis.nodeType,
            snapshotRetentionDays: cfg.redis.snapshotRetentionDays,
            engine: cfg.redis.engine,
            tags,
        },
        web: {
            domain: cfg.web.domain,
            certificateArn: cfg.web.certificateArn,
            plainHttpExemption: cfg.web.plainHttpExemption,
            hostedZoneId: cfg.web.hostedZoneId,
            owncloudImage: cfg.web.owncloudImage,
            instanceType: cfg.web.instanceType,
            minSize: cfg.web.minSize,
            maxSize: cfg.web.maxSize,
            desiredCapacity: cfg.web.desiredCapacity,
            deletionProtection: cfg.web.deletionProtection,
            accessLogs: cfg.web.accessLogs,
            spotAboveOnDemandBase: cfg.web.spotAboveOnDemandBase,
            tags,
        },
    };
}

/**
 * Runs every component's argument checks with the values the stack will use, before a single
 * resource is registered: a bad setting must not leave half a platform behind. Problems are
 * reported against the stack setting they come from.
 */
export function preflight(cfg: PlatformConfig, zones: string[], planned: PlannedArgs): void {
    const problems: string[] = [];
    const check = (fn: () => unknown) => {
        try {
            fn();
        } catch (e) {
            if (!(e instanceof InvalidArgsError)) throw e;
            const settings = SETTING_OF[e.component] ?? {};
            for (const p of e.problems) {
                const arg = Object.keys(settings).find((a) => p.startsWith(`${a}:`) || p.startsWith(`${a} `));
                problems.push(arg ? `owncloud-ha:${settings[arg]} (${e.component} ${p})` : `${e.component} "${e.resourceName}": ${p}`);
            }
        }
    };
    const pending = "pending";
    const subnets: Record<TierName, string[]> = { web: [], db: [], fs: [] };
    for (const tier of TIERS) {
        check(() => {
            subnets[tier] = resolvePeeredVpcArgs(`${cfg.environment}-${tier}`, planned.vpc[tier]).subnets.privateCidrs;
        });
    }
    const access: BastionAccess = { host: pending, securityGroupId: pending, keyPairName: pending, privateKey: pending };
    const ids = (tier: TierName) => planned.vpc[tier].availabilityZones.map(() => pending);
    check(() =>
        resolveBastionArgs("bastion", {
            vpcId: pending,
            subnetId: pending,
            adminCidrs: cfg.adminCidrs,
            sshTargetCidrs: TIERS.map((t) => cfg.network[t].cidr),
            instanceType: cfg.bastion.instanceType,
            amiId: cfg.bastion.amiId,
            access: cfg.bastion.access,
            tunnelPort: cfg.bastion.tunnelPort,
        }),
    );
    check(() =>
        resolveGaleraClusterArgs("galera", { ...planned.galera, vpcId: pending, subnetIds: ids("db"), subnetCidrs: subnets.db, bastion: access, clientSecurityGroupIds: [pending] }),
    );
    check(() =>
        resolveGlusterArgs("gluster", { ...planned.gluster, vpcId: pending, subnetIds: ids("fs"), subnetCidrs: subnets.fs, bastion: access, clientSecurityGroupIds: [pending] }),
    );
    check(() => resolveRedisClusterArgs("redis", { ...planned.redis, vpcId: pending, subnetIds: ids("db"), clientSecurityGroupIds: [pending] }));
    check(() =>
        resolveWebTierArgs("web", {
            ...planned.web,
            vpcId: pending,
            publicSubnetIds: ids("web"),
            privateSubnetIds: ids("web"),
            nodeSecurityGroupId: pending,
            galeraWriterOrder: [pending],
            galeraSecretArn: pending,
            glusterServers: [pending, pending],
            glusterVolume: "gfs_v_r5",
            redisEndpoint: pending,
            redisSecretArn: pending,
        }),
    );
    if (zones.length === 0) problems.push("owncloud-ha:availabilityZones: no availability zone to use");
    if (problems.length > 0) throw new ConfigError(problems);
}

/** Allows `from` to open connections to `to` on a port range (egress on one side, ingress on the other). */
function allow(
    name: string,
    from: { id: pulumi.Input<string> },
    to: { id: pulumi.Input<string> },
    ports: { protocol: string; from: number; to: number; description: string },
    tags: Record<string, string>,
    parent: pulumi.Resource,
    dependsOn: pulumi.Resource[],
): void {
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-out`,
        {
            securityGroupId: from.id,
            referencedSecurityGroupId: to.id,
            ipProtocol: ports.protocol,
            fromPort: ports.from,
            toPort: ports.to,
            description: ports.description,
            tags,
        },
        { parent, dependsOn },
    );
}

/**
 * Composes the platform for one environment. Only composition lives here: every decision about a
 * resource is made (and tested) in its component.
 */
export async function buildPlatform(cfg: PlatformConfig): Promise<Platform> {
    const env = cfg.environment;
    const tags = platformTags(env);
    const zones = await resolveZones(cfg);
    const planned = planArgs(cfg, zones);
    preflight(cfg, zones, planned);

    const vpcs = {} as Record<TierName, PeeredVpc>;
    for (const tier of TIERS) vpcs[tier] = new PeeredVpc(`${env}-${tier}`, planned.vpc[tier]);

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
        vpcId: vpcs.web.vpcId,
        // Behind an Instance Connect Endpoint the bastion needs no public subnet.
        subnetId: cfg.bastion.access === "publicIp" ? vpcs.web.publicSubnetIds[0] : vpcs.web.privateSubnetIds[0],
        access: cfg.bastion.access,
        tunnelPort: cfg.bastion.tunnelPort,
        adminCidrs: cfg.adminCidrs,
        sshTargetCidrs: TIERS.map((t) => vpcs[t].cidrBlock),
        instanceType: cfg.bastion.instanceType,
        amiId: cfg.bastion.amiId,
        internetGateway: vpcs.web.internetGateway,
        tags,
    });
    const access = bastion.access();

    // Created before the data tiers so they can admit the web nodes by group (also across the
    // peerings); its egress to each tier is added once that tier's group exists.
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
    });
    const redis = new RedisCluster(`${env}-redis`, {
        ...planned.redis,
        vpcId: vpcs.db.vpcId,
        subnetIds: vpcs.db.privateSubnetIds,
        clientSecurityGroupIds: [webSecurityGroup.id],
        crossVpcDependsOn: [peeringTo.db],
    });
    const gluster = new GlusterDisperseVolume(`${env}-gluster`, {
        ...planned.gluster,
        vpcId: vpcs.fs.vpcId,
        subnetIds: vpcs.fs.privateSubnetIds,
        subnetCidrs: vpcs.fs.privateSubnetCidrs,
        clientSecurityGroupIds: [webSecurityGroup.id],
        bastion: access,
        crossVpcDependsOn: [peeringTo.fs],
        egressDependsOn: vpcs.fs.egressReady,
    });

    // Each target group lives in a peer VPC: the rule waits for that peering to be active.
    const webTo = (target: string, tier: "db" | "fs", to: { id: pulumi.Input<string> }, protocol: string, fromPort: number, toPort: number, description: string) =>
        allow(`${env}-web-to-${target}`, webSecurityGroup, to, { protocol, from: fromPort, to: toPort, description }, tags, webSecurityGroup, [peeringTo[tier]]);
    webTo("galera-sql", "db", { id: galera.securityGroupId }, "tcp", GALERA_PORTS.mysql, GALERA_PORTS.mysql, "SQL to Galera (through the local HAProxy)");
    webTo("galera-health", "db", { id: galera.securityGroupId }, "tcp", GALERA_PORTS.health, GALERA_PORTS.health, "HAProxy health checks of Galera");
    webTo("galera-health-donor", "db", { id: galera.securityGroupId }, "tcp", GALERA_PORTS.healthDonor, GALERA_PORTS.healthDonor, "HAProxy health checks of Galera (Donor accepted)");
    webTo("galera-writer", "db", { id: galera.securityGroupId }, "tcp", GALERA_PORTS.writer, GALERA_PORTS.writer, "HAProxy designated-writer checks of Galera");
    webTo("redis", "db", { id: redis.securityGroupId }, "tcp", REDIS_PORT, REDIS_PORT, "Redis (TLS)");
    webTo("glusterd", "fs", { id: gluster.securityGroupId }, "tcp", GLUSTERD_PORTS.from, GLUSTERD_PORTS.to, "glusterd (volfiles)");
    webTo("gluster-bricks", "fs", { id: gluster.securityGroupId }, "tcp", gluster.brickPorts.from, gluster.brickPorts.to, "GlusterFS bricks");

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
            ...Object.entries(galera.bootstrap).filter(([id]) => id.startsWith("galera-verify-")).map(([, c]) => c),
            gluster.bootstrap["gluster-verify-volume"],
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
