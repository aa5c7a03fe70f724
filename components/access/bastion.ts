import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { cidrProblem, prefixLength } from "../shared/cidr";
import { TAG_PUBLIC_EXEMPTION, TAG_TIER, withTags } from "../shared/conventions";
import { debian12Ami, instanceArchitecture, isInstanceType } from "../shared/ami";
import { createNodeRole } from "../shared/clusterNodes";
import { ArgProblem, InvalidArgsError, problem } from "../shared/errors";
import { SCRIPTS_DIR } from "../shared/remoteBootstrap";

/** Login user of Debian's cloud images, on the bastion and the nodes alike. */
export const DEFAULT_SSH_USER = "admin";

/**
 * What a cluster component needs to reach its private nodes over SSH through a bastion. Plain
 * inputs, so any jump host works; `Bastion.access()` returns this for ours.
 */
export interface BastionAccess {
    /**
     * Address of the jump host as reachable from where `pulumi up` runs. Every bootstrap command
     * carries it in its connection, and a changed connection re-runs the command: give an address
     * that survives replacing the jump host (our Bastion's Elastic IP).
     */
    host: pulumi.Input<string>;
    /** Its security group: nodes admit SSH (22) from this group only. */
    securityGroupId: pulumi.Input<string>;
    /** EC2 key pair the nodes are launched with; the same key opens the jump host. */
    keyPairName: pulumi.Input<string>;
    /** OpenSSH private key of that key pair (keep it a Pulumi secret). */
    privateKey: pulumi.Input<string>;
    /** Login user on the jump host and the nodes. Default `admin` (Debian). */
    user?: string;
    /** Port of the jump host's SSH as dialled from where `pulumi up` runs. Default 22 (a tunnel's local port otherwise). */
    port?: number;
}

/** The `@pulumi/command` connection to a private host through the bastion described by `access`. */
export function connectionThrough(access: BastionAccess, host: pulumi.Input<string>): command.types.input.remote.ConnectionArgs {
    const user = access.user ?? DEFAULT_SSH_USER;
    return {
        host,
        user,
        privateKey: access.privateKey,
        // Fresh instances take a while to start sshd: retry dialling instead of failing the step.
        dialErrorLimit: 60,
        proxy: { host: access.host, ...(access.port !== undefined ? { port: access.port } : {}), user, privateKey: access.privateKey, dialErrorLimit: 60 },
    };
}

/**
 * What the bastion is: who may reach it, where it may go, how it is reached, its size. Plain values, checked by `resolveBastionSettings` before anything exists.
 */
