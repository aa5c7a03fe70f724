import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { debian12Ami, instanceArchitecture, isInstanceType } from "../shared/ami";
import { cidrProblem, defaultSubnetPrefixes, planSubnets, prefixLength, SubnetLayout } from "../shared/cidr";
import { TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER, withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem } from "../shared/errors";
import { SCRIPTS_DIR } from "../shared/remoteBootstrap";

/** How private subnets reach the internet (package mirrors, AWS APIs). */
export type NatStrategy = "none" | "single" | "onePerAz";
export const NAT_STRATEGIES: readonly NatStrategy[] = ["none", "single", "onePerAz"];

/**
 * What the private subnets' IPv4/IPv6 egress goes through:
 * - `natGateway`: managed NAT gateways ($0.045–0.052/h each plus the same per GB, and a public IPv4);
 * - `natInstance`: a small EC2 instance per NAT position (fck-nat style: t4g.nano, source/destination
 *   check off, nftables masquerade), no per-GB fee; EC2 automatic recovery moves it to healthy
 *   hardware with the same ENI, private and public address, so routes never change;
 * - `ipv6EgressOnly`: the VPC gets an Amazon IPv6 /56, private subnets a /64 each and `::/0` through
 *   an egress-only internet gateway: free, regional (not in any AZ), outbound only. Hosts then reach
 *   IPv6 destinations only; their security groups must allow `::/0` egress;
 * - `none`: no internet egress from private subnets.
 * `natStrategy` decides how many NAT gateways or instances: `single` (first AZ) or `onePerAz`.
 */
export type EgressMode = "natGateway" | "natInstance" | "ipv6EgressOnly" | "none";
export const EGRESS_MODES: readonly EgressMode[] = ["natGateway", "natInstance", "ipv6EgressOnly", "none"];

