/**
 * An index over recorded resources: by URN, by ID, parents and children, and the dependency edges
 * the engine would wait on. Every analysis of the plan (tree, cost, critical path, network) uses it.
 */
import type { PlanResource } from "./build";

export class ResourceIndex {
    readonly byUrn = new Map<string, PlanResource>();
    readonly byId = new Map<string, PlanResource>();
    readonly children = new Map<string, PlanResource[]>();

    constructor(readonly resources: readonly PlanResource[]) {
        for (const r of resources) {
            this.byUrn.set(r.urn, r);
            if (r.custom && r.id) this.byId.set(r.id, r);
        }
        for (const r of resources) {
            if (r.parent && this.byUrn.has(r.parent)) {
                const list = this.children.get(r.parent) ?? [];
                list.push(r);
                this.children.set(r.parent, list);
            }
        }
    }

    /** Resources whose parent is not a recorded resource (the stack's top level). */
    roots(): PlanResource[] {
        return this.resources.filter((r) => !r.parent || !this.byUrn.has(r.parent));
    }

    childrenOf(urn: string): PlanResource[] {
        return this.children.get(urn) ?? [];
    }

    ofType(...types: string[]): PlanResource[] {
        return this.resources.filter((r) => types.includes(r.type));
    }

    /** The resource an ID (a string input) names, if it was created in this plan. */
    resolveId(id: unknown, type?: string): PlanResource | undefined {
        if (typeof id !== "string") return undefined;
        const r = this.byId.get(id);
        return r && (!type || r.type === type) ? r : undefined;
    }

    /**
     * The resources a property refers to: by ID where the value is an ID of ours, else through the
     * property's recorded dependencies (filtered by type when given).
     */
    referenced(r: PlanResource, prop: string, type?: string): PlanResource[] {
        const value = r.inputs[prop];
        const values = Array.isArray(value) ? value : [value];
        const found = values.map((v) => this.resolveId(v, type)).filter((x): x is PlanResource => !!x);
        if (found.length > 0) return unique(found);
        return unique(
            (r.propertyDependencies[prop] ?? [])
                .map((u) => this.byUrn.get(u))
                .filter((x): x is PlanResource => !!x && (!type || x.type === type)),
        );
    }

    /** The top-level component (or resource) a resource belongs to. */
    topLevelOf(r: PlanResource): PlanResource {
        let cur = r;
        while (cur.parent && this.byUrn.has(cur.parent)) cur = this.byUrn.get(cur.parent)!;
        return cur;
    }

    /** The nearest component resource at or above `r` (undefined for a custom resource without one). */
    componentOf(r: PlanResource): PlanResource | undefined {
        let cur: PlanResource | undefined = r;
        while (cur && cur.custom) cur = cur.parent ? this.byUrn.get(cur.parent) : undefined;
        return cur;
    }

    /** Custom resources at or below `urn`. */
    customDescendants(urn: string): PlanResource[] {
        const out: PlanResource[] = [];
        const walk = (u: string) => {
            for (const c of this.childrenOf(u)) {
                if (c.custom) out.push(c);
                walk(c.urn);
            }
        };
        const self = this.byUrn.get(urn);
        if (self?.custom) out.push(self);
        walk(urn);
        return out;
    }

    /**
     * What the engine waits for before creating `r`: explicit and property dependencies (a
     * component stands for its custom descendants) and a custom parent (its URN resolves only once
     * it exists). A component parent does not delay its children.
     */
    waitsFor(r: PlanResource): PlanResource[] {
        const urns = new Set<string>([...r.dependencies, ...Object.values(r.propertyDependencies).flat()]);
        if (r.parent) {
            const p = this.byUrn.get(r.parent);
            if (p?.custom) urns.add(p.urn);
        }
        const out = new Map<string, PlanResource>();
        for (const u of urns) {
            const d = this.byUrn.get(u);
            if (!d || d.urn === r.urn) continue;
            if (d.custom) out.set(d.urn, d);
            else for (const x of this.customDescendants(d.urn)) if (x.urn !== r.urn) out.set(x.urn, x);
        }
        return [...out.values()];
    }
}

export function unique<T>(xs: T[]): T[] {
    return [...new Set(xs)];
}

/** `aws:ec2/natGateway:NatGateway` → `NatGateway`; component tokens → their last segment. */
export function shortType(type: string): string {
    return type.split(":").pop() ?? type;
}
