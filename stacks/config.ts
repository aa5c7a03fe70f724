import { cidrContains, cidrProblem, cidrsOverlap, defaultSubnetPrefixes, planSubnets, prefixLength } from "../components/shared/cidr";
import { EGRESS_MODES, EgressMode, NAT_STRATEGIES, NatStrategy, LOG_RETENTION_DAYS } from "../components/network/peeredVpc";
import { REDIS_ENGINES, RedisEngine } from "../components/cache/redisCluster";
import { BASTION_ACCESS_MODES, BastionAccessMode } from "../components/access/bastion";
import { isInstanceType } from "../components/shared/ami";
import { DEFAULT_OWNCLOUD_IMAGE } from "../components/web/ownCloudWebTier";
import {
    DEFAULT_BACKUP_RETENTION_DAYS,
    DEFAULT_BINLOG_INTERVAL_S,
    DEFAULT_FILES_BACKUP_ON_CALENDAR,
    DEFAULT_GALERA_BACKUP_ON_CALENDAR,
    DEFAULT_SNAPSHOT_RETENTION_COUNT,
} from "../components/shared/backupPlan";

/**
 * The stack settings, mirrored from the `config:` schema in Pulumi.yaml (a test keeps the two in
 * step). Values arrive as strings (that is how Pulumi hands out config); `loadPlatformConfig`
 * parses and validates all of them before any resource exists.
 */
export type ConfigType = "string" | "integer" | "boolean" | "array";

export interface ConfigKey {
    type: ConfigType;
    description: string;
    /** Absent: the key is required. */
    default?: string | number | boolean | string[];
}