export interface BastionSettings {
    /**
     * IPv4 CIDRs allowed to SSH (port 22) into the bastion, e.g. your office's egress range.
     * Required, at least one; `0.0.0.0/0` (or any /0) is refused because it opens SSH to the internet.
     */
    adminCidrs: string[];
    /**
     * CIDRs of the private hosts the bastion may open SSH connections to (its only egress besides
     * HTTP/HTTPS for packages and the SSM agent), e.g. the CIDRs of every VPC it serves. At least one.
     */
    sshTargetCidrs: string[];
    /**
     * How the operator (and `@pulumi/command`) reaches the bastion:
     * - `publicIp` (default): a public IPv4 in a public subnet, SSH from `adminCidrs` only;
     * - `instanceConnectEndpoint`: no public address. The bastion sits in the given (private) subnet
     *   behind an EC2 Instance Connect Endpoint (free) that only admits IAM principals allowed
     *   `ec2-instance-connect:OpenTunnel`; run `aws ec2-instance-connect open-tunnel --instance-id
     *   <bastionInstanceId> --remote-port 22 --local-port <tunnelPort>` while `pulumi up` bootstraps,
     *   because `@pulumi/command` dials a host and port (`127.0.0.1:tunnelPort`).
     */
    access?: BastionAccessMode;
    /** Local port of the Instance Connect tunnel (`access: instanceConnectEndpoint`). Default 2222. */
    tunnelPort?: number;
    /** EC2 instance type. Default `t4g.nano` (the smallest: a jump host forwards SSH). Graviton types (`t4g.*`) get the arm64 Debian AMI. */
    instanceType?: string;
    /**
     * AMI ID to launch. Default: the newest official Debian 12 AMI (owner 136693071363) for the
     * instance type's architecture, looked up at deployment.
     */
    amiId?: string;
    /** Size of the encrypted gp3 root volume in GiB. Default 8 (the Debian AMI's size); at least 8. */
    rootVolumeSizeGb?: number;
    /** Login user of the AMI. Default `admin` (Debian's cloud images). */
    sshUser?: string;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/** Settings plus wiring: the VPC, subnet and internet gateway it is placed with. */
export interface BastionArgs extends BastionSettings {
    /** VPC the bastion lives in. */
    vpcId: pulumi.Input<string>;
    /** A public subnet of that VPC (one with a route to an internet gateway). */
    subnetId: pulumi.Input<string>;
    /**
     * The VPC's internet gateway (or whatever attaches one): the Elastic IP is associated only once it
     * exists, since EC2 refuses an address for an instance in a VPC without one. Default: none.
     */
    internetGateway?: pulumi.Resource;
}

export type BastionAccessMode = "publicIp" | "instanceConnectEndpoint";
export const BASTION_ACCESS_MODES: readonly BastionAccessMode[] = ["publicIp", "instanceConnectEndpoint"];

export interface ResolvedBastionArgs {
    access: BastionAccessMode;
    tunnelPort: number;
    adminCidrs: string[];
    sshTargetCidrs: string[];
    instanceType: string;
    amiId?: string;
    rootVolumeSizeGb: number;
    sshUser: string;
    architecture: "x86_64" | "arm64";
    tags: Record<string, string>;
}

function cidrListProblems(key: string, cidrs: string[] | undefined, refuseWorld: boolean): ArgProblem[] {
    if (!cidrs || cidrs.length === 0) {
        return [problem(key, "give at least one IPv4 CIDR")];
    }
    const problems: ArgProblem[] = [];
    for (const c of cidrs) {
        const p = cidrProblem(c);
        if (p) {
            problems.push(problem(key, p));
        } else if (refuseWorld && prefixLength(c) === 0) {
            problems.push(problem(key, `${c} would open SSH to the whole internet (FSBP EC2.13); use your own egress range, e.g. 198.51.100.7/32`));
        }
    }
    return problems;
}

/** Defaults of the settings: the one home of each (the stack's config schema takes them from here). */
export const BASTION_DEFAULTS = {
    access: "publicIp",
    tunnelPort: 2222,
    instanceType: "t4g.nano",
    rootVolumeSizeGb: 8,
    sshUser: DEFAULT_SSH_USER,
} as const satisfies Partial<BastionSettings>;

/** Checks the settings (every problem at once) and fills in the defaults. The wiring (VPC, subnet, gateway) adds no rule. */
export function resolveBastionSettings(name: string, args: BastionSettings): ResolvedBastionArgs {
    const d = BASTION_DEFAULTS;
    const problems = [
        ...cidrListProblems("adminCidrs", args.adminCidrs, true),
        ...cidrListProblems("sshTargetCidrs", args.sshTargetCidrs, true),
    ];
    const access: BastionAccessMode = args.access ?? d.access;
    if (!BASTION_ACCESS_MODES.includes(access)) problems.push(problem("access", `"${access}" is not one of ${BASTION_ACCESS_MODES.join(", ")}`));
    const tunnelPort = args.tunnelPort ?? d.tunnelPort;
    if (!Number.isInteger(tunnelPort) || tunnelPort < 1024 || tunnelPort > 65535) problems.push(problem("tunnelPort", `${tunnelPort} is not a local port from 1024 to 65535`));
    const instanceType = args.instanceType ?? d.instanceType;
    if (!isInstanceType(instanceType)) {
        problems.push(problem("instanceType", `"${instanceType}" is not an EC2 instance type like t3.micro`));
    }
    const rootVolumeSizeGb = args.rootVolumeSizeGb ?? d.rootVolumeSizeGb;
    if (!Number.isInteger(rootVolumeSizeGb) || rootVolumeSizeGb < 8) {
        problems.push(problem("rootVolumeSizeGb", `${rootVolumeSizeGb} is smaller than the Debian AMI's 8 GiB; use 8 or more`));
    }
    if (args.amiId !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(args.amiId)) {
        problems.push(problem("amiId", `"${args.amiId}" is not an AMI ID like ami-0123456789abcdef0; leave it unset to use the newest Debian 12 AMI`));
    }
    if (problems.length > 0) {
        throw new InvalidArgsError("Bastion", name, problems);
    }
    return {
        access,
        tunnelPort,
        adminCidrs: [...args.adminCidrs],
        sshTargetCidrs: [...args.sshTargetCidrs],
        instanceType,
        amiId: args.amiId,
        rootVolumeSizeGb,
        sshUser: args.sshUser ?? d.sshUser,
        architecture: instanceArchitecture(instanceType),
        tags: args.tags ?? {},
    };
}

/** The bastion's arguments: its settings decide everything checked here. */
export function resolveBastionArgs(name: string, args: BastionArgs): ResolvedBastionArgs {
    return resolveBastionSettings(name, args);
}

/**
 * The one host with a public IP: an SSH jump host for the admin CIDRs, through which
 * `@pulumi/command` reaches the private cluster nodes. Its key pair is generated here (ed25519);
 * the private key only ever exists as a Pulumi secret. It is reached at an Elastic IP it owns, so
 * a replaced bastion keeps its address. SSM Session Manager works too (instance profile with
 * AmazonSSMManagedInstanceCore, agent installed at first boot).
 */
export class Bastion extends pulumi.ComponentResource {
    public readonly instanceId: pulumi.Output<string>;
    /** The bastion's Elastic IP: stays the same when the instance is replaced. */
    public readonly publicIp: pulumi.Output<string>;
    public readonly privateIp: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    /** Name of the EC2 key pair; cluster components can launch their nodes with it. */
    public readonly keyPairName: pulumi.Output<string>;
    /** OpenSSH private key of the key pair. Secret. */
    public readonly privateKeyOpenssh: pulumi.Output<string>;
    public readonly sshUser: string;
    /** How `@pulumi/command` dials the bastion: its public IP, or the local end of an Instance Connect tunnel. */
    public readonly accessMode: BastionAccessMode;
    private readonly tunnelPort: number;

