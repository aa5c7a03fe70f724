import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BastionAccess, connectionThrough, DEFAULT_SSH_USER } from "../access/bastion";
import {
    DEFAULT_BASE_PORT,
    DEFAULT_MAX_PORT,
    DEFAULT_HEAL_THREADS,
    DEFAULT_PING_TIMEOUT_S,
    DEFAULT_VOLUME,
    GlusterSettings,
    OWNCLOUD_UID,
    glusterPlan,
    validateGlusterSettings,
} from "./plan";
import { cidrProblem } from "../shared/cidr";
import { ClusterNodeRef, ClusterWiringArgs, createClusterNodes, createNodeRole, nodeRefs, planHosts, resolveNodeAddresses } from "../shared/clusterNodes";
import { TAG_SNAPSHOT_POLICY, TAG_TIER, withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem, problemBetween } from "../shared/errors";
import { runPlan } from "../shared/remoteBootstrap";
import { isInstanceType } from "../shared/ami";
import { GLUSTERD_PORTS } from "./ports";
import { ClientFlowArgs, clientEgressRules } from "../shared/flows";
import { NodeMetricsSource, putNodeMetricsStatement } from "../shared/nodeMetrics";
import { ClusterBackupArgs, ResolvedClusterBackup, resolveClusterBackup, wireClusterBackup } from "../backup/backupBucket";
import { createSnapshotPolicy } from "../shared/volumeSnapshots";

export { GLUSTERD_PORTS };

/**
 * What the volume is: counts, sizes, addresses, ports, names and schedules. Plain values, checked by `resolveGlusterSettings` before anything exists.
 */
