/**
 * Stack policies about the network. They need relations between resources; at preview IDs are
 * unknown, so relations are followed through `propertyDependencies` (the URNs of the resources a
 * property was computed from), with a fall-back to matching known IDs for offline plans.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    ALB_TIER, DATA_TIERS, INSTANCE_TYPES, PRIVATE_TIERS, T, TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER, type Tier,
} from "../conventions";
import {
    asArray, asString, at, coversPort, describePorts, forTypes, INGRESS_TYPES, ingressRulesOf, isIpv6,
    isPublicRange, isTrue, isUnknown, isWorld, isWorldLike, ofTypes, overlapsRange, parseV4, propsOf, referenced,
    tagValue, v4Contains, v4Overlaps, type IngressRule, type PortRange,
} from "../lib";
import { DATA_PORTS } from "./ports";

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

const PREFIX_LIST_TYPES = [T.prefixList];

/**
 * The CIDRs behind a rule's prefix-list sources, and whether some source could not be resolved (a
 * prefix list not declared in this stack, such as an AWS-managed one: its ranges are not ours to
 * vouch for).
 */
export function prefixListCidrs(
    r: PolicyResource,
    rule: IngressRule,
    all: readonly PolicyResource[],
): { cidrs: string[]; unresolved: string[] } {
    if (!rule.hasPrefixListSource || !rule.prefixListProperty) return { cidrs: [], unresolved: [] };
    const lists = referenced(r, rule.prefixListProperty, PREFIX_LIST_TYPES, all);
    const cidrs: string[] = [];
    for (const pl of lists) {
        for (const e of asArray(at(propsOf(pl), "entries")) ?? []) {
            const c = asString(at(e, "cidr"));
            if (c) cidrs.push(c);
        }
        for (const entry of all.filter((x) => x.type === T.prefixListEntry)) {
            if (referenced(entry, "prefixListId", PREFIX_LIST_TYPES, all).includes(pl)) {
                const c = asString(at(propsOf(entry), "cidr"));
                if (c) cidrs.push(c);
            }
        }
    }
    const ids = lists.map((pl) => at(propsOf(pl), "id"));
    let unresolved: string[] = [];
    if (lists.length === 0) unresolved = rule.prefixLists.length > 0 ? rule.prefixLists : ["a prefix list whose ID is not known yet"];
    else if (rule.prefixLists.length > lists.length) unresolved = rule.prefixLists.filter((id) => !ids.includes(id));
    return { cidrs, unresolved };
}

