/**
 * Estimated deployment critical path: the engine creates a resource as soon as everything it
 * waits for exists (Pulumi runs independent creates in parallel), so the deployment takes as long
 * as the longest chain of creation times through the recorded dependency graph.
 */
import TIMES from "./creation-times.json";
import { ResourceIndex, shortType } from "./graph";
import type { PlanResource } from "./build";

export interface Duration {
    low: number;
    typical: number;
    high: number;
    basis: string;
}

export type CreationTimes = typeof TIMES;
export const CREATION_TIMES: CreationTimes = TIMES;

const ZERO: Duration = { low: 0, typical: 0, high: 0, basis: "no cloud API call" };

/** Creation time of one resource (minutes). Components and local resources take none. */
export function creationTime(r: Pick<PlanResource, "type" | "custom" | "inputs">, times: CreationTimes = CREATION_TIMES): Duration {
    if (!r.custom || times.instant.some((p) => r.type.startsWith(p))) return ZERO;
    const table = times.types as Record<string, Duration>;
    if (r.type === "aws:elasticache/replicationGroup:ReplicationGroup") {
        const clusterMode = r.inputs.clusterMode === "enabled" || Number(r.inputs.numNodeGroups ?? 1) > 1;
        if (clusterMode) return table[`${r.type}#clusterMode`];
    }
    return table[r.type] ?? times.default;
}

export interface PathStep {
    name: string;
    type: string;
    urn: string;
    minutes: number;
    startsAt: number;
    finishesAt: number;
    basis: string;
}

export interface CriticalPath {
    /** Minutes to deploy with typical creation times (the chain below). */
    minutes: number;
    /** The same walk with every resource at its low / high creation time. */
    range: { low: number; high: number };
    chain: PathStep[];
    /** When each top-level component (or top-level resource) is complete, typical times, latest first. */
    finishByComponent: Record<string, number>;
    resources: number;
    edges: number;
    source: string;
}

type Key = "low" | "typical" | "high";

function longest(
    index: ResourceIndex,
    key: Key,
    times: CreationTimes,
): { finish: Map<string, number>; start: Map<string, number>; via: Map<string, string | undefined> } {
    const finish = new Map<string, number>();
    const start = new Map<string, number>();
    const via = new Map<string, string | undefined>();
    const visiting = new Set<string>();
    const visit = (r: PlanResource): number => {
        const done = finish.get(r.urn);
        if (done !== undefined) return done;
        if (visiting.has(r.urn)) throw new Error(`dependency cycle through ${r.urn}`);
        visiting.add(r.urn);
        let s = 0;
        let from: string | undefined;
        for (const d of index.waitsFor(r)) {
            const f = visit(d);
            if (from === undefined || f > s) {
                s = f;
                from = d.urn;
            }
        }
        visiting.delete(r.urn);
        const f = s + creationTime(r, times)[key];
        start.set(r.urn, s);
        finish.set(r.urn, f);
        via.set(r.urn, from);
        return f;
    };
    for (const r of index.resources) if (r.custom) visit(r);
    return { finish, start, via };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export function criticalPath(resources: readonly PlanResource[] | ResourceIndex, times: CreationTimes = CREATION_TIMES): CriticalPath {
    const index = resources instanceof ResourceIndex ? resources : new ResourceIndex(resources);
    const typical = longest(index, "typical", times);
    const max = (m: Map<string, number>) => [...m.values()].reduce((a, b) => Math.max(a, b), 0);
    let last: string | undefined;
    let best = -1;
    for (const [urn, f] of typical.finish) {
        if (f > best) {
            best = f;
            last = urn;
        }
    }
    const chain: PathStep[] = [];
    for (let u = last; u; u = typical.via.get(u)) {
        const r = index.byUrn.get(u)!;
        const d = creationTime(r, times);
        chain.unshift({
            name: r.name,
            type: r.type,
            urn: r.urn,
            minutes: d.typical,
            startsAt: round1(typical.start.get(u)!),
            finishesAt: round1(typical.finish.get(u)!),
            basis: d.basis,
        });
    }
    const custom = index.resources.filter((r) => r.custom);
    const byComponent: Record<string, number> = {};
    for (const r of custom) {
        const top = index.topLevelOf(r);
        const key = top === r ? r.name : `${top.name} (${shortType(top.type)})`;
        byComponent[key] = Math.max(byComponent[key] ?? 0, typical.finish.get(r.urn) ?? 0);
    }
    const finishByComponent = Object.fromEntries(
        Object.entries(byComponent)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, round1(v)]),
    );
    return {
        minutes: round1(Math.max(best, 0)),
        range: { low: round1(max(longest(index, "low", times).finish)), high: round1(max(longest(index, "high", times).finish)) },
        chain,
        finishByComponent,
        resources: custom.length,
        edges: custom.reduce((n, r) => n + index.waitsFor(r).length, 0),
        source: times.source,
    };
}

/** One line: `Vpc 0.1 → Subnet 0.05 → NatGateway 1.75`. */
export function formatChain(chain: readonly PathStep[]): string {
    return chain.map((s) => `${s.name} (${shortType(s.type)}, ${s.minutes} min)`).join(" → ");
}
