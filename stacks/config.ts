import { cidrContains, cidrProblem, cidrsOverlap, defaultSubnetPrefixes } from "../components/shared/cidr";
import { EgressMode, NatStrategy, PEERED_VPC_DEFAULTS, PeeredVpcArgs, vpcCidrProblem } from "../components/network/peeredVpc";
import { RedisEngine, REDIS_CLUSTER_DEFAULTS, RedisClusterSettings } from "../components/cache/redisCluster";
import { BASTION_DEFAULTS, BastionAccessMode, BastionSettings } from "../components/access/bastion";
import { GALERA_CLUSTER_DEFAULTS, GaleraClusterSettings } from "../components/database/galeraCluster";
import { GLUSTER_DEFAULTS, GlusterDisperseVolumeSettings } from "../components/storage/glusterDisperseVolume";
import { OwnCloudWebTierSettings, WEB_TIER_DEFAULTS } from "../components/web/ownCloudWebTier";
import {
    DEFAULT_BACKUP_RETENTION_DAYS,
    DEFAULT_BINLOG_INTERVAL_S,
    DEFAULT_FILES_BACKUP_ON_CALENDAR,
    DEFAULT_GALERA_BACKUP_ON_CALENDAR,
    DEFAULT_SNAPSHOT_RETENTION_COUNT,
} from "../components/shared/backupPlan";

/**
 * The settings of each component the platform composes, by the role it plays (the three VPCs are
 * PeeredVpcs). Stack keys feed them (`feeds`); `stacks/platform.ts` adds what it composes from
 * several keys (zones, subnet CIDRs, client CIDRs, tags).
 */
export interface PlatformSettings {
    webVpc: PeeredVpcArgs;
    dbVpc: PeeredVpcArgs;
    fsVpc: PeeredVpcArgs;
    bastion: BastionSettings;
    galera: GaleraClusterSettings;
    gluster: GlusterDisperseVolumeSettings;
    redis: RedisClusterSettings;
    web: OwnCloudWebTierSettings;
}
export type ComponentRole = keyof PlatformSettings;

/** A component setting a stack key sets, or (`derived`) one the stack computes from it. */
export interface SettingFeed {
    role: ComponentRole;
    setting: string;
    /** Converts the parsed value (e.g. "" to unset); gets every parsed value for settings that depend on two keys. */
    value?: (v: never, values: Readonly<Record<string, unknown>>) => unknown;
    /** The stack computes this setting from the key (and others) itself: only errors about it name the key. */
    derived?: boolean;
}

/** `to("galera", "nodeCount")`: the key sets GaleraCluster's `nodeCount` (type-checked against the component's settings). */
function to<R extends ComponentRole>(role: R, setting: keyof PlatformSettings[R] & string, value?: SettingFeed["value"]): SettingFeed {
    return { role, setting, value };
}
/** The stack derives this component setting from the key: errors about it name the key. */
function shapes<R extends ComponentRole>(role: R, setting: string & (keyof PlatformSettings[R] | "subnetIds" | "privateSubnetIds" | "publicSubnetIds")): SettingFeed {
    return { role, setting, derived: true };
}
const VPCS = ["webVpc", "dbVpc", "fsVpc"] as const;
/** The key sets the same setting of all three VPCs. */
const toEveryVpc = (setting: keyof PeeredVpcArgs & string, value?: SettingFeed["value"]): SettingFeed[] => VPCS.map((r) => to(r, setting, value));
/** Empty text means "not set" (the component's default or choice applies). */
const unlessEmpty = (v: string) => (v === "" ? undefined : v);
/** 0 means "the VPC's default prefix" (PeeredVpc derives it when unset). */
const unlessZero = (v: number) => (v === 0 ? undefined : v);

/**
 * The stack settings, mirrored from the `config:` schema in Pulumi.yaml (a test keeps the two in
 * step). Values arrive as strings (that is how Pulumi hands out config); `loadPlatformConfig`
 * parses and validates all of them before any resource exists.
 */
export type ConfigType = "string" | "integer" | "boolean" | "array";

export interface ConfigKey {
    type: ConfigType;
    description: string;
    /** Absent: the key is required. A key that feeds a component setting takes that component's exported default. */
    default?: string | number | boolean | string[];
    /** The component settings this key sets (or shapes): the platform's arguments and the names its errors use. */
    feeds?: readonly SettingFeed[];
}