export const CONFIG_SCHEMA = {
    adminCidrs: {
        type: "array",
        description: "IPv4 CIDRs allowed to SSH to the bastion (your office or VPN egress). Required; 0.0.0.0/0 is refused.",
    },
    availabilityZones: {
        type: "array",
        description: "Availability zones to use, in order. Empty: the region's first available zones, looked up at deployment.",
        default: [],
    },
    webVpcCidr: { type: "string", description: "CIDR of the web VPC (ALB, web nodes, bastion).", default: "10.0.0.0/16" },
    dbVpcCidr: { type: "string", description: "CIDR of the database VPC (Galera, Redis).", default: "10.1.0.0/16" },
    fsVpcCidr: { type: "string", description: "CIDR of the file-system VPC (GlusterFS).", default: "10.2.0.0/16" },
    allowPublicVpcCidrs: {
        type: "boolean",
        description:
            "Allow VPC CIDRs outside RFC 1918 and 100.64.0.0/10 (e.g. address space you own). Off: such a VPC would shadow real internet destinations.",
        default: false,
    },
    webAzCount: { type: "integer", description: "Availability zones for the web tier (2 or 3).", default: 3 },
    dbAzCount: { type: "integer", description: "Availability zones for the database tier (2 or 3).", default: 3 },
    fsAzCount: { type: "integer", description: "Availability zones for the file-system tier (2 or 3).", default: 3 },
    privateSubnetPrefixLength: {
        type: "integer",
        description: "Prefix length of each private subnet; 0 means VPC prefix + 4 (/20 in a /16).",
        default: 0,
    },
    publicSubnetPrefixLength: {
        type: "integer",
        description: "Prefix length of each public subnet; 0 means VPC prefix + 8 (/24 in a /16).",
        default: 0,
    },
    natStrategy: {
        type: "string",
        description: "NAT gateways per VPC: none, single (one shared, cheaper) or onePerAz (survives an AZ loss).",
        default: "single",
    },
    flowLogRetentionDays: {
        type: "integer",
        description: "Retention of the VPC flow log groups in days (a CloudWatch Logs retention value).",
        default: 365,
    },
    bastionInstanceType: { type: "string", description: "EC2 instance type of the bastion (a jump host: the smallest does).", default: "t4g.nano" },
    bastionAmiId: {
        type: "string",
        description: "AMI of the bastion; empty means the newest official Debian 12 AMI.",
        default: "",
    },
    galeraNodeCount: { type: "integer", description: "Galera nodes (odd, at least 3), spread over the db tier's AZs.", default: 3 },
    galeraInstanceType: { type: "string", description: "EC2 instance type of the Galera nodes.", default: "t3.small" },
    galeraDataVolumeSizeGb: { type: "integer", description: "Encrypted gp3 data volume (datadir) per Galera node, GiB.", default: 20 },
    glusterNodeCount: { type: "integer", description: "GlusterFS nodes = bricks of the disperse set.", default: 3 },
    glusterRedundancy: { type: "integer", description: "Bricks the volume may lose without losing data (nodes > 2 x this).", default: 1 },
    glusterInstanceType: { type: "string", description: "EC2 instance type of the GlusterFS nodes.", default: "t3.small" },
    glusterBrickVolumeSizeGb: { type: "integer", description: "Encrypted gp3 brick volume per GlusterFS node, GiB.", default: 20 },
    redisShards: {
        type: "integer",
        description: "ElastiCache shards: 1 = cluster mode disabled (ownCloud's recommendation for locking), more = cluster mode.",
        default: 1,
    },
    redisReplicasPerShard: { type: "integer", description: "Replicas per shard (0-5); failover and Multi-AZ need at least 1.", default: 1 },
    redisNodeType: { type: "string", description: "ElastiCache node type.", default: "cache.t4g.micro" },
    redisSnapshotRetentionDays: { type: "integer", description: "Days of automatic Redis snapshots (0-35).", default: 1 },
    domain: { type: "string", description: "Host name users reach ownCloud at, e.g. cloud.example.com (required)." },
    certificateArn: {
        type: "string",
        description: "ACM certificate for the domain; empty: none (or one issued in hostedZoneId). Production requires one of the two.",
        default: "",
    },
    plainHttpExemption: {
        type: "string",
        description:
            "Why the load balancer may serve plain HTTP without certificateArn/hostedZoneId (tagged and reported); refused in production.",
        default: "",
    },
    hostedZoneId: { type: "string", description: "Route 53 zone of the domain: issue an ACM certificate there and add an alias record.", default: "" },
    owncloudImage: { type: "string", description: "ownCloud container image, pinned (owncloud/server: a full version like 11.0.0).", default: DEFAULT_OWNCLOUD_IMAGE },
    webInstanceType: { type: "string", description: "EC2 instance type of the web nodes.", default: "t3.small" },
    webMinSize: { type: "integer", description: "Fewest web nodes.", default: 2 },
    webMaxSize: { type: "integer", description: "Most web nodes.", default: 4 },
    webDesiredCapacity: { type: "integer", description: "Web nodes at deployment (between min and max).", default: 2 },
    albDeletionProtection: { type: "boolean", description: "Protect the load balancer from deletion (on in prod).", default: false },
    albAccessLogs: { type: "boolean", description: "Write ALB access logs to an encrypted private S3 bucket.", default: false },
    alarmEmail: { type: "string", description: "E-mail address for alarm notifications (SNS); empty: no subscription.", default: "" },
    // Backups (README "Backups"): the components own the defaults; these only pass a stack's choice on.
    backupRetentionDays: {
        type: "integer",
        description: "Days the backup buckets keep database and file backups (full backups and binary logs expire together; 2-3650).",
        default: DEFAULT_BACKUP_RETENTION_DAYS,
    },
    snapshotRetentionCount: { type: "integer", description: "Daily EBS snapshots kept per Galera and GlusterFS data volume (1-1000).", default: DEFAULT_SNAPSHOT_RETENTION_COUNT },
    galeraBackupSchedule: { type: "string", description: "systemd OnCalendar of the full Galera backup (mariabackup to S3).", default: DEFAULT_GALERA_BACKUP_ON_CALENDAR },
    galeraBinlogIntervalSeconds: {
        type: "integer",
        description: "Seconds between binary-log shipments to S3 (10-3600): the most a point-in-time restore loses.",
        default: DEFAULT_BINLOG_INTERVAL_S,
    },
    filesBackupSchedule: { type: "string", description: "systemd OnCalendar of the GlusterFS volume's content backup to S3.", default: DEFAULT_FILES_BACKUP_ON_CALENDAR },
    // Cost choices (each keeps every HA property; see the README's stack table).
    webEgress: {
        type: "string",
        description: "How the web VPC's private subnets reach the internet: natGateway, natInstance, ipv6EgressOnly or none (natStrategy sets how many NATs).",
        default: "natGateway",
    },
    dbEgress: { type: "string", description: "Egress of the database VPC's private subnets (as webEgress).", default: "natGateway" },
    fsEgress: { type: "string", description: "Egress of the file-system VPC's private subnets (as webEgress).", default: "natGateway" },
    natInstanceType: { type: "string", description: "EC2 instance type of NAT instances (egress natInstance); t4g.* runs arm64.", default: "t4g.nano" },
    redisEngine: { type: "string", description: "ElastiCache engine: redis or valkey (Redis-compatible, about 20 % cheaper per node).", default: "redis" },
    webSpot: { type: "boolean", description: "Run web nodes above webOnDemandBaseCapacity on spot capacity (mixed-instances policy).", default: false },
    webOnDemandBaseCapacity: { type: "integer", description: "Web nodes that stay on-demand when webSpot is on (at least 1, at most webMinSize).", default: 2 },
    bastionAccess: {
        type: "string",
        description: "publicIp (SSH from adminCidrs) or instanceConnectEndpoint (no public address; pulumi up dials a local open-tunnel on bastionTunnelPort).",
        default: "publicIp",
    },
    bastionTunnelPort: { type: "integer", description: "Local port of the EC2 Instance Connect tunnel to the bastion (bastionAccess instanceConnectEndpoint).", default: 2222 },
} satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof CONFIG_SCHEMA;

