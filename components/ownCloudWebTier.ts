import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { debian12Ami, instanceArchitecture, isInstanceType } from "./ami";
import { createNodeRole } from "./clusterNodes";
import { TAG_HTTP_EXEMPTION, TAG_TIER, withTags } from "./conventions";
import { InvalidArgsError } from "./errors";
import { LOG_RETENTION_DAYS } from "./peeredVpc";
import { bootScript, bundleScripts, USER_DATA_LIMIT_BYTES } from "./userData";
import { jsonSecret } from "./secrets";
import { galeraPortsEnv } from "./ports";

/** Port of the official owncloud/server image. */
export const OWNCLOUD_PORT = 8080;
/** Node-local HAProxy frontend the ALB checks: 200 only while ownCloud serves (see scripts/web/haproxy.sh). */
export const HEALTH_PORT = 8081;
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/**
 * The default ownCloud image: a full version owncloud-docker/server publishes (its CI builds
 * `11.0.0` and `10.16.4`, each also as `<version>-<YYYYMMDD>`; there is no `11.0` tag).
 */
export const DEFAULT_OWNCLOUD_IMAGE = "owncloud/server:11.0.0";

/**
 * Why `image` cannot be the web nodes' ownCloud image, or undefined. It must be `repo:tag` or
 * `repo@sha256:…`; for the official `owncloud/server` the tag must be a full version (`11.0.0`,
 * `11.0.0-20260801`): the moving tags (`10.16`, `10`, `latest`) would let a node launched later run
 * another version than its peers, and every start of the image runs `occ upgrade`.
 */
export function owncloudImageProblem(image: string): string | undefined {
    const m = /^((?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9._/-]+)(?::([A-Za-z0-9._-]{1,128})|@sha256:[0-9a-f]{64})$/.exec(image);
    if (!m) return `owncloudImage: "${image}" must be image:tag or image@sha256:digest, e.g. ${DEFAULT_OWNCLOUD_IMAGE}`;
    const [, repo, tag] = m;
    if (tag !== undefined && /^(docker\.io\/)?owncloud\/server$/.test(repo) && !/^\d+\.\d+\.\d+(-\d{8})?$/.test(tag)) {
        return (
            `owncloudImage: "${image}" is not a pinned owncloud/server version: it publishes full versions ` +
            `(11.0.0, 11.0.0-<YYYYMMDD>, 10.16.4) besides moving tags; set owncloudImage to ${DEFAULT_OWNCLOUD_IMAGE}`
        );
    }
    return undefined;
}

export const WEB_NODE_SCRIPTS = ["lib/common.sh", "web/haproxy.sh", "web/haproxy.cfg.tmpl", "web/gluster-mount.sh", "web/node-init.sh"];