export const CONFIG_SCHEMA = {
    adminCidrs: {
        type: "array",
        description: "IPv4 CIDRs allowed to SSH to the bastion (your office or VPN egress). Required; 0.0.0.0/0 is refused.",
        feeds: [to("bastion", "adminCidrs")],
    },
    availabilityZones: {
        type: "array",
        description: "Availability zones to use, in order. Empty: the region's first available zones, looked up at deployment.",
        default: [],
    },
    webVpcCidr: { type: "string", description: "CIDR of the web VPC (ALB, web nodes, bastion).", default: "10.0.0.0/16", feeds: [to("webVpc", "cidrBlock"), shapes("bastion", "sshTargetCidrs"), shapes("galera", "clientCidrs"), shapes("gluster", "clientCidrs")] },
    dbVpcCidr: { type: "string", description: "CIDR of the database VPC (Galera, Redis).", default: "10.1.0.0/16", feeds: [to("dbVpc", "cidrBlock"), shapes("bastion", "sshTargetCidrs"), shapes("galera", "subnetCidrs")] },
    fsVpcCidr: { type: "string", description: "CIDR of the file-system VPC (GlusterFS).", default: "10.2.0.0/16", feeds: [to("fsVpc", "cidrBlock"), shapes("bastion", "sshTargetCidrs"), shapes("gluster", "subnetCidrs")] },
    allowPublicVpcCidrs: {
        type: "boolean",
        description:
            "Allow VPC CIDRs outside RFC 1918 and 100.64.0.0/10 (e.g. address space you own). Off: such a VPC would shadow real internet destinations.",
        default: false,
    },
    webAzCount: { type: "integer", description: "Availability zones for the web tier (2 or 3).", default: 3, feeds: [shapes("webVpc", "availabilityZones"), shapes("web", "privateSubnetIds"), shapes("web", "publicSubnetIds")] },
    dbAzCount: { type: "integer", description: "Availability zones for the database tier (2 or 3).", default: 3, feeds: [shapes("dbVpc", "availabilityZones"), shapes("galera", "subnetIds"), shapes("redis", "subnetIds")] },
    fsAzCount: { type: "integer", description: "Availability zones for the file-system tier (2 or 3).", default: 3, feeds: [shapes("fsVpc", "availabilityZones"), shapes("gluster", "subnetIds")] },
    privateSubnetPrefixLength: {
        type: "integer",
        description: "Prefix length of each private subnet; 0 means VPC prefix + 4 (/20 in a /16).",
        default: 0,
        feeds: toEveryVpc("privateSubnetPrefixLength", unlessZero),
    },
    publicSubnetPrefixLength: {
        type: "integer",
        description: "Prefix length of each public subnet; 0 means VPC prefix + 8 (/24 in a /16).",
        default: 0,
        feeds: toEveryVpc("publicSubnetPrefixLength", unlessZero),
    },
    natStrategy: {
        type: "string",
        description: "NAT gateways per VPC: none, single (one shared, cheaper) or onePerAz (survives an AZ loss).",
        default: PEERED_VPC_DEFAULTS.natStrategy,
        feeds: toEveryVpc("natStrategy"),
    },
    flowLogRetentionDays: {
        type: "integer",
        description: "Retention of the VPC flow log groups in days (a CloudWatch Logs retention value).",
        default: PEERED_VPC_DEFAULTS.flowLogRetentionDays,
        feeds: toEveryVpc("flowLogRetentionDays"),
    },
    bastionInstanceType: { type: "string", description: "EC2 instance type of the bastion (a jump host: the smallest does).", default: BASTION_DEFAULTS.instanceType, feeds: [to("bastion", "instanceType")] },
    bastionAmiId: {
        type: "string",
        description: "AMI of the bastion; empty means the newest official Debian 12 AMI.",
        default: "",
        feeds: [to("bastion", "amiId", unlessEmpty)],
    },
    galeraNodeCount: { type: "integer", description: "Galera nodes (odd, at least 3), spread over the db tier's AZs.", default: GALERA_CLUSTER_DEFAULTS.nodeCount, feeds: [to("galera", "nodeCount")] },
    galeraInstanceType: { type: "string", description: "EC2 instance type of the Galera nodes.", default: GALERA_CLUSTER_DEFAULTS.instanceType, feeds: [to("galera", "instanceType")] },
    galeraDataVolumeSizeGb: { type: "integer", description: "Encrypted gp3 data volume (datadir) per Galera node, GiB.", default: GALERA_CLUSTER_DEFAULTS.dataVolumeSizeGb, feeds: [to("galera", "dataVolumeSizeGb")] },
    glusterNodeCount: { type: "integer", description: "GlusterFS nodes = bricks of the disperse set.", default: GLUSTER_DEFAULTS.nodeCount, feeds: [to("gluster", "nodeCount")] },
    glusterRedundancy: { type: "integer", description: "Bricks the volume may lose without losing data (nodes > 2 x this).", default: GLUSTER_DEFAULTS.redundancy, feeds: [to("gluster", "redundancy")] },
    glusterInstanceType: { type: "string", description: "EC2 instance type of the GlusterFS nodes.", default: GLUSTER_DEFAULTS.instanceType, feeds: [to("gluster", "instanceType")] },
    glusterBrickVolumeSizeGb: { type: "integer", description: "Encrypted gp3 brick volume per GlusterFS node, GiB.", default: GLUSTER_DEFAULTS.brickVolumeSizeGb, feeds: [to("gluster", "brickVolumeSizeGb")] },
    redisShards: {
        type: "integer",
        description: "ElastiCache shards: 1 = cluster mode disabled (ownCloud's recommendation for locking), more = cluster mode.",
        default: REDIS_CLUSTER_DEFAULTS.shards,
        feeds: [to("redis", "shards")],
    },
    redisReplicasPerShard: { type: "integer", description: "Replicas per shard (0-5); failover and Multi-AZ need at least 1.", default: REDIS_CLUSTER_DEFAULTS.replicasPerShard, feeds: [to("redis", "replicasPerShard")] },
    redisNodeType: { type: "string", description: "ElastiCache node type.", default: REDIS_CLUSTER_DEFAULTS.nodeType, feeds: [to("redis", "nodeType")] },
    redisSnapshotRetentionDays: { type: "integer", description: "Days of automatic Redis snapshots (0-35).", default: REDIS_CLUSTER_DEFAULTS.snapshotRetentionDays, feeds: [to("redis", "snapshotRetentionDays")] },
    domain: { type: "string", description: "Host name users reach ownCloud at, e.g. cloud.example.com (required).", feeds: [to("web", "domain")] },
    certificateArn: {
        type: "string",
        description: "ACM certificate for the domain; empty: none (or one issued in hostedZoneId). Production requires one of the two.",
        default: "",
        feeds: [to("web", "certificateArn", unlessEmpty)],
    },
    plainHttpExemption: {
        type: "string",
        description:
            "Why the load balancer may serve plain HTTP without certificateArn/hostedZoneId (tagged and reported); refused in production.",
        default: "",
        feeds: [to("web", "plainHttpExemption", unlessEmpty)],
    },
    hostedZoneId: { type: "string", description: "Route 53 zone of the domain: issue an ACM certificate there and add an alias record.", default: "", feeds: [to("web", "hostedZoneId", unlessEmpty)] },
    owncloudImage: { type: "string", description: "ownCloud container image, pinned (owncloud/server: a full version like 11.0.0).", default: WEB_TIER_DEFAULTS.owncloudImage, feeds: [to("web", "owncloudImage")] },
    webInstanceType: { type: "string", description: "EC2 instance type of the web nodes.", default: WEB_TIER_DEFAULTS.instanceType, feeds: [to("web", "instanceType")] },
    webMinSize: { type: "integer", description: "Fewest web nodes.", default: WEB_TIER_DEFAULTS.minSize, feeds: [to("web", "minSize")] },
    webMaxSize: { type: "integer", description: "Most web nodes.", default: WEB_TIER_DEFAULTS.maxSize, feeds: [to("web", "maxSize")] },
    webDesiredCapacity: { type: "integer", description: "Web nodes at deployment (between min and max).", default: WEB_TIER_DEFAULTS.minSize, feeds: [to("web", "desiredCapacity")] },
    albDeletionProtection: { type: "boolean", description: "Protect the load balancer from deletion (on in prod).", default: WEB_TIER_DEFAULTS.deletionProtection, feeds: [to("web", "deletionProtection")] },
    albAccessLogs: { type: "boolean", description: "Write ALB access logs to an encrypted private S3 bucket.", default: WEB_TIER_DEFAULTS.accessLogs, feeds: [to("web", "accessLogs")] },
    alarmEmail: { type: "string", description: "E-mail address for alarm notifications (SNS); empty: no subscription.", default: "" },
    // Backups (README "Backups"): the components own the defaults; these only pass a stack's choice on.
    backupRetentionDays: {
        type: "integer",
        description: "Days the backup buckets keep database and file backups (full backups and binary logs expire together; 2-3650).",
        default: DEFAULT_BACKUP_RETENTION_DAYS,
        feeds: [to("galera", "backupRetentionDays"), to("gluster", "backupRetentionDays")],
    },
    snapshotRetentionCount: { type: "integer", description: "Daily EBS snapshots kept per Galera and GlusterFS data volume (1-1000).", default: DEFAULT_SNAPSHOT_RETENTION_COUNT, feeds: [to("galera", "snapshotRetentionCount"), to("gluster", "snapshotRetentionCount")] },
    galeraBackupSchedule: { type: "string", description: "systemd OnCalendar of the full Galera backup (mariabackup to S3).", default: DEFAULT_GALERA_BACKUP_ON_CALENDAR, feeds: [to("galera", "backupOnCalendar")] },
    galeraBinlogIntervalSeconds: {
        type: "integer",
        description: "Seconds between binary-log shipments to S3 (10-3600): the most a point-in-time restore loses.",
        default: DEFAULT_BINLOG_INTERVAL_S,
        feeds: [to("galera", "binlogIntervalSeconds")],
    },
    backupS3Endpoint: {
        type: "string",
        description: "Lab only: the S3 stand-in's URL the nodes' backups use instead of AWS S3 (placeholder credentials); empty in real stacks.",
        default: "",
        feeds: [to("galera", "backupS3Endpoint", unlessEmpty), to("gluster", "backupS3Endpoint", unlessEmpty)],
    },
    filesBackupSchedule: { type: "string", description: "systemd OnCalendar of the GlusterFS volume's content backup to S3.", default: DEFAULT_FILES_BACKUP_ON_CALENDAR, feeds: [to("gluster", "backupOnCalendar")] },
    // Cost choices (each keeps every HA property; see the README's stack table).
    webEgress: {
        type: "string",
        description: "How the web VPC's private subnets reach the internet: natGateway, natInstance, ipv6EgressOnly or none (natStrategy sets how many NATs).",
        default: PEERED_VPC_DEFAULTS.egress,
        feeds: [to("webVpc", "egress")],
    },
    dbEgress: { type: "string", description: "Egress of the database VPC's private subnets (as webEgress).", default: PEERED_VPC_DEFAULTS.egress, feeds: [to("dbVpc", "egress")] },
    fsEgress: { type: "string", description: "Egress of the file-system VPC's private subnets (as webEgress).", default: PEERED_VPC_DEFAULTS.egress, feeds: [to("fsVpc", "egress")] },
    natInstanceType: { type: "string", description: "EC2 instance type of NAT instances (egress natInstance); t4g.* runs arm64.", default: PEERED_VPC_DEFAULTS.natInstanceType, feeds: toEveryVpc("natInstanceType") },
    redisEngine: { type: "string", description: "ElastiCache engine: redis or valkey (Redis-compatible, about 20 % cheaper per node).", default: REDIS_CLUSTER_DEFAULTS.engine, feeds: [to("redis", "engine")] },
    webSpot: { type: "boolean", description: "Run web nodes above webOnDemandBaseCapacity on spot capacity (mixed-instances policy).", default: false, feeds: [shapes("web", "spotAboveOnDemandBase")] },
    webOnDemandBaseCapacity: { type: "integer", description: "Web nodes that stay on-demand when webSpot is on (at least 1, at most webMinSize).", default: 2, feeds: [to("web", "spotAboveOnDemandBase", (v: number, values) => (values.webSpot ? v : undefined))] },
    bastionAccess: {
        type: "string",
        description: "publicIp (SSH from adminCidrs) or instanceConnectEndpoint (no public address; pulumi up dials a local open-tunnel on bastionTunnelPort).",
        default: BASTION_DEFAULTS.access,
        feeds: [to("bastion", "access")],
    },
    bastionTunnelPort: { type: "integer", description: "Local port of the EC2 Instance Connect tunnel to the bastion (bastionAccess instanceConnectEndpoint).", default: BASTION_DEFAULTS.tunnelPort, feeds: [to("bastion", "tunnelPort")] },
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
    /** The config namespace (Pulumi project): messages name keys as `<project>:<key>`. */
    project: string;
    /** Every key's parsed value (defaults applied), by key: what `feeds` hand to the components. */
    values: Readonly<Record<ConfigKeyName, unknown>>;
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

/** Reads one key at a time: the type Pulumi declares for it, its default, and a problem (naming the key) when it is not that type. */
class ConfigReader {
    readonly problems: string[] = [];
    /** Keys a problem names: the components' checks of them wait until these are fixed. */
    readonly keysWithProblems = new Set<ConfigKeyName>();
    /** The parsed value of every key read so far that has the declared type. */
    readonly values: Partial<Record<ConfigKeyName, unknown>> = {};
    private readonly read = new Set<ConfigKeyName>();

    constructor(
        private readonly raw: Partial<Record<ConfigKeyName, unknown>>,
        readonly project: string,
    ) {}

    key(k: ConfigKeyName): string {
        return `${this.project}:${k}`;
    }
    isSet(k: ConfigKeyName): boolean {
        return this.raw[k] !== undefined && this.raw[k] !== null;
    }
    /** A problem naming `keys` (the first leads the message). */
    fail(keys: ConfigKeyName[], text: string): void {
        this.problems.push(text);
        for (const k of keys) this.keysWithProblems.add(k);
    }
    private value(k: ConfigKeyName): unknown {
        this.read.add(k);
        const schema: ConfigKey = CONFIG_SCHEMA[k];
        return this.isSet(k) ? this.raw[k] : schema.default;
    }
    private keep<T>(k: ConfigKeyName, v: T): T {
        this.values[k] = v;
        return v;
    }
    str(k: ConfigKeyName): string {
        const v = this.value(k);
        if (typeof v !== "string") {
            this.fail([k], `${this.key(k)}: expected a string, got ${JSON.stringify(v)}`);
            return "";
        }
        return this.keep(k, v.trim());
    }
    int(k: ConfigKeyName): number {
        const v = this.value(k);
        const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            this.fail([k], `${this.key(k)}: expected a whole number, got ${JSON.stringify(v)}`);
            return NaN;
        }
        return this.keep(k, n);
    }
    bool(k: ConfigKeyName): boolean {
        const v = this.value(k);
        if (v === true || v === "true") return this.keep(k, true);
        if (v === false || v === "false") return this.keep(k, false);
        this.fail([k], `${this.key(k)}: expected true or false, got ${JSON.stringify(v)}`);
        return false;
    }
    /** undefined: not set; null: set but unusable (already reported). */
    list(k: ConfigKeyName, example: string): string[] | undefined | null {
        let v = this.value(k);
        if (typeof v === "string") {
            try {
                v = JSON.parse(v);
            } catch {
                this.fail([k], `${this.key(k)}: "${v}" is not a list; set it with: pulumi config set --path '${this.key(k)}[0]' ${example}`);
                return null;
            }
        }
        if (v === undefined) return undefined;
        if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
            this.fail([k], `${this.key(k)}: expected a list of strings, got ${JSON.stringify(v)}`);
            return null;
        }
        return this.keep(k, v.map((x: string) => x.trim()));
    }
    /** Parses every key by its declared type (keys a step below read with a special rule are parsed there first). */
    readAll(): void {
        for (const [k, schema] of Object.entries(CONFIG_SCHEMA) as [ConfigKeyName, ConfigKey][]) {
            // Already read by a step with its own rule, or a required key left unset (its step reported it).
            if (this.read.has(k) || (schema.default === undefined && !this.isSet(k))) continue;
            if (schema.type === "string") this.str(k);
            else if (schema.type === "integer") this.int(k);
            else if (schema.type === "boolean") this.bool(k);
        }
    }
    /** Keys the schema does not know (a typo would otherwise be ignored silently). */
    unknownKeys(): void {
        for (const k of Object.keys(this.raw).filter((x) => !(x in CONFIG_SCHEMA))) {
            this.problems.push(`${this.project}:${k}: unknown setting (a typo?); known settings: ${Object.keys(CONFIG_SCHEMA).join(", ")}`);
        }
    }
}

