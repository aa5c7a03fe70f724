/**
 * A small but complete stack of resources that satisfies every policy of the pack, built the way
 * the engine describes resources (type, name, URN, props, propertyDependencies by URN). Tests copy
 * it, break one thing, and expect exactly that policy to object.
 */
import { TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER, T } from "../../policy/conventions";
import type { EvalResource } from "../../policy/evaluate";

export const urnOf = (type: string, name: string): string => `urn:pulumi:test::owncloud-ha::${type}::${name}`;

export const BASE_TAGS = { Project: "owncloud-ha", Environment: "dev", ManagedBy: "pulumi" };

export type Stack = Map<string, EvalResource>;

export class StackBuilder {
    readonly resources: Stack = new Map();

    add(
        name: string,
        type: string,
        props: Record<string, unknown>,
        deps: Record<string, string[]> = {},
        taggable = true,
    ): string {
        const urn = urnOf(type, name);
        const propertyDependencies: Record<string, string[]> = {};
        for (const [k, names] of Object.entries(deps)) {
            propertyDependencies[k] = names.map((n) => this.urn(n));
        }
        const p = taggable ? { ...props, tags: { ...BASE_TAGS, ...((props.tags as object) ?? {}) } } : props;
        this.resources.set(name, {
            type,
            name,
            urn,
            props: p,
            dependencies: [...new Set(Object.values(propertyDependencies).flat())],
            propertyDependencies,
        });
        return urn;
    }

