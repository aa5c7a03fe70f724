/**
 * The plan report: resource tree, counts, policy verdicts, cost and critical path, as JSON (the
 * `<stack>.json` artifact and `--json`) and as text for people.
 */
import { evaluate, type EvalResource, type Verdict } from "../../policy/evaluate";
import type { Built, PlanResource } from "./build";
import type { RecordedResource } from "./mockEngine";
import { estimateCost, loadUsage, type CostComparison, type CostEstimate, DRIVERS, type Usage } from "./cost";
import { criticalPath, type CriticalPath } from "./criticalPath";
import { ResourceIndex, shortType } from "./graph";
import { buildNetworkModel, type NetworkModel } from "./network";

export interface TreeNode {
    name: string;
    type: string;
    custom: boolean;
    children: TreeNode[];
}

export interface PlanVerdict {
    policy: string;
    level: "mandatory" | "advisory";
    resource?: string;
    type?: string;
    urn?: string;
    message: string;
    description: string;
    unknownValue?: boolean;
}

export interface PlanReport {
    schemaVersion: 1;
    project: string;
    stack: string;
    region: string;
    program: string;
    configSources: string[];
    /** The config the program saw (full keys, values as the CLI hands them over). */
    config: Record<string, string>;
    generatedBy: string;
    summary: {
        resources: number;
        customResources: number;
        components: number;
        mandatoryViolations: number;
        advisoryViolations: number;
        monthlyCost: number;
        currency: string;
        criticalPathMinutes: number;
    };
    tree: TreeNode[];
    countsByType: Record<string, number>;
    verdicts: PlanVerdict[];
    cost: CostEstimate;
    criticalPath: CriticalPath;
    network: NetworkModel;
    /** With `--compare`: this plan's cost and resources against another config or plan. */
    compare?: CostComparison;
}

/** Recorded registrations → the evaluator's input (custom resources only: the engine analyzes those). */
export function toEvalResources(recorded: readonly RecordedResource[]): EvalResource[] {
    return recorded
        .filter((r) => r.custom)
        .map((r) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: r.inputs,
            parent: r.parent,
            dependencies: r.dependencies,
            propertyDependencies: r.propertyDependencies,
            provider: r.provider,
        }));
}

export function resourceTree(index: ResourceIndex): TreeNode[] {
    const node = (r: PlanResource): TreeNode => ({
        name: r.name,
        type: r.type,
        custom: r.custom,
        children: index.childrenOf(r.urn).map(node),
    });
    return index.roots().map(node);
}

