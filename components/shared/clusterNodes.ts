import { ArgProblem, problem } from "./errors";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { debian12Ami, instanceArchitecture } from "./ami";
import { cidrProblem, cidrContains, hostAddress } from "./cidr";
import { TAG_TIER, Tier, withTags } from "./conventions";
import { PlanHost } from "./remoteBootstrap";

/**
 * What the stateful clusters (Galera, GlusterFS) share: fixed private addresses, instances spread
 * over AZs, a dedicated encrypted data volume each, an instance role that can read exactly the
 * secrets it needs. Not a component of its own: the resources belong to the cluster that asks.
 */

/** Offset of the first cluster node inside its subnet (0-3 and the last address are AWS's). */
export const FIRST_NODE_OFFSET = 10;

/**
 * Fixed private addresses for `count` nodes placed round-robin over the subnets: node i goes to
 * subnet i mod n at offset 10 + floor(i / n). Fixed addresses matter for both clusters: Galera's
 * cluster address and Gluster's brick addresses name them, and a replaced node must come back at
 * the address its peers know.
 */
export function nodeAddresses(subnetCidrs: string[], count: number): string[] {
    return Array.from({ length: count }, (_, i) =>
        hostAddress(subnetCidrs[i % subnetCidrs.length], FIRST_NODE_OFFSET + Math.floor(i / subnetCidrs.length)),
    );
}

/**
 * Validates the addressing args shared by the cluster components. Returns problems (each naming
 * the argument) and, when there are none, the node addresses.
 */
export function resolveNodeAddresses(
    count: number,
    subnetCount: number,
    subnetCidrs: string[] | undefined,
    privateIps: string[] | undefined,
): { problems: ArgProblem[]; addresses: string[] } {
    const problems: ArgProblem[] = [];
    if (subnetCount === 0) problems.push(problem("subnetIds", "give at least one private subnet (one per AZ spreads the nodes)"));
    if (privateIps && privateIps.length > 0) {
        if (privateIps.length !== count) problems.push(problem("privateIps", `${privateIps.length} addresses for ${count} nodes; give one per node`));
        if (new Set(privateIps).size !== privateIps.length) problems.push(problem("privateIps", "an address is listed twice"));
        for (const ip of privateIps) {
            if (cidrProblem(`${ip}/32`)) problems.push(problem("privateIps", `"${ip}" is not an IPv4 address`));
        }
        if (subnetCidrs && subnetCidrs.length === subnetCount) {
            privateIps.forEach((ip, i) => {
                const cidr = subnetCidrs[i % subnetCidrs.length];
                if (!cidrProblem(`${ip}/32`) && !cidrContains(cidr, `${ip}/32`)) {
                    problems.push(problem("privateIps", `node ${i + 1} (${ip}) is placed in subnet ${i % subnetCidrs.length + 1} (${cidr}) but is not inside it`));
                }
            });
        }
        return { problems, addresses: problems.length ? [] : [...privateIps] };
    }
    if (!subnetCidrs || subnetCidrs.length === 0) {
        problems.push(
            problem(["subnetCidrs", "privateIps"], "give the subnets' CIDRs (same order as subnetIds) so fixed node addresses can be derived, " +
                "or the addresses themselves in privateIps",
        ));
        return { problems, addresses: [] };
    }
    if (subnetCidrs.length !== subnetCount) {
        problems.push(problem("subnetCidrs", `${subnetCidrs.length} CIDRs for ${subnetCount} subnetIds; give one per subnet, in the same order`));
    }
    for (const c of subnetCidrs) {
        const p = cidrProblem(c);
        if (p) problems.push(problem("subnetCidrs", `${p}`));
    }
    if (problems.length) return { problems, addresses: [] };
    try {
        return { problems, addresses: nodeAddresses(subnetCidrs, count) };
    } catch (e) {
        return { problems: [problem("subnetCidrs", `${(e as Error).message}; use larger subnets`)], addresses: [] };
    }
}

