/**
 * Estimated monthly cost of a plan, priced in the stack's own region from prices.json (never a
 * factor applied to another region's prices), plus usage-based lines driven by usage.yml. Every
 * resource type the plan holds is either priced, listed as free with the reason, or listed as
 * unpriced: nothing is skipped silently. Pure apart from reading the two files: tests check the
 * arithmetic.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import PRICE_TABLE from "./prices.json";
import { ResourceIndex, shortType } from "./graph";
import type { PlanResource } from "./build";
import { GALERA_METRICS, GLUSTER_METRICS, NODE_METRICS_PUBLISH_SECONDS } from "../../components/shared/nodeMetrics";
import { TAG_TIER } from "../../components/shared/conventions";

export type PriceTable = typeof PRICE_TABLE;
export type RegionPrices = PriceTable["regions"]["eu-central-1"];
export const PRICES: PriceTable = PRICE_TABLE;
export const USAGE_FILE = path.join(__dirname, "usage.yml");

export const DRIVERS = [
    "instances",
    "nat-gateways",
    "nat-instances",
    "public-ipv4",
    "alb",
    "elasticache",
    "ebs",
    "logs",
    "traffic",
    "endpoints",
    "secrets",
    "monitoring",
    "s3",
] as const;
export type Driver = (typeof DRIVERS)[number];

/** Usage the resources alone do not decide (documented in usage.yml). */
export interface Usage {
    natGatewayGb: number;
    albLcus: number;
    flowLogsGb: number;
    appLogsGb: number;
    logsCompressionRatio: number;
    galeraCrossAzGb: number;
    glusterCrossAzGb: number;
    webToDataCrossAzGb: number;
    ebsSnapshotGb: number;
    interfaceEndpointGb: number;
    albAccessLogsGb: number;
    galeraBackupGb: number;
    galeraBinlogGbPerDay: number;
    filesBackupGb: number;
}
const USAGE_KEYS: (keyof Usage)[] = [
    "natGatewayGb",
    "albLcus",
    "flowLogsGb",
    "appLogsGb",
    "logsCompressionRatio",
    "galeraCrossAzGb",
    "glusterCrossAzGb",
    "webToDataCrossAzGb",
    "ebsSnapshotGb",
    "interfaceEndpointGb",
    "albAccessLogsGb",
    "galeraBackupGb",
    "galeraBinlogGbPerDay",
    "filesBackupGb",
];

/** A usage file that cannot be used; the message names the file and key. */
export class UsageFileError extends Error {}