export interface PeeredVpcArgs {
    /**
     * IPv4 CIDR of the VPC, between /16 and /28. Must not overlap any VPC it will be peered with.
     * Plain string (not an Output) so that subnets and peering routes can be planned and checked
     * before anything is created.
     */
    cidrBlock: string;
    /**
     * Availability zone names, one public and one private subnet is created in each, e.g.
     * `["eu-central-1a", "eu-central-1b", "eu-central-1c"]`. At least 1, no duplicates. Plain strings
     * because they name the child resources.
     */
    availabilityZones: string[];
    /**
     * Prefix length of each private subnet. Default: VPC prefix + 4 (a /16 VPC gets /20 subnets),
     * at most 28. All subnets of all AZs must fit in the VPC.
     */
    privateSubnetPrefixLength?: number;
    /** Prefix length of each public subnet. Default: VPC prefix + 8 (a /16 VPC gets /24 subnets), at most 28. */
    publicSubnetPrefixLength?: number;
    /**
     * NAT for the private subnets: `none` (no internet egress from private subnets), `single` (one
     * NAT gateway in the first AZ shared by all AZs: cheaper, but an AZ outage there cuts egress for
     * all), `onePerAz` (one NAT gateway per AZ, each private subnet uses its own). Default `single`.
     * NAT gateways are usually the largest fixed cost of this network.
     */
    natStrategy?: NatStrategy;
    /** How private subnets reach the internet: see `EgressMode`. Default `natGateway` (the choice before this setting existed). */
    egress?: EgressMode;
    /** Instance type of NAT instances (`egress: natInstance`). Default `t4g.nano`; Graviton types get the arm64 Debian AMI. */
    natInstanceType?: string;
    /** AMI of NAT instances. Default: the newest official Debian 12 AMI for the type's architecture. */
    natInstanceAmiId?: string;
    /** Retention of the VPC flow log group, in days (CloudWatch's allowed values). Default 365. */
    flowLogRetentionDays?: number;
    /** Which traffic the flow log records: `ALL`, `ACCEPT` or `REJECT`. Default `ALL`. */
    flowLogTrafficType?: string;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export interface ResolvedPeeredVpcArgs {
    cidrBlock: string;
    availabilityZones: string[];
    privateSubnetPrefixLength: number;
    publicSubnetPrefixLength: number;
    natStrategy: NatStrategy;
    egress: EgressMode;
    natInstanceType: string;
    flowLogRetentionDays: number;
    flowLogTrafficType: string;
    tags: Record<string, string>;
    subnets: SubnetLayout;
}

/** Defaults of the settings: the one home of each (the stack's config schema takes them from here). A PeeredVpc takes settings only. */
export const PEERED_VPC_DEFAULTS = {
    natStrategy: "single",
    egress: "natGateway",
    natInstanceType: "t4g.nano",
    flowLogRetentionDays: 365,
    flowLogTrafficType: "ALL",
} as const satisfies Partial<PeeredVpcArgs>;

/** What is wrong with a VPC's CIDR (notation, or outside AWS's /16 to /28), or undefined. */
export function vpcCidrProblem(cidrBlock: string): string | undefined {
    const p = cidrProblem(cidrBlock);
    if (p) return p;
    if (prefixLength(cidrBlock) < 16 || prefixLength(cidrBlock) > 28) return `AWS VPCs are /16 to /28, got ${cidrBlock}`;
    return undefined;
}

/**
 * Checks the arguments and fills in defaults. Throws one error listing every problem, each naming
 * the argument and what to do, so nothing is created from a plan that cannot work.
 */
export function resolvePeeredVpcArgs(name: string, args: PeeredVpcArgs): ResolvedPeeredVpcArgs {
    const d = PEERED_VPC_DEFAULTS;
    const problems: ArgProblem[] = [];
    const cidr = vpcCidrProblem(args.cidrBlock);
    if (cidr) problems.push(problem("cidrBlock", cidr));
    const azs = args.availabilityZones ?? [];
    if (azs.length < 1) {
        problems.push(problem("availabilityZones", "give at least one availability zone name"));
    }
    if (new Set(azs).size !== azs.length) {
        problems.push(problem("availabilityZones", `duplicates in [${azs.join(", ")}]; list each zone once`));
    }
    const natStrategy = args.natStrategy ?? d.natStrategy;
    if (!NAT_STRATEGIES.includes(natStrategy)) {
        problems.push(problem("natStrategy", `"${natStrategy}" is not one of ${NAT_STRATEGIES.join(", ")}`));
    }
    const egress = args.egress ?? d.egress;
    if (!EGRESS_MODES.includes(egress)) {
        problems.push(problem("egress", `"${egress}" is not one of ${EGRESS_MODES.join(", ")}`));
    }
    const natInstanceType = args.natInstanceType ?? d.natInstanceType;
    if (!isInstanceType(natInstanceType)) {
        problems.push(problem("natInstanceType", `"${natInstanceType}" is not an EC2 instance type like t4g.nano`));
    }
    if (args.natInstanceAmiId !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(args.natInstanceAmiId)) {
        problems.push(problem("natInstanceAmiId", `"${args.natInstanceAmiId}" is not an AMI ID like ami-0123456789abcdef0`));
    }
    const flowLogRetentionDays = args.flowLogRetentionDays ?? d.flowLogRetentionDays;
    if (!LOG_RETENTION_DAYS.includes(flowLogRetentionDays)) {
        problems.push(
            problem("flowLogRetentionDays", `${flowLogRetentionDays} is not a CloudWatch Logs retention value; use one of ${LOG_RETENTION_DAYS.join(", ")}`,
        ));
    }
    const flowLogTrafficType = args.flowLogTrafficType ?? d.flowLogTrafficType;
    if (!["ALL", "ACCEPT", "REJECT"].includes(flowLogTrafficType)) {
        problems.push(problem("flowLogTrafficType", `"${flowLogTrafficType}" is not ALL, ACCEPT or REJECT`));
    }
    let subnets: SubnetLayout = { privateCidrs: [], publicCidrs: [] };
    let privateSubnetPrefixLength = args.privateSubnetPrefixLength ?? 0;
    let publicSubnetPrefixLength = args.publicSubnetPrefixLength ?? 0;
    if (problems.length === 0) {
        const defaults = defaultSubnetPrefixes(args.cidrBlock);
        privateSubnetPrefixLength = args.privateSubnetPrefixLength ?? defaults.privatePrefixLength;
        publicSubnetPrefixLength = args.publicSubnetPrefixLength ?? defaults.publicPrefixLength;
        try {
            subnets = planSubnets(args.cidrBlock, azs.length, privateSubnetPrefixLength, publicSubnetPrefixLength);
        } catch (e) {
            problems.push(problem(["privateSubnetPrefixLength", "publicSubnetPrefixLength"], `${(e as Error).message}`));
        }
    }
    if (problems.length > 0) {
        throw new InvalidArgsError("PeeredVpc", name, problems);
    }
    return {
        cidrBlock: args.cidrBlock,
        availabilityZones: [...azs],
        privateSubnetPrefixLength,
        publicSubnetPrefixLength,
        natStrategy,
        egress,
        natInstanceType,
        flowLogRetentionDays,
        flowLogTrafficType,
        tags: args.tags ?? {},
        subnets,
    };
}

/** Which AZs get a NAT gateway, and which NAT (by AZ index) each private subnet routes through. */
export function natLayout(strategy: NatStrategy, azCount: number): { natAzIndexes: number[]; routeVia: (number | undefined)[] } {
    const azIndexes = Array.from({ length: azCount }, (_, i) => i);
    switch (strategy) {
        case "none":
            return { natAzIndexes: [], routeVia: azIndexes.map(() => undefined) };
        case "single":
            return { natAzIndexes: [0], routeVia: azIndexes.map(() => 0) };
        case "onePerAz":
            return { natAzIndexes: azIndexes, routeVia: azIndexes };
    }
}

/**
 * User data of a NAT instance: the private CIDRs it forwards and the apply script (run now and at
 * every boot), in front of scripts/node/nat/nat-instance.sh. No secrets: CIDRs and scripts only.
 */
export function natInstanceUserData(privateCidrs: string[]): string {
    const read = (f: string) => fs.readFileSync(path.join(SCRIPTS_DIR, "nat", f), "utf8");
    return [
        "#!/bin/bash",
        `PRIVATE_CIDRS='${privateCidrs.join(" ")}'`,
        "NAT_APPLY_SCRIPT=$(cat <<'NAT_APPLY_EOF'",
        read("nat-apply.sh").trimEnd(),
        "NAT_APPLY_EOF",
        ")",
        "export PRIVATE_CIDRS NAT_APPLY_SCRIPT",
        read("nat-instance.sh").replace(/^#!.*\n/, ""),
    ].join("\n");
}

/** The i-th /64 of an IPv6 /56 (AWS assigns VPCs a /56; subnets take /64s). */
export function ipv6Subnet64(vpcCidr: string, index: number): string {
    const [addr, len] = vpcCidr.split("/");
    if (len !== "56" || !Number.isInteger(index) || index < 0 || index > 255) throw new Error(`ipv6Subnet64: need a /56 and an index 0–255, got ${vpcCidr}, ${index}`);
    const [head, tail = ""] = addr.split("::");
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((g) => parseInt(g, 16));
    groups[3] = (groups[3] & 0xff00) | index;
    return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** Tags of the VPC's resources on top of the caller's. */
type NetworkTags = (extra: Record<string, string>) => Record<string, string>;
/** Where a private table's default route goes: a NAT gateway or a NAT instance's primary ENI. */
type NatTarget = { args: Pick<aws.ec2.RouteArgs, "natGatewayId" | "networkInterfaceId">; via: pulumi.Resource };

/**
 * A VPC laid out for peering: one public and one private subnet per AZ, an internet gateway, NAT per
 * the chosen strategy, a private route table per AZ, flow logs to CloudWatch and a default security
 * group with every rule removed. Public subnets never auto-assign public IPs: the few resources
 * that need one (bastion, NAT, ALB) ask for it explicitly.
 *
 * Built from `@pulumi/aws` resources rather than `awsx.ec2.Vpc` so that every subnet, route and NAT
 * gateway is visible to `pulumi preview`, to the policy pack and to tests (awsx v3 is a remote
 * component whose children are invisible under mocks).
 */
export class PeeredVpc extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    /** The VPC's CIDR as given (plain, so peers can plan routes before creation). */
    public readonly cidrBlock: string;
    public readonly availabilityZones: string[];
    public readonly publicSubnetIds: pulumi.Output<string>[];
    public readonly privateSubnetIds: pulumi.Output<string>[];
    public readonly publicSubnetCidrs: string[];
    public readonly privateSubnetCidrs: string[];
    public readonly publicRouteTableId: pulumi.Output<string>;
    /** One per AZ, in the order of `availabilityZones`. */
    public readonly privateRouteTableIds: pulumi.Output<string>[];
    /** Every route table of the VPC (public first): peering adds its route to each. */
    public readonly routeTableIds: pulumi.Output<string>[];
    public readonly natGatewayIds: pulumi.Output<string>[];
    /** NAT instances (`egress: natInstance`), in AZ order of their placement. */
    public readonly natInstanceIds: pulumi.Output<string>[];
    /** How private subnets reach the internet. */
    public readonly egress: EgressMode;
    /**
     * What a host in the private subnets needs before its traffic to the internet flows (package
     * installs at first boot): the NAT gateways or instances, the egress-only gateway, the default
     * routes of every route table and the subnets' associations with them. Pass it as a dependency
     * of anything that installs packages on a private host.
     */
    public readonly egressReady: pulumi.Resource[];
    /**
     * The S3 gateway endpoint of the private route tables: private hosts reach the region's S3
     * (backups) without NAT whatever `egress` is, at no charge. Its prefix list ID is what a
     * security group names to allow HTTPS to S3 alone.
     */
    public readonly s3EndpointId: pulumi.Output<string>;
    public readonly s3PrefixListId: pulumi.Output<string>;
    public readonly defaultSecurityGroupId: pulumi.Output<string>;
    public readonly flowLogGroupName: pulumi.Output<string>;
    /** The internet gateway: anything associating a public address in this VPC (an Elastic IP) waits for it. */
    public readonly internetGateway: aws.ec2.InternetGateway;

    constructor(name: string, args: PeeredVpcArgs, opts?: pulumi.ComponentResourceOptions) {
        const a = resolvePeeredVpcArgs(name, args);
        super("owncloud-ha:network:PeeredVpc", name, {}, opts);
        const tags: NetworkTags = (extra) => withTags(a.tags, { [TAG_TIER]: "network", ...extra });
        const parent = { parent: this };

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: a.cidrBlock,
                enableDnsSupport: true,
                enableDnsHostnames: true,
                ...(a.egress === "ipv6EgressOnly" ? { assignGeneratedIpv6CidrBlock: true } : {}),
                tags: tags({ Name: name }),
            },
            parent,
        );
        this.vpcId = vpc.id;
        this.cidrBlock = a.cidrBlock;
        this.availabilityZones = a.availabilityZones;
        this.publicSubnetCidrs = a.subnets.publicCidrs;
        this.privateSubnetCidrs = a.subnets.privateCidrs;

        // Taking over the default SG with no rules closes it (FSBP EC2.2): anything launched without
        // an explicit SG gets no traffic instead of the VPC-wide allow-all.
        const defaultSg = new aws.ec2.DefaultSecurityGroup(
            `${name}-default-sg`,
            { vpcId: vpc.id, tags: tags({ Name: `${name}-default-closed` }) },
            { parent: vpc },
        );
        this.defaultSecurityGroupId = defaultSg.id;

        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags({ Name: `${name}-igw` }) }, { parent: vpc });
        this.internetGateway = igw;

        const { publicSubnets, privateSubnets } = this.subnets(name, a, vpc, tags);
        this.publicSubnetIds = publicSubnets.map((s) => s.id);
        this.privateSubnetIds = privateSubnets.map((s) => s.id);
        const { publicRt, publicDefault, publicAssociations } = this.publicRouting(name, a, vpc, igw, publicSubnets, tags);
        this.publicRouteTableId = publicRt.id;

        const nat = natLayout(a.egress === "natGateway" || a.egress === "natInstance" ? a.natStrategy : "none", a.availabilityZones.length);
        const egressReady: pulumi.Resource[] = [];
        // Route target per NAT position (AZ index): a NAT gateway or a NAT instance's primary ENI.
        const natTargets = new Map<number, NatTarget>();
        const natGateways = a.egress === "natGateway" ? this.natGateways(name, a, nat, vpc, igw, publicSubnets, natTargets, tags) : [];
        const natInstances = a.egress === "natInstance" ? this.natInstances(name, a, args, nat, vpc, igw, publicSubnets, natTargets, tags) : [];
        egressReady.push(...natGateways, ...natInstances);
        this.natGatewayIds = natGateways.map((n) => n.id);
        this.natInstanceIds = natInstances.map((n) => n.id);

        const eigw =
            a.egress === "ipv6EgressOnly"
                ? new aws.ec2.EgressOnlyInternetGateway(`${name}-eigw`, { vpcId: vpc.id, tags: tags({ Name: `${name}-eigw` }) }, { parent: vpc })
                : undefined;
        if (eigw) egressReady.push(eigw);

        const { privateRts, privateEgress } = this.privateRouting(name, a, vpc, nat, natTargets, eigw, privateSubnets, egressReady, tags);
        const s3Endpoint = this.s3Endpoint(name, vpc, privateRts, tags);
        this.s3EndpointId = s3Endpoint.id;
        this.s3PrefixListId = s3Endpoint.prefixListId;
        this.egress = a.egress;
        // NAT traffic leaves through the public subnets' table, so its default route and associations
        // count too; private hosts use their subnets' associations with the tables that route egress.
        const viaPublic = a.egress === "natGateway" || a.egress === "natInstance";
        this.egressReady =
            a.egress === "none" ? [s3Endpoint, ...privateEgress] : [...egressReady, ...(viaPublic ? [publicDefault, ...publicAssociations] : []), ...privateEgress, s3Endpoint];
        this.privateRouteTableIds = privateRts.map((rt) => rt.id);
        this.routeTableIds = [publicRt.id, ...this.privateRouteTableIds];

        this.flowLogGroupName = this.flowLogs(name, a, vpc, tags).name;

        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
            routeTableIds: this.routeTableIds,
            natGatewayIds: this.natGatewayIds,
            natInstanceIds: this.natInstanceIds,
            flowLogGroupName: this.flowLogGroupName,
            s3EndpointId: this.s3EndpointId,
        });
    }


    /** One public and one private subnet per AZ, at the carved CIDRs; neither assigns public IPv4 addresses. */
    private subnets(name: string, a: ResolvedPeeredVpcArgs, vpc: aws.ec2.Vpc, tags: NetworkTags): { publicSubnets: aws.ec2.Subnet[]; privateSubnets: aws.ec2.Subnet[] } {
        const publicSubnets = a.availabilityZones.map(
            (az, i) =>
                new aws.ec2.Subnet(
                    `${name}-public-${az}`,
                    {
                        vpcId: vpc.id,
                        availabilityZone: az,
                        cidrBlock: a.subnets.publicCidrs[i],
                        mapPublicIpOnLaunch: false,
                        tags: tags({ Name: `${name}-public-${az}`, [TAG_SUBNET_TIER]: "public" }),
                    },
                    { parent: vpc },
                ),
        );
        const privateSubnets = a.availabilityZones.map(
            (az, i) =>
                new aws.ec2.Subnet(
                    `${name}-private-${az}`,
                    {
                        vpcId: vpc.id,
                        availabilityZone: az,
                        cidrBlock: a.subnets.privateCidrs[i],
                        mapPublicIpOnLaunch: false,
                        // Dual stack for egress-only IPv6: every host gets an IPv6 address at launch.
                        ...(a.egress === "ipv6EgressOnly"
                            ? { ipv6CidrBlock: vpc.ipv6CidrBlock.apply((c) => (c ? ipv6Subnet64(c, i) : c)), assignIpv6AddressOnCreation: true }
                            : {}),
                        tags: tags({ Name: `${name}-private-${az}`, [TAG_SUBNET_TIER]: "private" }),
                    },
                    { parent: vpc },
                ),
        );
        return { publicSubnets, privateSubnets };
    }

    /** The public subnets' table: default route to the internet gateway. */
    private publicRouting(
        name: string,
        a: ResolvedPeeredVpcArgs,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        publicSubnets: aws.ec2.Subnet[],
        tags: NetworkTags,
    ): { publicRt: aws.ec2.RouteTable; publicDefault: aws.ec2.Route; publicAssociations: aws.ec2.RouteTableAssociation[] } {
        const publicRt = new aws.ec2.RouteTable(
            `${name}-public-rt`,
            { vpcId: vpc.id, tags: tags({ Name: `${name}-public`, [TAG_SUBNET_TIER]: "public" }) },
            { parent: vpc },
        );
        const publicDefault = new aws.ec2.Route(
            `${name}-public-default`,
            { routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
            { parent: publicRt },
        );
        const publicAssociations = publicSubnets.map(
            (subnet, i) =>
                new aws.ec2.RouteTableAssociation(
                    `${name}-public-rta-${a.availabilityZones[i]}`,
                    { subnetId: subnet.id, routeTableId: publicRt.id },
                    { parent: publicRt },
                ),
        );
        return { publicRt, publicDefault, publicAssociations };
    }

    /** A NAT gateway (with its Elastic IP) in each AZ the layout places one; records each as a route target. */
    private natGateways(
        name: string,
        a: ResolvedPeeredVpcArgs,
        nat: ReturnType<typeof natLayout>,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        publicSubnets: aws.ec2.Subnet[],
        natTargets: Map<number, NatTarget>,
        tags: NetworkTags,
    ): aws.ec2.NatGateway[] {
        const natGateways: aws.ec2.NatGateway[] = [];
        for (const i of nat.natAzIndexes) {
            const az = a.availabilityZones[i];
            const eip = new aws.ec2.Eip(
                `${name}-nat-eip-${az}`,
                { domain: "vpc", tags: tags({ Name: `${name}-nat-${az}` }) },
                { parent: vpc },
            );
            const gw = new aws.ec2.NatGateway(
                `${name}-nat-${az}`,
                {
                    allocationId: eip.id,
                    subnetId: publicSubnets[i].id,
                    connectivityType: "public",
                    tags: tags({ Name: `${name}-nat-${az}` }),
                },
                // The gateway needs the IGW attached before it can route.
                { parent: vpc, dependsOn: [igw] },
            );
            natGateways.push(gw);
            natTargets.set(i, { args: { natGatewayId: gw.id }, via: gw });
        }
        return natGateways;
    }

    /** A NAT instance (t4g.nano, nftables masquerade, auto-recovery) in each AZ the layout places one; records each ENI as a route target. */
    private natInstances(
        name: string,
        a: ResolvedPeeredVpcArgs,
        args: PeeredVpcArgs,
        nat: ReturnType<typeof natLayout>,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        publicSubnets: aws.ec2.Subnet[],
        natTargets: Map<number, NatTarget>,
        tags: NetworkTags,
    ): aws.ec2.Instance[] {
        const natInstances: aws.ec2.Instance[] = [];
        // Admits only what the private subnets send on the ports their hosts use outbound (HTTP(S)
        // for packages, images and AWS APIs); forwards it out only on those ports.
        const natSg = new aws.ec2.SecurityGroup(
            `${name}-nat-sg`,
            {
                vpcId: vpc.id,
                description: `NAT instances of ${name}: HTTP(S) from the VPC's private subnets only, out to the internet`,
                ingress: [80, 443].map((port) => ({
                    description: `port ${port} from the private subnets`,
                    protocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    cidrBlocks: a.subnets.privateCidrs,
                })),
                egress: [80, 443].map((port) => ({ description: `port ${port} to the internet`, protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: ["0.0.0.0/0"] })),
                tags: tags({ Name: `${name}-nat-sg` }),
            },
            { parent: vpc },
        );
        const userData = natInstanceUserData(a.subnets.privateCidrs);
        const ami = args.natInstanceAmiId ?? debian12Ami(instanceArchitecture(a.natInstanceType), { parent: this });
        for (const i of nat.natAzIndexes) {
            const az = a.availabilityZones[i];
            const instance = new aws.ec2.Instance(
                `${name}-nat-instance-${az}`,
                {
                    ami,
                    instanceType: a.natInstanceType,
                    subnetId: publicSubnets[i].id,
                    vpcSecurityGroupIds: [natSg.id],
                    // It forwards other hosts' packets: EC2 drops them unless this check is off.
                    sourceDestCheck: false,
                    // Explicit, like the bastion's: the public subnets never auto-assign one.
                    associatePublicIpAddress: true,
                    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                    rootBlockDevice: { volumeType: "gp3", volumeSize: 8, encrypted: true, deleteOnTermination: true },
                    // Simplified automatic recovery: on a failed system status check EC2 restarts it on
                    // healthy hardware with the same ENI and addresses, so the routes stay valid.
                    maintenanceOptions: { autoRecovery: "default" },
                    userData,
                    userDataReplaceOnChange: true,
                    tags: tags({
                        Name: `${name}-nat-${az}`,
                        [TAG_PUBLIC_EXEMPTION]: "NAT instance: forwards the private subnets' outbound HTTP(S); admits nothing from the internet",
                    }),
                    volumeTags: tags({ Name: `${name}-nat-${az}-root` }),
                },
                { parent: vpc, dependsOn: [igw] },
            );
            natInstances.push(instance);
            natTargets.set(i, { args: { networkInterfaceId: instance.primaryNetworkInterfaceId }, via: instance });
        }
        return natInstances;
    }

    /** A private table per AZ: default route through its NAT (and ::/0 through the egress-only gateway), and its subnet's association. */
    private privateRouting(
        name: string,
        a: ResolvedPeeredVpcArgs,
        vpc: aws.ec2.Vpc,
        nat: ReturnType<typeof natLayout>,
        natTargets: Map<number, NatTarget>,
        eigw: aws.ec2.EgressOnlyInternetGateway | undefined,
        privateSubnets: aws.ec2.Subnet[],
        egressReady: pulumi.Resource[],
        tags: NetworkTags,
    ): { privateRts: aws.ec2.RouteTable[]; privateEgress: pulumi.Resource[] } {
        const privateEgress: pulumi.Resource[] = [];
        const privateRts = a.availabilityZones.map((az, i) => {
            const rt = new aws.ec2.RouteTable(
                `${name}-private-rt-${az}`,
                { vpcId: vpc.id, tags: tags({ Name: `${name}-private-${az}`, [TAG_SUBNET_TIER]: "private" }) },
                { parent: vpc },
            );
            const via = nat.routeVia[i];
            if (via !== undefined) {
                const target = natTargets.get(via)!;
                egressReady.push(
                    new aws.ec2.Route(
                        `${name}-private-default-${az}`,
                        { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", ...target.args },
                        // Explicit: the target's ID is only an output of it; the route is usable once it exists.
                        { parent: rt, dependsOn: [target.via] },
                    ),
                );
            }
            if (eigw) {
                egressReady.push(
                    new aws.ec2.Route(`${name}-private-default6-${az}`, { routeTableId: rt.id, destinationIpv6CidrBlock: "::/0", egressOnlyGatewayId: eigw.id }, { parent: rt }),
                );
            }
            privateEgress.push(
                new aws.ec2.RouteTableAssociation(
                    `${name}-private-rta-${az}`,
                    { subnetId: privateSubnets[i].id, routeTableId: rt.id },
                    { parent: rt },
                ),
            );
            return rt;
        });
        return { privateRts, privateEgress };
    }

    /** The S3 gateway endpoint, routed in every private table. */
    private s3Endpoint(name: string, vpc: aws.ec2.Vpc, privateRts: aws.ec2.RouteTable[], tags: NetworkTags): aws.ec2.VpcEndpoint {
        // Backups go to S3 through a gateway endpoint: free (no hourly or per-GB fee, unlike NAT or an
        // interface endpoint), routed by a prefix-list route in each private table, and it works with
        // every egress choice including none. It reaches only buckets in this region.
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const s3Endpoint = new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRts.map((rt) => rt.id),
                tags: tags({ Name: `${name}-s3` }),
            },
            { parent: vpc },
        );
        return s3Endpoint;
    }

    /** Flow logs of the whole VPC to a retained log group, with a role that may write only there. */
    private flowLogs(name: string, a: ResolvedPeeredVpcArgs, vpc: aws.ec2.Vpc, tags: NetworkTags): aws.cloudwatch.LogGroup {
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-flow-logs`,
            { namePrefix: `/owncloud-ha/vpc-flow-logs/${name}-`, retentionInDays: a.flowLogRetentionDays, tags: tags({}) },
            { parent: this },
        );
        const flowLogRole = new aws.iam.Role(
            `${name}-flow-logs-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                            Action: "sts:AssumeRole",
                        },
                    ],
                }),
                tags: tags({}),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs-policy`,
            {
                role: flowLogRole.id,
                // Scoped to this VPC's log group only; no logs:* and no "*" resource.
                policy: logGroup.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                Resource: [arn, `${arn}:*`],
                            },
                        ],
                    }),
                ),
            },
            { parent: flowLogRole },
        );
        new aws.ec2.FlowLog(
            `${name}-flow-log`,
            {
                vpcId: vpc.id,
                trafficType: a.flowLogTrafficType,
                logDestinationType: "cloud-watch-logs",
                logDestination: logGroup.arn,
                iamRoleArn: flowLogRole.arn,
                maxAggregationInterval: 60,
                tags: tags({ Name: `${name}-flow-log` }),
            },
            { parent: this },
        );
        return logGroup;
    }

}