export interface GlusterDisperseVolumeSettings extends ClusterBackupArgs {
    /**
     * CIDRs of `subnetIds`, same order; nodes get fixed addresses derived from them (bricks are
     * named by address, so a replaced node must come back at the same one). Or give `privateIps`.
     */
    subnetCidrs?: string[];
    /** Explicit fixed addresses, one per node (node i lives in subnet i mod n). Overrides `subnetCidrs`. */
    privateIps?: string[];
    /** Nodes = bricks in the disperse set (N). Default 3. Must be greater than 2 × redundancy. */
    nodeCount?: number;
    /**
     * Bricks that may be lost without losing data (R). Default 1 (seed 000: disperse 3 redundancy 1,
     * RAID-5-like). Combinations where N − R is not a power of two are refused unless `allowNonOptimal`.
     */
    redundancy?: number;
    /** Accept a disperse/redundancy pair GlusterFS does not consider optimal (slower writes). Default false. */
    allowNonOptimal?: boolean;
    /** Volume name. Default `gfs_v_r5`. */
    volumeName?: string;
    /** Size of each node's encrypted gp3 brick volume in GiB. Default 20. Usable space ≈ (N − R) × this. */
    brickVolumeSizeGb?: number;
    /** EC2 instance type. Default `t3.small`. */
    instanceType?: string;
    /** AMI. Default: the newest official Debian 12 AMI for the instance type's architecture. */
    amiId?: string;
    /** Size of the encrypted gp3 root volume in GiB. Default 10. */
    rootVolumeSizeGb?: number;
    /**
     * CIDRs of the clients. Always needed: they become the volume's `auth.allow`. Used for the
     * security group only when no client security group is given.
     */
    clientCidrs: string[];
    /**
     * `network.ping-timeout` in seconds: how long clients stall before declaring a silently vanished
     * node dead. Default 10 (GlusterFS's 42 s outlasts load-balancer health checks). 1–1800.
     */
    pingTimeoutSeconds?: number;
    /**
     * Entries each node's self-heal daemon heals in parallel (`disperse.shd-max-threads`): how fast a
     * replaced node's brick regains the volume's redundancy. Default 1 (GlusterFS's; see DEFAULT_HEAL_THREADS). 1–64.
     */
    healThreads?: number;
    /** First and last port glusterd gives bricks; the security group opens exactly this range. Default 49152–49161. */
    brickPortFrom?: number;
    brickPortTo?: number;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/** Settings plus wiring: where the volume lives and how it is reached (IDs, the bastion, dependencies). */
export interface GlusterDisperseVolumeArgs extends GlusterDisperseVolumeSettings, ClusterWiringArgs, ClientFlowArgs {
    /** VPC of the storage nodes. */
    vpcId: pulumi.Input<string>;
    /** Private subnets, one per AZ; nodes are spread over them round-robin. */
    subnetIds: pulumi.Input<string>[];
    /** Security groups of the clients that mount the volume (glusterd and brick ports). */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /** How the bootstrap reaches the nodes: the bastion's address, SG, key pair and private key. */
    bastion: BastionAccess;
    /** KMS key for the volumes. Default: AWS-managed key. */
    kmsKeyId?: pulumi.Input<string>;
}

export interface ResolvedGlusterArgs {
    settings: GlusterSettings;
    nodeCount: number;
    addresses: string[];
    instanceType: string;
    rootVolumeSizeGb: number;
    brickVolumeSizeGb: number;
    volumeName: string;
    brickPortFrom: number;
    brickPortTo: number;
    clientCidrs: string[];
    sshUser: string;
    /** Informational: e.g. a non-optimal layout accepted with allowNonOptimal. */
    warnings: string[];
    /** Backups of the volume's content to S3 and EBS snapshots of the bricks. */
    backup: ResolvedClusterBackup;
    tags: Record<string, string>;
}

/** This component's argument for each plan setting it names differently. */
const GLUSTER_ARGS_OF: Partial<Record<keyof GlusterSettings, string[]>> = {
    disperse: ["nodeCount"],
    basePort: ["brickPortFrom"],
    maxPort: ["brickPortTo"],
    nodes: ["subnetCidrs", "privateIps"],
    backup: ["backupOnCalendar"],
};

/** Defaults of the settings: the one home of each (the stack's config schema takes them from here). */
export const GLUSTER_DEFAULTS = {
    nodeCount: 3,
    redundancy: 1,
    instanceType: "t3.small",
    brickVolumeSizeGb: 20,
    rootVolumeSizeGb: 10,
    volumeName: DEFAULT_VOLUME,
    pingTimeoutSeconds: DEFAULT_PING_TIMEOUT_S,
    healThreads: DEFAULT_HEAL_THREADS,
    brickPortFrom: DEFAULT_BASE_PORT,
    brickPortTo: DEFAULT_MAX_PORT,
} as const;

export type ResolvedGlusterSettings = Omit<ResolvedGlusterArgs, "sshUser">;

/**
 * Checks the settings alone (every problem at once) and fills in the defaults. `subnetCount`: the
 * private subnets (one per AZ) the nodes will be spread over, known before any subnet exists.
 */
export function resolveGlusterSettings(name: string, args: GlusterDisperseVolumeSettings, subnetCount: number): ResolvedGlusterSettings {
    const d = GLUSTER_DEFAULTS;
    const problems: ArgProblem[] = [];
    const nodeCount = args.nodeCount ?? d.nodeCount;
    const redundancy = args.redundancy ?? d.redundancy;
    if (!Number.isInteger(nodeCount) || nodeCount < 3) problems.push(problem("nodeCount", `${nodeCount}; a disperse volume needs at least 3 nodes`));
    const count = Number.isInteger(nodeCount) && nodeCount >= 1 ? nodeCount : 3;
    const placement = resolveNodeAddresses(count, subnetCount, args.subnetCidrs, args.privateIps);
    problems.push(...placement.problems);
    const clientCidrs = args.clientCidrs ?? [];
    if (clientCidrs.length === 0) problems.push(problem("clientCidrs", "give the clients' CIDRs (they become the volume's auth.allow)"));
    for (const c of clientCidrs) {
        const p = cidrProblem(c);
        if (p) problems.push(problem("clientCidrs", `${p}`));
    }
    const instanceType = args.instanceType ?? d.instanceType;
    if (!isInstanceType(instanceType)) problems.push(problem("instanceType", `"${instanceType}" is not an EC2 instance type like t3.small`));
    const brickVolumeSizeGb = args.brickVolumeSizeGb ?? d.brickVolumeSizeGb;
    if (!Number.isInteger(brickVolumeSizeGb) || brickVolumeSizeGb < 1 || brickVolumeSizeGb > 16384) {
        problems.push(problem("brickVolumeSizeGb", `${brickVolumeSizeGb} is outside gp3's 1–16384 GiB`));
    }
    const rootVolumeSizeGb = args.rootVolumeSizeGb ?? d.rootVolumeSizeGb;
    if (!Number.isInteger(rootVolumeSizeGb) || rootVolumeSizeGb < 8) problems.push(problem("rootVolumeSizeGb", `${rootVolumeSizeGb} is below the Debian AMI's 8 GiB`));
    const brickPortFrom = args.brickPortFrom ?? d.brickPortFrom;
    const brickPortTo = args.brickPortTo ?? d.brickPortTo;
    const volumeName = args.volumeName ?? d.volumeName;
    const backup = resolveClusterBackup(args, "files");
    problems.push(...backup.problems);

    const settings: GlusterSettings = {
        nodes: placement.addresses.map((address, i) => ({ host: `node${i + 1}`, address, device: "{{dataDevice}}" })),
        volumeName,
        disperse: nodeCount,
        redundancy,
        clientCidrs,
        pingTimeoutSeconds: args.pingTimeoutSeconds ?? d.pingTimeoutSeconds,
        healThreads: args.healThreads ?? d.healThreads,
        basePort: brickPortFrom,
        maxPort: brickPortTo,
        ownerUid: OWNCLOUD_UID,
        ownerGid: OWNCLOUD_UID,
        allowNonOptimal: args.allowNonOptimal ?? false,
        metricsCluster: name,
        backup: backup.backup.settings,
    };
    let warnings: string[] = [];
    if (problems.length === 0) {
        const v = validateGlusterSettings(settings);
        // The plan names its own settings: report each problem under this component's arguments.
        for (const issue of v.issues) {
            const argsOf = (s: string) => GLUSTER_ARGS_OF[s as keyof GlusterSettings] ?? [s];
            const args = issue.settings.flatMap(argsOf);
            const render = issue.render;
            problems.push(render ? problemBetween(args, (nameOf) => render((s) => argsOf(s).map(nameOf).join("/"))) : problem(args, issue.text));
        }
        warnings = v.warnings;
    }
    if (problems.length > 0) throw new InvalidArgsError("GlusterDisperseVolume", name, problems);
    return {
        settings,
        nodeCount,
        addresses: placement.addresses,
        instanceType,
        rootVolumeSizeGb,
        brickVolumeSizeGb,
        volumeName,
        brickPortFrom,
        brickPortTo,
        clientCidrs,
        warnings,
        backup: backup.backup,
        tags: args.tags ?? {},
    };
}

/** Settings (see `resolveGlusterSettings`) and what the wiring adds: the login user on the nodes. */
export function resolveGlusterArgs(name: string, args: GlusterDisperseVolumeArgs): ResolvedGlusterArgs {
    return { ...resolveGlusterSettings(name, args, args.subnetIds.length), sshUser: args.bastion.user ?? DEFAULT_SSH_USER };
}

/**
 * A GlusterFS dispersed volume (seed 000's RAID-5-like `gfs_v_r5`): N Debian 12 nodes at fixed
 * addresses across AZs, each with one encrypted EBS brick volume formatted XFS by the bootstrap;
 * glusterd and a bounded brick port range so the security group stays tight; the volume created
 * only if absent, `auth.allow` limited to the clients, and verified with every brick online. The
 * bootstrap is the plan the local lab tests, run over SSH through the bastion.
 */
export class GlusterDisperseVolume extends pulumi.ComponentResource {
    public readonly volumeName: string;
    /** Node addresses in brick order. */
    public readonly nodeAddresses: string[];
    /** `host:/volume` for mount, using the first node. */
    public readonly mountSource: string;
    /** The other nodes, for `backup-volfile-servers=` (so a mount works while the first node is down). */
    public readonly backupVolfileServers: string[];
    public readonly securityGroupId: pulumi.Output<string>;
    /** The bounded brick port range clients must reach (besides glusterd's 24007-24008). */
    public readonly brickPorts: { from: number; to: number };
    public readonly instanceIds: pulumi.Output<string>[];
    /** Who publishes this volume's node metrics (give it to `Observability.glusterVolumes`); one brick per node. */
    public readonly metrics: NodeMetricsSource;
    public readonly bootstrap: Record<string, command.remote.Command>;
    /** The commands after which the cluster serves its clients (the plan's `readyAfter`): what a client waits for. */
    public readonly ready: command.remote.Command[];
    /** The nodes as the operator tooling (scripts/ops) addresses them, in brick order. */
    public readonly nodes: ClusterNodeRef[];
    /** The bucket the nodes back up the volume's content into (`files/` prefix): for operators' restore tooling. */
    public readonly backupBucketName: pulumi.Output<string>;