/** Required: who may reach the bastion. Whether each CIDR is acceptable is the Bastion's rule. */
function readAdminCidrs(r: ConfigReader): string[] {
    const adminCidrs = r.list("adminCidrs", "198.51.100.7/32");
    if (adminCidrs === undefined || (adminCidrs !== null && adminCidrs.length === 0)) {
        r.fail(
            ["adminCidrs"],
            `${r.key("adminCidrs")}: missing; the bastion needs the CIDRs allowed to SSH to it. ` +
                `Set it with: pulumi config set --path '${r.key("adminCidrs")}[0]' <your-ip>/32`,
        );
    }
    return adminCidrs ?? [];
}

/** Zones listed by the stack: names, each once. */
function readAvailabilityZones(r: ConfigReader): string[] {
    const zones = r.list("availabilityZones", "eu-central-1a") || [];
    if (new Set(zones).size !== zones.length) problems(r, "availabilityZones", `[${zones.join(", ")}] lists a zone twice`);
    for (const az of zones) {
        if (!/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/.test(az)) problems(r, "availabilityZones", `"${az}" is not an availability zone name like eu-central-1a`);
    }
    return zones;
}

function problems(r: ConfigReader, k: ConfigKeyName, message: string): void {
    r.fail([k], `${r.key(k)}: ${message}`);
}