export type TierName = "web" | "db" | "fs";
export const TIERS: readonly TierName[] = ["web", "db", "fs"];

export interface TierNetwork {
    cidr: string;
    azCount: number;
    privateSubnetPrefixLength: number;
    publicSubnetPrefixLength: number;
}

export interface PlatformConfig {
    /** The environment (stack) name; goes into names and the Environment tag. */
    environment: string;
    adminCidrs: string[];
    availabilityZones: string[];
    network: Record<TierName, TierNetwork>;
    natStrategy: NatStrategy;
    /** Egress of each VPC's private subnets, and the NAT instance type where that is natInstance. */
    egress: Record<TierName, EgressMode>;
    natInstanceType: string;
    flowLogRetentionDays: number;
    bastion: { instanceType: string; amiId?: string; access: BastionAccessMode; tunnelPort: number };
    galera: { nodeCount: number; instanceType: string; dataVolumeSizeGb: number };
    gluster: { nodeCount: number; redundancy: number; instanceType: string; brickVolumeSizeGb: number };
    redis: { shards: number; replicasPerShard: number; nodeType: string; snapshotRetentionDays: number; engine: RedisEngine };
    web: {
        domain: string;
        certificateArn?: string;
        hostedZoneId?: string;
        /** The reason the ALB may serve plain HTTP (non-production stacks without a certificate only). */
        plainHttpExemption?: string;
        owncloudImage: string;
        instanceType: string;
        minSize: number;
        maxSize: number;
        desiredCapacity: number;
        deletionProtection: boolean;
        accessLogs: boolean;
        /** Spot above this many on-demand nodes; undefined: all on-demand. */
        spotAboveOnDemandBase?: number;
    };
    alarmEmail?: string;
    backup: { retentionDays: number; snapshotRetentionCount: number; galeraSchedule: string; galeraBinlogIntervalSeconds: number; filesSchedule: string };
}

/** A bad setting: the message names the key and the fix. Thrown before any resource is created. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** Stack names that are production: they never serve plain HTTP and never carry exemptions. */
export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod", "production"];

export function isProductionEnvironment(environment: string): boolean {
    return PRODUCTION_ENVIRONMENTS.includes(environment.toLowerCase());
}

/**
 * The certificate ARN the committed prod stack file carries so the offline plan runs: account
 * 000000000000 does not exist, and the program refuses it at deployment (stacks/program.ts).
 */
export const PLACEHOLDER_CERTIFICATE_ARN = "arn:aws:acm:eu-central-1:000000000000:certificate/00000000-0000-0000-0000-000000000000";

export function isPlaceholderCertificateArn(arn: string | undefined): boolean {
    return arn !== undefined && /:000000000000:certificate\/0{8}-0{4}-0{4}-0{4}-0{12}$/.test(arn);
}

/** Address space a VPC may use without opting in: RFC 1918 private ranges and RFC 6598 shared space. */
export const PRIVATE_VPC_RANGES: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"];

/** RFC 5737 documentation ranges: fine in a sample stack file, never a real admin network. */
const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"];

export function isDocumentationCidr(cidr: string): boolean {
    return cidrProblem(cidr) === undefined && DOCUMENTATION_RANGES.some((r) => cidrsOverlap(r, cidr));
}

