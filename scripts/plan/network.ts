/**
 * The network as built: VPCs, their subnets by tier (public = routed to an internet gateway),
 * peerings, the workloads in them (instances, auto-scaling groups, load balancers, caches, NAT,
 * grouped by the component that owns them) and the ports their security groups open to each
 * other, to the internet and to outside CIDRs. Read from recorded resources only, so it works for
 * any program built from @pulumi/aws resources.
 */
import { ResourceIndex, shortType, unique } from "./graph";
import type { PlanResource } from "./build";

export interface NetSubnet {
    urn: string;
    name: string;
    cidr: string;
    az: string;
    tier: "public" | "private";
}

export interface NetVpc {
    urn: string;
    name: string;
    cidr: string;
    /** Top-level component that owns the VPC, e.g. `dev-web (PeeredVpc)`. */
    owner: string;
    subnets: NetSubnet[];
}

export type WorkloadKind = "instances" | "autoscaling" | "loadbalancer" | "cache" | "nat" | "securitygroup";

export interface NetWorkload {
    key: string;
    kind: WorkloadKind;
    /** Short title: the owning component or the resource. */
    title: string;
    /** Lines under the title (what runs there). */
    details: string[];
    vpc?: string;
    tier?: "public" | "private";
    securityGroups: string[];
    /** URNs of the resources the workload stands for (its compute resources and security groups). */
    members: string[];
}

export interface NetEndpoint {
    key: string;
    kind: "workload" | "internet" | "cidr" | "vpc" | "external-sg";
    label: string;
    /** What the rule that admits it says (e.g. "SSH from admin CIDRs"). */
    description?: string;
}

export interface NetFlow {
    from: string;
    to: string;
    ports: string[];
}

export interface NetPeering {
    name: string;
    a: string;
    b: string;
}

export interface NetworkModel {
    vpcs: NetVpc[];
    peerings: NetPeering[];
    workloads: NetWorkload[];
    /** Sources that are not workloads: the internet, outside CIDRs, whole VPCs, foreign SGs. */
    endpoints: NetEndpoint[];
    flows: NetFlow[];
}

const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    igw: "aws:ec2/internetGateway:InternetGateway",
    route: "aws:ec2/route:Route",
    rt: "aws:ec2/routeTable:RouteTable",
    rta: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    sgIn: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    sgRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    instance: "aws:ec2/instance:Instance",
    asg: "aws:autoscaling/group:Group",
    lt: "aws:ec2/launchTemplate:LaunchTemplate",
    lb: ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"],
    rg: "aws:elasticache/replicationGroup:ReplicationGroup",
    cacheCluster: "aws:elasticache/cluster:Cluster",
    cacheSubnets: "aws:elasticache/subnetGroup:SubnetGroup",
    nat: "aws:ec2/natGateway:NatGateway",
    peering: "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
};

function ipv4(cidr: string): { net: number; bits: number } | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m) return undefined;
    const net = ((+m[1] << 24) | (+m[2] << 16) | (+m[3] << 8) | +m[4]) >>> 0;
    return { net, bits: +m[5] };
}

/** True when `inner` lies inside `outer` (IPv4). */
export function cidrWithin(inner: string, outer: string): boolean {
    const i = ipv4(inner);
    const o = ipv4(outer);
    if (!i || !o || i.bits < o.bits) return false;
    const mask = o.bits === 0 ? 0 : (~0 << (32 - o.bits)) >>> 0;
    return ((i.net & mask) >>> 0) === ((o.net & mask) >>> 0);
}

function portLabel(protocol: unknown, from: unknown, to: unknown): string {
    const p = String(protocol ?? "tcp").toLowerCase();
    if (p === "-1" || p === "all") return "all traffic";
    const f = Number(from);
    const t = Number(to ?? from);
    const range = !Number.isFinite(f) ? "?" : f === t || !Number.isFinite(t) ? `${f}` : f === 0 && t === 65535 ? "all ports" : `${f}-${t}`;
    const proto = p === "6" || p === "tcp" ? "" : p === "17" || p === "udp" ? "/udp" : `/${p}`;
    return `${range}${proto}`;
}

function portSortKey(p: string): number {
    const n = parseInt(p, 10);
    return Number.isFinite(n) ? n : 1e6;
}