/**
 * The three VPCs, with the rules between them and the zones: private address space (unless opted
 * out), 2 or 3 AZs each and no more than listed, disjoint ranges. A CIDR's own shape and the subnet
 * carving are PeeredVpc's rules (reported by the platform's preflight under these keys).
 */
function readNetwork(r: ConfigReader, availabilityZones: string[]): Record<TierName, TierNetwork> {
    const allowPublicVpcCidrs = r.bool("allowPublicVpcCidrs");
    const privatePrefixSetting = r.int("privateSubnetPrefixLength");
    const publicPrefixSetting = r.int("publicSubnetPrefixLength");
    const network = {} as Record<TierName, TierNetwork>;
    const usable: Partial<Record<TierName, boolean>> = {};
    for (const tier of TIERS) {
        const cidrKey = `${tier}VpcCidr` as ConfigKeyName;
        const azKey = `${tier}AzCount` as ConfigKeyName;
        const cidr = r.str(cidrKey);
        const azCount = r.int(azKey);
        usable[tier] = vpcCidrProblem(cidr) === undefined;
        if (usable[tier] && !allowPublicVpcCidrs && !PRIVATE_VPC_RANGES.some((range) => cidrContains(range, cidr))) {
            problems(
                r,
                cidrKey,
                `${cidr} is public address space; a VPC there would shadow those internet destinations for every node. ` +
                    `Use a range inside ${PRIVATE_VPC_RANGES.join(", ")} (e.g. 10.${TIERS.indexOf(tier)}.0.0/16), or set ` +
                    `${r.key("allowPublicVpcCidrs")} true if you own the range and mean it`,
            );
        }
        if (Number.isInteger(azCount) && (azCount < 2 || azCount > 3)) {
            problems(r, azKey, `${azCount} availability zones requested; use 2 or 3 (fewer loses high availability, more than 3 buys nothing for 3-node clusters)`);
        }
        if (availabilityZones.length > 0 && Number.isInteger(azCount) && azCount > availabilityZones.length) {
            problems(r, azKey, `${azCount} zones requested but ${r.key("availabilityZones")} lists only ${availabilityZones.length}; add zones or lower the count`);
        }
        const defaults = usable[tier] ? defaultSubnetPrefixes(cidr) : { privatePrefixLength: NaN, publicPrefixLength: NaN };
        network[tier] = {
            cidr,
            azCount,
            privateSubnetPrefixLength: privatePrefixSetting || defaults.privatePrefixLength,
            publicSubnetPrefixLength: publicPrefixSetting || defaults.publicPrefixLength,
        };
    }
    for (let i = 0; i < TIERS.length; i++) {
        for (let j = i + 1; j < TIERS.length; j++) {
            const [a, b] = [network[TIERS[i]].cidr, network[TIERS[j]].cidr];
            if (usable[TIERS[i]] && usable[TIERS[j]] && cidrsOverlap(a, b)) {
                r.fail(
                    [`${TIERS[i]}VpcCidr` as ConfigKeyName, `${TIERS[j]}VpcCidr` as ConfigKeyName],
                    `${r.key(`${TIERS[i]}VpcCidr` as ConfigKeyName)} ${a} overlaps ${r.key(`${TIERS[j]}VpcCidr` as ConfigKeyName)} ${b}: ` +
                        "peered VPCs need disjoint ranges; give each its own, e.g. 10.0.0.0/16, 10.1.0.0/16, 10.2.0.0/16",
                );
            }
        }
    }
    return network;
}

