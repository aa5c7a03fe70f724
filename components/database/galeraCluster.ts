import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BastionAccess, connectionThrough, DEFAULT_SSH_USER } from "../access/bastion";
import {
    DEFAULT_GALERA_APP_DATABASE,
    DEFAULT_GALERA_APP_USER,
    DEFAULT_GALERA_SYNC_TIMEOUT_S,
    GALERA_DATADIR,
    GALERA_SECRETS,
    galeraNodeCountProblem,
    galeraPlan,
    withGaleraDatadirs,
} from "./plan";
import { BootstrapPlan } from "../shared/bootstrapPlan";
import { cidrProblem, mariadbHostPattern } from "../shared/cidr";
import { ClusterNode, ClusterNodeRef, ClusterWiringArgs, createClusterNodes, createNodeRole, nodeRefs, planHosts, resolveNodeAddresses } from "../shared/clusterNodes";
import { TAG_SNAPSHOT_POLICY, TAG_TIER, withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem } from "../shared/errors";
import { runPlan } from "../shared/remoteBootstrap";
import { isInstanceType } from "../shared/ami";
import { jsonSecret } from "../shared/secrets";
import { GALERA_PORTS } from "./ports";
import { ClientFlow, ClientFlowArgs, clientEgressRules } from "../shared/flows";
import { NodeMetricsSource, putNodeMetricsStatement } from "../shared/nodeMetrics";
import { ClusterBackupArgs, ResolvedClusterBackup, resolveClusterBackup, wireClusterBackup } from "../backup/backupBucket";
import { DEFAULT_BINLOG_INTERVAL_S } from "../shared/backupPlan";
import { createSnapshotPolicy } from "../shared/volumeSnapshots";

export { GALERA_PORTS };
export { GALERA_DATADIR };

/** What a client of the cluster opens: SQL (through its HAProxy) and the three health answers HAProxy polls. */
export const GALERA_CLIENT_FLOWS: ClientFlow[] = [
    { id: "mysql", protocol: "tcp", from: GALERA_PORTS.mysql, to: GALERA_PORTS.mysql, description: "SQL to Galera (through the local HAProxy)" },
    { id: "health", protocol: "tcp", from: GALERA_PORTS.health, to: GALERA_PORTS.health, description: "HAProxy health checks of Galera" },
    { id: "health-donor", protocol: "tcp", from: GALERA_PORTS.healthDonor, to: GALERA_PORTS.healthDonor, description: "HAProxy health checks of Galera, Donor accepted" },
    { id: "writer", protocol: "tcp", from: GALERA_PORTS.writer, to: GALERA_PORTS.writer, description: "HAProxy designated-writer checks of Galera" },
];

/**
 * What the cluster is: counts, sizes, addresses, names and schedules. Plain values, checked by `resolveGaleraClusterSettings` before anything exists (a stack checks its config with it before creating anything).
 */