export function countsByType(resources: readonly PlanResource[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

export async function makeReport(built: Built, usage?: { usage: Usage; source: string }): Promise<PlanReport> {
    const index = new ResourceIndex(built.resources);
    const raw: Verdict[] = await evaluate(toEvalResources(built.resources), { stack: built.stack });
    const verdicts: PlanVerdict[] = raw.map((v) => {
        const r = v.urn ? index.byUrn.get(v.urn) : undefined;
        return {
            policy: v.policyName,
            level: v.enforcementLevel,
            resource: r?.name,
            type: r?.type,
            urn: v.urn,
            message: v.message,
            description: v.description,
            ...(v.unknownValue ? { unknownValue: true } : {}),
        };
    });
    verdicts.sort((a, b) => (a.level === b.level ? 0 : a.level === "mandatory" ? -1 : 1));
    const u = usage ?? loadUsage(built.stack);
    const cost = estimateCost(index, built.region, { usage: u.usage, usageSource: u.source });
    const path = criticalPath(index);
    return {
        schemaVersion: 1,
        project: built.project,
        stack: built.stack,
        region: built.region,
        program: built.program,
        configSources: built.configSources,
        config: built.config,
        generatedBy: "npm run plan (offline: Pulumi mocks, no cloud calls)",
        summary: {
            resources: built.resources.length,
            customResources: built.resources.filter((r) => r.custom).length,
            components: built.resources.filter((r) => !r.custom).length,
            mandatoryViolations: verdicts.filter((v) => v.level === "mandatory").length,
            advisoryViolations: verdicts.filter((v) => v.level === "advisory").length,
            monthlyCost: cost.total,
            currency: cost.currency,
            criticalPathMinutes: path.minutes,
        },
        tree: resourceTree(index),
        countsByType: countsByType(built.resources),
        verdicts,
        cost,
        criticalPath: path,
        network: buildNetworkModel(index),
    };
}

const money = (x: number) => `$${x.toFixed(2)}`;

function treeLines(nodes: readonly TreeNode[], indent: string, out: string[]): void {
    // Components get a line each; runs of custom leaves of one type collapse into one line.
    const leaves = new Map<string, string[]>();
    for (const n of nodes) {
        if (n.custom && n.children.length === 0) {
            const list = leaves.get(n.type) ?? [];
            list.push(n.name);
            leaves.set(n.type, list);
        }
    }
    for (const n of nodes) {
        if (n.custom && n.children.length === 0) continue;
        out.push(`${indent}${n.custom ? "" : "▣ "}${n.name}  ${n.custom ? shortType(n.type) : n.type}`);
        treeLines(n.children, `${indent}    `, out);
    }
    for (const [type, names] of leaves) {
        const shown = names.length > 3 ? `${names.slice(0, 3).join(", ")}, …` : names.join(", ");
        out.push(`${indent}${shortType(type)}${names.length > 1 ? ` ×${names.length}` : ""}  ${shown}`);
    }
}

export function formatText(r: PlanReport, files: string[] = []): string {
    const out: string[] = [];
    const s = r.summary;
    out.push(`Offline plan: ${r.project} / ${r.stack} (${r.region}) — ${r.program === "platform" ? "buildPlatform" : r.program}`);
    out.push(`config: ${r.configSources.join(" + ") || "(none)"}`);
    out.push(`${s.resources} resources (${s.customResources} cloud/provider resources, ${s.components} components)`);
    out.push("");
    out.push("== Resource tree (▣ component)");
    treeLines(r.tree, "  ", out);
    out.push("");
    out.push("== Resources by type");
    for (const [t, n] of Object.entries(r.countsByType)) out.push(`  ${String(n).padStart(4)}  ${t}`);
    out.push("");
    out.push(`== Policy verdicts: ${s.mandatoryViolations} mandatory, ${s.advisoryViolations} advisory`);
    if (r.verdicts.length === 0) out.push("  none: every policy passed");
    for (const v of r.verdicts) {
        out.push(`  [${v.level.toUpperCase()}] ${v.policy}${v.resource ? ` — ${v.resource} (${shortType(v.type ?? "")})` : ""}`);
        for (const line of v.message.split("\n")) out.push(`      ${line}`);
    }
    out.push("");
    const c = r.cost;
    if (c.error) {
        out.push(`== Estimated monthly cost: not available — ${c.error}`);
    } else {
        out.push(`== Estimated monthly cost: ${money(c.total)} ${c.currency} (${c.region}, ${c.location}, on-demand list prices; usage at ${c.usageSource})`);
        out.push(`  largest drivers: ${c.topDrivers.map((d) => `${d.driver} ${money(d.monthly)} (${d.share} %)`).join(" · ")}`);
        out.push(`  prices: scripts/plan/prices.json → ${c.region} (${Object.values(c.sources)[0]?.published ?? "?"}); ${c.hoursPerMonth} h/month`);
        out.push("  by driver:");
        for (const d of DRIVERS) if (c.byDriver[d] > 0) out.push(`    ${d.padEnd(14)} ${money(c.byDriver[d]).padStart(10)}`);
        out.push("  by component:");
        for (const [k, v] of Object.entries(c.byComponent)) out.push(`    ${k.padEnd(40)} ${money(v).padStart(10)}`);
        out.push("  items (usage lines marked ~, with their unit price):");
        const grouped = new Map<string, { n: number; monthly: number; detail: string; driver: string; component: string; usage: boolean; unit: string; unitPrice: number; quantity: number }>();
        for (const l of c.lines) {
            const detail = l.detail.replace(/ in \S+/, "");
            const k = `${l.component}|${l.driver}|${detail}|${l.unitPrice}`;
            const g = grouped.get(k) ?? { n: 0, monthly: 0, detail, driver: l.driver, component: l.component, usage: !!l.usage, unit: l.unit, unitPrice: l.unitPrice, quantity: 0 };
            g.n++;
            g.monthly += l.monthly;
            g.quantity += l.quantity;
            grouped.set(k, g);
        }
        for (const g of grouped.values()) {
            const perHour = g.unit.endsWith("-hour");
            const qty = g.usage
                ? ` [${+g.quantity.toFixed(2)} ${perHour ? `${g.unit.replace(/-hour$/, "")} × ${c.hoursPerMonth} h` : g.unit} × $${g.unitPrice}]`
                : "";
            out.push(`    ${money(g.monthly).padStart(10)} ${g.usage ? "~" : " "} ${g.driver.padEnd(13)} ${g.component}: ${g.n > 1 ? `${g.n} × ` : ""}${g.detail}${qty}`);
        }
        for (const u of c.unpriced) out.push(`    unpriced: ${u.resource} (${shortType(u.type)}): ${u.reason}`);
        out.push(`  free (no charge): ${c.free.map((f) => `${shortType(f.type)} ×${f.count}`).join(", ")}`);
    }
    out.push(`  not included: ${c.notIncluded.join("; ")}`);
    out.push("");
    if (r.compare) {
        const x = r.compare;
        const signed = (v: number) => `${v >= 0 ? "+" : "−"}${money(Math.abs(v))}`;
        out.push(`== Compared with ${x.against}: ${money(x.totalBefore)} → ${money(x.totalAfter)} (${signed(x.delta)}/month)`);
        for (const d of x.byDriver) out.push(`  ${d.driver.padEnd(14)} ${money(d.before).padStart(10)} → ${money(d.after).padStart(10)}  ${signed(d.delta).padStart(10)}`);
        out.push("  largest changes:");
        for (const it of x.items.slice(0, 12)) out.push(`    ${signed(it.delta).padStart(10)}  ${it.item}`);
        if (x.items.length > 12) out.push(`    … ${x.items.length - 12} more (see the JSON report)`);
        out.push("  resources:");
        if (x.resources.length === 0) out.push("    same resource types and counts");
        for (const t of x.resources) out.push(`    ${(t.delta > 0 ? `+${t.delta}` : String(t.delta)).padStart(4)}  ${t.type} (${t.before} → ${t.after})`);
        out.push("");
    }
    const p = r.criticalPath;
    out.push(`== Estimated deployment critical path: ${p.minutes} min (range ${p.range.low}–${p.range.high} min)`);
    for (const step of p.chain) {
        out.push(`  ${String(step.startsAt).padStart(5)} → ${String(step.finishesAt).padStart(5)} min  ${step.name} (${shortType(step.type)}; ${step.basis})`);
    }
    const finishes = Object.entries(p.finishByComponent);
    out.push(`  complete after: ${finishes.slice(0, 6).map(([k, v]) => `${k} ${v} min`).join(" · ")}${finishes.length > 6 ? " · …" : ""}`);
    out.push(`  times: scripts/plan/creation-times.json (${p.resources} resources, ${p.edges} dependency edges)`);
    if (files.length > 0) {
        out.push("");
        out.push(`wrote ${files.join(", ")}`);
    }
    out.push("");
    out.push(
        s.mandatoryViolations > 0
            ? `RESULT: ${s.mandatoryViolations} mandatory policy violation(s) — this plan must not be deployed as is`
            : `RESULT: no mandatory policy violation${s.advisoryViolations > 0 ? ` (${s.advisoryViolations} advisory)` : ""}`,
    );
    return out.join("\n") + "\n";
}