/**
 * How the site is served: a required domain, certificate or zone in the right shape, and the
 * environment's rule (production always serves HTTPS and takes no exemption).
 */
function readHttps(r: ConfigReader, environment: string): Pick<PlatformConfig["web"], "domain" | "certificateArn" | "hostedZoneId" | "plainHttpExemption"> {
    let domain = "";
    if (!r.isSet("domain")) {
        problems(r, "domain", `missing; set the host name users will reach ownCloud at: pulumi config set ${r.key("domain")} cloud.example.com`);
    } else {
        domain = r.str("domain");
    }
    const certificateArn = r.str("certificateArn");
    if (certificateArn !== "" && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(certificateArn)) {
        problems(r, "certificateArn", `"${certificateArn}" is not an ACM certificate ARN`);
    }
    const hostedZoneId = r.str("hostedZoneId");
    if (hostedZoneId !== "" && !/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) problems(r, "hostedZoneId", `"${hostedZoneId}" is not a Route 53 zone ID like Z0123456789ABC`);
    const plainHttpExemption = r.str("plainHttpExemption");
    const production = isProductionEnvironment(environment);
    const certificateHow =
        `pulumi config set ${r.key("certificateArn")} arn:aws:acm:<region>:<account>:certificate/<id> (an ACM certificate for the domain), ` +
        `or pulumi config set ${r.key("hostedZoneId")} <Route 53 zone ID> to have one issued and validated by DNS`;
    if (production && certificateArn === "" && hostedZoneId === "") {
        r.fail(
            ["certificateArn", "hostedZoneId"],
            `${r.key("certificateArn")}/${r.key("hostedZoneId")}: stack "${environment}" is production and would serve ownCloud's ` +
                `login over plain HTTP; give a certificate: ${certificateHow}`,
        );
    }
    if (production && plainHttpExemption !== "") {
        problems(r, "plainHttpExemption", `production never serves plain HTTP, so no exemption is accepted; remove it and ${certificateHow}`);
    } else if (plainHttpExemption !== "" && (certificateArn !== "" || hostedZoneId !== "")) {
        problems(r, "plainHttpExemption", `set together with ${r.key(certificateArn !== "" ? "certificateArn" : "hostedZoneId")}, which serves HTTPS; remove the exemption`);
    }
    return { domain, certificateArn: certificateArn || undefined, hostedZoneId: hostedZoneId || undefined, plainHttpExemption: plainHttpExemption || undefined };
}