    constructor(name: string, args: GlusterDisperseVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        const a = resolveGlusterArgs(name, args);
        const plan = glusterPlan(a.settings);
        super("owncloud-ha:storage:GlusterDisperseVolume", name, {}, opts);
        for (const w of a.warnings) void pulumi.log.warn(`GlusterDisperseVolume "${name}": ${w}`, this);
        const tags = (extra: Record<string, string>) => withTags(a.tags, { [TAG_TIER]: "gluster", ...extra });
        this.volumeName = a.volumeName;
        this.nodeAddresses = a.addresses;
        this.mountSource = `${a.addresses[0]}:/${a.volumeName}`;
        this.backupVolfileServers = a.addresses.slice(1);
        this.brickPorts = { from: a.brickPortFrom, to: a.brickPortTo };

        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description: `GlusterFS ${name}: glusterd and brick ports from clients and peers, SSH from the bastion`,
                tags: tags({ Name: `${name}-sg` }),
            },
            { parent: this },
        );
        this.securityGroupId = sg.id;
        const clientSgs = args.clientSecurityGroupIds ?? [];
        const clientSources: { key: string; ref?: pulumi.Input<string>; cidr?: string }[] =
            clientSgs.length > 0 ? clientSgs.map((ref, i) => ({ key: `client${i}`, ref })) : a.clientCidrs.map((cidr, i) => ({ key: `cidr${i}`, cidr }));
        const portRanges = [
            { id: "glusterd", from: GLUSTERD_PORTS.from, to: GLUSTERD_PORTS.to, description: "glusterd management" },
            { id: "bricks", from: a.brickPortFrom, to: a.brickPortTo, description: "GlusterFS bricks (bounded range)" },
        ];
        for (const range of portRanges) {
            for (const src of [...clientSources, { key: "peers", ref: sg.id as pulumi.Input<string> }]) {
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-in-${range.id}-${src.key}`,
                    {
                        securityGroupId: sg.id,
                        description: `${range.description} from ${src.key === "peers" ? "peers" : "clients"}`,
                        ipProtocol: "tcp",
                        fromPort: range.from,
                        toPort: range.to,
                        referencedSecurityGroupId: src.ref,
                        cidrIpv4: src.cidr,
                        tags: tags({}),
                    },
                    { parent: sg, dependsOn: src.key !== "peers" && src.ref !== undefined ? args.crossVpcDependsOn : undefined },
                );
            }
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-out-${range.id}`,
                {
                    securityGroupId: sg.id,
                    description: `${range.description} to peers`,
                    ipProtocol: "tcp",
                    fromPort: range.from,
                    toPort: range.to,
                    referencedSecurityGroupId: sg.id,
                    tags: tags({}),
                },
                { parent: sg },
            );
        }
        if (args.clientEgress ?? true) {
            // Clients mount through glusterd (volfiles) and then talk to every brick directly.
            const flows = [
                { id: "glusterd", protocol: "tcp" as const, from: GLUSTERD_PORTS.from, to: GLUSTERD_PORTS.to, description: "glusterd (volfiles)" },
                { id: "bricks", protocol: "tcp" as const, from: a.brickPortFrom, to: a.brickPortTo, description: "GlusterFS bricks" },
            ];
            clientEgressRules(name, clientSgs, sg.id, flows, a.tags, { parent: sg, dependsOn: args.crossVpcDependsOn });
        }
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-in-ssh-bastion`,
            {
                securityGroupId: sg.id,
                description: "SSH from the bastion",
                ipProtocol: "tcp",
                fromPort: 22,
                toPort: 22,
                referencedSecurityGroupId: args.bastion.securityGroupId,
                tags: tags({}),
            },
            { parent: sg, dependsOn: args.crossVpcDependsOn },
        );
        const egressRules = [443, 80].map(
            (port) =>
                new aws.vpc.SecurityGroupEgressRule(
                    `${name}-out-${port === 443 ? "https" : "http"}`,
                    { securityGroupId: sg.id, description: "Debian packages", ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", tags: tags({}) },
                    { parent: sg },
                ),
        );

        const backup = wireClusterBackup(name, "files", a.backup, args.kmsKeyId, tags({}), this);
        this.backupBucketName = backup.bucketName;
        const profile = createNodeRole(name, [], tags({}), this, backup.statements.apply((s) => [putNodeMetricsStatement(), ...s]));
        const nodes = createClusterNodes(
            name,
            {
                tier: "gluster",
                count: a.nodeCount,
                subnetIds: args.subnetIds,
                addresses: a.addresses,
                instanceType: a.instanceType,
                amiId: args.amiId,
                keyPairName: args.bastion.keyPairName,
                securityGroupIds: [sg.id],
                instanceProfileName: profile.name,
                rootVolumeSizeGb: a.rootVolumeSizeGb,
                dataVolumeSizeGb: a.brickVolumeSizeGb,
                kmsKeyId: args.kmsKeyId,
                tags: a.tags,
                dataVolumeTags: { [TAG_SNAPSHOT_POLICY]: name },
            },
            this,
        );
        createSnapshotPolicy(name, a.backup.snapshotRetentionCount, tags({}), this);
        this.instanceIds = nodes.map((n) => n.instance.id);
        this.nodes = nodeRefs(nodes);
        this.metrics = { cluster: name, nodes: nodes.map((n) => n.host), backupMaxAgeSeconds: a.backup.maxAgeSeconds };

        this.bootstrap = runPlan(
            name,
            {
                plan,
                hosts: planHosts(nodes, [...(args.egressDependsOn ?? []), ...egressRules, ...backup.ready], backup.vars),
                connection: (host) => connectionThrough(args.bastion, host),
                sshUser: a.sshUser,
                secrets: {},
            },
            this,
        );
        this.ready = (plan.readyAfter ?? []).map((id) => this.bootstrap[id]);

        this.registerOutputs({
            mountSource: this.mountSource,
            backupVolfileServers: this.backupVolfileServers,
            volumeName: this.volumeName,
            securityGroupId: this.securityGroupId,
            backupBucketName: this.backupBucketName,
        });
    }
}