/** Every source range of a rule: its CIDRs plus the ranges of its prefix lists. */
function sourceCidrs(r: PolicyResource, rule: IngressRule, all: readonly PolicyResource[]): { cidrs: string[]; unresolved: string[] } {
    const pl = prefixListCidrs(r, rule, all);
    return { cidrs: [...rule.cidrs, ...pl.cidrs], unresolved: pl.unresolved };
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
        `[AWS FSBP EC2.18] Ingress from the world (0.0.0.0/0, ::/0, or any public range as wide as a /8, directly or ` +
        `through a prefix list) is allowed only on TCP 80 and 443 and only into security groups tagged "${TAG_TIER}" = "${ALB_TIER}".`,
    enforcementLevel: "mandatory",
    tags: ["EC2.18", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const r of ofTypes(args, INGRESS_TYPES)) {
            for (const rule of ingressRulesOf(r.type, r.props)) {
                const world = sourceCidrs(r, rule, all).cidrs.filter(isWorldLike);
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

const exempt = (r: PolicyResource): boolean => {
    const reason = tagOf(r, TAG_PUBLIC_EXEMPTION);
    return reason !== undefined && reason.trim() !== "";
};

/** Instances a network interface is attached to: its own attachments, attachment resources, instances naming it. */
function instancesOfInterface(eni: PolicyResource, all: readonly PolicyResource[]): PolicyResource[] {
    const out = new Set<PolicyResource>();
    for (const x of referenced(eni, "attachments", INSTANCE_TYPES, all)) out.add(x);
    for (const a of all.filter((x) => x.type === T.networkInterfaceAttachment)) {
        if (referenced(a, "networkInterfaceId", [T.networkInterface], all).includes(eni)) {
            for (const i of referenced(a, "instanceId", INSTANCE_TYPES, all)) out.add(i);
        }
    }
    for (const i of all.filter((x) => INSTANCE_TYPES.includes(x.type))) {
        for (const prop of ["networkInterfaces", "primaryNetworkInterface"]) {
            if (referenced(i, prop, [T.networkInterface], all).includes(eni)) out.add(i);
        }
    }
    return [...out];
}

export const eipOnlyOnExempt: StackValidationPolicy = {
    name: "ec2-eip-only-on-exempt-instances",
    description:
        `[AWS FSBP EC2.9] Elastic IPs may reach only instances tagged "${TAG_PUBLIC_EXEMPTION}", whether associated ` +
        `with the instance or with a network interface attached to it (aws.ec2.Eip or aws.ec2.EipAssociation).`,
    enforcementLevel: "mandatory",
    tags: ["EC2.9", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        const paths: [PolicyResource, string, string][] = [
            ...ofTypes(args, [T.eip]).map((e): [PolicyResource, string, string] => [e, "instance", "networkInterface"]),
            ...ofTypes(args, [T.eipAssociation]).map((e): [PolicyResource, string, string] => [e, "instanceId", "networkInterfaceId"]),
        ];
        for (const [eip, instanceProp, eniProp] of paths) {
            for (const inst of referenced(eip, instanceProp, INSTANCE_TYPES, all)) {
                if (!exempt(inst)) {
                    report(`${label(eip)} gives ${label(inst)} a public IP but the instance has no "${TAG_PUBLIC_EXEMPTION}" tag.`, eip.urn);
                }
            }
            for (const eni of referenced(eip, eniProp, [T.networkInterface], all)) {
                const instances = instancesOfInterface(eni, all);
                if (instances.length === 0 && !exempt(eni)) {
                    report(`${label(eip)} gives ${label(eni)} a public IP; neither the interface nor an instance using it is tagged "${TAG_PUBLIC_EXEMPTION}".`, eip.urn);
                }
                for (const inst of instances.filter((i) => !exempt(i))) {
                    report(`${label(eip)} reaches ${label(inst)} through ${label(eni)}, but the instance has no "${TAG_PUBLIC_EXEMPTION}" tag.`, eip.urn);
                }
            }
        }
    },
};

// --- EC2.19 / architecture: data tiers ------------------------------------------------------------

export const dataTiersNoPublicSources: StackValidationPolicy = {
    name: "data-tiers-no-public-sources",
    description:
        `[AWS FSBP EC2.19, Architecture] Security groups tagged "${TAG_TIER}" = ${DATA_TIERS.join("|")} accept no public ` +
        "source (CIDR or prefix list, any size), and no rule anywhere opens a port a data tier serves (the stack's " +
        "configured ranges, e.g. its Gluster brick range, and the components' ports) to a public source.",
    enforcementLevel: "mandatory",
    tags: ["EC2.19", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        const isDataSg = (sg: PolicyResource | undefined): boolean => !!sg && DATA_TIERS.includes(tagOf(sg, TAG_TIER) as Tier);
        // The ports the data tiers actually serve, as this stack configured them.
        const served: (PortRange & { service: string })[] = [...DATA_PORTS];
        for (const r of ofTypes(args, INGRESS_TYPES)) {
            const sg = targetSecurityGroup(r, all);
            if (!isDataSg(sg)) continue;
            for (const rule of ingressRulesOf(r.type, r.props)) {
                const p = rule.ports;
                // SSH (the bastion's) and the web ports 80/443 (the ALB's) are never data ports here.
                const webOrAdmin = [22, 80, 443].some((w) => p !== undefined && p !== "all" && p !== "none" && p.from === w && p.to === w);
                if (p !== undefined && p !== "all" && p !== "none" && !(p.from <= 22 && 22 <= p.to) && !webOrAdmin) {
                    served.push({ ...p, service: `${tagOf(sg!, TAG_TIER)} (${label(r)})` });
                }
            }
        }
        for (const r of ofTypes(args, INGRESS_TYPES)) {
            const sg = targetSecurityGroup(r, all);
            for (const rule of ingressRulesOf(r.type, r.props)) {
                const { cidrs, unresolved } = sourceCidrs(r, rule, all);
                const publicSources = cidrs.filter(isPublicRange);
                if (isDataSg(sg)) {
                    if (publicSources.length > 0) {
                        report(`${label(r)} ${rule.where}: ${label(sg!)} (a data tier) accepts ${describePorts(rule.ports)} from public ${publicSources.join(", ")}.`, r.urn);
                    }
                    if (unresolved.length > 0) {
                        report(`${label(r)} ${rule.where}: ${label(sg!)} (a data tier) accepts a prefix list not declared in this stack (${unresolved.join(", ")}), whose ranges cannot be verified.`, r.urn);
                    }
                    continue;
                }
                if (publicSources.length === 0) continue;
                const hits = served.filter((d) => overlapsRange(rule.ports, d));
                if (hits.length > 0) {
                    const what = [...new Set(hits.map((h) => `${h.from === h.to ? h.from : `${h.from}-${h.to}`} (${h.service})`))].slice(0, 6).join(", ");
                    report(`${label(r)} ${rule.where}: ${describePorts(rule.ports)} from public ${publicSources.join(", ")} covers data port(s) ${what}.`, r.urn);
                }
            }
        }
    },
};

// --- EC2.21 ---------------------------------------------------------------------------------------

interface AclEntry { where: string; allow: boolean; cidrs: string[]; ports: ReturnType<typeof ingressRulesOf>[number]["ports"] }

function aclIngressEntries(type: string, props: Record<string, unknown>): AclEntry[] {
    const entry = (where: string, e: unknown, action: unknown): AclEntry => {
        const protocol = at(e, "protocol");
        const fake = ingressRulesOf(T.sgIngressRule, { ipProtocol: protocol, fromPort: at(e, "fromPort"), toPort: at(e, "toPort") })[0];
        const cidrs = [asString(at(e, "cidrBlock")), asString(at(e, "ipv6CidrBlock"))].filter((c): c is string => !!c);
        return { where, allow: String(action ?? "").toLowerCase() === "allow", cidrs, ports: fake.ports };
    };
    if (type === T.networkAclRule) {
        if (isTrue(at(props, "egress"))) return [];
        return [entry("rule", props, at(props, "ruleAction"))];
    }
    return (asArray(at(props, "ingress")) ?? []).map((e, i) => entry(`ingress[${i}]`, e, at(e, "action")));
}

export const naclNoAdminPortsFromWorld: ResourceValidationPolicy = {
    name: "ec2-nacl-no-admin-ports-from-world",
    description:
        "[AWS FSBP EC2.21] Network ACLs (aws.ec2.NetworkAcl, NetworkAclRule, DefaultNetworkAcl) must not allow ingress to " +
        "port 22 or 3389 from the world (0.0.0.0/0, ::/0 or a public range as wide as a /8).",
    enforcementLevel: "mandatory",
    tags: ["EC2.21", "exposure"],
    validateResource: forTypes([T.networkAcl, T.networkAclRule, T.defaultNetworkAcl], ({ type, props }, report) => {
        for (const e of aclIngressEntries(type, props)) {
            if (!e.allow) continue;
            for (const cidr of e.cidrs.filter(isWorldLike)) {
                for (const port of [22, 3389]) {
                    if (coversPort(e.ports, port)) report(`${e.where}: allows ${describePorts(e.ports)} from ${cidr}, which includes port ${port}.`);
                }
            }
        }
    }),
};

export const defaultNaclManaged: StackValidationPolicy = {
    name: "ec2-default-nacl-managed",
    description:
        "[AWS FSBP EC2.21] Every VPC's default network ACL must be managed (aws.ec2.DefaultNetworkAcl): AWS creates it " +
        "allowing all inbound traffic from 0.0.0.0/0, which fails EC2.21 on ports 22 and 3389.",
    enforcementLevel: "advisory",
    tags: ["EC2.21"],
    validateStack: (args, report) => {
        const all = args.resources;
        const managed = ofTypes(args, [T.defaultNetworkAcl]);
        for (const vpc of ofTypes(args, [T.vpc])) {
            const has = managed.some((n) => referenced(n, "defaultNetworkAclId", [T.vpc], all).includes(vpc));
            if (!has) report(`${label(vpc)}: its default network ACL is AWS's allow-all one; adopt it with aws.ec2.DefaultNetworkAcl and deny 22/3389 from the world.`, vpc.urn);
        }
    },
};

// --- EC2.10 ---------------------------------------------------------------------------------------

export const ec2VpcEndpoint: StackValidationPolicy = {
    name: "ec2-vpc-endpoint",
    description:
        "[AWS FSBP EC2.10] Every VPC must have an interface endpoint for the Amazon EC2 API " +
        "(aws.ec2.VpcEndpoint with serviceName com.amazonaws.<region>.ec2), so EC2 API calls stay off the internet.",
    enforcementLevel: "advisory",
    tags: ["EC2.10", "network"],
    validateStack: (args, report) => {
        const all = args.resources;
        const endpoints = ofTypes(args, [T.vpcEndpoint]).filter((e) => {
            const svc = at(propsOf(e), "serviceName");
            return isUnknown(svc) || (typeof svc === "string" && /\.ec2$/.test(svc));
        });
        for (const vpc of ofTypes(args, [T.vpc])) {
            if (!endpoints.some((e) => vpcOf(e, all) === vpc)) report(`${label(vpc)} has no interface endpoint for com.amazonaws.<region>.ec2.`, vpc.urn);
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
            ...ofTypes(args, INSTANCE_TYPES).map((r): [PolicyResource, string] => [r, "subnetId"]),
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

export const networkResourcePolicies: ResourceValidationPolicy[] = [naclNoAdminPortsFromWorld];

export const networkPolicies: StackValidationPolicy[] = [
    defaultSecurityGroupClosed,
    vpcFlowLogs,
    worldIngressAlbOnly,
    eipOnlyOnExempt,
    dataTiersNoPublicSources,
    defaultNaclManaged,
    ec2VpcEndpoint,
    peeringRoutesPeerCidrOnly,
    nodesInPrivateSubnets,
    crossVpcSourcesPeerOnly,
];