/**
 * Parses raw config values (strings as `pulumi.Config` returns them, or already-typed values as
 * read from a stack YAML file) and checks what only the stack can judge: required keys, types,
 * the VPCs against each other and the zones, HTTPS per environment, unknown keys. Each component
 * setting is checked by its component's `resolve…Settings` (the platform's preflight, before any
 * resource), which names the key that fed it. `project` is the config namespace used in messages,
 * so they match what the user types in `pulumi config set`.
 */
export function loadPlatformConfig(
    environment: string,
    raw: Partial<Record<ConfigKeyName, unknown>>,
    project = "owncloud-ha",
): PlatformConfig {
    const parsed = parsePlatformConfig(environment, raw, project);
    if (parsed.problems.length > 0) throw new ConfigError(parsed.problems);
    return parsed.config;
}

/** What `parsePlatformConfig` found: the config (keys with problems left unset) and the problems. */
export interface ParsedPlatformConfig {
    config: PlatformConfig;
    problems: string[];
    /** Keys the problems name: the platform's preflight leaves them to these messages. */
    keysWithProblems: ReadonlySet<ConfigKeyName>;
}

/**
 * `loadPlatformConfig` without throwing, so the program can report the config's problems together
 * with the components' (the preflight): every problem at once.
 */
export function parsePlatformConfig(environment: string, raw: Partial<Record<ConfigKeyName, unknown>>, project = "owncloud-ha"): ParsedPlatformConfig {
    const r = new ConfigReader(raw, project);
    const adminCidrs = readAdminCidrs(r);
    const availabilityZones = readAvailabilityZones(r);
    const network = readNetwork(r, availabilityZones);
    const https = readHttps(r, environment);
    const alarmEmail = r.str("alarmEmail");
    if (alarmEmail !== "" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) problems(r, "alarmEmail", `"${alarmEmail}" is not an e-mail address`);
    r.readAll();
    r.unknownKeys();
    const config = assemble(environment, project, r.values as Record<ConfigKeyName, unknown>, { adminCidrs, availabilityZones, network, https, alarmEmail });
    return { config, problems: r.problems, keysWithProblems: r.keysWithProblems };
}

