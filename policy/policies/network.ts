/**
 * Stack policies about the network. They need relations between resources; at preview IDs are
 * unknown, so relations are followed through `propertyDependencies` (the URNs of the resources a
 * property was computed from), with a fall-back to matching known IDs for offline plans.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import {
    ALB_TIER, PRIVATE_TIERS, T, TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER, type Tier,
} from "../conventions";
import {
    asArray, asString, at, describePorts, INGRESS_TYPES, ingressRulesOf, isIpv6, isUnknown, isWorld,
    ofTypes, parseV4, propsOf, referenced, tagValue, v4Contains, v4Overlaps,
} from "../lib";

const SG_TYPES = [T.securityGroup, T.defaultSecurityGroup];

function label(r: PolicyResource): string {
    return `${r.type.split(":").pop()} "${r.name}"`;
}

/** A tag value of a stack resource, including its provider's default tags. */
function tagOf(r: PolicyResource, key: string): string | undefined {
    return tagValue(propsOf(r), key, r.provider ? r.provider.props : undefined);
}

function vpcOf(r: PolicyResource, all: readonly PolicyResource[]): PolicyResource | undefined {
    return referenced(r, "vpcId", [T.vpc], all)[0];
}

function cidrOf(vpc: PolicyResource | undefined): string | undefined {
    if (!vpc) return undefined;
    const c = asString(at(propsOf(vpc), "cidrBlock"));
    return c && parseV4(c) ? c : undefined;
}

/** The security group an ingress-bearing resource writes to (itself for inline rules). */
function targetSecurityGroup(r: PolicyResource, all: readonly PolicyResource[]): PolicyResource | undefined {
    if (SG_TYPES.includes(r.type as (typeof SG_TYPES)[number])) return r;
    return referenced(r, "securityGroupId", SG_TYPES, all)[0];
}

/** VPCs directly peered with `vpc` through a VpcPeeringConnection in the stack. */
function peersOf(vpc: PolicyResource, all: readonly PolicyResource[]): PolicyResource[] {
    const out: PolicyResource[] = [];
    for (const pcx of all.filter((r) => r.type === T.peering)) {
        const a = vpcOf(pcx, all);
        const b = referenced(pcx, "peerVpcId", [T.vpc], all)[0];
        if (a === vpc && b) out.push(b);
        if (b === vpc && a) out.push(a);
    }
    return out;
}

// --- EC2.2 ----------------------------------------------------------------------------------------

export const defaultSecurityGroupClosed: StackValidationPolicy = {
    name: "ec2-default-sg-closed",
    description:
        "[AWS FSBP EC2.2] Every VPC's default security group must be managed (aws.ec2.DefaultSecurityGroup) " +
        "and have no ingress or egress rules.",
    enforcementLevel: "advisory",
    tags: ["EC2.2"],
    validateStack: (args, report) => {
        const all = args.resources;
        const dsgs = ofTypes(args, [T.defaultSecurityGroup]);
        for (const d of dsgs) {
            for (const dir of ["ingress", "egress"]) {
                const rules = asArray(at(propsOf(d), dir));
                if (rules && rules.length > 0) {
                    report(`${label(d)} has ${rules.length} ${dir} rule(s); the default SG must have none.`, d.urn);
                }
            }
        }
        for (const vpc of ofTypes(args, [T.vpc])) {
            if (!dsgs.some((d) => vpcOf(d, all) === vpc)) {
                report(
                    `${label(vpc)} has no aws.ec2.DefaultSecurityGroup with empty rules, so AWS's default ` +
                        `allow-from-self/allow-all-egress rules stay in place.`,
                    vpc.urn,
                );
            }
        }
    },
};

// --- EC2.6 ----------------------------------------------------------------------------------------

export const vpcFlowLogs: StackValidationPolicy = {
    name: "ec2-vpc-flow-logs",
    description: "[AWS FSBP EC2.6] Every VPC must have a flow log (aws.ec2.FlowLog with vpcId).",
    enforcementLevel: "advisory",
    tags: ["EC2.6", "logging"],
    validateStack: (args, report) => {
        const all = args.resources;
        const logs = ofTypes(args, [T.flowLog]);
        for (const vpc of ofTypes(args, [T.vpc])) {
            if (!logs.some((l) => vpcOf(l, all) === vpc)) {
                report(`${label(vpc)} has no flow log.`, vpc.urn);
            }
        }
    },
};

// --- EC2.18 ---------------------------------------------------------------------------------------