export interface OwnCloudWebTierArgs {
    /** VPC of the load balancer and the web nodes. */
    vpcId: pulumi.Input<string>;
    /** Public subnets for the ALB, at least 2 AZs. */
    publicSubnetIds: pulumi.Input<string>[];
    /** Private subnets for the web nodes, at least 2 AZs (default platform: 3). */
    privateSubnetIds: pulumi.Input<string>[];
    /**
     * Security group of the web nodes, created by the caller beforehand so the data tiers can admit
     * it. This component adds the ALB → node rules (container and health ports) to it.
     */
    nodeSecurityGroupId: pulumi.Input<string>;
    /** Host name users reach ownCloud at (OWNCLOUD_DOMAIN and trusted domain), e.g. `cloud.example.com`. */
    domain: string;
    /**
     * ARN of an ACM certificate for `domain`. Give this, or `hostedZoneId` to have one issued and
     * validated by DNS. Without either the ALB serves plain HTTP (only sensible for a first test).
     */
    certificateArn?: pulumi.Input<string>;
    /** Route 53 hosted zone of `domain`: an ACM certificate is requested, validated by DNS, and an alias record created. */
    hostedZoneId?: pulumi.Input<string>;
    /**
     * Why this ALB may serve plain HTTP (no certificate, no zone), e.g. "dev: no public domain yet".
     * Tags the ALB `owncloud-ha:http-exemption` = this reason, which the policy pack reports and
     * accepts outside production only; without it (or in production) an HTTP-only ALB is a
     * mandatory violation. Ignored when HTTPS is configured.
     */
    plainHttpExemption?: string;
    /**
     * ownCloud image, pinned: `repo:tag` or `repo@sha256:…`; for `owncloud/server` a full version
     * such as `11.0.0` or `11.0.0-<YYYYMMDD>`. The image brings its own PHP. Default `owncloud/server:11.0.0`.
     */
    owncloudImage?: string;
    /** Galera node addresses in writer order (GaleraCluster.writerOrder): the first is the single writer. */
    galeraWriterOrder: string[];
    /**
     * Secrets Manager ARN of the application's database credentials, exactly `appUser`,
     * `appPassword`, `appDatabase` (GaleraCluster.appSecretArn). The nodes' role may read it: never
     * pass the cluster's admin secret here.
     */
    galeraSecretArn: pulumi.Input<string>;
    /** GlusterFS node addresses, first = primary volfile server (GlusterDisperseVolume.nodeAddresses). */
    glusterServers: string[];
    /** GlusterFS volume name. */
    glusterVolume: string;
    /** Redis primary or configuration endpoint (TLS). */
    redisEndpoint: pulumi.Input<string>;
    /**
     * `redisEndpoint` is the configuration endpoint of a cluster-mode-enabled replication group
     * (RedisCluster.clusterModeEnabled): nodes then configure ownCloud with OWNCLOUD_REDIS_SEEDS.
     * Default false.
     */
    redisClusterMode?: boolean;
    /** Redis port. Default 6379. */
    redisPort?: number;
    /** Secrets Manager ARN of the Redis AUTH token (`authToken`). */
    redisSecretArn: pulumi.Input<string>;
    /** Instance type of the web nodes. Default `t3.small`. */
    instanceType?: string;
    /** AMI. Default: the newest official Debian 12 AMI for the instance type's architecture. */
    amiId?: string;
    /** Encrypted gp3 root volume size in GiB (Docker images live there). Default 20. */
    rootVolumeSizeGb?: number;
    /** Auto Scaling bounds. Defaults: min 2, max 4, desired 2. min ≤ desired ≤ max, min ≥ 1. */
    minSize?: number;
    maxSize?: number;
    desiredCapacity?: number;
    /**
     * Spot capacity: when set, the group keeps this many nodes on-demand (1 to `minSize`) and runs
     * the rest on spot (mixed-instances policy, price-capacity-optimized, capacity rebalance). The
     * nodes are stateless, so a reclaimed spot node is one node failing. Default: all on-demand.
     */
    spotAboveOnDemandBase?: number;
    /** Target average CPU for target tracking. Default 50 (between seed 003's 40 % scale-in and 60 % scale-out). */
    cpuTargetPercent?: number;
    /** Target ALB requests per node per minute for target tracking. Default 1000. */
    requestsPerTarget?: number;
    /** Keep the ALB from being deleted (FSBP ELB.6). Default false; turn on in production. */
    deletionProtection?: boolean;
    /** Write ALB access logs to an encrypted, private S3 bucket created here (FSBP ELB.5). Default false. */
    accessLogs?: boolean;
    /** Days access logs are kept. Default 90. */
    accessLogRetentionDays?: number;
    /** EC2 key pair for SSH through the bastion (the nodes run no SSM agent, so this is the way in). */
    keyPairName?: pulumi.Input<string>;
    /** Security group of the bastion: nodes admit SSH from it. */
    bastionSecurityGroupId?: pulumi.Input<string>;
    /** Retention of the web nodes' log group in days. Default 365. */
    logRetentionDays?: number;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

export interface ResolvedWebTierArgs {
    domain: string;
    owncloudImage: string;
    instanceType: string;
    rootVolumeSizeGb: number;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    spotAboveOnDemandBase?: number;
    cpuTargetPercent: number;
    requestsPerTarget: number;
    deletionProtection: boolean;
    accessLogs: boolean;
    accessLogRetentionDays: number;
    logRetentionDays: number;
    redisPort: number;
    https: "certificate" | "acm" | "none";
    tags: Record<string, string>;
}

export function resolveWebTierArgs(name: string, args: OwnCloudWebTierArgs): ResolvedWebTierArgs {
    const problems: string[] = [];
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(args.domain ?? "")) {
        problems.push(`domain: "${args.domain}" is not a lower-case DNS name like cloud.example.com`);
    }
    if (args.publicSubnetIds.length < 2) problems.push("publicSubnetIds: an ALB needs subnets in at least 2 AZs (FSBP ELB.13)");
    if (args.privateSubnetIds.length < 2) problems.push("privateSubnetIds: give private subnets in at least 2 AZs so one AZ's loss leaves nodes serving");
    const owncloudImage = args.owncloudImage ?? DEFAULT_OWNCLOUD_IMAGE;
    const imageProblem = owncloudImageProblem(owncloudImage);
    if (imageProblem) problems.push(imageProblem);
    const minSize = args.minSize ?? 2;
    const maxSize = args.maxSize ?? 4;
    const desiredCapacity = args.desiredCapacity ?? minSize;
    if (!Number.isInteger(minSize) || minSize < 1) problems.push(`minSize: ${minSize}; at least 1`);
    if (!Number.isInteger(maxSize) || maxSize < minSize) problems.push(`maxSize: ${maxSize} is below minSize ${minSize}`);
    if (!Number.isInteger(desiredCapacity) || desiredCapacity < minSize || desiredCapacity > maxSize) {
        problems.push(`desiredCapacity: ${desiredCapacity} must lie between minSize ${minSize} and maxSize ${maxSize}`);
    }
    const cpuTargetPercent = args.cpuTargetPercent ?? 50;
    if (!(cpuTargetPercent > 0 && cpuTargetPercent < 100)) problems.push(`cpuTargetPercent: ${cpuTargetPercent} must be between 0 and 100`);
    const requestsPerTarget = args.requestsPerTarget ?? 1000;
    if (!(Number.isInteger(requestsPerTarget) && requestsPerTarget > 0)) problems.push(`requestsPerTarget: ${requestsPerTarget} must be a positive whole number`);
    if ((args.galeraWriterOrder ?? []).length === 0) problems.push("galeraWriterOrder: give the Galera nodes in writer order (GaleraCluster.writerOrder)");
    if ((args.glusterServers ?? []).length < 2) problems.push("glusterServers: give every GlusterFS node (at least 2, so a mount works while the first is down)");
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(args.glusterVolume ?? "")) problems.push(`glusterVolume: "${args.glusterVolume}" is not a volume name`);
    const accessLogRetentionDays = args.accessLogRetentionDays ?? 90;
    if (!Number.isInteger(accessLogRetentionDays) || accessLogRetentionDays < 1) problems.push(`accessLogRetentionDays: ${accessLogRetentionDays}; at least 1`);
    const logRetentionDays = args.logRetentionDays ?? 365;
    if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) problems.push(`logRetentionDays: ${logRetentionDays} is not a CloudWatch Logs retention value`);
    const rootVolumeSizeGb = args.rootVolumeSizeGb ?? 20;
    if (!Number.isInteger(rootVolumeSizeGb) || rootVolumeSizeGb < 10) problems.push(`rootVolumeSizeGb: ${rootVolumeSizeGb}; at least 10 (Docker images live there)`);
    const instanceType = args.instanceType ?? "t3.small";
    if (!isInstanceType(instanceType)) problems.push(`instanceType: "${instanceType}" is not an EC2 instance type like t3.small`);
    if (args.certificateArn !== undefined && args.hostedZoneId !== undefined) {
        problems.push("certificateArn/hostedZoneId: give one (an existing certificate, or a zone to issue one in), not both");
    }
    const spotBase = args.spotAboveOnDemandBase;
    if (spotBase !== undefined && (!Number.isInteger(spotBase) || spotBase < 1 || spotBase > minSize)) {
        problems.push(`spotAboveOnDemandBase: ${spotBase} must be a whole number from 1 to minSize (${minSize}): on-demand nodes keep serving while spot capacity is reclaimed`);
    }
    if (problems.length > 0) throw new InvalidArgsError("OwnCloudWebTier", name, problems);
    return {
        spotAboveOnDemandBase: spotBase,
        domain: args.domain,
        owncloudImage,
        instanceType,
        rootVolumeSizeGb,
        minSize,
        maxSize,
        desiredCapacity,
        cpuTargetPercent,
        requestsPerTarget,
        deletionProtection: args.deletionProtection ?? false,
        accessLogs: args.accessLogs ?? false,
        accessLogRetentionDays,
        logRetentionDays,
        redisPort: args.redisPort ?? 6379,
        https: args.certificateArn !== undefined ? "certificate" : args.hostedZoneId !== undefined ? "acm" : "none",
        tags: args.tags ?? {},
    };
}