export interface ClusterNodeSpec {
    tier: Tier;
    count: number;
    subnetIds: pulumi.Input<string>[];
    addresses: string[];
    instanceType: string;
    amiId?: string;
    keyPairName: pulumi.Input<string>;
    securityGroupIds: pulumi.Input<string>[];
    instanceProfileName: pulumi.Input<string>;
    rootVolumeSizeGb: number;
    dataVolumeSizeGb: number;
    kmsKeyId?: pulumi.Input<string>;
    tags: Record<string, string>;
    /** Extra tags on the data volumes only, e.g. the snapshot policy's target tag. */
    dataVolumeTags?: Record<string, string>;
}

export interface ClusterNode {
    /** Plan host name, `node1`…`nodeN`. */
    host: string;
    address: string;
    instance: aws.ec2.Instance;
    dataVolume: aws.ebs.Volume;
    attachment: aws.ec2.VolumeAttachment;
    /** The data volume's device as the NVMe driver names it on Nitro instances (by EBS volume ID). */
    dataDevice: pulumi.Output<string>;
}

/** Where the data volume is attached in the API; on Nitro it appears as NVMe, found by `dataDevice`. */
export const DATA_DEVICE_NAME = "/dev/sdf";

/**
 * Options of a stateful node's instance. `ignoreChanges: ["ami"]`: the default AMI is a
 * `mostRecent` lookup and Debian publishes new images often; a data node must never be replaced
 * because an image was released (nor all nodes at once because `amiId` changed): the AMI only
 * applies to a node when it is created. `deleteBeforeReplace`: a node keeps its fixed private
 * address, which AWS refuses to give a second instance (InvalidIPAddress.InUse), so a replaced
 * node is deleted first. Pulumi has no option that serialises the replacement of sibling resources;
 * to move a cluster to a new AMI, replace one node per `pulumi up --replace <node URN>` and let it
 * rejoin (its steps re-run: their triggers carry the instance ID) before the next.
 */
export const STATEFUL_NODE_OPTIONS = { ignoreChanges: ["ami"], deleteBeforeReplace: true } as const;

export function createClusterNodes(name: string, spec: ClusterNodeSpec, parent: pulumi.Resource): ClusterNode[] {
    const ami = spec.amiId ?? debian12Ami(instanceArchitecture(spec.instanceType), { parent });
    return Array.from({ length: spec.count }, (_, i) => {
        const host = `node${i + 1}`;
        const tags = (extra: Record<string, string>) => withTags(spec.tags, { [TAG_TIER]: spec.tier, ...extra });
        const subnetId = spec.subnetIds[i % spec.subnetIds.length];
        const instance = new aws.ec2.Instance(
            `${name}-${host}`,
            {
                ami,
                instanceType: spec.instanceType,
                subnetId,
                privateIp: spec.addresses[i],
                associatePublicIpAddress: false,
                vpcSecurityGroupIds: spec.securityGroupIds,
                keyName: spec.keyPairName,
                iamInstanceProfile: spec.instanceProfileName,
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                rootBlockDevice: {
                    volumeType: "gp3",
                    volumeSize: spec.rootVolumeSizeGb,
                    encrypted: true,
                    kmsKeyId: spec.kmsKeyId,
                    deleteOnTermination: true,
                },
                tags: tags({ Name: `${name}-${host}` }),
                volumeTags: tags({ Name: `${name}-${host}-root` }),
            },
            { parent, ...STATEFUL_NODE_OPTIONS, ignoreChanges: [...STATEFUL_NODE_OPTIONS.ignoreChanges] },
        );
        const dataVolume = new aws.ebs.Volume(
            `${name}-${host}-data`,
            {
                // The subnet's zone, never the instance's: when a node is deleted before being
                // replaced, Pulumi also replaces every resource whose inputs come from its outputs
                // and may change (an unknown zone forces a new volume) — that would be the data.
                availabilityZone: aws.ec2.getSubnetOutput({ id: subnetId }, { parent }).availabilityZone,
                size: spec.dataVolumeSizeGb,
                type: "gp3",
                encrypted: true,
                kmsKeyId: spec.kmsKeyId,
                tags: tags({ ...spec.dataVolumeTags, Name: `${name}-${host}-data` }),
            },
            { parent },
        );
        const attachment = new aws.ec2.VolumeAttachment(
            `${name}-${host}-data-attach`,
            { deviceName: DATA_DEVICE_NAME, volumeId: dataVolume.id, instanceId: instance.id, stopInstanceBeforeDetaching: true },
            { parent: instance },
        );
        const dataDevice = pulumi.interpolate`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${dataVolume.id.apply((id) => id.replace("-", ""))}`;
        return { host, address: spec.addresses[i], instance, dataVolume, attachment, dataDevice };
    });
}