/** The usage for one stack: the file's `default` section overlaid with the stack's own section. */
export function loadUsage(stack: string, file: string = USAGE_FILE): { usage: Usage; source: string } {
    let doc: unknown;
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageFileError(`usage file ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
    const sections = (doc ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const merged: Record<string, unknown> = { ...(sections.default ?? {}), ...(sections[stack] ?? {}) };
    const problems: string[] = [];
    for (const k of Object.keys(merged)) if (!USAGE_KEYS.includes(k as keyof Usage)) problems.push(`${k}: unknown key (known: ${USAGE_KEYS.join(", ")})`);
    const usage = {} as Usage;
    for (const k of USAGE_KEYS) {
        const v = merged[k];
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0) problems.push(`${k}: expected a number ≥ 0 in section default or ${stack}, got ${JSON.stringify(v)}`);
        else usage[k] = v;
    }
    if (problems.length > 0) throw new UsageFileError(`usage file ${file}:\n  - ${problems.join("\n  - ")}`);
    return { usage, source: `${path.basename(file)} (default${sections[stack] ? ` + ${stack}` : ""})` };
}

/** No price table for the stack's region: says which regions exist and how to add one. */
export class UnknownRegionError extends Error {
    constructor(public readonly region: string) {
        super(
            `no prices for region "${region}" (known: ${Object.keys(PRICES.regions).join(", ")}); ` +
                "add a block for it to scripts/plan/prices.json from AWS's price-list files rather than reusing another region's figures",
        );
        this.name = "UnknownRegionError";
    }
}

/** The price block of a region; never another region's. */
export function regionPrices(region: string, table: PriceTable = PRICES): RegionPrices {
    const block = (table.regions as Record<string, RegionPrices | undefined>)[region];
    if (!block) throw new UnknownRegionError(region);
    return block;
}

/** How the cost model treats each resource type. */
type TypeClass = { kind: "priced"; how: string } | { kind: "free"; why: string } | { kind: "unpriced"; why: string };

const priced = (how: string): TypeClass => ({ kind: "priced", how });
const free = (why: string): TypeClass => ({ kind: "free", why });

/** Every type this project's programs create, and why it costs what it costs. Anything else is listed as unpriced. */
export const TYPE_CLASSES: Record<string, TypeClass> = {
    "aws:ec2/instance:Instance": priced("instance hours, root and extra volumes, public IPv4 if associated"),
    "aws:autoscaling/group:Group": priced("desired capacity × the launch template's instance and volumes"),
    "aws:ebs/volume:Volume": priced("GB-month by volume type"),
    "aws:ec2/natGateway:NatGateway": priced("gateway hours + GB processed (usage)"),
    "aws:ec2/eip:Eip": priced("public IPv4 hours (AWS charges every public IPv4, in use or idle)"),
    "aws:lb/loadBalancer:LoadBalancer": priced("ALB hours, LCUs (usage), one public IPv4 per AZ if internet-facing"),
    "aws:alb/loadBalancer:LoadBalancer": priced("ALB hours, LCUs (usage), one public IPv4 per AZ if internet-facing"),
    "aws:elasticache/replicationGroup:ReplicationGroup": priced("node hours by engine and node type"),
    "aws:elasticache/cluster:Cluster": priced("node hours (members of a replication group are priced there)"),
    "aws:secretsmanager/secret:Secret": priced("per secret-month"),
    "aws:kms/key:Key": priced("per customer managed key-month (rotation adds $1/month per new backing key: not included)"),
    "aws:kms/keyPolicy:KeyPolicy": free("part of its key"),
    "aws:kms/alias:Alias": free("aliases have no charge"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": priced("per standard-resolution alarm-month"),
    "aws:cloudwatch/dashboard:Dashboard": priced("per dashboard-month (an account's first 3 are free: counted as paid)"),
    "aws:cloudwatch/logGroup:LogGroup": priced("stored GB-month (usage × retention × compression)"),
    "aws:ec2/flowLog:FlowLog": priced("GB ingested into CloudWatch Logs (usage)"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": priced("no hourly charge; cross-AZ GB through it (usage)"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": priced("interface: hours per AZ + GB (usage); gateway: free"),
    "aws:s3/bucket:Bucket": priced("stored GB-month (usage); backup buckets also PUT requests"),
    "aws:s3/bucketV2:BucketV2": priced("stored GB-month (usage); backup buckets also PUT requests"),
    "aws:ec2/vpc:Vpc": free("VPCs have no charge"),
    "aws:ec2/subnet:Subnet": free("subnets have no charge"),
    "aws:ec2/routeTable:RouteTable": free("route tables have no charge"),
    "aws:ec2/route:Route": free("routes have no charge"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": free("no charge"),
    "aws:ec2/internetGateway:InternetGateway": free("internet gateways have no charge (data transfer out is billed on the instances' side, not included)"),
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": free("egress-only internet gateways have no hourly or processing charge (VPC pricing)"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": free("security groups have no charge"),
    "aws:ec2/securityGroup:SecurityGroup": free("security groups have no charge"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": free("security group rules have no charge"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": free("security group rules have no charge"),
    "aws:ec2/networkInterface:NetworkInterface": free("network interfaces have no charge (a public IPv4 on one is priced where it is associated)"),
    "aws:ec2/volumeAttachment:VolumeAttachment": free("attachments have no charge (the volume is priced)"),
    "aws:ec2/keyPair:KeyPair": free("key pairs have no charge"),
    "aws:ec2/launchTemplate:LaunchTemplate": free("priced through the auto-scaling group that launches it"),
    "aws:ec2transitgateway/instanceConnectEndpoint:InstanceConnectEndpoint": free("EC2 Instance Connect Endpoint has no charge (VPC pricing; no data processing fee)"),
    "aws:autoscaling/policy:Policy": free("scaling policies have no charge"),
    "aws:iam/role:Role": free("IAM has no charge"),
    "aws:iam/rolePolicy:RolePolicy": free("IAM has no charge"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": free("IAM has no charge"),
    "aws:iam/instanceProfile:InstanceProfile": free("IAM has no charge"),
    "aws:secretsmanager/secretVersion:SecretVersion": free("priced per secret, not per version"),
    "aws:elasticache/subnetGroup:SubnetGroup": free("subnet groups have no charge"),
    "aws:lb/listener:Listener": free("priced through the load balancer"),
    "aws:lb/targetGroup:TargetGroup": free("priced through the load balancer"),
    "aws:lb/listenerRule:ListenerRule": free("rule evaluations are part of LCUs (usage)"),
    "aws:sns/topic:Topic": free("topics have no charge; the first 1,000 e-mail deliveries a month are free"),
    "aws:sns/topicSubscription:TopicSubscription": free("subscriptions have no charge"),
    "aws:acm/certificate:Certificate": free("public ACM certificates have no charge"),
    "aws:acm/certificateValidation:CertificateValidation": free("a wait, not a resource in AWS"),
    "aws:route53/record:Record": free("records in an existing zone have no charge; alias queries to an ALB are free"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": free("bucket settings have no charge"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": free("bucket settings have no charge"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": free("SSE-S3 has no charge"),
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": free("SSE-S3 has no charge"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": free("bucket settings have no charge"),
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": free("bucket settings have no charge"),
    "aws:s3/bucketPolicy:BucketPolicy": free("bucket settings have no charge"),
    "aws:s3/bucketVersioning:BucketVersioning": free("bucket settings have no charge (replaced versions are stored objects, expired after a day)"),
    "aws:s3/bucketVersioningV2:BucketVersioningV2": free("bucket settings have no charge (replaced versions are stored objects, expired after a day)"),
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": free("Data Lifecycle Manager has no charge; the snapshots it keeps are priced as EBS snapshot storage (usage ebsSnapshotGb)"),
    "command:remote:Command": free("runs over SSH from where `pulumi up` runs; nothing in AWS"),
    "command:remote:CopyToRemote": free("copies over SSH from where `pulumi up` runs; nothing in AWS"),
    "command:local:Command": free("runs on the deploying machine"),
    "random:index/randomPassword:RandomPassword": free("generated locally by the provider"),
    "random:index/randomId:RandomId": free("generated locally by the provider"),
    "tls:index/privateKey:PrivateKey": free("generated locally by the provider"),
    "pulumi:providers:aws": free("a provider, not a cloud resource"),
};

export interface CostLine {
    driver: Driver;
    /** The top-level component (or resource) the cost belongs to. */
    component: string;
    resource: string;
    type: string;
    quantity: number;
    unit: string;
    unitPrice: number;
    monthly: number;
    detail: string;
    /** A usage-based line (quantity from usage.yml). */
    usage?: boolean;
}

export interface CostEstimate {
    currency: string;
    region: string;
    /** Set when the region has no price table: nothing is priced, and this says why. */
    error?: string;
    location: string;
    sources: Record<string, { file: string; published: string }>;
    usageSource: string;
    usage: Usage;
    hoursPerMonth: number;
    total: number;
    byDriver: Record<Driver, number>;
    /** The three largest drivers, largest first. */
    topDrivers: { driver: Driver; monthly: number; share: number }[];
    byComponent: Record<string, number>;
    lines: CostLine[];
    /** Resources that cost money but have no price here (counted as 0). */
    unpriced: { resource: string; type: string; reason: string }[];
    /** Types with no charge, how many of each and why. */
    free: { type: string; count: number; why: string }[];
    notIncluded: string[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function num(v: unknown, fallback: number): number {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    return Number.isFinite(n) ? n : fallback;
}

export interface CostOptions {
    usage?: Usage;
    usageSource?: string;
    prices?: PriceTable;
}

/** Monthly estimate for the resources of one plan, in the prices of `region`. */
export function estimateCost(resources: readonly PlanResource[] | ResourceIndex, region: string, opts: CostOptions = {}): CostEstimate {
    const index = resources instanceof ResourceIndex ? resources : new ResourceIndex(resources);
    const table = opts.prices ?? PRICES;
    const usage = opts.usage ?? loadUsage("default").usage;
    const usageSource = opts.usageSource ?? "usage.yml (default)";
    const H = table.hoursPerMonth;
    const byDriver = Object.fromEntries(DRIVERS.map((d) => [d, 0])) as Record<Driver, number>;
    const empty: CostEstimate = {
        currency: table.currency,
        region,
        location: "",
        sources: {},
        usageSource,
        usage,
        hoursPerMonth: H,
        total: 0,
        byDriver,
        topDrivers: [],
        byComponent: {},
        lines: [],
        unpriced: [],
        free: [],
        notIncluded: table.notIncluded,
    };
    let p: RegionPrices;
    try {
        p = regionPrices(region, table);
    } catch (e) {
        if (e instanceof UnknownRegionError) return { ...empty, error: e.message };
        throw e;
    }
    const lines: CostLine[] = [];
    const unpriced: CostEstimate["unpriced"] = [];
    const freeCounts = new Map<string, number>();
    const ec2 = p.ec2OnDemandHourly as Record<string, number>;
    const cache = p.elasticacheNodeHourly as Record<string, Record<string, number>>;
    const ebs = p.ebsGbMonth as Record<string, number>;

    const componentName = (r: PlanResource) => {
        const top = index.topLevelOf(r);
        return top === r && r.custom ? `${r.name}` : `${top.name} (${shortType(top.type)})`;
    };
    const add = (r: PlanResource, driver: Driver, quantity: number, unit: string, unitPrice: number, detail: string, isUsage = false) => {
        if (quantity <= 0 && !isUsage) return;
        lines.push({
            driver,
            component: componentName(r),
            resource: r.name,
            type: r.type,
            quantity,
            unit,
            unitPrice,
            monthly: quantity * unitPrice * (unit.endsWith("-hour") ? H : 1),
            detail,
            ...(isUsage ? { usage: true } : {}),
        });
    };
    const instanceHours = (r: PlanResource, driver: Driver, instanceType: unknown, count: number, what: string) => {
        const t = String(instanceType ?? "");
        if (ec2[t] === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no ${region} price for instance type "${t}"` });
        else add(r, driver, count, "instance-hour", ec2[t], `${count > 1 ? `${count} × ` : ""}${t}${what}`);
    };
    const volume = (r: PlanResource, size: unknown, type: unknown, count: number, what: string, assumed = false) => {
        const gb = num(size, table.assumedRootVolume.sizeGb);
        const t = String(type ?? table.assumedRootVolume.type);
        if (ebs[t] === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no ${region} price for EBS type "${t}"` });
        else add(r, "ebs", gb * count, "GB-month", ebs[t], `${count > 1 ? `${count} × ` : ""}${gb} GB ${t} ${what}${assumed ? " (size assumed: AMI default)" : ""}`);
    };
    const publicIps = (r: PlanResource, count: number, what: string) =>
        add(r, "public-ipv4", count, "address-hour", p.publicIpv4Hourly, `${count > 1 ? `${count} × ` : ""}public IPv4 ${what}`);
    const launchTemplateOf = (r: PlanResource, spec: Record<string, unknown> | undefined) =>
        index.resolveId(spec?.id ?? spec?.launchTemplateId, "aws:ec2/launchTemplate:LaunchTemplate") ??
        index.resolveId(spec?.name ?? spec?.launchTemplateName, "aws:ec2/launchTemplate:LaunchTemplate") ??
        index.referenced(r, "launchTemplate", "aws:ec2/launchTemplate:LaunchTemplate")[0] ??
        index.referenced(r, "mixedInstancesPolicy", "aws:ec2/launchTemplate:LaunchTemplate")[0];

    /**
     * A backup bucket's storage and PUT requests, from what the plan holds: the retention of its
     * lifecycle rule, the schedule and binary-log interval its cluster's backup steps are given,
     * and the sizes in usage.yml. Multipart chunks of 8 MiB (the AWS CLI's default) count as PUTs.
     */
    const backupBucketLines = (r: PlanResource) => {
        const top = index.topLevelOf(r);
        const galera = top.type === "owncloud-ha:database:GaleraCluster";
        const lifecycle = index.ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").find((l) => index.referenced(l, "bucket").includes(r));
        const days = Math.max(0, ...((lifecycle?.inputs.rules ?? []) as { expiration?: { days?: number } }[]).map((x) => num(x.expiration?.days, 0))) || 14;
        const steps = index.customDescendants(top.urn).filter((c) => c.type === "command:remote:Command" && /BACKUP_ON_CALENDAR=/.test(String(c.inputs.create ?? "")));
        const envOf = (k: string) => new RegExp(`${k}='([^']*)'`).exec(String(steps[0]?.inputs.create ?? ""))?.[1];
        const schedule = backupsPerDay(envOf("BACKUP_ON_CALENDAR") ?? "");
        const perBackupGb = galera ? usage.galeraBackupGb : usage.filesBackupGb;
        const kept = schedule.perDay * days;
        const what = galera ? "full Galera backups" : "files backups";
        add(r, "s3", perBackupGb * kept, "GB-month", p.s3StandardGbMonth, `${kept} ${what} kept (${schedule.detail} × ${days} days) × ${perBackupGb} GB (usage ${galera ? "galeraBackupGb" : "filesBackupGb"})`, true);
        const chunks = Math.max(1, Math.ceil((perBackupGb * 1024) / 8));
        let puts = schedule.perDay * 30 * chunks;
        let putDetail = `${schedule.perDay * 30} backups/month × ${chunks} parts`;
        if (galera) {
            add(r, "s3", usage.galeraBinlogGbPerDay * days, "GB-month", p.s3StandardGbMonth, `binary logs kept ${days} days × ${usage.galeraBinlogGbPerDay} GB/day (usage galeraBinlogGbPerDay)`, true);
            const interval = num(envOf("BACKUP_BINLOG_INTERVAL_S"), 60);
            puts += (H * 3600) / interval;
            putDetail += ` + a binary-log shipment every ${interval} s (one node ships)`;
        }
        add(r, "s3", puts / 1000, "1,000 requests", p.s3PutRequestsPer1000, `PUT requests: ${putDetail}`);
    };
    const flowLogs = index.ofType("aws:ec2/flowLog:FlowLog");
    const eipTargets = new Set(index.ofType("aws:ec2/eip:Eip").flatMap((e) => index.referenced(e, "instance", "aws:ec2/instance:Instance").map((x) => x.urn)));
    const flowLogGroups = new Set(flowLogs.flatMap((f) => index.referenced(f, "logDestination", "aws:cloudwatch/logGroup:LogGroup").map((g) => g.urn)));
    const appLogGroups = index.ofType("aws:cloudwatch/logGroup:LogGroup").filter((g) => g.custom && !flowLogGroups.has(g.urn));
    const natGateways = index.ofType("aws:ec2/natGateway:NatGateway");
    const peerings = index.ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
    const buckets = index.ofType("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2");
    const isBackupBucket = (b: PlanResource) => (b.inputs.tags ?? {})[TAG_TIER] === "backup";
    const logBuckets = buckets.filter((b) => !isBackupBucket(b));
    const endpoints = index.ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => (e.inputs.vpcEndpointType ?? "Gateway") === "Interface");
    const interAz = 2 * p.interAzPerGbEachWay;

    for (const r of index.resources) {
        if (!r.custom) {
            // Our own components carry the cross-AZ replication usage of what they run.
            if (r.type === "owncloud-ha:database:GaleraCluster")
                add(r, "traffic", usage.galeraCrossAzGb, "GB", interAz, `Galera write-set replication across AZs (usage galeraCrossAzGb; $${p.interAzPerGbEachWay}/GB each way)`, true);
            if (r.type === "owncloud-ha:storage:GlusterDisperseVolume")
                add(r, "traffic", usage.glusterCrossAzGb, "GB", interAz, `GlusterFS disperse fragments across AZs (usage glusterCrossAzGb; $${p.interAzPerGbEachWay}/GB each way)`, true);
            // ...and the custom CloudWatch metrics its nodes publish (scripts/<tier>/metrics.sh): each
            // name × (Cluster, Node) is one billed metric; one PutMetricData call per node per period.
            const perNode = r.type === "owncloud-ha:database:GaleraCluster" ? Object.keys(GALERA_METRICS).length : r.type === "owncloud-ha:storage:GlusterDisperseVolume" ? Object.keys(GLUSTER_METRICS).length : 0;
            const nodes = index.childrenOf(r.urn).filter((c) => c.type === "aws:ec2/instance:Instance").length;
            if (perNode > 0 && nodes > 0) {
                add(r, "monitoring", perNode * nodes, "metric-month", p.cloudwatch.customMetricMonthly, `${perNode} custom metrics × ${nodes} nodes (first-10,000 tier)`);
                const calls = (nodes * H * 3600) / NODE_METRICS_PUBLISH_SECONDS / 1000;
                add(r, "monitoring", calls, "1,000 requests", p.cloudwatch.apiRequestsPer1000, `PutMetricData every ${NODE_METRICS_PUBLISH_SECONDS} s from ${nodes} nodes (the free tier's 1 M requests not deducted)`);
            }
            continue;
        }
        const i = r.inputs;
        const cls = TYPE_CLASSES[r.type];
        if (!cls) {
            unpriced.push({ resource: r.name, type: r.type, reason: "type not classified by the cost model (add it to TYPE_CLASSES in scripts/plan/cost.ts)" });
            continue;
        }
        if (cls.kind === "free") {
            freeCounts.set(r.type, (freeCounts.get(r.type) ?? 0) + 1);
            continue;
        }
        if (cls.kind === "unpriced") {
            unpriced.push({ resource: r.name, type: r.type, reason: cls.why });
            continue;
        }
        switch (r.type) {
            case "aws:ec2/instance:Instance": {
                // An instance that forwards other hosts' traffic (source/destination check off) is a NAT instance.
                const nat = i.sourceDestCheck === false;
                instanceHours(r, nat ? "nat-instances" : "instances", i.instanceType, 1, nat ? " NAT instance (no per-GB processing fee)" : "");
                const root = i.rootBlockDevice ?? {};
                volume(r, root.volumeSize, root.volumeType, 1, "root volume", root.volumeSize === undefined);
                for (const d of (i.ebsBlockDevices ?? []) as Record<string, unknown>[]) volume(r, d.volumeSize, d.volumeType, 1, `volume ${String(d.deviceName ?? "")}`);
                // An Elastic IP associated with the instance replaces the address it launched with
                // (AWS releases that one), so the address is priced once, on the Elastic IP.
                if (i.associatePublicIpAddress === true && !eipTargets.has(r.urn)) publicIps(r, 1, nat ? "(NAT instance)" : "(instance)");
                break;
            }
            case "aws:autoscaling/group:Group": {
                const count = num(i.desiredCapacity, num(i.minSize, 0));
                const mixed = i.mixedInstancesPolicy; // inputs are untyped: the shape is the provider's
                const spec = (mixed?.launchTemplate?.launchTemplateSpecification ?? i.launchTemplate) as Record<string, unknown> | undefined;
                const lt = launchTemplateOf(r, spec);
                if (!lt) {
                    unpriced.push({ resource: r.name, type: r.type, reason: "launch template not found in the plan" });
                    break;
                }
                const t = lt.inputs;
                const override = ((mixed?.launchTemplate?.overrides ?? []) as Record<string, unknown>[])[0]?.instanceType;
                const dist = mixed?.instancesDistribution as Record<string, unknown> | undefined;
                const onDemand = dist ? Math.min(count, num(dist.onDemandBaseCapacity, 0) + Math.ceil((Math.max(0, count - num(dist.onDemandBaseCapacity, 0)) * num(dist.onDemandPercentageAboveBaseCapacity, 100)) / 100)) : count;
                const spot = count - onDemand;
                instanceHours(
                    r,
                    "instances",
                    override ?? t.instanceType,
                    count,
                    ` (desired capacity${spot > 0 ? `; ${spot} spot, priced at on-demand: an upper bound` : ""}; launch template ${lt.name})`,
                );
                const mappings = (t.blockDeviceMappings ?? []) as { ebs?: Record<string, unknown> }[];
                if (mappings.length === 0) volume(r, undefined, undefined, count, "root volume", true);
                for (const m of mappings) volume(r, m.ebs?.volumeSize, m.ebs?.volumeType, count, "volume", m.ebs?.volumeSize === undefined);
                const nics = (t.networkInterfaces ?? []) as Record<string, unknown>[];
                if (nics.some((n) => n.associatePublicIpAddress === true || n.associatePublicIpAddress === "true")) publicIps(r, count, "(ASG instances)");
                break;
            }
            case "aws:ebs/volume:Volume":
                volume(r, i.size, i.type ?? "gp2", 1, "data volume");
                break;
            case "aws:ec2/natGateway:NatGateway":
                add(r, "nat-gateways", 1, "gateway-hour", p.natGateway.hourly, `NAT gateway in ${String(i.subnetId ?? "?")}`);
                add(r, "nat-gateways", usage.natGatewayGb / natGateways.length, "GB", p.natGateway.perGbProcessed, "data processed (usage natGatewayGb, shared by the stack's NAT gateways)", true);
                break;
            case "aws:ec2/eip:Eip":
                publicIps(r, 1, "(Elastic IP)");
                break;
            case "aws:lb/loadBalancer:LoadBalancer":
            case "aws:alb/loadBalancer:LoadBalancer": {
                const kind = i.loadBalancerType ?? "application";
                if (kind !== "application") {
                    unpriced.push({ resource: r.name, type: r.type, reason: `no price for ${String(kind)} load balancers` });
                    break;
                }
                add(r, "alb", 1, "lb-hour", p.alb.hourly, "ALB hours");
                add(r, "alb", usage.albLcus, "LCU-hour", p.alb.lcuHourly, "LCUs on average (usage albLcus)", true);
                if (i.internal !== true) {
                    const azs = ((i.subnets ?? i.subnetMappings ?? []) as unknown[]).length;
                    publicIps(r, azs, "(internet-facing ALB, one per AZ)");
                }
                break;
            }
            case "aws:elasticache/replicationGroup:ReplicationGroup":
            case "aws:elasticache/cluster:Cluster": {
                if (r.type === "aws:elasticache/cluster:Cluster" && i.replicationGroupId !== undefined) break; // priced with its group
                const nodes =
                    r.type === "aws:elasticache/cluster:Cluster"
                        ? num(i.numCacheNodes, 1)
                        : i.numCacheClusters !== undefined
                          ? num(i.numCacheClusters, 1)
                          : num(i.numNodeGroups, 1) * (1 + num(i.replicasPerNodeGroup, 0));
                const engine = String(i.engine ?? "redis");
                const t = String(i.nodeType ?? "");
                const price = cache[engine]?.[t];
                if (price === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no ${region} price for ${engine} node type "${t}"` });
                else add(r, "elasticache", nodes, "node-hour", price, `${nodes} × ${t} (${engine})`);
                break;
            }
            case "aws:secretsmanager/secret:Secret":
                add(r, "secrets", 1, "secret-month", p.secretsManagerSecretMonthly, "secret");
                break;
            case "aws:kms/key:Key":
                add(r, "secrets", 1, "key-month", p.kmsKeyMonthly, "customer managed KMS key");
                break;
            case "aws:cloudwatch/metricAlarm:MetricAlarm":
                add(r, "monitoring", 1, "alarm-month", p.cloudwatch.alarmMonthly, "standard-resolution alarm");
                break;
            case "aws:cloudwatch/dashboard:Dashboard":
                add(r, "monitoring", 1, "dashboard-month", p.cloudwatch.dashboardMonthly, "dashboard (an account's first 3 are free)");
                break;
            case "aws:ec2/flowLog:FlowLog":
                add(r, "logs", usage.flowLogsGb / flowLogs.length, "GB", p.cloudwatch.logsIngestionPerGb, "flow-log records ingested (usage flowLogsGb, shared by the stack's flow logs)", true);
                break;
            case "aws:cloudwatch/logGroup:LogGroup": {
                const isFlow = flowLogGroups.has(r.urn);
                const ingested = isFlow ? usage.flowLogsGb / Math.max(1, flowLogGroups.size) : usage.appLogsGb / Math.max(1, appLogGroups.length);
                const days = num(i.retentionInDays, 0);
                // Never-expiring groups: a year's worth, the horizon a budget looks at.
                const months = days > 0 ? Math.min(days, 365) / 30 : 12;
                if (!isFlow) add(r, "logs", ingested, "GB", p.cloudwatch.logsIngestionPerGb, "log events ingested (usage appLogsGb)", true);
                add(
                    r,
                    "logs",
                    ingested * months * usage.logsCompressionRatio,
                    "GB-month",
                    p.cloudwatch.logsStoragePerGbMonth,
                    `stored logs (${ingested.toFixed(1)} GB/month × ${months.toFixed(1)} months retained × ${usage.logsCompressionRatio} compressed)`,
                    true,
                );
                break;
            }
            case "aws:ec2/vpcPeeringConnection:VpcPeeringConnection":
                add(r, "traffic", usage.webToDataCrossAzGb / peerings.length, "GB", interAz, `cross-AZ traffic through the peering (usage webToDataCrossAzGb; $${p.interAzPerGbEachWay}/GB each way)`, true);
                break;
            case "aws:ec2/vpcEndpoint:VpcEndpoint": {
                if ((i.vpcEndpointType ?? "Gateway") !== "Interface") {
                    freeCounts.set(`${r.type} (Gateway)`, (freeCounts.get(`${r.type} (Gateway)`) ?? 0) + 1);
                    break;
                }
                const azs = Math.max(1, ((i.subnetIds ?? []) as unknown[]).length);
                add(r, "endpoints", azs, "endpoint-AZ-hour", p.interfaceEndpoint.hourlyPerAz, `interface endpoint in ${azs} AZ(s)`);
                add(r, "endpoints", usage.interfaceEndpointGb / endpoints.length, "GB", p.interfaceEndpoint.perGbProcessed, "data processed (usage interfaceEndpointGb)", true);
                break;
            }
            case "aws:s3/bucket:Bucket":
            case "aws:s3/bucketV2:BucketV2":
                if (isBackupBucket(r)) backupBucketLines(r);
                else add(r, "s3", usage.albAccessLogsGb / logBuckets.length, "GB-month", p.s3StandardGbMonth, "stored objects (usage albAccessLogsGb)", true);
                break;
        }
    }
    // EBS snapshots of the data volumes the DLM policies keep (incremental: a usage figure).
    const volumes = index.ofType("aws:ebs/volume:Volume");
    const snapshotPolicies = index.ofType("aws:dlm/lifecyclePolicy:LifecyclePolicy");
    if (volumes.length > 0) {
        const how = snapshotPolicies.length > 0 ? `daily by ${snapshotPolicies.length} Data Lifecycle Manager polic${snapshotPolicies.length > 1 ? "ies" : "y"}` : "none scheduled by the program";
        add(volumes[0], "ebs", usage.ebsSnapshotGb, "GB-month", p.ebsSnapshotGbMonth, `EBS snapshots (usage ebsSnapshotGb; ${how})`, true);
    }

    const byComponent: Record<string, number> = {};
    for (const l of lines) {
        byDriver[l.driver] += l.monthly;
        byComponent[l.component] = (byComponent[l.component] ?? 0) + l.monthly;
    }
    for (const l of lines) l.monthly = round2(l.monthly);
    const total = round2(lines.reduce((s, l) => s + l.monthly, 0));
    for (const d of DRIVERS) byDriver[d] = round2(byDriver[d]);
    for (const k of Object.keys(byComponent)) byComponent[k] = round2(byComponent[k]);
    const topDrivers = [...DRIVERS]
        .map((driver) => ({ driver, monthly: byDriver[driver], share: total > 0 ? Math.round((byDriver[driver] / total) * 1000) / 10 : 0 }))
        .filter((d) => d.monthly > 0)
        .sort((a, b) => b.monthly - a.monthly)
        .slice(0, 3);
    return {
        ...empty,
        location: p.location,
        sources: p.sources,
        total,
        byDriver,
        topDrivers,
        byComponent: Object.fromEntries(Object.entries(byComponent).sort((a, b) => b[1] - a[1])),
        lines,
        unpriced,
        free: [...freeCounts.entries()].map(([type, count]) => ({ type, count, why: (TYPE_CLASSES[type.replace(/ \(Gateway\)$/, "")] as { why?: string })?.why ?? "gateway endpoints have no charge" })),
    };
}

/** How many backups a systemd OnCalendar expression takes a day: the forms the program uses, else 1 (said so). */
export function backupsPerDay(onCalendar: string): { perDay: number; detail: string } {
    const c = onCalendar.trim();
    if (c === "hourly") return { perDay: 24, detail: "24/day" };
    if (c === "daily" || /^\*-\*-\* \d{1,2}:\d{2}(:\d{2})?$/.test(c)) return { perDay: 1, detail: "1/day" };
    const everyMinutes = /^\*:0\/(\d+)$/.exec(c);
    if (everyMinutes && Number(everyMinutes[1]) > 0) return { perDay: Math.ceil(60 / Number(everyMinutes[1])) * 24, detail: `${Math.ceil(60 / Number(everyMinutes[1])) * 24}/day` };
    return { perDay: 1, detail: `1/day assumed for "${c}"` };
}

/** The cost and resource difference between two plans: what a change does, in dollars. */
export interface CostComparison {
    against: string;
    totalBefore: number;
    totalAfter: number;
    delta: number;
    byDriver: { driver: string; before: number; after: number; delta: number }[];
    items: { item: string; before: number; after: number; delta: number }[];
    resources: { type: string; before: number; after: number; delta: number }[];
}

function itemKey(l: CostLine): string {
    // Resource names carry the stack name (dev-/prod-): compare by role, not by name.
    return `${l.component.replace(/^[^-]+-/, "")} · ${l.driver} · ${l.detail.replace(/ in \S+/, "").replace(/launch template \S+/, "launch template")}`;
}

/** `after` (this plan) against `before` (another config or an earlier plan JSON). */
export function compareCosts(
    before: { cost: CostEstimate; countsByType: Record<string, number> },
    after: { cost: CostEstimate; countsByType: Record<string, number> },
    against: string,
): CostComparison {
    const sum = (ls: CostLine[]) => {
        const m = new Map<string, number>();
        for (const l of ls) m.set(itemKey(l), (m.get(itemKey(l)) ?? 0) + l.monthly);
        return m;
    };
    const b = sum(before.cost.lines);
    const a = sum(after.cost.lines);
    const items = [...new Set([...b.keys(), ...a.keys()])]
        .map((item) => ({ item, before: round2(b.get(item) ?? 0), after: round2(a.get(item) ?? 0), delta: round2((a.get(item) ?? 0) - (b.get(item) ?? 0)) }))
        .filter((x) => x.delta !== 0)
        .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
    const drivers = [...new Set([...Object.keys(before.cost.byDriver), ...Object.keys(after.cost.byDriver)])];
    const byDriver = drivers
        .map((driver) => {
            const x = (before.cost.byDriver as Record<string, number>)[driver] ?? 0;
            const y = (after.cost.byDriver as Record<string, number>)[driver] ?? 0;
            return { driver, before: x, after: y, delta: round2(y - x) };
        })
        .filter((d) => d.delta !== 0);
    const types = [...new Set([...Object.keys(before.countsByType), ...Object.keys(after.countsByType)])];
    const resources = types
        .map((type) => ({ type, before: before.countsByType[type] ?? 0, after: after.countsByType[type] ?? 0, delta: (after.countsByType[type] ?? 0) - (before.countsByType[type] ?? 0) }))
        .filter((x) => x.delta !== 0)
        .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.type.localeCompare(y.type));
    return {
        against,
        totalBefore: before.cost.total,
        totalAfter: after.cost.total,
        delta: round2(after.cost.total - before.cost.total),
        byDriver,
        items,
        resources,
    };
}
