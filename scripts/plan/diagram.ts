/**
 * Architecture diagram of a plan as SVG: VPCs (with CIDR), their public and private subnets (with
 * CIDRs and AZs), the workloads in each, peerings, and the ports security groups open between
 * tiers, from the internet and from outside CIDRs. Laid out by ELK (elkjs, layered algorithm with
 * nested nodes) from the network model the plan read off the recorded resources.
 */
import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import type { NetWorkload } from "./network";
import type { PlanReport } from "./report";

const FONT = 12;
const CHAR_W = 7; // generous average glyph width of 12 px sans-serif
const LINE_H = 16;

/** Estimated rendered width; bold headings (size > FONT) run about 12 % wider. */
const textWidth = (s: string, size = FONT) => Math.ceil(s.length * CHAR_W * (size / FONT) * (size > FONT ? 1.12 : 1));

function esc(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const TIER_COLORS = ["#e8f1fb", "#fdf1e3", "#eaf6ec", "#f3ecf8", "#fbeaea", "#eef3f3"];
const TIER_STROKES = ["#3b78c2", "#d58a2b", "#3f9a55", "#8c5bb5", "#c0504d", "#5a8a8a"];
const KIND_COLORS: Record<NetWorkload["kind"], string> = {
    loadbalancer: "#8c5bb5",
    autoscaling: "#3f9a55",
    instances: "#d58a2b",
    cache: "#16a085",
    nat: "#7f8c8d",
    securitygroup: "#b7950b",
};

interface Box {
    id: string;
    kind: "vpc" | "tier" | "workload" | "endpoint";
    title: string;
    lines: string[];
    color: string;
    stroke: string;
    alert?: string;
}

export async function renderDiagram(report: PlanReport): Promise<string> {
    const net = report.network;
    const boxes = new Map<string, Box>();
    const mandatoryUrns = new Map<string, string>();
    for (const v of report.verdicts) if (v.level === "mandatory" && v.urn) mandatoryUrns.set(v.urn, v.policy);

    const leaf = (box: Box): ElkNode => {
        boxes.set(box.id, box);
        const lines = [box.title, ...box.lines, ...(box.alert ? [box.alert] : [])];
        const bold = (i: number) => i === 0 || (!!box.alert && i === lines.length - 1);
        const width = Math.max(...lines.map((l, i) => textWidth(l, i === 0 ? FONT + 1 : FONT) * (bold(i) ? 1.12 : 1))) + 24;
        return { id: box.id, width: Math.max(width, 120), height: lines.length * LINE_H + 16 };
    };
    const compound = (box: Box, children: ElkNode[]): ElkNode => {
        boxes.set(box.id, box);
        const header = [box.title, ...box.lines];
        const headerH = header.length * LINE_H + 12;
        const minW = Math.max(...header.map((l, i) => textWidth(l, i === 0 ? FONT + 1 : FONT))) + 24;
        // Without children ELK lays the box out as a plain node: give it its size directly.
        if (children.length === 0) return { id: box.id, width: minW, height: headerH + 20 };
        return {
            id: box.id,
            children,
            layoutOptions: {
                "elk.padding": `[top=${headerH + 8},left=14,bottom=14,right=14]`,
                "elk.nodeSize.constraints": "[MINIMUM_SIZE]",
                // Given as (height, width): with direction DOWN and INCLUDE_CHILDREN, elkjs 0.12
                // applies a compound node's minimum size transposed (checked in test/plan.test.ts).
                "elk.nodeSize.minimum": `(${headerH + 20}, ${minW})`,
                "elk.direction": "DOWN",
                "elk.spacing.nodeNode": "24",
            },
        };
    };

    const selfPorts = new Map<string, string[]>();
    for (const f of net.flows) if (f.from === f.to) selfPorts.set(f.to, f.ports);
    const workloadNode = (w: NetWorkload): ElkNode => {
        const alerts = [...new Set(w.members.map((u) => mandatoryUrns.get(u)).filter((p): p is string => !!p))];
        const alert = alerts.length > 0 ? `${alerts[0]}${alerts.length > 1 ? ` (+${alerts.length - 1} more)` : ""}` : undefined;
        const self = selfPorts.get(w.key);
        return leaf({
            id: w.key,
            kind: "workload",
            title: w.title,
            lines: [...w.details, ...(self ? [`↻ within the group: ${self.join(", ")}`] : [])],
            color: "#ffffff",
            stroke: KIND_COLORS[w.kind],
            alert: alert ? `⚠ mandatory: ${alert}` : undefined,
        });
    };

    const rootChildren: ElkNode[] = [];
    for (const e of net.endpoints) {
        if (e.kind === "vpc") continue; // drawn as the VPC itself
        rootChildren.push(
            leaf({
                id: e.key,
                kind: "endpoint",
                title: e.kind === "internet" ? "internet" : e.kind === "cidr" ? "outside network" : "foreign security group",
                lines: [e.kind === "internet" ? "0.0.0.0/0, ::/0" : e.label, ...(e.description ? [e.description] : [])],
                color: e.kind === "internet" ? "#fdecea" : "#f4f4f4",
                stroke: e.kind === "internet" ? "#c0392b" : "#7f8c8d",
            }),
        );
    }
    net.vpcs.forEach((v, i) => {
        const color = TIER_COLORS[i % TIER_COLORS.length];
        const stroke = TIER_STROKES[i % TIER_STROKES.length];
        const children: ElkNode[] = [];
        for (const tier of ["public", "private"] as const) {
            const subnets = v.subnets.filter((s) => s.tier === tier);
            const inTier = net.workloads.filter((w) => w.vpc === v.urn && w.tier === tier);
            if (subnets.length === 0 && inTier.length === 0) continue;
            const lines = subnets.map((s) => `${s.cidr}  ${s.az}`);
            children.push(
                compound(
                    {
                        id: `tier:${v.urn}:${tier}`,
                        kind: "tier",
                        title: `${tier} subnets${tier === "public" ? " (route to internet gateway)" : ""}`,
                        lines,
                        color: tier === "public" ? "#ffffff" : "#fbfbfb",
                        stroke,
                    },
                    inTier.map(workloadNode),
                ),
            );
        }
        for (const w of net.workloads.filter((x) => x.vpc === v.urn && !x.tier)) children.push(workloadNode(w));
        rootChildren.push(
            compound({ id: `vpc:${v.urn}`, kind: "vpc", title: `VPC ${v.name}  ${v.cidr}`, lines: [v.owner], color, stroke }, children),
        );
    });
    for (const w of net.workloads.filter((x) => !x.vpc)) rootChildren.push(workloadNode(w));

    const edges: ElkExtendedEdge[] = [];
    const edgeStyle = new Map<string, { color: string; dashed: boolean; width: number }>();
    const label = (text: string) => [{ text, width: textWidth(text, FONT - 1) + 8, height: LINE_H }];
    net.peerings.forEach((p, i) => {
        const id = `peering${i}`;
        edges.push({ id, sources: [`vpc:${p.a}`], targets: [`vpc:${p.b}`], labels: label("VPC peering") });
        edgeStyle.set(id, { color: "#34495e", dashed: true, width: 2.5 });
    });
    net.flows.forEach((f, i) => {
        if (f.from === f.to) return;
        const from = f.from.startsWith("vpc:") || boxes.has(f.from) ? f.from : undefined;
        if (!from || !boxes.has(f.to)) return;
        const id = `flow${i}`;
        const text = f.from.startsWith("vpc:") ? `${f.ports.join(", ")} from the whole VPC` : f.ports.join(", ");
        edges.push({ id, sources: [from], targets: [f.to], labels: label(text) });
        const fromInternet = f.from === "internet";
        edgeStyle.set(id, { color: fromInternet ? "#c0392b" : f.from.startsWith("cidr:") ? "#7f8c8d" : "#2c6fbb", dashed: false, width: 1.5 });
    });

    const elk = new ELK();
    const graph: ElkNode = {
        id: "root",
        layoutOptions: {
            "elk.algorithm": "layered",
            "elk.direction": "DOWN",
            "elk.hierarchyHandling": "INCLUDE_CHILDREN",
            "elk.layered.spacing.nodeNodeBetweenLayers": "60",
            "elk.spacing.nodeNode": "40",
            "elk.spacing.edgeNode": "20",
            "elk.spacing.edgeEdge": "12",
            "elk.spacing.edgeLabel": "4",
            "elk.edgeRouting": "ORTHOGONAL",
            "elk.edgeLabels.placement": "CENTER",
            "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
            "elk.padding": "[top=20,left=20,bottom=20,right=20]",
        },
        children: rootChildren,
        edges,
    };
    const laid = await elk.layout(graph);

    // Absolute positions of every node (ELK gives positions relative to the parent).
    const abs = new Map<string, { x: number; y: number; w: number; h: number; depth: number }>();
    const walk = (n: ElkNode, ox: number, oy: number, depth: number) => {
        const x = ox + (n.x ?? 0);
        const y = oy + (n.y ?? 0);
        abs.set(n.id, { x, y, w: n.width ?? 0, h: n.height ?? 0, depth });
        for (const c of n.children ?? []) walk(c, x, y, depth + 1);
    };
    walk(laid, 0, 0, 0);

    const TITLE_H = 76;
    const width = Math.max(laid.width ?? 0, 1000);
    const svg: string[] = [];
    const body: string[] = [];
    // Boxes, outermost first.
    const ordered = [...boxes.values()].sort((a, b) => abs.get(a.id)!.depth - abs.get(b.id)!.depth);
    for (const b of ordered) {
        const p = abs.get(b.id)!;
        const y = p.y + TITLE_H;
        if (b.kind === "vpc" || b.kind === "tier") {
            body.push(
                `<rect x="${p.x}" y="${y}" width="${p.w}" height="${p.h}" rx="${b.kind === "vpc" ? 10 : 6}" fill="${b.color}" stroke="${b.stroke}" stroke-width="${b.kind === "vpc" ? 2 : 1}"${b.kind === "tier" ? ' stroke-dasharray="5 3"' : ""}/>`,
            );
            body.push(`<text x="${p.x + 10}" y="${y + 18}" font-size="${FONT + 1}" font-weight="bold" fill="${b.stroke}">${esc(b.title)}</text>`);
            b.lines.forEach((l, i) =>
                body.push(`<text x="${p.x + 10}" y="${y + 18 + (i + 1) * LINE_H}" font-size="${FONT - 1}" fill="#333">${esc(l)}</text>`),
            );
        } else {
            const alert = !!b.alert;
            body.push(
                `<rect x="${p.x}" y="${y}" width="${p.w}" height="${p.h}" rx="${b.kind === "endpoint" ? 16 : 4}" fill="${alert ? "#fdecea" : b.color}" stroke="${alert ? "#c0392b" : b.stroke}" stroke-width="${alert ? 3 : 2}"/>`,
            );
            if (b.kind === "workload") body.push(`<rect x="${p.x}" y="${y}" width="6" height="${p.h}" fill="${b.stroke}"/>`);
            body.push(`<text x="${p.x + 12}" y="${y + 20}" font-size="${FONT + 1}" font-weight="bold" fill="#222">${esc(b.title)}</text>`);
            [...b.lines, ...(b.alert ? [b.alert] : [])].forEach((l, i) =>
                body.push(
                    `<text x="${p.x + 12}" y="${y + 20 + (i + 1) * LINE_H}" font-size="${FONT}" fill="${b.alert && i === b.lines.length ? "#c0392b" : "#333"}"${b.alert && i === b.lines.length ? ' font-weight="bold"' : ""}>${esc(l)}</text>`,
                ),
            );
        }
    }
    // Edges on top of boxes, labels on top of edges.
    const labels: string[] = [];
    for (const e of (laid.edges ?? []) as (ElkExtendedEdge & { container?: string })[]) {
        const style = edgeStyle.get(e.id)!;
        const c = abs.get(e.container ?? "root") ?? { x: 0, y: 0 };
        for (const s of e.sections ?? []) {
            const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((q) => `${q.x + c.x},${q.y + c.y + TITLE_H}`);
            const marker = style.dashed ? ' marker-start="url(#arrow-both-start)" marker-end="url(#arrow-both)"' : ` marker-end="url(#arrow-${style.color.slice(1)})"`;
            body.push(
                `<polyline points="${pts.join(" ")}" fill="none" stroke="${style.color}" stroke-width="${style.width}"${style.dashed ? ' stroke-dasharray="8 5"' : ""}${marker}/>`,
            );
        }
        for (const l of e.labels ?? []) {
            const x = (l.x ?? 0) + c.x;
            const y = (l.y ?? 0) + c.y + TITLE_H;
            labels.push(`<rect x="${x}" y="${y}" width="${l.width}" height="${l.height}" rx="3" fill="#ffffff" fill-opacity="0.92" stroke="${style.color}" stroke-width="0.8"/>`);
            labels.push(`<text x="${x + 4}" y="${y + 12}" font-size="${FONT - 1}" fill="${style.color}">${esc(l.text ?? "")}</text>`);
        }
    }

    const legendY = (laid.height ?? 0) + TITLE_H + 4;
    const legend = [
        `<line x1="20" y1="${legendY + 12}" x2="60" y2="${legendY + 12}" stroke="#2c6fbb" stroke-width="1.5" marker-end="url(#arrow-2c6fbb)"/>`,
        `<text x="68" y="${legendY + 16}" font-size="${FONT}">ingress a security group allows (ports; /udp where UDP)</text>`,
        `<line x1="20" y1="${legendY + 32}" x2="60" y2="${legendY + 32}" stroke="#c0392b" stroke-width="1.5" marker-end="url(#arrow-c0392b)"/>`,
        `<text x="68" y="${legendY + 36}" font-size="${FONT}">from the internet</text>`,
        `<line x1="260" y1="${legendY + 32}" x2="300" y2="${legendY + 32}" stroke="#34495e" stroke-width="2.5" stroke-dasharray="8 5"/>`,
        `<text x="308" y="${legendY + 36}" font-size="${FONT}">VPC peering (routes for exactly the peer CIDR)</text>`,
        `<text x="20" y="${legendY + 56}" font-size="${FONT - 1}" fill="#555">Boxes: VPC (solid) › subnet tier (dashed, CIDR and AZ per subnet) › workload, named after the component that owns it. ` +
            "Red box: a mandatory policy violation.</text>",
    ];
    const height = legendY + 70;
    const c = report.cost;
    svg.push(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
        "<defs>",
        ...["2c6fbb", "c0392b", "7f8c8d"].map(
            (col) => `<marker id="arrow-${col}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#${col}"/></marker>`,
        ),
        '<marker id="arrow-both" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#34495e"/></marker>',
        '<marker id="arrow-both-start" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#34495e"/></marker>',
        "</defs>",
        `<rect width="100%" height="100%" fill="#ffffff"/>`,
        `<text x="20" y="26" font-size="18" font-weight="bold">${esc(`${report.project} · ${report.stack} · ${report.region}`)}</text>`,
        `<text x="20" y="46" font-size="${FONT}" fill="#444">${esc(
            `${report.summary.resources} resources · ${c.error ? "cost: no prices for this region" : `est. $${c.total.toFixed(2)}/month (${c.region} on-demand list prices + usage)`} · critical path ≈ ${report.criticalPath.minutes} min · ` +
                `${report.summary.mandatoryViolations} mandatory / ${report.summary.advisoryViolations} advisory policy findings`,
        )}</text>`,
        `<text x="20" y="64" font-size="${FONT}" fill="#444">${esc(
            c.error ? c.error : `largest cost drivers: ${c.topDrivers.map((d) => `${d.driver} $${d.monthly.toFixed(2)} (${d.share} %)`).join(" · ")}`,
        )}</text>`,
        ...body,
        ...labels,
        ...legend,
        "</svg>",
    );
    return svg.join("\n") + "\n";
}