export interface GaleraClusterSettings extends ClusterBackupArgs {
    /**
     * CIDRs of `subnetIds`, same order. Nodes get fixed addresses derived from them (10th, 11th…
     * address of their subnet): the cluster address names them, and a replaced node must come back
     * at the address its peers know. Give either this or `privateIps`.
     */
    subnetCidrs?: string[];
    /** Explicit fixed addresses, one per node (node i lives in subnet i mod n). Overrides `subnetCidrs`. */
    privateIps?: string[];
    /** Number of nodes: odd and at least 3 so a partition always leaves a majority. Default 3. */
    nodeCount?: number;
    /** EC2 instance type. Default `t3.small` (MariaDB with Galera needs more than 1 GiB). */
    instanceType?: string;
    /** AMI. Default: the newest official Debian 12 AMI for the instance type's architecture. */
    amiId?: string;
    /** Size of each node's encrypted gp3 data volume (the datadir) in GiB. Default 20. */
    dataVolumeSizeGb?: number;
    /** Size of the encrypted gp3 root volume in GiB. Default 10. */
    rootVolumeSizeGb?: number;
    /** `wsrep_cluster_name`. Default `owncloud`. */
    clusterName?: string;
    /** Application database and user. Default `owncloud` / `owncloud`. */
    appDatabase?: string;
    appUser?: string;
    /**
     * CIDRs the application connects from. Used for the database user's allowed hosts (always
     * needed) and, only when no client security group is given, for the 3306 and 9200-9202 rules.
     */
    clientCidrs: string[];
    /** Seconds a joining node may take to reach Synced (an SST of a large dataset is slow). Default `DEFAULT_GALERA_SYNC_TIMEOUT_S` (900). */
    syncTimeoutSeconds?: number;
    /** Days Secrets Manager keeps the deleted credentials recoverable, 0 or 7–30. Default 7. */
    secretRecoveryWindowDays?: number;
    /**
     * Seconds between binary-log shipments to the backup bucket, 10–3600: the most a point-in-time
     * restore can lose. Default `DEFAULT_BINLOG_INTERVAL_S` (60).
     */
    binlogIntervalSeconds?: number;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/** Settings plus wiring: where the cluster lives and how it is reached (IDs, the bastion, dependencies). */
export interface GaleraClusterArgs extends GaleraClusterSettings, ClusterWiringArgs, ClientFlowArgs {
    /** VPC of the cluster. */
    vpcId: pulumi.Input<string>;
    /** Private subnets, one per AZ; nodes are spread over them round-robin (3 nodes in 3 AZs). */
    subnetIds: pulumi.Input<string>[];
    /** Security groups that may use the database (SQL) and its health answers, e.g. the web tier's. */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /** How the bootstrap reaches the nodes: the bastion's address, SG, key pair and private key. */
    bastion: BastionAccess;
    /** KMS key for the volumes and the secret. Default: AWS-managed keys. */
    kmsKeyId?: pulumi.Input<string>;
}

export interface ResolvedGaleraClusterArgs {
    nodeCount: number;
    addresses: string[];
    instanceType: string;
    dataVolumeSizeGb: number;
    rootVolumeSizeGb: number;
    clusterName: string;
    appDatabase: string;
    appUser: string;
    appHosts: string;
    clientCidrs: string[];
    syncTimeoutSeconds: number;
    secretRecoveryWindowDays: number;
    sshUser: string;
    /** The `Cluster` dimension of the nodes' CloudWatch metrics: the component's name. */
    metricsCluster: string;
    /** Backups to S3 and EBS snapshots of the data volumes. */
    backup: ResolvedClusterBackup;
    tags: Record<string, string>;
}

/** Defaults of the settings: the one home of each (the stack's config schema takes them from here). */
export const GALERA_CLUSTER_DEFAULTS = {
    nodeCount: 3,
    instanceType: "t3.small",
    dataVolumeSizeGb: 20,
    rootVolumeSizeGb: 10,
    clusterName: "owncloud",
    appDatabase: DEFAULT_GALERA_APP_DATABASE,
    appUser: DEFAULT_GALERA_APP_USER,
    syncTimeoutSeconds: DEFAULT_GALERA_SYNC_TIMEOUT_S,
    secretRecoveryWindowDays: 7,
    binlogIntervalSeconds: DEFAULT_BINLOG_INTERVAL_S,
} as const;

export type ResolvedGaleraClusterSettings = Omit<ResolvedGaleraClusterArgs, "sshUser">;

/**
 * Checks the settings alone (every problem at once) and fills in the defaults. `subnetCount`: the
 * private subnets (one per AZ) the nodes will be spread over, known before any subnet exists.
 */
export function resolveGaleraClusterSettings(name: string, args: GaleraClusterSettings, subnetCount: number): ResolvedGaleraClusterSettings {
    const d = GALERA_CLUSTER_DEFAULTS;
    const problems: ArgProblem[] = [];
    const nodeCount = args.nodeCount ?? d.nodeCount;
    const quorum = galeraNodeCountProblem(nodeCount);
    if (quorum) problems.push(problem("nodeCount", quorum));
    const validCount = Number.isInteger(nodeCount) && nodeCount > 0 ? nodeCount : 3;
    if (subnetCount > 0 && subnetCount < Math.min(validCount, 3)) {
        problems.push(
            problem("subnetIds", `${subnetCount} subnet(s) for ${validCount} nodes puts a majority in one AZ, so losing that AZ stops the ` +
                "cluster; give one private subnet in each of 3 AZs",
        ));
    }
    const placement = resolveNodeAddresses(validCount, subnetCount, args.subnetCidrs, args.privateIps);
    problems.push(...placement.problems);
    const clientCidrs = args.clientCidrs ?? [];
    if (clientCidrs.length === 0) problems.push(problem("clientCidrs", "give the CIDR the application connects from (e.g. the web VPC's)"));
    for (const c of clientCidrs) {
        const p = cidrProblem(c);
        if (p) problems.push(problem("clientCidrs", `${p}`));
        else if (c.endsWith("/0")) problems.push(problem("clientCidrs", `${c} would let every address try the database; give the web tier's CIDR`));
    }
    if (clientCidrs.length > 1) {
        problems.push(problem("clientCidrs", "one CIDR (it becomes the database user's host); use a range that covers every client"));
    }
    const instanceType = args.instanceType ?? d.instanceType;
    if (!isInstanceType(instanceType)) problems.push(problem("instanceType", `"${instanceType}" is not an EC2 instance type like t3.small`));
    const dataVolumeSizeGb = args.dataVolumeSizeGb ?? d.dataVolumeSizeGb;
    if (!Number.isInteger(dataVolumeSizeGb) || dataVolumeSizeGb < 1 || dataVolumeSizeGb > 16384) {
        problems.push(problem("dataVolumeSizeGb", `${dataVolumeSizeGb} is outside gp3's 1–16384 GiB`));
    }
    const rootVolumeSizeGb = args.rootVolumeSizeGb ?? d.rootVolumeSizeGb;
    if (!Number.isInteger(rootVolumeSizeGb) || rootVolumeSizeGb < 8) problems.push(problem("rootVolumeSizeGb", `${rootVolumeSizeGb} is below the Debian AMI's 8 GiB`));
    const clusterName = args.clusterName ?? d.clusterName;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(clusterName)) problems.push(problem("clusterName", `"${clusterName}" must be 1–64 letters, digits, _ or -`));
    const appDatabase = args.appDatabase ?? d.appDatabase;
    const appUser = args.appUser ?? d.appUser;
    for (const [k, v] of [["appDatabase", appDatabase], ["appUser", appUser]]) {
        if (!/^[A-Za-z0-9_]{1,32}$/.test(v)) problems.push(problem(k, `"${v}" must be 1–32 letters, digits or _`));
    }
    const syncTimeoutSeconds = args.syncTimeoutSeconds ?? d.syncTimeoutSeconds;
    if (!Number.isInteger(syncTimeoutSeconds) || syncTimeoutSeconds < 30) problems.push(problem("syncTimeoutSeconds", `${syncTimeoutSeconds} is below 30`));
    const secretRecoveryWindowDays = args.secretRecoveryWindowDays ?? d.secretRecoveryWindowDays;
    if (!(secretRecoveryWindowDays === 0 || (secretRecoveryWindowDays >= 7 && secretRecoveryWindowDays <= 30))) {
        problems.push(problem("secretRecoveryWindowDays", `${secretRecoveryWindowDays} must be 0 or 7–30 (Secrets Manager's limits)`));
    }
    const backup = resolveClusterBackup(args, "galera", { binlogIntervalSeconds: args.binlogIntervalSeconds ?? d.binlogIntervalSeconds });
    problems.push(...backup.problems);
    if (problems.length > 0) throw new InvalidArgsError("GaleraCluster", name, problems);
    return {
        nodeCount,
        addresses: placement.addresses,
        instanceType,
        dataVolumeSizeGb,
        rootVolumeSizeGb,
        clusterName,
        appDatabase,
        appUser,
        appHosts: mariadbHostPattern(clientCidrs[0]),
        clientCidrs,
        syncTimeoutSeconds,
        secretRecoveryWindowDays,
        metricsCluster: name,
        backup: backup.backup,
        tags: args.tags ?? {},
    };
}