export const worldIngressAlbOnly: StackValidationPolicy = {
    name: "ec2-world-ingress-alb-only",
    description:
        `[AWS FSBP EC2.18] Ingress from 0.0.0.0/0 or ::/0 is allowed only on TCP 80 and 443 and only into ` +
        `security groups tagged "${TAG_TIER}" = "${ALB_TIER}".`,
    enforcementLevel: "mandatory",
    tags: ["EC2.18", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const r of ofTypes(args, INGRESS_TYPES)) {
            for (const rule of ingressRulesOf(r.type, r.props)) {
                const world = rule.cidrs.filter(isWorld);
                if (world.length === 0) continue;
                const src = world.join(", ");
                const p = rule.ports;
                const webOnly =
                    p !== undefined && p !== "all" && p !== "none" && p.from === p.to && (p.from === 80 || p.from === 443) &&
                    (rule.protocol === "tcp" || rule.protocol === "6");
                if (p !== undefined && !webOnly) {
                    report(`${label(r)} ${rule.where}: ${describePorts(p)} (${rule.protocol ?? "?"}) from ${src}; only TCP 80/443 may be open to the world.`, r.urn);
                }
                const sg = targetSecurityGroup(r, all);
                if (!sg) {
                    report(`${label(r)} ${rule.where}: world ingress into a security group that is not in this stack, so it cannot be verified as the ALB's.`, r.urn);
                    continue;
                }
                const tier = tagOf(sg, TAG_TIER);
                if (tier !== ALB_TIER) {
                    report(`${label(r)} ${rule.where}: world ingress into ${label(sg)} whose "${TAG_TIER}" tag is ${JSON.stringify(tier ?? null)}; only the ALB's security group ("${ALB_TIER}") may accept it.`, r.urn);
                }
            }
        }
    },
};

// --- EC2.9 (Elastic IPs) --------------------------------------------------------------------------

export const eipOnlyOnExempt: StackValidationPolicy = {
    name: "ec2-eip-only-on-exempt-instances",
    description:
        `[AWS FSBP EC2.9] Elastic IPs may be associated only with instances tagged "${TAG_PUBLIC_EXEMPTION}".`,
    enforcementLevel: "mandatory",
    tags: ["EC2.9", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        const pairs: [PolicyResource, string][] = [
            ...ofTypes(args, [T.eip]).map((e): [PolicyResource, string] => [e, "instance"]),
            ...ofTypes(args, [T.eipAssociation]).map((e): [PolicyResource, string] => [e, "instanceId"]),
        ];
        for (const [eip, prop] of pairs) {
            for (const inst of referenced(eip, prop, [T.instance], all)) {
                const reason = tagOf(inst, TAG_PUBLIC_EXEMPTION);
                if (reason === undefined || reason.trim() === "") {
                    report(`${label(eip)} gives ${label(inst)} a public IP but the instance has no "${TAG_PUBLIC_EXEMPTION}" tag.`, eip.urn);
                }
            }
        }
    },
};

// --- CKV2_AWS_44 ----------------------------------------------------------------------------------

const ROUTE_TABLE_TYPES = [T.routeTable, "aws:ec2/defaultRouteTable:DefaultRouteTable"];

export const peeringRoutesPeerCidrOnly: StackValidationPolicy = {
    name: "vpc-peering-routes-peer-cidr-only",
    description:
        "[Checkov CKV2_AWS_44] Routes that target a VPC peering connection must send only the peer VPC's " +
        "CIDR (or a part of it) into the peering, never wider ranges.",
    enforcementLevel: "advisory",
    tags: ["CKV2_AWS_44", "network"],
    validateStack: (args, report) => {
        const all = args.resources;
        const pcxById = (id: unknown): PolicyResource | undefined =>
            typeof id === "string" && !isUnknown(id)
                ? all.find((r) => r.type === T.peering && at(propsOf(r), "id") === id)
                : undefined;
        const judge = (
            owner: PolicyResource,
            where: string,
            dest: unknown,
            pcx: PolicyResource | undefined,
            localVpc: PolicyResource | undefined,
        ): void => {
            if (typeof dest !== "string" || isUnknown(dest) || isIpv6(dest)) return;
            if (isWorld(dest)) {
                report(`${label(owner)}${where}: ${dest} routed into a peering connection; route the peer VPC's CIDR only.`, owner.urn);
                return;
            }
            if (!pcx) return;
            const a = vpcOf(pcx, all);
            const b = referenced(pcx, "peerVpcId", [T.vpc], all)[0];
            const peer = localVpc === a ? b : localVpc === b ? a : undefined;
            const allowed = (peer ? [cidrOf(peer)] : [cidrOf(a), cidrOf(b)]).filter((c): c is string => !!c);
            if (allowed.length === 0 || (!peer && allowed.length < 2)) return; // cannot judge
            if (!allowed.some((c) => v4Contains(c, dest))) {
                report(
                    `${label(owner)}${where}: destination ${dest} via ${label(pcx)} is not within the peer VPC's CIDR ` +
                        `(${allowed.join(" or ")}).`,
                    owner.urn,
                );
            }
        };
        for (const route of ofTypes(args, [T.route])) {
            const p = propsOf(route);
            const pcxProp = at(p, "vpcPeeringConnectionId");
            if (pcxProp === undefined || pcxProp === null || pcxProp === "") continue;
            const pcx = referenced(route, "vpcPeeringConnectionId", [T.peering], all)[0] ?? pcxById(pcxProp);
            const local =
                referenced(route, "routeTableId", [T.vpc], all)[0] ?? // vpc.mainRouteTableId / defaultRouteTableId
                ((): PolicyResource | undefined => {
                    const rt = referenced(route, "routeTableId", ROUTE_TABLE_TYPES, all)[0];
                    return rt ? vpcOf(rt, all) ?? referenced(rt, "defaultRouteTableId", [T.vpc], all)[0] : undefined;
                })();
            judge(route, "", at(p, "destinationCidrBlock"), pcx, local);
        }
        for (const rt of ofTypes(args, ROUTE_TABLE_TYPES)) {
            const routes = asArray(at(propsOf(rt), "routes")) ?? [];
            const deps = referenced(rt, "routes", [T.peering], all);
            const local = vpcOf(rt, all) ?? referenced(rt, "defaultRouteTableId", [T.vpc], all)[0];
            routes.forEach((r, i) => {
                const id = at(r, "vpcPeeringConnectionId");
                if (id === undefined || id === null || id === "") return;
                const pcx = pcxById(id) ?? (deps.length === 1 ? deps[0] : undefined);
                judge(rt, ` routes[${i}]`, at(r, "cidrBlock"), pcx, local);
            });
        }
    },
};