    constructor(name: string, args: BastionArgs, opts?: pulumi.ComponentResourceOptions) {
        const a = resolveBastionArgs(name, args);
        super("owncloud-ha:access:Bastion", name, {}, opts);
        const tags = (extra: Record<string, string>) => withTags(a.tags, { [TAG_TIER]: "bastion", ...extra });

        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ED25519" }, { parent: this });
        const keyPair = new aws.ec2.KeyPair(
            `${name}-keypair`,
            { keyNamePrefix: `${name}-`, publicKey: key.publicKeyOpenssh, tags: tags({}) },
            { parent: this },
        );
        this.keyPairName = keyPair.keyName;
        this.privateKeyOpenssh = pulumi.secret(key.privateKeyOpenssh);
        this.sshUser = a.sshUser;
        this.accessMode = a.access;
        this.tunnelPort = a.tunnelPort;

        const sg = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.vpcId,
                description: "Bastion: SSH in from admin CIDRs only; SSH out to private hosts, HTTP(S) out for packages",
                // Behind an Instance Connect Endpoint the endpoint's group is the only source (added below).
                ingress: a.access === "publicIp" ? [{ description: "SSH from admin CIDRs", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: a.adminCidrs }] : [],
                egress: [
                    { description: "SSH to private hosts", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: a.sshTargetCidrs },
                    { description: "HTTPS for packages and the SSM agent", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
                    { description: "HTTP for Debian package mirrors", protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] },
                ],
                tags: tags({ Name: `${name}-sg` }),
            },
            { parent: this },
        );
        this.securityGroupId = sg.id;

