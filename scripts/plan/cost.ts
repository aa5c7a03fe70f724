/**
 * Estimated monthly cost of a plan from the price table in prices.json: one line per priced
 * resource, itemized by top-level component and by driver. Pure: tests check the arithmetic.
 */
import PRICE_TABLE from "./prices.json";
import { ResourceIndex, shortType } from "./graph";
import type { PlanResource } from "./build";

export type PriceTable = typeof PRICE_TABLE;
export const PRICES: PriceTable = PRICE_TABLE;

export const DRIVERS = ["instances", "nat-gateways", "public-ipv4", "alb", "elasticache", "ebs", "secrets", "alarms"] as const;
export type Driver = (typeof DRIVERS)[number];

export interface CostLine {
    driver: Driver;
    /** The top-level component (or resource) the cost belongs to. */
    component: string;
    resource: string;
    type: string;
    quantity: number;
    unit: string;
    unitPrice: number;
    monthly: number;
    detail: string;
}

export interface CostEstimate {
    currency: string;
    priceRegion: string;
    deployRegion: string;
    regionFactor: number;
    source: string;
    asOf: string;
    note: string;
    hoursPerMonth: number;
    total: number;
    byDriver: Record<Driver, number>;
    byComponent: Record<string, number>;
    lines: CostLine[];
    /** Resources that cost money but have no price in the table (counted as 0). */
    unpriced: { resource: string; type: string; reason: string }[];
    notIncluded: string[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function num(v: unknown, fallback: number): number {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    return Number.isFinite(n) ? n : fallback;
}

/** Monthly estimate for the resources of one plan. */
export function estimateCost(
    resources: readonly PlanResource[] | ResourceIndex,
    deployRegion: string,
    prices: PriceTable = PRICES,
): CostEstimate {
    const index = resources instanceof ResourceIndex ? resources : new ResourceIndex(resources);
    const factors = prices.regionFactors as Record<string, number>;
    const regionFactor = factors[deployRegion] ?? 1;
    const H = prices.hoursPerMonth;
    const lines: CostLine[] = [];
    const unpriced: CostEstimate["unpriced"] = [];
    const ec2 = prices.ec2OnDemandHourly as Record<string, number>;
    const cache = prices.elasticacheNodeHourly as Record<string, number>;
    const ebs = prices.ebsGbMonth as Record<string, number>;

    const add = (r: PlanResource, driver: Driver, quantity: number, unit: string, unitPrice: number, detail: string) => {
        if (quantity <= 0) return;
        const top = index.topLevelOf(r);
        lines.push({
            driver,
            component: top === r ? `${r.name}` : `${top.name} (${shortType(top.type)})`,
            resource: r.name,
            type: r.type,
            quantity,
            unit,
            unitPrice,
            monthly: quantity * unitPrice * (unit.endsWith("-hour") ? H : 1) * regionFactor,
            detail,
        });
    };
    const instanceHours = (r: PlanResource, instanceType: unknown, count: number, what: string) => {
        const t = String(instanceType ?? "");
        if (ec2[t] === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no price for instance type "${t}"` });
        else add(r, "instances", count, "instance-hour", ec2[t], `${count > 1 ? `${count} × ` : ""}${t}${what}`);
    };
    const volume = (r: PlanResource, size: unknown, type: unknown, count: number, what: string, assumed = false) => {
        const gb = num(size, prices.assumedRootVolume.sizeGb);
        const t = String(type ?? prices.assumedRootVolume.type);
        if (ebs[t] === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no price for EBS type "${t}"` });
        else add(r, "ebs", gb * count, "GB-month", ebs[t], `${count > 1 ? `${count} × ` : ""}${gb} GB ${t} ${what}${assumed ? " (size assumed: AMI default)" : ""}`);
    };
    const publicIps = (r: PlanResource, count: number, what: string) =>
        add(r, "public-ipv4", count, "address-hour", prices.publicIpv4Hourly, `${count > 1 ? `${count} × ` : ""}public IPv4 ${what}`);

    for (const r of index.resources) {
        if (!r.custom) continue;
        const p = r.inputs;
        switch (r.type) {
            case "aws:ec2/instance:Instance": {
                instanceHours(r, p.instanceType, 1, "");
                const root = p.rootBlockDevice ?? {};
                volume(r, root.volumeSize, root.volumeType, 1, "root volume", root.volumeSize === undefined);
                for (const d of (p.ebsBlockDevices ?? []) as Record<string, unknown>[]) volume(r, d.volumeSize, d.volumeType, 1, `volume ${String(d.deviceName ?? "")}`);
                if (p.associatePublicIpAddress === true) publicIps(r, 1, "(instance)");
                break;
            }
            case "aws:autoscaling/group:Group": {
                const count = num(p.desiredCapacity, num(p.minSize, 0));
                const lt =
                    index.resolveId(p.launchTemplate?.id, "aws:ec2/launchTemplate:LaunchTemplate") ??
                    index.resolveId(p.launchTemplate?.name, "aws:ec2/launchTemplate:LaunchTemplate") ??
                    index.referenced(r, "launchTemplate", "aws:ec2/launchTemplate:LaunchTemplate")[0];
                if (!lt) {
                    unpriced.push({ resource: r.name, type: r.type, reason: "launch template not found in the plan" });
                    break;
                }
                const t = lt.inputs;
                instanceHours(r, t.instanceType, count, ` (desired capacity, launch template ${lt.name})`);
                const mappings = (t.blockDeviceMappings ?? []) as { ebs?: Record<string, unknown> }[];
                if (mappings.length === 0) volume(r, undefined, undefined, count, "root volume", true);
                for (const m of mappings) volume(r, m.ebs?.volumeSize, m.ebs?.volumeType, count, "volume", m.ebs?.volumeSize === undefined);
                const nics = (t.networkInterfaces ?? []) as Record<string, unknown>[];
                if (nics.some((n) => n.associatePublicIpAddress === true || n.associatePublicIpAddress === "true")) publicIps(r, count, "(ASG instances)");
                break;
            }
            case "aws:ebs/volume:Volume":
                volume(r, p.size, p.type ?? "gp2", 1, "data volume");
                break;
            case "aws:ec2/natGateway:NatGateway":
                add(r, "nat-gateways", 1, "gateway-hour", prices.natGateway.hourly, `NAT gateway in ${String(p.subnetId ?? "?")} (plus $${prices.natGateway.perGbProcessed}/GB processed, not included)`);
                break;
            case "aws:ec2/eip:Eip":
                publicIps(r, 1, "(Elastic IP)");
                break;
            case "aws:lb/loadBalancer:LoadBalancer":
            case "aws:alb/loadBalancer:LoadBalancer": {
                const kind = p.loadBalancerType ?? "application";
                if (kind !== "application") {
                    unpriced.push({ resource: r.name, type: r.type, reason: `no price for ${String(kind)} load balancers` });
                    break;
                }
                add(r, "alb", 1, "lb-hour", prices.alb.hourly, "ALB hours");
                add(r, "alb", prices.alb.assumedLcus, "LCU-hour", prices.alb.lcuHourly, `${prices.alb.assumedLcus} LCU assumed on average`);
                if (p.internal !== true) {
                    const azs = ((p.subnets ?? p.subnetMappings ?? []) as unknown[]).length;
                    publicIps(r, azs, "(internet-facing ALB, one per AZ)");
                }
                break;
            }
            case "aws:elasticache/replicationGroup:ReplicationGroup": {
                const nodes =
                    p.numCacheClusters !== undefined
                        ? num(p.numCacheClusters, 1)
                        : num(p.numNodeGroups, 1) * (1 + num(p.replicasPerNodeGroup, 0));
                const t = String(p.nodeType ?? "");
                if (cache[t] === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no price for node type "${t}"` });
                else add(r, "elasticache", nodes, "node-hour", cache[t], `${nodes} × ${t}`);
                break;
            }
            case "aws:elasticache/cluster:Cluster": {
                if (p.replicationGroupId !== undefined) break; // a member of a replication group: priced there
                const t = String(p.nodeType ?? "");
                const nodes = num(p.numCacheNodes, 1);
                if (cache[t] === undefined) unpriced.push({ resource: r.name, type: r.type, reason: `no price for node type "${t}"` });
                else add(r, "elasticache", nodes, "node-hour", cache[t], `${nodes} × ${t}`);
                break;
            }
            case "aws:secretsmanager/secret:Secret":
                add(r, "secrets", 1, "secret-month", prices.secretsManagerSecretMonthly, "secret");
                break;
            case "aws:cloudwatch/metricAlarm:MetricAlarm":
                add(r, "alarms", 1, "alarm-month", prices.cloudwatchAlarmMonthly, "standard-resolution alarm");
                break;
        }
    }

    const byDriver = Object.fromEntries(DRIVERS.map((d) => [d, 0])) as Record<Driver, number>;
    const byComponent: Record<string, number> = {};
    for (const l of lines) {
        byDriver[l.driver] += l.monthly;
        byComponent[l.component] = (byComponent[l.component] ?? 0) + l.monthly;
    }
    for (const d of DRIVERS) byDriver[d] = round2(byDriver[d]);
    for (const k of Object.keys(byComponent)) byComponent[k] = round2(byComponent[k]);
    for (const l of lines) l.monthly = round2(l.monthly);
    const total = round2(lines.reduce((s, l) => s + l.monthly, 0));
    return {
        currency: prices.currency,
        priceRegion: prices.region,
        deployRegion,
        regionFactor,
        source: prices.source,
        asOf: prices.asOf,
        note:
            deployRegion === prices.region
                ? "list prices of the deployment region"
                : factors[deployRegion] !== undefined
                  ? `${prices.region} prices × ${regionFactor} for ${deployRegion}`
                  : `${prices.region} list prices for a stack in ${deployRegion}: indicative only (${prices.regionNote})`,
        hoursPerMonth: H,
        total,
        byDriver,
        byComponent: Object.fromEntries(Object.entries(byComponent).sort((a, b) => b[1] - a[1])),
        lines,
        unpriced,
        notIncluded: prices.notIncluded,
    };
}