export function buildNetworkModel(resources: readonly PlanResource[] | ResourceIndex): NetworkModel {
    const index = resources instanceof ResourceIndex ? resources : new ResourceIndex(resources);
    const label = (r: PlanResource) => {
        const top = index.topLevelOf(r);
        return top === r ? r.name : `${top.name} (${shortType(top.type)})`;
    };

    // Public subnets: associated with a route table that has a route to an internet gateway.
    const igwRouteTables = new Set<string>();
    for (const route of index.ofType(T.route)) {
        if (index.referenced(route, "gatewayId", T.igw).length > 0) {
            for (const rt of index.referenced(route, "routeTableId", T.rt)) igwRouteTables.add(rt.urn);
        }
    }
    for (const rt of index.ofType(T.rt)) {
        const routes = (rt.inputs.routes ?? []) as Record<string, unknown>[];
        if (routes.some((x) => index.resolveId(x.gatewayId, T.igw))) igwRouteTables.add(rt.urn);
    }
    const publicSubnets = new Set<string>();
    for (const a of index.ofType(T.rta)) {
        if (index.referenced(a, "routeTableId", T.rt).some((rt) => igwRouteTables.has(rt.urn))) {
            for (const s of index.referenced(a, "subnetId", T.subnet)) publicSubnets.add(s.urn);
        }
    }

    const vpcs: NetVpc[] = index.ofType(T.vpc).map((v) => ({
        urn: v.urn,
        name: v.name,
        cidr: String(v.inputs.cidrBlock ?? "?"),
        owner: label(v),
        subnets: [],
    }));
    const vpcByUrn = new Map(vpcs.map((v) => [v.urn, v]));
    const subnetTier = new Map<string, "public" | "private">();
    const subnetVpc = new Map<string, string>();
    for (const s of index.ofType(T.subnet)) {
        const tier = publicSubnets.has(s.urn) || s.inputs.mapPublicIpOnLaunch === true ? "public" : "private";
        subnetTier.set(s.urn, tier);
        const vpc = index.referenced(s, "vpcId", T.vpc)[0];
        if (!vpc) continue;
        subnetVpc.set(s.urn, vpc.urn);
        vpcByUrn.get(vpc.urn)!.subnets.push({
            urn: s.urn,
            name: s.name,
            cidr: String(s.inputs.cidrBlock ?? "?"),
            az: String(s.inputs.availabilityZone ?? ""),
            tier,
        });
    }
    for (const v of vpcs) v.subnets.sort((a, b) => a.tier.localeCompare(b.tier) || a.az.localeCompare(b.az));

    const peerings: NetPeering[] = [];
    for (const p of index.ofType(T.peering)) {
        const a = index.referenced(p, "vpcId", T.vpc)[0];
        const b = index.referenced(p, "peerVpcId", T.vpc)[0];
        if (a && b) peerings.push({ name: p.name, a: a.urn, b: b.urn });
    }

    // Workloads: compute resources grouped by owning component and kind.
    const workloads = new Map<string, Omit<NetWorkload, "members"> & { subnets: string[]; vpcs: string[]; items: string[]; urns: string[] }>();
    const sgWorkload = new Map<string, string>();
    const addWorkload = (
        r: PlanResource,
        kind: WorkloadKind,
        item: string,
        sgs: PlanResource[],
        subnets: PlanResource[],
        vpcsOf: PlanResource[] = [],
        related: PlanResource[] = [],
    ) => {
        const owner = index.componentOf(r);
        const key = `${owner?.urn ?? r.urn}|${kind}`;
        let w = workloads.get(key);
        if (!w) {
            w = {
                key,
                kind,
                title: owner ? `${owner.name} (${shortType(owner.type)})` : r.name,
                details: [],
                securityGroups: [],
                subnets: [],
                vpcs: [],
                items: [],
                urns: [],
            };
            workloads.set(key, w);
        }
        w.urns.push(r.urn, ...related.map((x) => x.urn));
        w.items.push(item);
        w.securityGroups.push(...sgs.map((s) => s.urn));
        w.subnets.push(...subnets.map((s) => s.urn));
        w.vpcs.push(...vpcsOf.map((v) => v.urn));
        for (const s of sgs) if (!sgWorkload.has(s.urn)) sgWorkload.set(s.urn, key);
    };

    for (const r of index.ofType(T.instance)) {
        const sgs = unique([...index.referenced(r, "vpcSecurityGroupIds", T.sg), ...index.referenced(r, "securityGroups", T.sg)]);
        addWorkload(r, "instances", String(r.inputs.instanceType ?? "instance"), sgs, index.referenced(r, "subnetId", T.subnet));
    }
    for (const r of index.ofType(T.asg)) {
        // A spot group names its template inside the mixed-instances policy.
        const lt =
            index.resolveId(r.inputs.launchTemplate?.id ?? r.inputs.mixedInstancesPolicy?.launchTemplate?.launchTemplateSpecification?.launchTemplateId, T.lt) ??
            index.referenced(r, "launchTemplate", T.lt)[0] ??
            index.referenced(r, "mixedInstancesPolicy", T.lt)[0];
        const t = lt?.inputs ?? {};
        const sgs = lt
            ? unique([
                  ...index.referenced(lt, "vpcSecurityGroupIds", T.sg),
                  ...((t.networkInterfaces ?? []) as Record<string, unknown>[]).flatMap((n) =>
                      ((n.securityGroups ?? []) as unknown[]).map((id) => index.resolveId(id, T.sg)).filter((x): x is PlanResource => !!x),
                  ),
              ])
            : [];
        const size = `${String(r.inputs.minSize ?? "?")}–${String(r.inputs.maxSize ?? "?")}`;
        addWorkload(r, "autoscaling", `ASG ${size} × ${String(t.instanceType ?? "?")}`, sgs, index.referenced(r, "vpcZoneIdentifiers", T.subnet), [], lt ? [lt] : []);
    }
    for (const r of index.ofType(...T.lb)) {
        const subnets = [
            ...index.referenced(r, "subnets", T.subnet),
            ...((r.inputs.subnetMappings ?? []) as Record<string, unknown>[]).map((m) => index.resolveId(m.subnetId, T.subnet)).filter((x): x is PlanResource => !!x),
        ];
        const kind = String(r.inputs.loadBalancerType ?? "application") === "application" ? "ALB" : "NLB";
        addWorkload(r, "loadbalancer", `${kind}${r.inputs.internal === true ? " (internal)" : ""}`, index.referenced(r, "securityGroups", T.sg), subnets);
    }
    for (const r of index.ofType(T.rg, T.cacheCluster)) {
        if (r.type === T.cacheCluster && r.inputs.replicationGroupId !== undefined) continue;
        const group = index.resolveId(r.inputs.subnetGroupName, T.cacheSubnets) ?? index.referenced(r, "subnetGroupName", T.cacheSubnets)[0];
        const subnets = group ? index.referenced(group, "subnetIds", T.subnet) : [];
        const p = r.inputs;
        const nodes = p.numCacheClusters !== undefined ? Number(p.numCacheClusters) : Number(p.numNodeGroups ?? 1) * (1 + Number(p.replicasPerNodeGroup ?? 0));
        const shards = Number(p.numNodeGroups ?? 1);
        const item = `ElastiCache ${String(p.engine ?? "redis")}: ${shards > 1 ? `${shards} shards, ` : ""}${nodes} × ${String(p.nodeType ?? "?")}`;
        addWorkload(r, "cache", item, index.referenced(r, "securityGroupIds", T.sg), subnets);
    }
    for (const r of index.ofType(T.nat)) {
        const subnets = index.referenced(r, "subnetId", T.subnet);
        // One NAT workload per VPC: they are interchangeable on a diagram.
        const vpc = subnets.map((s) => subnetVpc.get(s.urn)).find((x) => x);
        const key = `nat|${vpc ?? r.urn}`;
        let w = workloads.get(key);
        if (!w) {
            w = { key, kind: "nat", title: "NAT gateway", details: [], securityGroups: [], subnets: [], vpcs: [], items: [], urns: [] };
            workloads.set(key, w);
        }
        w.urns.push(r.urn);
        w.items.push("NAT gateway");
        w.subnets.push(...subnets.map((s) => s.urn));
    }
    // Security groups no compute resource uses (yet): shown on their own, in their VPC.
    for (const sg of index.ofType(T.sg)) {
        if (sgWorkload.has(sg.urn)) continue;
        addWorkload(sg, "securitygroup", "security group (no instance in this plan uses it)", [sg], [], index.referenced(sg, "vpcId", T.vpc));
    }

    const out: NetWorkload[] = [];
    for (const w of workloads.values()) {
        const counts = new Map<string, number>();
        for (const i of w.items) counts.set(i, (counts.get(i) ?? 0) + 1);
        const details = [...counts.entries()].map(([i, n]) => (n > 1 ? `${n} × ${i}` : i));
        const vpcOfSubnets = unique(w.subnets.map((s) => subnetVpc.get(s)).filter((x): x is string => !!x));
        const sgVpcs = unique(
            w.securityGroups.flatMap((s) => index.referenced(index.byUrn.get(s)!, "vpcId", T.vpc).map((v) => v.urn)),
        );
        const vpc = vpcOfSubnets[0] ?? w.vpcs[0] ?? sgVpcs[0];
        const tiers = unique(w.subnets.map((s) => subnetTier.get(s)).filter((x): x is "public" | "private" => !!x));
        const azs = unique(
            w.subnets.map((s) => String(index.byUrn.get(s)?.inputs.availabilityZone ?? "")).filter((x) => x),
        );
        if (azs.length > 1) details.push(`across ${azs.length} AZs`);
        if (w.kind === "nat") w.title = details.length > 0 && counts.get("NAT gateway")! > 1 ? "NAT gateways" : "NAT gateway";
        out.push({
            key: w.key,
            kind: w.kind,
            title: w.title,
            details: w.kind === "nat" ? [`${counts.get("NAT gateway")} × NAT gateway${azs.length > 1 ? ` (${azs.length} AZs)` : ""}`] : details,
            vpc,
            tier: tiers.length === 1 ? tiers[0] : undefined,
            securityGroups: unique(w.securityGroups),
            members: unique([...w.urns, ...w.securityGroups]),
        });
    }

    // Flows: ingress rules, inline or separate, from security groups, the internet or CIDRs.
    const endpoints = new Map<string, NetEndpoint>();
    const flows = new Map<string, NetFlow>();
    const sourceForCidr = (cidr: string, description?: unknown): string => {
        if (cidr === "0.0.0.0/0" || cidr === "::/0") {
            endpoints.set("internet", { key: "internet", kind: "internet", label: "internet (0.0.0.0/0, ::/0)" });
            return "internet";
        }
        const v = vpcs.find((x) => cidrWithin(cidr, x.cidr));
        if (v && cidr === v.cidr) return `vpc:${v.urn}`;
        const key = `cidr:${cidr}`;
        const existing = endpoints.get(key);
        const desc = typeof description === "string" && description ? description : undefined;
        endpoints.set(key, existing ?? { key, kind: "cidr", label: v ? `${cidr} (in ${v.name})` : cidr, description: desc });
        return key;
    };
    const sourceForSg = (id: unknown, self: PlanResource): string => {
        const sg = index.resolveId(id, T.sg) ?? (id === "self" ? self : undefined);
        if (sg) return sgWorkload.get(sg.urn)!;
        const key = `sg:${String(id)}`;
        endpoints.set(key, { key, kind: "external-sg", label: `security group ${String(id)}` });
        return key;
    };
    const addFlow = (from: string, target: PlanResource, port: string) => {
        const to = sgWorkload.get(target.urn);
        if (!to) return;
        const k = `${from}→${to}`;
        const f = flows.get(k) ?? { from, to, ports: [] };
        if (!f.ports.includes(port)) f.ports.push(port);
        flows.set(k, f);
    };
    for (const sg of index.ofType(T.sg)) {
        for (const rule of (sg.inputs.ingress ?? []) as Record<string, unknown>[]) {
            const port = portLabel(rule.protocol, rule.fromPort, rule.toPort);
            for (const c of [...((rule.cidrBlocks ?? []) as string[]), ...((rule.ipv6CidrBlocks ?? []) as string[])]) addFlow(sourceForCidr(c, rule.description), sg, port);
            for (const id of (rule.securityGroups ?? []) as unknown[]) addFlow(sourceForSg(id, sg), sg, port);
            if (rule.self === true) addFlow(sgWorkload.get(sg.urn)!, sg, port);
        }
    }
    for (const rule of index.ofType(T.sgIn)) {
        const target = index.referenced(rule, "securityGroupId", T.sg)[0];
        if (!target) continue;
        const port = portLabel(rule.inputs.ipProtocol, rule.inputs.fromPort, rule.inputs.toPort);
        if (rule.inputs.cidrIpv4) addFlow(sourceForCidr(String(rule.inputs.cidrIpv4), rule.inputs.description), target, port);
        if (rule.inputs.cidrIpv6) addFlow(sourceForCidr(String(rule.inputs.cidrIpv6), rule.inputs.description), target, port);
        if (rule.inputs.referencedSecurityGroupId !== undefined) addFlow(sourceForSg(rule.inputs.referencedSecurityGroupId, target), target, port);
    }
    for (const rule of index.ofType(T.sgRule)) {
        if (rule.inputs.type !== "ingress") continue;
        const target = index.referenced(rule, "securityGroupId", T.sg)[0];
        if (!target) continue;
        const port = portLabel(rule.inputs.protocol, rule.inputs.fromPort, rule.inputs.toPort);
        for (const c of [...((rule.inputs.cidrBlocks ?? []) as string[]), ...((rule.inputs.ipv6CidrBlocks ?? []) as string[])]) addFlow(sourceForCidr(c, rule.inputs.description), target, port);
        if (rule.inputs.sourceSecurityGroupId !== undefined) addFlow(sourceForSg(rule.inputs.sourceSecurityGroupId, target), target, port);
        if (rule.inputs.self === true) addFlow(sgWorkload.get(target.urn)!, target, port);
    }
    for (const v of vpcs) {
        if ([...flows.values()].some((f) => f.from === `vpc:${v.urn}`)) {
            endpoints.set(`vpc:${v.urn}`, { key: `vpc:${v.urn}`, kind: "vpc", label: `${v.name} ${v.cidr}` });
        }
    }
    const flowList = [...flows.values()].map((f) => ({ ...f, ports: f.ports.sort((a, b) => portSortKey(a) - portSortKey(b)) }));
    return { vpcs, peerings, workloads: out, endpoints: [...endpoints.values()], flows: flowList };
}