/** Settings (see `resolveGaleraClusterSettings`) and what the wiring adds: the login user on the nodes. */
export function resolveGaleraClusterArgs(name: string, args: GaleraClusterArgs): ResolvedGaleraClusterArgs {
    return { ...resolveGaleraClusterSettings(name, args, args.subnetIds.length), sshUser: args.bastion.user ?? DEFAULT_SSH_USER };
}

/**
 * The cloud plan: mount each node's data volume as the datadir before MariaDB is installed, then the
 * very plan the lab proves (install/configure → bootstrap the first node → users → join one at a
 * time → verify). Pure: tests check its ordering without any cloud.
 */
export function galeraCloudPlan(a: ResolvedGaleraClusterArgs): BootstrapPlan {
    const hosts = a.addresses.map((address, i) => ({ name: `node${i + 1}`, address }));
    const plan = galeraPlan({
        clusterName: a.clusterName,
        nodes: hosts,
        appUser: a.appUser,
        appDatabase: a.appDatabase,
        appHosts: a.appHosts,
        syncTimeoutSeconds: a.syncTimeoutSeconds,
        metricsCluster: a.metricsCluster,
        backup: a.backup.settings,
    });
    // Each node's volume by its EBS volume ID, filled in per host by the runner.
    return withGaleraDatadirs(plan, () => "{{dataDevice}}");
}