    urn(name: string): string {
        const r = this.resources.get(name);
        if (!r) throw new Error(`fixture: no resource "${name}" yet`);
        return r.urn;
    }
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

export const BENIGN_USER_DATA = [
    "#!/bin/bash",
    "set -euo pipefail",
    'DB_PASSWORD="$(aws secretsmanager get-secret-value --secret-id owncloud/db --query SecretString --output text)"',
    "REDIS_PASSWORD_FILE=/run/secrets/redis",
    "export OWNCLOUD_DB_PASSWORD=$DB_PASSWORD",
    "docker run -e OWNCLOUD_DB_PASSWORD owncloud/server:11.0",
].join("\n");

/** Builds the compliant baseline. Every call returns fresh objects. */
export function baseline(): Stack {
    const s = new StackBuilder();
    const vpcs: [string, string][] = [["web", "10.0.0.0/16"], ["db", "10.1.0.0/16"], ["fs", "10.2.0.0/16"]];
    for (const [v, cidr] of vpcs) {
        s.add(`${v}-vpc`, T.vpc, { cidrBlock: cidr, enableDnsHostnames: true, tags: { [TAG_TIER]: "network" } });
        s.add(`${v}-default-sg`, T.defaultSecurityGroup, { vpcId: `vpc-${v}`, ingress: [], egress: [] }, { vpcId: [`${v}-vpc`] });
        s.add(`${v}-flow-log`, T.flowLog, { vpcId: `vpc-${v}`, trafficType: "ALL", logDestination: "arn:aws:logs:x" }, { vpcId: [`${v}-vpc`] });
        for (const az of ["a", "b"]) {
            s.add(`${v}-private-${az}`, T.subnet, {
                vpcId: `vpc-${v}`, cidrBlock: cidr.replace(".0.0/16", `.${az === "a" ? 0 : 16}.0/20`),
                mapPublicIpOnLaunch: false, tags: { [TAG_SUBNET_TIER]: "private" },
            }, { vpcId: [`${v}-vpc`] });
            s.add(`${v}-public-${az}`, T.subnet, {
                vpcId: `vpc-${v}`, cidrBlock: cidr.replace(".0.0/16", `.${az === "a" ? 48 : 49}.0/24`),
                mapPublicIpOnLaunch: false, tags: { [TAG_SUBNET_TIER]: "public" },
            }, { vpcId: [`${v}-vpc`] });
        }
        s.add(`${v}-private-rt`, T.routeTable, { vpcId: `vpc-${v}` }, { vpcId: [`${v}-vpc`] });
        // EC2.21: the default NACL adopted and limited; EC2.10: an EC2 API endpoint in the VPC.
        s.add(`${v}-default-nacl`, T.defaultNetworkAcl, {
            defaultNetworkAclId: `acl-${v}`,
            ingress: [
                { protocol: "tcp", ruleNo: 100, action: "allow", cidrBlock: "0.0.0.0/0", fromPort: 443, toPort: 443 },
                { protocol: "tcp", ruleNo: 110, action: "allow", cidrBlock: "203.0.113.0/24", fromPort: 22, toPort: 22 },
                { protocol: "-1", ruleNo: 120, action: "deny", cidrBlock: "0.0.0.0/0", fromPort: 0, toPort: 0 },
            ],
        }, { defaultNetworkAclId: [`${v}-vpc`] });
        s.add(`${v}-ec2-endpoint`, T.vpcEndpoint, {
            vpcId: `vpc-${v}`, serviceName: "com.amazonaws.us-east-1.ec2", vpcEndpointType: "Interface", privateDnsEnabled: true,
        }, { vpcId: [`${v}-vpc`] });
    }
    s.add("log-group", T.logGroup, { name: "/owncloud-ha/flow", retentionInDays: 365 });

    // Peering web<->db and web<->fs with routes for exactly the peer CIDR on both sides.
    for (const [peer, cidr] of [["db", "10.1.0.0/16"], ["fs", "10.2.0.0/16"]]) {
        s.add(`web-${peer}-pcx`, T.peering, { vpcId: "vpc-web", peerVpcId: `vpc-${peer}`, autoAccept: true },
            { vpcId: ["web-vpc"], peerVpcId: [`${peer}-vpc`] });
        s.add(`web-to-${peer}`, T.route, { routeTableId: "rtb-web", destinationCidrBlock: cidr, vpcPeeringConnectionId: "pcx" },
            { routeTableId: ["web-private-rt"], vpcPeeringConnectionId: [`web-${peer}-pcx`] }, false);
        s.add(`${peer}-to-web`, T.route, { routeTableId: `rtb-${peer}`, destinationCidrBlock: "10.0.0.0/16", vpcPeeringConnectionId: "pcx" },
            { routeTableId: [`${peer}-private-rt`], vpcPeeringConnectionId: [`web-${peer}-pcx`] }, false);
    }

    // Security groups.
    s.add("alb-sg", T.securityGroup, {
        vpcId: "vpc-web", description: "ALB",
        ingress: [
            { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
            { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
        ],
        egress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["10.0.0.0/16"] }],
        tags: { [TAG_TIER]: "alb" },
    }, { vpcId: ["web-vpc"] });
    s.add("web-sg", T.securityGroup, { vpcId: "vpc-web", description: "web", tags: { [TAG_TIER]: "web" } }, { vpcId: ["web-vpc"] });
    s.add("bastion-sg", T.securityGroup, { vpcId: "vpc-web", description: "bastion", tags: { [TAG_TIER]: "bastion" } }, { vpcId: ["web-vpc"] });
    s.add("galera-sg", T.securityGroup, { vpcId: "vpc-db", description: "galera", tags: { [TAG_TIER]: "galera" } }, { vpcId: ["db-vpc"] });
    s.add("gluster-sg", T.securityGroup, { vpcId: "vpc-fs", description: "gluster", tags: { [TAG_TIER]: "gluster" } }, { vpcId: ["fs-vpc"] });
    s.add("web-from-alb", T.sgIngressRule, {
        securityGroupId: "sg-web", ipProtocol: "tcp", fromPort: 8080, toPort: 8080, referencedSecurityGroupId: "sg-alb",
    }, { securityGroupId: ["web-sg"], referencedSecurityGroupId: ["alb-sg"] });
    s.add("galera-from-web", T.sgIngressRule, {
        securityGroupId: "sg-galera", ipProtocol: "tcp", fromPort: 3306, toPort: 3306, referencedSecurityGroupId: "sg-web",
    }, { securityGroupId: ["galera-sg"], referencedSecurityGroupId: ["web-sg"] });
    s.add("galera-self-4567", T.sgIngressRule, {
        securityGroupId: "sg-galera", ipProtocol: "udp", fromPort: 4567, toPort: 4567, referencedSecurityGroupId: "sg-galera",
    }, { securityGroupId: ["galera-sg"], referencedSecurityGroupId: ["galera-sg"] });
    s.add("gluster-from-web-cidr", T.securityGroupRule, {
        type: "ingress", securityGroupId: "sg-gluster", protocol: "tcp", fromPort: 24007, toPort: 24008, cidrBlocks: ["10.0.0.0/20", "10.0.16.0/20"],
    }, { securityGroupId: ["gluster-sg"] }, false);
    s.add("bastion-ssh", T.securityGroupRule, {
        type: "ingress", securityGroupId: "sg-bastion", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"],
    }, { securityGroupId: ["bastion-sg"] }, false);

    // Load balancer and listeners.
    s.add("alb", T.lbLoadBalancer, {
        loadBalancerType: "application", internal: false, subnets: ["subnet-a", "subnet-b"], securityGroups: ["sg-alb"],
        dropInvalidHeaderFields: true, desyncMitigationMode: "defensive", enableDeletionProtection: false,
        accessLogs: { enabled: true, bucket: "owncloud-ha-alb-logs" }, tags: { [TAG_TIER]: "alb" },
    }, { subnets: ["web-public-a", "web-public-b"], securityGroups: ["alb-sg"] });
    s.add("https", T.lbListener, {
        loadBalancerArn: "arn:alb", port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificateArn: "arn:acm", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }],
    }, { loadBalancerArn: ["alb"] });
    s.add("http", T.lbListener, {
        loadBalancerArn: "arn:alb", port: 80, protocol: "HTTP",
        defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
    }, { loadBalancerArn: ["alb"] });

    // Web tier: launch template + ASG.
    s.add("web-lt", T.launchTemplate, {
        imageId: "ami-123", instanceType: "t3.small", userData: b64(BENIGN_USER_DATA),
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeSize: 20, volumeType: "gp3" } }],
        networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: ["sg-web"] }],
        tags: { [TAG_TIER]: "web" },
    });
    s.add("web-asg", T.asg, {
        minSize: 2, maxSize: 3, vpcZoneIdentifiers: ["subnet-pa", "subnet-pb"], healthCheckType: "ELB",
        targetGroupArns: ["arn:tg"],
        mixedInstancesPolicy: {
            launchTemplate: {
                launchTemplateSpecification: { launchTemplateId: "lt-1", version: "$Latest" },
                overrides: [{ instanceType: "t3.small" }, { instanceType: "t3a.small" }],
            },
        },
        tags: [
            ...Object.entries(BASE_TAGS).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
            { key: TAG_TIER, value: "web", propagateAtLaunch: true },
        ],
    }, { vpcZoneIdentifiers: ["web-private-a", "web-private-b"], mixedInstancesPolicy: ["web-lt"] }, false);

    // Data nodes and the bastion.
    const node = {
        ami: "ami-debian12", instanceType: "t3.small", userData: BENIGN_USER_DATA,
        metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { encrypted: true, volumeSize: 20 },
    };
    s.add("galera-1", T.instance, { ...node, subnetId: "subnet-db-a", associatePublicIpAddress: false, tags: { [TAG_TIER]: "galera" } },
        { subnetId: ["db-private-a"] });
    s.add("gluster-1", T.instance, {
        ...node, subnetId: "subnet-fs-a", ebsBlockDevices: [{ deviceName: "/dev/xvdf", encrypted: true, volumeSize: 50 }],
        tags: { [TAG_TIER]: "gluster" },
    }, { subnetId: ["fs-private-a"] });
    s.add("gluster-1-brick", T.ebsVolume, { availabilityZone: "us-east-1a", size: 50, encrypted: true, type: "gp3" });
    s.add("bastion", T.instance, {
        ...node, subnetId: "subnet-web-pub-a", associatePublicIpAddress: true,
        tags: { [TAG_TIER]: "bastion", [TAG_PUBLIC_EXEMPTION]: "SSH jump host, admin CIDRs only" },
    }, { subnetId: ["web-public-a"] });
    s.add("bastion-eip", T.eip, { domain: "vpc", instance: "i-bastion" }, { instance: ["bastion"] });

    // Redis.
    s.add("redis", T.replicationGroup, {
        description: "ownCloud locking", engine: "redis", nodeType: "cache.t4g.small", numCacheClusters: 2,
        automaticFailoverEnabled: true, multiAzEnabled: true, atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true, transitEncryptionMode: "required", authToken: "s3cr3t-from-pulumi-secret",
        snapshotRetentionLimit: 7, autoMinorVersionUpgrade: true, subnetGroupName: "owncloud-ha-redis",
        tags: { [TAG_TIER]: "redis" },
    });

    // IAM: least privilege.
    s.add("node-role", T.iamRole, {
        assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    });
    s.add("node-secrets", T.iamRolePolicy, {
        role: "node-role",
        policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: "arn:aws:secretsmanager:us-east-1:1:secret:owncloud/*" }],
        }),
    }, { role: ["node-role"] }, false);
    return s.resources;
}

/** Deep-copies a stack so one test's mutation cannot leak into another. */
export function clone(s: Stack): Stack {
    return new Map([...s].map(([k, v]) => [k, structuredClone(v)]));
}

/** The props of a named resource, for mutation. */
export function props(s: Stack, name: string): Record<string, unknown> {
    const r = s.get(name);
    if (!r) throw new Error(`fixture: no resource "${name}"`);
    return r.props;
}