        if (a.access === "instanceConnectEndpoint") {
            const eiceSg = new aws.ec2.SecurityGroup(
                `${name}-eice-sg`,
                {
                    vpcId: args.vpcId,
                    description: "EC2 Instance Connect Endpoint: SSH to the bastion only",
                    egress: [{ description: "SSH to the bastion", protocol: "tcp", fromPort: 22, toPort: 22, securityGroups: [sg.id] }],
                    tags: tags({ Name: `${name}-eice-sg` }),
                },
                { parent: this },
            );
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-ssh-from-eice`,
                { securityGroupId: sg.id, referencedSecurityGroupId: eiceSg.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, description: "SSH through the Instance Connect Endpoint", tags: tags({}) },
                { parent: sg },
            );
            new aws.ec2transitgateway.InstanceConnectEndpoint(
                `${name}-eice`,
                { subnetId: args.subnetId, securityGroupIds: [eiceSg.id], preserveClientIp: false, tags: tags({ Name: `${name}-eice` }) },
                { parent: this },
            );
        }

        // The one host that installs the SSM agent (scripts/node/bastion/user-data.sh), so the one with the policy.
        const profile = createNodeRole(name, [], tags({}), this, [], { sessionManager: true });

        const ami = a.amiId ?? debian12Ami(a.architecture, { parent: this });
        const instance = new aws.ec2.Instance(
            `${name}-instance`,
            {
                ami,
                instanceType: a.instanceType,
                subnetId: args.subnetId,
                vpcSecurityGroupIds: [sg.id],
                keyName: keyPair.keyName,
                iamInstanceProfile: profile.name,
                // Explicit: the subnet does not auto-assign public IPs; this host is the exemption
                // (unless it is reached through an Instance Connect Endpoint).
                associatePublicIpAddress: a.access === "publicIp",
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                rootBlockDevice: { volumeType: "gp3", volumeSize: a.rootVolumeSizeGb, encrypted: true, deleteOnTermination: true },
                userData: fs.readFileSync(path.join(SCRIPTS_DIR, "bastion", "user-data.sh"), "utf8"),
                userDataReplaceOnChange: true,
                tags: tags(
                    a.access === "publicIp" ? { Name: name, [TAG_PUBLIC_EXEMPTION]: "SSH jump host, reachable only from adminCidrs" } : { Name: name },
                ),
                volumeTags: tags({ Name: `${name}-root` }),
            },
            { parent: this },
        );
        this.instanceId = instance.id;
        // A stable address the bastion owns: every bootstrap command's connection names it as its
        // proxy, and pulumi-command runs a command again on any change of its inputs (Update runs
        // `create` when there is no `update`). Replacing the instance moves the address instead of
        // re-running every cluster step. While associated it replaces the launch-time public IP.
        const eip = new aws.ec2.Eip(
            `${name}-eip`,
            { domain: "vpc", instance: instance.id, tags: tags({ Name: name, [TAG_PUBLIC_EXEMPTION]: "SSH jump host, reachable only from adminCidrs" }) },
            { parent: this, dependsOn: args.internetGateway ? [args.internetGateway] : [] },
        );
        this.publicIp = eip.publicIp;
        this.privateIp = instance.privateIp;

        this.registerOutputs({
            instanceId: this.instanceId,
            publicIp: this.publicIp,
            securityGroupId: this.securityGroupId,
            keyPairName: this.keyPairName,
        });
    }

    /**
     * The `@pulumi/command` connection to a private host, jumping through this bastion. The host
     * must accept this bastion's key pair (launch it with `keyPairName`) and allow SSH from
     * `securityGroupId`.
     */
    public connectionTo(host: pulumi.Input<string>): command.types.input.remote.ConnectionArgs {
        return connectionThrough(this.access(), host);
    }

    /** What cluster components take to reach their nodes through this bastion. */
    public access(): BastionAccess {
        return {
            ...(this.accessMode === "publicIp" ? { host: this.publicIp } : { host: "127.0.0.1", port: this.tunnelPort }),
            securityGroupId: this.securityGroupId,
            keyPairName: this.keyPairName,
            privateKey: this.privateKeyOpenssh,
            user: this.sshUser,
        };
    }
}