// --- Private placement ----------------------------------------------------------------------------

export const nodesInPrivateSubnets: StackValidationPolicy = {
    name: "nodes-in-private-subnets",
    description:
        `[Architecture] Instances and auto-scaling groups tagged "${TAG_TIER}" = ${PRIVATE_TIERS.join("|")} ` +
        `must be placed only in subnets tagged "${TAG_SUBNET_TIER}" = "private".`,
    enforcementLevel: "mandatory",
    tags: ["placement", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        const placed: [PolicyResource, string][] = [
            ...ofTypes(args, [T.instance]).map((r): [PolicyResource, string] => [r, "subnetId"]),
            ...ofTypes(args, [T.asg]).map((r): [PolicyResource, string] => [r, "vpcZoneIdentifiers"]),
        ];
        for (const [r, prop] of placed) {
            const tier = tagOf(r, TAG_TIER);
            if (tier === undefined || !PRIVATE_TIERS.includes(tier as Tier)) continue;
            for (const subnet of referenced(r, prop, [T.subnet], all)) {
                const st = tagOf(subnet, TAG_SUBNET_TIER);
                if (st !== "private") {
                    report(
                        `${label(r)} (tier ${tier}) uses ${label(subnet)} whose "${TAG_SUBNET_TIER}" tag is ` +
                            `${JSON.stringify(st ?? null)}; ${tier} nodes belong in private subnets.`,
                        r.urn,
                    );
                }
            }
        }
    },
};

// --- Cross-VPC sources ----------------------------------------------------------------------------

export const crossVpcSourcesPeerOnly: StackValidationPolicy = {
    name: "sg-cross-vpc-sources-peer-only",
    description:
        "[Architecture] Security-group sources from another VPC of this stack (CIDR or security group) must " +
        "come from a VPC directly peered with the rule's VPC (db and fs never talk).",
    enforcementLevel: "advisory",
    tags: ["network", "segmentation"],
    validateStack: (args, report) => {
        const all = args.resources;
        const vpcs = ofTypes(args, [T.vpc]).filter((v) => cidrOf(v));
        for (const r of ofTypes(args, INGRESS_TYPES)) {
            const rules = ingressRulesOf(r.type, r.props);
            if (rules.length === 0) continue;
            const sg = targetSecurityGroup(r, all);
            const own = sg ? vpcOf(sg, all) : undefined;
            if (!own) continue;
            const allowed = [own, ...peersOf(own, all)];
            const ownCidr = cidrOf(own);
            for (const rule of rules) {
                for (const cidr of rule.cidrs) {
                    if (isIpv6(cidr) || isWorld(cidr) || (ownCidr && v4Contains(ownCidr, cidr))) continue;
                    if (allowed.some((v) => cidrOf(v) && v4Contains(cidrOf(v)!, cidr))) continue;
                    const other = vpcs.find((v) => !allowed.includes(v) && v4Overlaps(cidrOf(v)!, cidr));
                    if (other) {
                        report(
                            `${label(r)} ${rule.where}: source ${cidr} lies in ${label(other)} (${cidrOf(other)}), ` +
                                `which is not peered with ${label(own)}.`,
                            r.urn,
                        );
                    }
                }
            }
            const srcProps = [...new Set(rules.map((x) => x.sourceSgProperty).filter((x): x is string => !!x))];
            for (const prop of srcProps) {
                for (const src of referenced(r, prop, SG_TYPES, all)) {
                    if (src === sg) continue;
                    const srcVpc = vpcOf(src, all);
                    if (srcVpc && !allowed.includes(srcVpc)) {
                        report(
                            `${label(r)}: source ${label(src)} belongs to ${label(srcVpc)}, which is not peered with ${label(own)}.`,
                            r.urn,
                        );
                    }
                }
            }
        }
    },
};

export const networkPolicies: StackValidationPolicy[] = [
    defaultSecurityGroupClosed,
    vpcFlowLogs,
    worldIngressAlbOnly,
    eipOnlyOnExempt,
    peeringRoutesPeerCidrOnly,
    nodesInPrivateSubnets,
    crossVpcSourcesPeerOnly,
];