/** The parsed values in the shape the platform reads them. */
function assemble(
    environment: string,
    project: string,
    v: Record<ConfigKeyName, unknown>,
    read: { adminCidrs: string[]; availabilityZones: string[]; network: Record<TierName, TierNetwork>; https: ReturnType<typeof readHttps>; alarmEmail: string },
): PlatformConfig {
    const n = (k: ConfigKeyName) => v[k] as number;
    const t = (k: ConfigKeyName) => v[k] as string;
    const b = (k: ConfigKeyName) => v[k] as boolean;
    return {
        environment,
        project,
        values: v,
        adminCidrs: read.adminCidrs,
        availabilityZones: read.availabilityZones,
        network: read.network,
        natStrategy: t("natStrategy") as NatStrategy,
        egress: { web: t("webEgress") as EgressMode, db: t("dbEgress") as EgressMode, fs: t("fsEgress") as EgressMode },
        natInstanceType: t("natInstanceType"),
        flowLogRetentionDays: n("flowLogRetentionDays"),
        bastion: { instanceType: t("bastionInstanceType"), amiId: t("bastionAmiId") || undefined, access: t("bastionAccess") as BastionAccessMode, tunnelPort: n("bastionTunnelPort") },
        galera: { nodeCount: n("galeraNodeCount"), instanceType: t("galeraInstanceType"), dataVolumeSizeGb: n("galeraDataVolumeSizeGb") },
        gluster: { nodeCount: n("glusterNodeCount"), redundancy: n("glusterRedundancy"), instanceType: t("glusterInstanceType"), brickVolumeSizeGb: n("glusterBrickVolumeSizeGb") },
        redis: {
            shards: n("redisShards"),
            replicasPerShard: n("redisReplicasPerShard"),
            nodeType: t("redisNodeType"),
            snapshotRetentionDays: n("redisSnapshotRetentionDays"),
            engine: t("redisEngine") as RedisEngine,
        },
        web: {
            ...read.https,
            owncloudImage: t("owncloudImage"),
            instanceType: t("webInstanceType"),
            minSize: n("webMinSize"),
            maxSize: n("webMaxSize"),
            desiredCapacity: n("webDesiredCapacity"),
            deletionProtection: b("albDeletionProtection"),
            accessLogs: b("albAccessLogs"),
            spotAboveOnDemandBase: b("webSpot") ? n("webOnDemandBaseCapacity") : undefined,
        },
        alarmEmail: read.alarmEmail || undefined,
        backup: {
            retentionDays: n("backupRetentionDays"),
            snapshotRetentionCount: n("snapshotRetentionCount"),
            galeraSchedule: t("galeraBackupSchedule"),
            galeraBinlogIntervalSeconds: n("galeraBinlogIntervalSeconds"),
            filesSchedule: t("filesBackupSchedule"),
        },
    };
}