/**
 * A MariaDB 10.11 Galera cluster (seed 000's database, done properly): an odd number of Debian 12
 * nodes spread over AZs at fixed private addresses, each with an encrypted data volume for the
 * datadir; root, application, SST and health-check passwords generated here and kept in one
 * Secrets Manager secret (and only as Pulumi secrets); bootstrapped over SSH through the bastion
 * by the same plan the local lab tests.
 *
 * Clients connect to the nodes in `writerOrder`: the first is the single writer, the others are
 * HAProxy `backup` servers (ownCloud deadlocks when it writes to several nodes).
 */
export class GaleraCluster extends pulumi.ComponentResource {
    /** Node addresses in writer order (plain strings: fixed by design). */
    public readonly nodeAddresses: string[];
    /** The order every client's HAProxy must list the nodes in: first active, the rest backup. */
    public readonly writerOrder: string[];
    public readonly port: number = GALERA_PORTS.mysql;
    public readonly healthCheckPort: number = GALERA_PORTS.health;
    /** Admin secret (operators only): `rootPassword`, `appPassword`, `sstPassword`, `healthPassword`, `appUser`, `appDatabase`. */
    public readonly secretArn: pulumi.Output<string>;
    /** The application's secret, all a client needs: `appUser`, `appPassword`, `appDatabase`. Give this to the web tier. */
    public readonly appSecretArn: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    public readonly instanceIds: pulumi.Output<string>[];
    /** Who publishes this cluster's node metrics (give it to `Observability.galeraClusters`). */
    public readonly metrics: NodeMetricsSource;
    /** The bucket the nodes back up into (`galera/` prefix): for operators' restore tooling. */
    public readonly backupBucketName: pulumi.Output<string>;
    /** The bootstrap commands by plan step id (e.g. to make other resources wait for `galera-verify-node1`). */
    public readonly bootstrap: Record<string, command.remote.Command>;
    /** The commands after which the cluster serves its clients (the plan's `readyAfter`): what a client waits for. */
    public readonly ready: command.remote.Command[];
    /** The nodes as the operator tooling (scripts/ops) addresses them, in writer order; the first bootstraps a fresh cluster. */
    public readonly nodes: ClusterNodeRef[];
    /** Seconds a starting node may take to reach Synced (what the plan's start steps wait). */
    public readonly syncTimeoutSeconds: number;