/**
 * The ownCloud web tier: an internet-facing ALB (80/443 only, HTTP redirected to HTTPS whenever
 * HTTPS exists, TLS 1.2/1.3 policy, invalid headers dropped, defensive desync mitigation) in front
 * of an Auto Scaling group of Debian 12 nodes in private subnets, each running the official
 * owncloud/server container behind a node-local HAProxy that sends all SQL to the single Galera
 * writer and answers the ALB's health check only while ownCloud can serve.
 */
export class OwnCloudWebTier extends pulumi.ComponentResource {
    public readonly albDnsName: pulumi.Output<string>;
    public readonly albArn: pulumi.Output<string>;
    /** `app/<name>/<id>`, for CloudWatch dimensions. */
    public readonly albArnSuffix: pulumi.Output<string>;
    public readonly targetGroupArnSuffix: pulumi.Output<string>;
    public readonly albSecurityGroupId: pulumi.Output<string>;
    public readonly autoScalingGroupName: pulumi.Output<string>;
    public readonly adminSecretArn: pulumi.Output<string>;
    public readonly siteUrl: pulumi.Output<string>;
    public readonly logGroupName: pulumi.Output<string>;
    public readonly https: boolean;

    constructor(name: string, args: OwnCloudWebTierArgs, opts?: pulumi.ComponentResourceOptions) {
        const a = resolveWebTierArgs(name, args);
        super("owncloud-ha:web:OwnCloudWebTier", name, {}, opts);
        const tags = (tier: string, extra: Record<string, string> = {}) => withTags(a.tags, { [TAG_TIER]: tier, ...extra });

        // --- Security groups -------------------------------------------------------------------
        const albSg = new aws.ec2.SecurityGroup(
            `${name}-alb-sg`,
            {
                vpcId: args.vpcId,
                description: "ownCloud ALB: HTTP and HTTPS from the internet, to the web nodes only",
                ingress: [
                    { description: "HTTP (redirected to HTTPS)", protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
                    { description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
                ],
                egress: [
                    { description: "ownCloud on the web nodes", protocol: "tcp", fromPort: OWNCLOUD_PORT, toPort: OWNCLOUD_PORT, securityGroups: [args.nodeSecurityGroupId] },
                    { description: "Health checks of the web nodes", protocol: "tcp", fromPort: HEALTH_PORT, toPort: HEALTH_PORT, securityGroups: [args.nodeSecurityGroupId] },
                ],
                tags: tags("alb", { Name: `${name}-alb-sg` }),
            },
            { parent: this },
        );
        this.albSecurityGroupId = albSg.id;
        for (const [id, port, description] of [
            ["app", OWNCLOUD_PORT, "ownCloud from the ALB"],
            ["health", HEALTH_PORT, "health checks from the ALB"],
        ] as const) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-nodes-in-${id}`,
                {
                    securityGroupId: args.nodeSecurityGroupId,
                    referencedSecurityGroupId: albSg.id,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    description,
                    tags: tags("web"),
                },
                { parent: this },
            );
        }
        // Nodes fetch packages, the image and their secrets over HTTPS (through NAT).
        for (const [id, port] of [["https", 443], ["http", 80]] as const) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-nodes-out-${id}`,
                { securityGroupId: args.nodeSecurityGroupId, cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: port, toPort: port, description: "packages, images, AWS APIs", tags: tags("web") },
                { parent: this },
            );
        }
        if (args.bastionSecurityGroupId !== undefined) {
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-nodes-in-ssh`,
                { securityGroupId: args.nodeSecurityGroupId, referencedSecurityGroupId: args.bastionSecurityGroupId, ipProtocol: "tcp", fromPort: 22, toPort: 22, description: "SSH from the bastion", tags: tags("web") },
                { parent: this },
            );
        }

        // --- Secrets ---------------------------------------------------------------------------
        const adminPassword = new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, { parent: this });
        const adminSecret = jsonSecret(
            `${name}-admin`,
            { namePrefix: `owncloud-ha/${name}/admin-`, description: "ownCloud admin account", tags: tags("web") },
            { username: "admin", password: adminPassword.result },
            this,
        );
        this.adminSecretArn = adminSecret.arn;

        // --- Load balancer ---------------------------------------------------------------------
        const plainHttp = args.certificateArn === undefined && args.hostedZoneId === undefined;
        const httpExemptionTag: Record<string, string> =
            plainHttp && args.plainHttpExemption?.trim() ? { [TAG_HTTP_EXEMPTION]: args.plainHttpExemption.trim() } : {};
        const logs = a.accessLogs ? this.accessLogBucket(name, a, tags("alb")) : undefined;
        const alb = new aws.lb.LoadBalancer(
            `${name}-alb`,
            {
                loadBalancerType: "application",
                internal: false,
                subnets: args.publicSubnetIds,
                securityGroups: [albSg.id],
                dropInvalidHeaderFields: true,
                desyncMitigationMode: "defensive",
                enableDeletionProtection: a.deletionProtection,
                idleTimeout: 300, // large uploads and WebDAV syncs
                accessLogs: logs ? { bucket: logs.bucket.bucket, enabled: true, prefix: name } : undefined,
                tags: tags("alb", { Name: `${name}-alb`, ...httpExemptionTag }),
            },
            // Enabling access logs makes ELB write a test object at once: the bucket policy that
            // lets it write (and the settings it writes under) must exist first, or the call fails
            // with "Access Denied for bucket".
            { parent: this, dependsOn: logs?.ready },
        );
        this.albArn = alb.arn;
        this.albArnSuffix = alb.arnSuffix;
        this.albDnsName = alb.dnsName;

        const targetGroup = new aws.lb.TargetGroup(
            `${name}-tg`,
            {
                vpcId: args.vpcId,
                port: OWNCLOUD_PORT,
                protocol: "HTTP",
                targetType: "instance",
                deregistrationDelay: 60,
                // The check goes to HAProxy's health frontend, which asks status.php with the right
                // Host header: healthy only when ownCloud is installed, out of maintenance and has its DB.
                healthCheck: {
                    port: String(HEALTH_PORT),
                    protocol: "HTTP",
                    path: "/healthz",
                    matcher: "200",
                    interval: 10,
                    timeout: 5,
                    healthyThreshold: 2,
                    unhealthyThreshold: 3,
                },
                stickiness: { type: "lb_cookie", enabled: true, cookieDuration: 3600 },
                tags: tags("web"),
            },
            { parent: this },
        );
        this.targetGroupArnSuffix = targetGroup.arnSuffix;

        let certificateArn: pulumi.Input<string> | undefined = args.certificateArn;
        if (a.https === "acm") certificateArn = this.issueCertificate(name, a.domain, args.hostedZoneId!, tags("alb"));
        this.https = certificateArn !== undefined;
        const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
        if (certificateArn !== undefined) {
            new aws.lb.Listener(
                `${name}-https`,
                { loadBalancerArn: alb.arn, port: 443, protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn, defaultActions: forward, tags: tags("alb") },
                { parent: alb },
            );
            new aws.lb.Listener(
                `${name}-http`,
                {
                    loadBalancerArn: alb.arn,
                    port: 80,
                    protocol: "HTTP",
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                    tags: tags("alb"),
                },
                { parent: alb },
            );
        } else {
            void pulumi.log.warn(
                `OwnCloudWebTier "${name}": no certificateArn or hostedZoneId, so the ALB serves plain HTTP; give one before real users log in`,
                this,
            );
            new aws.lb.Listener(`${name}-http`, { loadBalancerArn: alb.arn, port: 80, protocol: "HTTP", defaultActions: forward, tags: tags("alb") }, { parent: alb });
        }
        if (args.hostedZoneId !== undefined) {
            new aws.route53.Record(
                `${name}-alias`,
                { zoneId: args.hostedZoneId, name: a.domain, type: "A", aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }] },
                { parent: this },
            );
        }
        this.siteUrl = pulumi.output(`${this.https ? "https" : "http"}://${a.domain}/`);

        // --- Nodes -----------------------------------------------------------------------------
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { namePrefix: `/owncloud-ha/${name}/`, retentionInDays: a.logRetentionDays, tags: tags("web") },
            { parent: this },
        );
        this.logGroupName = logGroup.name;
        const profile = this.nodeProfile(name, [args.galeraSecretArn, args.redisSecretArn, adminSecret.arn], logGroup.arn, tags("web"));

        const region = aws.getRegionOutput({}, { parent: this }).region;
        const userData = pulumi
            .all([region, args.galeraSecretArn, args.redisSecretArn, adminSecret.arn, args.redisEndpoint])
            .apply(([r, dbArn, redisArn, adminArn, redisHost]) =>
                webUserData({
                    AWS_REGION: r,
                    DB_SECRET_ARN: dbArn,
                    REDIS_SECRET_ARN: redisArn,
                    ADMIN_SECRET_ARN: adminArn,
                    GALERA_BACKENDS: args.galeraWriterOrder.map((ip, i) => `galera${i + 1}=${ip}`).join(","),
                    ...galeraPortsEnv(),
                    GLUSTER_SERVERS: args.glusterServers.join(" "),
                    GLUSTER_VOLUME: args.glusterVolume,
                    REDIS_HOST: redisHost,
                    REDIS_PORT: String(a.redisPort),
                    REDIS_CLUSTER_MODE: args.redisClusterMode ? "enabled" : "disabled",
                    OWNCLOUD_IMAGE: a.owncloudImage,
                    OWNCLOUD_DOMAIN: a.domain,
                    // What users' browsers speak to the ALB: ownCloud builds its URLs with it.
                    OWNCLOUD_PROTOCOL: this.https ? "https" : "http",
                    OWNCLOUD_HEALTH_PORT: String(HEALTH_PORT),
                }),
            );
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                namePrefix: `${name}-`,
                imageId: args.amiId ?? debian12Ami(instanceArchitecture(a.instanceType), { parent: this }),
                instanceType: a.instanceType,
                keyName: args.keyPairName,
                iamInstanceProfile: { arn: profile.arn },
                networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: [args.nodeSecurityGroupId], deleteOnTermination: "true" }],
                // Hop limit 1: no bridged container reaches IMDS. ownCloud runs on the host network (no extra
                // hop), so the node rejects IMDS traffic from its www-data user (scripts/web/node-init.sh).
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                blockDeviceMappings: [
                    { deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: a.rootVolumeSizeGb, encrypted: "true", deleteOnTermination: "true" } },
                ],
                userData: userData.apply((u) => Buffer.from(u).toString("base64")),
                updateDefaultVersion: true,
                tagSpecifications: [
                    { resourceType: "instance", tags: tags("web", { Name: `${name}-node` }) },
                    { resourceType: "volume", tags: tags("web", { Name: `${name}-node-root` }) },
                ],
                tags: tags("web"),
            },
            { parent: this },
        );
        const asg = new aws.autoscaling.Group(
            `${name}-asg`,
            {
                vpcZoneIdentifiers: args.privateSubnetIds,
                minSize: a.minSize,
                maxSize: a.maxSize,
                desiredCapacity: a.desiredCapacity,
                ...(a.spotAboveOnDemandBase === undefined
                    ? { launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) } }
                    : {
                          // On-demand base, spot above it; replacements for reclaimed spot nodes start early.
                          capacityRebalance: true,
                          mixedInstancesPolicy: {
                              instancesDistribution: {
                                  onDemandBaseCapacity: a.spotAboveOnDemandBase,
                                  onDemandPercentageAboveBaseCapacity: 0,
                                  spotAllocationStrategy: "price-capacity-optimized",
                              },
                              launchTemplate: {
                                  launchTemplateSpecification: { launchTemplateId: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
                                  overrides: [{ instanceType: a.instanceType }],
                              },
                          },
                      }),
                targetGroupArns: [targetGroup.arn],
                healthCheckType: "ELB",
                // First boot pulls the image and may wait for the install lock.
                healthCheckGracePeriod: 900,
                defaultInstanceWarmup: 300,
                instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 66, instanceWarmup: "300" } },
                enabledMetrics: ["GroupInServiceInstances", "GroupDesiredCapacity", "GroupMaxSize", "GroupTotalInstances"],
                tags: Object.entries(tags("web", { Name: `${name}-node` })).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
            },
            // Nodes boot straight into ownCloud: whatever the caller says must exist first (the
            // verified Galera cluster and Gluster volume) gates the group, not just the component.
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.autoScalingGroupName = asg.name;
        new aws.autoscaling.Policy(
            `${name}-cpu`,
            {
                autoscalingGroupName: asg.name,
                policyType: "TargetTrackingScaling",
                targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: a.cpuTargetPercent },
            },
            { parent: asg },
        );
        new aws.autoscaling.Policy(
            `${name}-requests`,
            {
                autoscalingGroupName: asg.name,
                policyType: "TargetTrackingScaling",
                targetTrackingConfiguration: {
                    predefinedMetricSpecification: {
                        predefinedMetricType: "ALBRequestCountPerTarget",
                        resourceLabel: pulumi.interpolate`${alb.arnSuffix}/${targetGroup.arnSuffix}`,
                    },
                    targetValue: a.requestsPerTarget,
                },
            },
            { parent: asg },
        );

        this.registerOutputs({
            albDnsName: this.albDnsName,
            siteUrl: this.siteUrl,
            albSecurityGroupId: this.albSecurityGroupId,
            autoScalingGroupName: this.autoScalingGroupName,
            adminSecretArn: this.adminSecretArn,
        });
    }

    private nodeProfile(name: string, secretArns: pulumi.Input<string>[], logGroupArn: pulumi.Output<string>, tags: Record<string, string>): aws.iam.InstanceProfile {
        return createNodeRole(
            name,
            secretArns,
            tags,
            this,
            logGroupArn.apply((logArn) => [
                { Sid: "OwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [logArn, `${logArn}:*`] },
                // PutMetricData has no resource-level permissions; the namespace condition bounds it.
                { Sid: "OwnMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "owncloud-ha" } } },
            ]),
        );
    }

    private issueCertificate(name: string, domain: string, zoneId: pulumi.Input<string>, tags: Record<string, string>): pulumi.Output<string> {
        const cert = new aws.acm.Certificate(`${name}-cert`, { domainName: domain, validationMethod: "DNS", tags }, { parent: this });
        const option = cert.domainValidationOptions.apply((o) => o[0]);
        const record = new aws.route53.Record(
            `${name}-cert-validation`,
            { zoneId, name: option.resourceRecordName, type: option.resourceRecordType, records: [option.resourceRecordValue], ttl: 60, allowOverwrite: true },
            { parent: cert },
        );
        return new aws.acm.CertificateValidation(`${name}-cert`, { certificateArn: cert.arn, validationRecordFqdns: [record.fqdn] }, { parent: cert }).certificateArn;
    }

    /** The access-log bucket and what must be in place before ELB is told to write there. */
    private accessLogBucket(name: string, a: ResolvedWebTierArgs, tags: Record<string, string>): { bucket: aws.s3.Bucket; ready: pulumi.Resource[] } {
        const bucket = new aws.s3.Bucket(`${name}-alb-logs`, { bucketPrefix: `${name}-alb-logs-`.slice(0, 37), forceDestroy: false, tags }, { parent: this });
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-alb-logs-public-access`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: bucket },
        );
        const ownership = new aws.s3.BucketOwnershipControls(`${name}-alb-logs-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: bucket });
        // ALB access logs support SSE-S3 only (not SSE-KMS).
        const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-alb-logs-encryption`,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            { parent: bucket },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-alb-logs-lifecycle`,
            { bucket: bucket.id, rules: [{ id: "expire", status: "Enabled", filter: {}, expiration: { days: a.accessLogRetentionDays } }] },
            { parent: bucket },
        );
        const elbAccount = aws.elb.getServiceAccountOutput({}, { parent: this });
        const policy = new aws.s3.BucketPolicy(
            `${name}-alb-logs-policy`,
            {
                bucket: bucket.id,
                policy: pulumi.all([bucket.arn, elbAccount.arn]).apply(([arn, principal]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Sid: "AlbLogDelivery", Effect: "Allow", Principal: { AWS: principal }, Action: "s3:PutObject", Resource: `${arn}/${name}/AWSLogs/*` },
                            { Sid: "TlsOnly", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
                        ],
                    }),
                ),
            },
            // A policy put while the public-access block is being changed can be refused: one after the other.
            { parent: bucket, dependsOn: [publicAccess] },
        );
        return { bucket, ready: [policy, publicAccess, ownership, encryption] };
    }
}

/** The web node's user data for the given (non-secret) settings. Throws when it outgrows EC2's limit. */
export function webUserData(env: Record<string, string>): string {
    const script = bootScript(bundleScripts(WEB_NODE_SCRIPTS), "web/node-init.sh", env);
    if (Buffer.byteLength(script) > USER_DATA_LIMIT_BYTES) {
        throw new Error(`web node user data is ${Buffer.byteLength(script)} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}`);
    }
    return script;
}