/**
 * Parses raw config values (strings as `pulumi.Config` returns them, or already-typed values as
 * read from a stack YAML file) and validates them. `project` is the config namespace used in
 * messages so they match what the user types in `pulumi config set`.
 */
export function loadPlatformConfig(
    environment: string,
    raw: Partial<Record<ConfigKeyName, unknown>>,
    project = "owncloud-ha",
): PlatformConfig {
    const problems: string[] = [];
    const key = (k: ConfigKeyName) => `${project}:${k}`;

    function value(k: ConfigKeyName): unknown {
        const v = raw[k];
        if (v === undefined || v === null) {
            const schema: ConfigKey = CONFIG_SCHEMA[k];
            return schema.default;
        }
        return v;
    }
    function str(k: ConfigKeyName): string {
        const v = value(k);
        if (typeof v !== "string") {
            problems.push(`${key(k)}: expected a string, got ${JSON.stringify(v)}`);
            return "";
        }
        return v.trim();
    }
    function int(k: ConfigKeyName): number {
        const v = value(k);
        const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            problems.push(`${key(k)}: expected a whole number, got ${JSON.stringify(v)}`);
            return NaN;
        }
        return n;
    }
    function bool(k: ConfigKeyName): boolean {
        const v = value(k);
        if (v === true || v === "true") return true;
        if (v === false || v === "false") return false;
        problems.push(`${key(k)}: expected true or false, got ${JSON.stringify(v)}`);
        return false;
    }
    /** undefined: not set; null: set but unusable (already reported). */
    function list(k: ConfigKeyName, example: string): string[] | undefined | null {
        let v = value(k);
        if (typeof v === "string") {
            try {
                v = JSON.parse(v);
            } catch {
                problems.push(`${key(k)}: "${v}" is not a list; set it with: pulumi config set --path '${key(k)}[0]' ${example}`);
                return null;
            }
        }
        if (v === undefined) return undefined;
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
            problems.push(`${key(k)}: expected a list of strings, got ${JSON.stringify(v)}`);
            return null;
        }
        return v.map((x: string) => x.trim());
    }

    const adminCidrs = list("adminCidrs", "198.51.100.7/32");
    if (adminCidrs === null) {
        // reported by list()
    } else if (adminCidrs === undefined || adminCidrs.length === 0) {
        problems.push(
            `${key("adminCidrs")}: missing; the bastion needs the CIDRs allowed to SSH to it. ` +
                `Set it with: pulumi config set --path '${key("adminCidrs")}[0]' <your-ip>/32`,
        );
    } else {
        for (const c of adminCidrs) {
            const p = cidrProblem(c);
            if (p) {
                problems.push(`${key("adminCidrs")}: ${p}`);
            } else if (prefixLength(c) === 0) {
                problems.push(
                    `${key("adminCidrs")}: ${c} would open SSH to the whole internet (FSBP EC2.13); give your own egress range, e.g. 198.51.100.7/32`,
                );
            }
        }
    }

    const availabilityZones = list("availabilityZones", "eu-central-1a") || [];
    if (new Set(availabilityZones).size !== availabilityZones.length) {
        problems.push(`${key("availabilityZones")}: [${availabilityZones.join(", ")}] lists a zone twice`);
    }
    for (const az of availabilityZones) {
        if (!/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/.test(az)) {
            problems.push(`${key("availabilityZones")}: "${az}" is not an availability zone name like eu-central-1a`);
        }
    }

    const allowPublicVpcCidrs = bool("allowPublicVpcCidrs");
    const privatePrefixSetting = int("privateSubnetPrefixLength");
    const publicPrefixSetting = int("publicSubnetPrefixLength");
    const network = {} as Record<TierName, TierNetwork>;
    const usableCidr: Partial<Record<TierName, boolean>> = {};
    for (const tier of TIERS) {
        const cidrKey = `${tier}VpcCidr` as ConfigKeyName;
        const azKey = `${tier}AzCount` as ConfigKeyName;
        const cidr = str(cidrKey);
        const azCount = int(azKey);
        let cidrIssue = cidrProblem(cidr);
        if (!cidrIssue && (prefixLength(cidr) < 16 || prefixLength(cidr) > 28)) {
            cidrIssue = `AWS VPCs are /16 to /28, got ${cidr}`;
        }
        if (cidrIssue) problems.push(`${key(cidrKey)}: ${cidrIssue}`);
        usableCidr[tier] = !cidrIssue;
        if (!cidrIssue && !allowPublicVpcCidrs && !PRIVATE_VPC_RANGES.some((r) => cidrContains(r, cidr))) {
            problems.push(
                `${key(cidrKey)}: ${cidr} is public address space; a VPC there would shadow those internet destinations for every node. ` +
                    `Use a range inside ${PRIVATE_VPC_RANGES.join(", ")} (e.g. 10.${TIERS.indexOf(tier)}.0.0/16), or set ` +
                    `${key("allowPublicVpcCidrs")} true if you own the range and mean it`,
            );
        }
        if (Number.isInteger(azCount) && (azCount < 2 || azCount > 3)) {
            problems.push(
                `${key(azKey)}: ${azCount} availability zones requested; use 2 or 3 (fewer loses high availability, ` +
                    "more than 3 buys nothing for 3-node clusters)",
            );
        }
        if (availabilityZones.length > 0 && Number.isInteger(azCount) && azCount > availabilityZones.length) {
            problems.push(
                `${key(azKey)}: ${azCount} zones requested but ${key("availabilityZones")} lists only ${availabilityZones.length}; add zones or lower the count`,
            );
        }
        let privateSubnetPrefixLength = privatePrefixSetting;
        let publicSubnetPrefixLength = publicPrefixSetting;
        if (!cidrIssue && Number.isInteger(azCount) && Number.isInteger(privatePrefixSetting) && Number.isInteger(publicPrefixSetting)) {
            const defaults = defaultSubnetPrefixes(cidr);
            privateSubnetPrefixLength = privatePrefixSetting || defaults.privatePrefixLength;
            publicSubnetPrefixLength = publicPrefixSetting || defaults.publicPrefixLength;
            try {
                planSubnets(cidr, Math.max(azCount, 1), privateSubnetPrefixLength, publicSubnetPrefixLength);
            } catch (e) {
                problems.push(`${key("privateSubnetPrefixLength")}/${key("publicSubnetPrefixLength")} in ${key(cidrKey)}: ${(e as Error).message}`);
            }
        }
        network[tier] = { cidr, azCount, privateSubnetPrefixLength, publicSubnetPrefixLength };
    }
    for (let i = 0; i < TIERS.length; i++) {
        for (let j = i + 1; j < TIERS.length; j++) {
            const a = network[TIERS[i]].cidr;
            const b = network[TIERS[j]].cidr;
            if (usableCidr[TIERS[i]] && usableCidr[TIERS[j]] && cidrsOverlap(a, b)) {
                problems.push(
                    `${key(`${TIERS[i]}VpcCidr` as ConfigKeyName)} ${a} overlaps ${key(`${TIERS[j]}VpcCidr` as ConfigKeyName)} ${b}: ` +
                        "peered VPCs need disjoint ranges; give each its own, e.g. 10.0.0.0/16, 10.1.0.0/16, 10.2.0.0/16",
                );
            }
        }
    }

    const natStrategy = str("natStrategy") as NatStrategy;
    if (!NAT_STRATEGIES.includes(natStrategy)) {
        problems.push(`${key("natStrategy")}: "${natStrategy}" is not one of ${NAT_STRATEGIES.join(", ")}`);
    }
    const flowLogRetentionDays = int("flowLogRetentionDays");
    if (Number.isInteger(flowLogRetentionDays) && !LOG_RETENTION_DAYS.includes(flowLogRetentionDays)) {
        problems.push(`${key("flowLogRetentionDays")}: ${flowLogRetentionDays} is not a CloudWatch Logs retention value; use one of ${LOG_RETENTION_DAYS.join(", ")}`);
    }
    const bastionInstanceType = str("bastionInstanceType");
    if (!isInstanceType(bastionInstanceType)) {
        problems.push(`${key("bastionInstanceType")}: "${bastionInstanceType}" is not an EC2 instance type like t3.micro`);
    }
    const bastionAmiId = str("bastionAmiId");
    if (bastionAmiId !== "" && !/^ami-[0-9a-f]{8,17}$/.test(bastionAmiId)) {
        problems.push(`${key("bastionAmiId")}: "${bastionAmiId}" is not an AMI ID like ami-0123456789abcdef0; leave it empty for the newest Debian 12 AMI`);
    }
    const instanceTypes = Object.fromEntries(
        (["galeraInstanceType", "glusterInstanceType"] as const).map((k) => {
            const v = str(k);
            if (!isInstanceType(v)) problems.push(`${key(k)}: "${v}" is not an EC2 instance type like t3.small`);
            return [k, v];
        }),
    ) as Record<"galeraInstanceType" | "glusterInstanceType", string>;
    const redisNodeType = str("redisNodeType");
    const counts = Object.fromEntries(
        (
            [
                "galeraNodeCount",
                "galeraDataVolumeSizeGb",
                "glusterNodeCount",
                "glusterRedundancy",
                "glusterBrickVolumeSizeGb",
                "redisShards",
                "redisReplicasPerShard",
                "redisSnapshotRetentionDays",
                "backupRetentionDays",
                "snapshotRetentionCount",
                "galeraBinlogIntervalSeconds",
            ] as const
        ).map((k) => [k, int(k)]),
    ) as Record<string, number>;
    let domain = "";
    if (value("domain") === undefined) {
        problems.push(`${key("domain")}: missing; set the host name users will reach ownCloud at: pulumi config set ${key("domain")} cloud.example.com`);
    } else {
        domain = str("domain");
    }
    const certificateArn = str("certificateArn");
    if (certificateArn !== "" && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(certificateArn)) {
        problems.push(`${key("certificateArn")}: "${certificateArn}" is not an ACM certificate ARN`);
    }
    const plainHttpExemption = str("plainHttpExemption");
    const production = isProductionEnvironment(environment);
    const certificateHow =
        `pulumi config set ${key("certificateArn")} arn:aws:acm:<region>:<account>:certificate/<id> (an ACM certificate for the domain), ` +
        `or pulumi config set ${key("hostedZoneId")} <Route 53 zone ID> to have one issued and validated by DNS`;
    const hostedZoneId = str("hostedZoneId");
    if (hostedZoneId !== "" && !/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) problems.push(`${key("hostedZoneId")}: "${hostedZoneId}" is not a Route 53 zone ID like Z0123456789ABC`);
    if (production && certificateArn === "" && hostedZoneId === "") {
        problems.push(
            `${key("certificateArn")}/${key("hostedZoneId")}: stack "${environment}" is production and would serve ownCloud's ` +
                `login over plain HTTP; give a certificate: ${certificateHow}`,
        );
    }
    if (production && plainHttpExemption !== "") {
        problems.push(`${key("plainHttpExemption")}: production never serves plain HTTP, so no exemption is accepted; remove it and ${certificateHow}`);
    } else if (plainHttpExemption !== "" && (certificateArn !== "" || hostedZoneId !== "")) {
        problems.push(`${key("plainHttpExemption")}: set together with ${key(certificateArn !== "" ? "certificateArn" : "hostedZoneId")}, which serves HTTPS; remove the exemption`);
    }
    const alarmEmail = str("alarmEmail");
    if (alarmEmail !== "" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) problems.push(`${key("alarmEmail")}: "${alarmEmail}" is not an e-mail address`);
    const web = {
        domain,
        certificateArn: certificateArn || undefined,
        hostedZoneId: hostedZoneId || undefined,
        plainHttpExemption: plainHttpExemption || undefined,
        owncloudImage: str("owncloudImage"),
        instanceType: str("webInstanceType"),
        minSize: int("webMinSize"),
        maxSize: int("webMaxSize"),
        desiredCapacity: int("webDesiredCapacity"),
        deletionProtection: bool("albDeletionProtection"),
        accessLogs: bool("albAccessLogs"),
    };
    // Rules between two settings name both keys, so the user sees which pair to change. The rules
    // within one cluster (odd Galera count, shard limits…) are the components' resolve functions'.
    if ([web.minSize, web.maxSize, web.desiredCapacity].every(Number.isInteger)) {
        if (web.minSize > web.maxSize) {
            problems.push(`${key("webMinSize")} ${web.minSize} is above ${key("webMaxSize")} ${web.maxSize}: raise ${key("webMaxSize")} or lower ${key("webMinSize")}`);
        } else if (web.desiredCapacity < web.minSize || web.desiredCapacity > web.maxSize) {
            problems.push(
                `${key("webDesiredCapacity")} ${web.desiredCapacity} must lie between ${key("webMinSize")} ${web.minSize} and ${key("webMaxSize")} ${web.maxSize}`,
            );
        }
    }
    const { glusterNodeCount, glusterRedundancy } = counts;
    if (Number.isInteger(glusterNodeCount) && Number.isInteger(glusterRedundancy) && glusterRedundancy >= 1 && glusterNodeCount <= 2 * glusterRedundancy) {
        problems.push(
            `${key("glusterNodeCount")} ${glusterNodeCount} with ${key("glusterRedundancy")} ${glusterRedundancy}: a disperse volume needs ` +
                `more than 2 × redundancy bricks (at least ${2 * glusterRedundancy + 1}); add nodes or lower ${key("glusterRedundancy")}`,
        );
    }
    // Cost choices.
    const egress = {} as Record<TierName, EgressMode>;
    for (const tier of TIERS) {
        const k = `${tier}Egress` as ConfigKeyName;
        const v = str(k) as EgressMode;
        if (!EGRESS_MODES.includes(v)) problems.push(`${key(k)}: "${v}" is not one of ${EGRESS_MODES.join(", ")}`);
        egress[tier] = v;
    }
    const natInstanceType = str("natInstanceType");
    if (!isInstanceType(natInstanceType)) problems.push(`${key("natInstanceType")}: "${natInstanceType}" is not an EC2 instance type like t4g.nano`);
    const redisEngine = str("redisEngine") as RedisEngine;
    if (!REDIS_ENGINES.includes(redisEngine)) problems.push(`${key("redisEngine")}: "${redisEngine}" is not one of ${REDIS_ENGINES.join(", ")}`);
    const webSpot = bool("webSpot");
    const onDemandBase = int("webOnDemandBaseCapacity");
    if (webSpot && Number.isInteger(onDemandBase) && Number.isInteger(web.minSize) && (onDemandBase < 1 || onDemandBase > web.minSize)) {
        problems.push(
            `${key("webOnDemandBaseCapacity")}: ${onDemandBase} must be between 1 and ${key("webMinSize")} (${web.minSize}): ` +
                "on-demand nodes keep the tier serving when spot capacity is reclaimed",
        );
    }
    const webWithSpot = { ...web, spotAboveOnDemandBase: webSpot ? onDemandBase : undefined };
    const bastionAccess = str("bastionAccess") as BastionAccessMode;
    if (!BASTION_ACCESS_MODES.includes(bastionAccess)) problems.push(`${key("bastionAccess")}: "${bastionAccess}" is not one of ${BASTION_ACCESS_MODES.join(", ")}`);
    const bastionTunnelPort = int("bastionTunnelPort");
    const unknown = Object.keys(raw).filter((k) => !(k in CONFIG_SCHEMA));
    for (const k of unknown) {
        problems.push(`${project}:${k}: unknown setting (a typo?); known settings: ${Object.keys(CONFIG_SCHEMA).join(", ")}`);
    }

    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
    return {
        environment,
        adminCidrs: adminCidrs || [],
        availabilityZones,
        network,
        natStrategy,
        egress,
        natInstanceType,
        flowLogRetentionDays,
        bastion: { instanceType: bastionInstanceType, amiId: bastionAmiId || undefined, access: bastionAccess, tunnelPort: bastionTunnelPort },
        galera: { nodeCount: counts.galeraNodeCount, instanceType: instanceTypes.galeraInstanceType, dataVolumeSizeGb: counts.galeraDataVolumeSizeGb },
        gluster: {
            nodeCount: counts.glusterNodeCount,
            redundancy: counts.glusterRedundancy,
            instanceType: instanceTypes.glusterInstanceType,
            brickVolumeSizeGb: counts.glusterBrickVolumeSizeGb,
        },
        redis: {
            shards: counts.redisShards,
            replicasPerShard: counts.redisReplicasPerShard,
            nodeType: redisNodeType,
            snapshotRetentionDays: counts.redisSnapshotRetentionDays,
            engine: redisEngine,
        },
        web: webWithSpot,
        alarmEmail: alarmEmail || undefined,
        // Checked by the components' resolve functions (preflight names these keys).
        backup: {
            retentionDays: counts.backupRetentionDays,
            snapshotRetentionCount: counts.snapshotRetentionCount,
            galeraSchedule: str("galeraBackupSchedule"),
            galeraBinlogIntervalSeconds: counts.galeraBinlogIntervalSeconds,
            filesSchedule: str("filesBackupSchedule"),
        },
    };
}