/**
 * A node as operators address it: its plan host name (also the name the node scripts use), its
 * fixed address and its instance's URN (what `pulumi up --replace` takes to replace it).
 */
export interface ClusterNodeRef {
    name: string;
    address: string;
    urn: pulumi.Output<string>;
}

export function nodeRefs(nodes: ClusterNode[]): ClusterNodeRef[] {
    return nodes.map((n) => ({ name: n.host, address: n.address, urn: n.instance.urn }));
}

/**
 * The bootstrap runner's view of the nodes: address, identity, readiness and the data disk's
 * device. `egress` is what the steps' package installs need on top of the node itself (the VPC's
 * NAT and default routes, the node group's egress rules): nothing runs on a host before it exists.
 */
export function planHosts(nodes: ClusterNode[], egress: pulumi.Resource[] = [], vars: Record<string, pulumi.Input<string>> = {}): Record<string, PlanHost> {
    return Object.fromEntries(
        nodes.map((n) => [
            n.host,
            { address: n.address, instanceId: n.instance.id, ready: [n.instance, n.attachment, ...egress], vars: { ...vars, dataDevice: n.dataDevice } },
        ]),
    );
}

/** JSDoc shared by the cluster components' wiring args (kept here so they say the same thing). */
export interface ClusterWiringArgs {
    /**
     * Resources that must exist before a rule may name a security group of another VPC (the
     * clients' or the bastion's): the VPC peering(s) to that VPC, e.g. a `VpcPeering`. AWS refuses
     * a reference to a peer VPC's group until the peering is active. Default: none (same VPC).
     */
    crossVpcDependsOn?: pulumi.Resource[];
    /**
     * Resources the nodes' package installs need before any bootstrap step runs: the VPC's route
     * to the internet (`PeeredVpc.egressReady`: NAT gateways, default routes). Default: none.
     */
    egressDependsOn?: pulumi.Resource[];
}

/**
 * Instance role: read access to exactly `secretArns`, any further statements the caller scopes
 * itself (no wildcard actions or resources here) and, only for a host that installs the SSM agent
 * (Debian's AMIs ship without it), the Session Manager core policy.
 */
export function createNodeRole(
    name: string,
    secretArns: pulumi.Input<string>[],
    tags: Record<string, string>,
    parent: pulumi.Resource,
    extraStatements: pulumi.Input<object[]> = [],
    options: { sessionManager?: boolean } = {},
): aws.iam.InstanceProfile {
    const role = new aws.iam.Role(
        `${name}-role`,
        {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
        },
        { parent },
    );
    if (options.sessionManager) {
        new aws.iam.RolePolicyAttachment(
            `${name}-ssm`,
            { role: role.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" },
            { parent: role },
        );
    }
    const statements = pulumi.all([pulumi.all(secretArns), pulumi.output(extraStatements)]).apply(([arns, extra]) => [
        ...(arns.length > 0 ? [{ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: arns }] : []),
        ...extra,
    ]);
    if (secretArns.length > 0 || !Array.isArray(extraStatements) || extraStatements.length > 0) {
        new aws.iam.RolePolicy(
            `${name}-node-policy`,
            { role: role.id, policy: statements.apply((Statement) => JSON.stringify({ Version: "2012-10-17", Statement })) },
            { parent: role },
        );
    }
    return new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags }, { parent: role });
}