    constructor(name: string, args: GaleraClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const a = resolveGaleraClusterArgs(name, args);
        const plan = galeraCloudPlan(a);
        super("owncloud-ha:database:GaleraCluster", name, {}, opts);
        const tags = (extra: Record<string, string>) => withTags(a.tags, { [TAG_TIER]: "galera", ...extra });
        this.nodeAddresses = a.addresses;
        this.writerOrder = a.addresses;

        const password = (role: string) =>
            new random.RandomPassword(`${name}-${role}-password`, { length: 40, special: false }, { parent: this }).result;
        const passwords = {
            [GALERA_SECRETS.root]: password("root"),
            [GALERA_SECRETS.app]: password("app"),
            [GALERA_SECRETS.sst]: password("sst"),
            [GALERA_SECRETS.health]: password("health"),
        };
        const secret = jsonSecret(
            `${name}-credentials`,
            {
                namePrefix: `owncloud-ha/${name}/galera-`,
                description: `Credentials of the ${name} Galera cluster`,
                kmsKeyId: args.kmsKeyId,
                recoveryWindowInDays: a.secretRecoveryWindowDays,
                tags: tags({}),
            },
            {
                rootPassword: passwords[GALERA_SECRETS.root],
                appPassword: passwords[GALERA_SECRETS.app],
                sstPassword: passwords[GALERA_SECRETS.sst],
                healthPassword: passwords[GALERA_SECRETS.health],
                appUser: a.appUser,
                appDatabase: a.appDatabase,
            },
            this,
        );
        this.secretArn = secret.arn;
        // What the application needs and nothing else: web nodes read this one (never the root,
        // SST or health passwords). Keys are those the web node's init script reads.
        const appSecret = jsonSecret(
            `${name}-app-credentials`,
            {
                namePrefix: `owncloud-ha/${name}/galera-app-`,
                description: `Application database credentials of the ${name} Galera cluster`,
                kmsKeyId: args.kmsKeyId,
                recoveryWindowInDays: a.secretRecoveryWindowDays,
                tags: tags({}),
            },
            { appUser: a.appUser, appPassword: passwords[GALERA_SECRETS.app], appDatabase: a.appDatabase },
            this,
        );
        this.appSecretArn = appSecret.arn;

        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description: `Galera ${name}: SQL and health from clients, replication within the cluster, SSH from the bastion`,
                tags: tags({ Name: `${name}-sg` }),
            },
            { parent: this },
        );
        this.securityGroupId = sg.id;
        const clientSgs = args.clientSecurityGroupIds ?? [];
        const rules: { id: string; description: string; protocol: string; port: number; from: "clients" | "self" | "bastion" }[] = [
            { id: "mysql", description: "SQL from clients", protocol: "tcp", port: GALERA_PORTS.mysql, from: "clients" },
            { id: "health", description: "Galera health check (HTTP) from clients' HAProxy", protocol: "tcp", port: GALERA_PORTS.health, from: "clients" },
            { id: "health-donor", description: "Galera health check, Donor accepted (HTTP) from clients' HAProxy", protocol: "tcp", port: GALERA_PORTS.healthDonor, from: "clients" },
            { id: "writer", description: "Galera designated-writer check (HTTP) from clients' HAProxy", protocol: "tcp", port: GALERA_PORTS.writer, from: "clients" },
            { id: "repl-tcp", description: "Galera replication", protocol: "tcp", port: GALERA_PORTS.replication, from: "self" },
            { id: "repl-udp", description: "Galera replication (multicast-free UDP)", protocol: "udp", port: GALERA_PORTS.replication, from: "self" },
            { id: "ist", description: "Galera incremental state transfer", protocol: "tcp", port: GALERA_PORTS.ist, from: "self" },
            { id: "sst", description: "Galera state snapshot transfer (mariabackup)", protocol: "tcp", port: GALERA_PORTS.sst, from: "self" },
            { id: "ssh", description: "SSH from the bastion", protocol: "tcp", port: 22, from: "bastion" },
        ];
        for (const r of rules) {
            const sources: { key: string; ref?: pulumi.Input<string>; cidr?: string }[] =
                r.from === "self"
                    ? [{ key: "self", ref: sg.id }]
                    : r.from === "bastion"
                      ? [{ key: "bastion", ref: args.bastion.securityGroupId }]
                      : clientSgs.length > 0
                        ? clientSgs.map((ref, i) => ({ key: `client${i}`, ref }))
                        : a.clientCidrs.map((cidr, i) => ({ key: `cidr${i}`, cidr }));
            for (const src of sources) {
                const crossVpc = r.from !== "self" && src.ref !== undefined;
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-in-${r.id}-${src.key}`,
                    {
                        securityGroupId: sg.id,
                        description: r.description,
                        ipProtocol: r.protocol,
                        fromPort: r.port,
                        toPort: r.port,
                        referencedSecurityGroupId: src.ref,
                        cidrIpv4: src.cidr,
                        tags: tags({}),
                    },
                    { parent: sg, dependsOn: crossVpc ? args.crossVpcDependsOn : undefined },
                );
            }
        }
        // Egress: the cluster's own ports to its members, and HTTP(S) for Debian packages (via NAT).
        const egress = [
            { id: "repl-tcp", protocol: "tcp", port: GALERA_PORTS.replication, self: true },
            { id: "repl-udp", protocol: "udp", port: GALERA_PORTS.replication, self: true },
            { id: "ist", protocol: "tcp", port: GALERA_PORTS.ist, self: true },
            { id: "sst", protocol: "tcp", port: GALERA_PORTS.sst, self: true },
            { id: "https", protocol: "tcp", port: 443, self: false },
            { id: "http", protocol: "tcp", port: 80, self: false },
        ];
        const egressRules: pulumi.Resource[] = [];
        for (const e of egress) {
            const rule = new aws.vpc.SecurityGroupEgressRule(
                `${name}-out-${e.id}`,
                {
                    securityGroupId: sg.id,
                    description: e.self ? "Galera cluster traffic to members" : "Debian packages",
                    ipProtocol: e.protocol,
                    fromPort: e.port,
                    toPort: e.port,
                    referencedSecurityGroupId: e.self ? sg.id : undefined,
                    cidrIpv4: e.self ? undefined : "0.0.0.0/0",
                    tags: tags({}),
                },
                { parent: sg },
            );
            if (!e.self) egressRules.push(rule);
        }
        if (args.clientEgress ?? true) {
            clientEgressRules(name, clientSgs, sg.id, GALERA_CLIENT_FLOWS, a.tags, { parent: sg, dependsOn: args.crossVpcDependsOn });
        }

        const backup = wireClusterBackup(name, "galera", a.backup, args.kmsKeyId, tags({}), this);
        this.backupBucketName = backup.bucketName;
        const profile = createNodeRole(name, [secret.arn], tags({}), this, backup.statements.apply((s) => [putNodeMetricsStatement(), ...s]));
        const nodes: ClusterNode[] = createClusterNodes(
            name,
            {
                tier: "galera",
                count: a.nodeCount,
                subnetIds: args.subnetIds,
                addresses: a.addresses,
                instanceType: a.instanceType,
                amiId: args.amiId,
                keyPairName: args.bastion.keyPairName,
                securityGroupIds: [sg.id],
                instanceProfileName: profile.name,
                rootVolumeSizeGb: a.rootVolumeSizeGb,
                dataVolumeSizeGb: a.dataVolumeSizeGb,
                kmsKeyId: args.kmsKeyId,
                tags: a.tags,
                dataVolumeTags: { [TAG_SNAPSHOT_POLICY]: name },
            },
            this,
        );
        createSnapshotPolicy(name, a.backup.snapshotRetentionCount, tags({}), this);
        this.instanceIds = nodes.map((n) => n.instance.id);
        this.nodes = nodeRefs(nodes);
        this.syncTimeoutSeconds = a.syncTimeoutSeconds;
        this.metrics = { cluster: a.metricsCluster, nodes: nodes.map((n) => n.host), backupMaxAgeSeconds: a.backup.maxAgeSeconds };

        this.bootstrap = runPlan(
            name,
            {
                plan,
                hosts: planHosts(nodes, [...(args.egressDependsOn ?? []), ...egressRules, ...backup.ready], backup.vars),
                connection: (host) => connectionThrough(args.bastion, host),
                sshUser: a.sshUser,
                secrets: passwords,
            },
            this,
        );
        this.ready = (plan.readyAfter ?? []).map((id) => this.bootstrap[id]);

        this.registerOutputs({
            nodeAddresses: this.nodeAddresses,
            writerOrder: this.writerOrder,
            secretArn: this.secretArn,
            appSecretArn: this.appSecretArn,
            securityGroupId: this.securityGroupId,
            backupBucketName: this.backupBucketName,
        });
    }
}
