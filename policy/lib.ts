/**
 * Helpers shared by the policies. Everything here is pure and reads only values known at preview.
 *
 * @pulumi/policy hands policies their properties wrapped in a proxy that throws
 * `UnknownValueError` on any access to a value not yet known (an ID during preview). The engine then
 * skips the whole policy for that resource with an advisory "can't run during preview" note. To
 * judge what *is* known (tags, CIDRs, ports, flags) and skip only what is not, policies read the raw
 * properties through `raw()` and test each value with `isUnknown()`.
 */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    StackValidationArgs,
} from "@pulumi/policy";
import { REQUIRED_TAG_KEYS } from "./conventions";

// ---------------------------------------------------------------------------------------------
// Unknown values
// ---------------------------------------------------------------------------------------------

/** The sentinels @pulumi/policy (and the Pulumi engine) use for values not known during preview. */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (also @pulumi/pulumi's runtime.unknownValue)
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

/** The value tests and offline plans put where a real preview would have an unknown value. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

/** Strips @pulumi/policy's unknown-checking proxy (a no-op on plain objects). */
export function raw<T = Record<string, unknown>>(v: unknown): T {
    if (v !== null && typeof v === "object") {
        const target = (v as Record<string, unknown>)["__getSpecialProxyTarget"];
        if (target !== undefined && target !== null && typeof target === "object") {
            return target as T;
        }
    }
    return v as T;
}

export type Props = Record<string, unknown>;

/** Raw value at a path; returns UNKNOWN if any step is unknown, undefined if absent. */
export function at(obj: unknown, ...path: (string | number)[]): unknown {
    let cur: unknown = raw(obj);
    for (const key of path) {
        if (isUnknown(cur)) return UNKNOWN;
        if (cur === null || cur === undefined || typeof cur !== "object") return undefined;
        cur = (cur as Record<string | number, unknown>)[key];
    }
    return cur;
}

export function isKnown(v: unknown): boolean {
    return v !== undefined && v !== null && !isUnknown(v);
}

/** `true`, or the string "true" (launch templates use strings for booleans). */
export function isTrue(v: unknown): boolean {
    return v === true || v === "true";
}

export function isFalse(v: unknown): boolean {
    return v === false || v === "false";
}

export function asString(v: unknown): string | undefined {
    return typeof v === "string" && !isUnknown(v) ? v : undefined;
}

export function asNumber(v: unknown): number | undefined {
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && !isUnknown(v) && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
    return undefined;
}

/** Array elements (raw), or undefined when the array itself is absent or unknown. */
export function asArray(v: unknown): unknown[] | undefined {
    return Array.isArray(v) ? (v as unknown[]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

export interface TagView {
    tags: Record<string, string>;
    /** True when some tag source is unknown, so a missing key cannot be judged. */
    unknown: boolean;
}

function collectTags(src: unknown, into: Record<string, string>): boolean {
    if (src === undefined || src === null) return false;
    if (isUnknown(src)) return true;
    let unknown = false;
    if (Array.isArray(src)) {
        // aws.autoscaling.Group: [{ key, value, propagateAtLaunch }]
        for (const t of src) {
            const k = at(t, "key");
            const v = at(t, "value");
            if (isUnknown(t) || isUnknown(k)) { unknown = true; continue; }
            if (typeof k === "string") into[k] = isUnknown(v) ? UNKNOWN : String(v ?? "");
        }
        return unknown;
    }
    if (typeof src === "object") {
        for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
            if (v === undefined || v === null) continue;
            into[k] = isUnknown(v) ? UNKNOWN : String(v);
        }
    }
    return unknown;
}

/** Provider `defaultTags` (provider properties hold nested objects as JSON strings). */
export function providerDefaultTags(providerProps: unknown): Record<string, string> {
    let dt = at(providerProps, "defaultTags");
    if (typeof dt === "string" && !isUnknown(dt)) {
        try { dt = JSON.parse(dt); } catch { return {}; }
    }
    const out: Record<string, string> = {};
    collectTags(at(dt, "tags"), out);
    return out;
}

/** The resource's own `tags` (+ `tagsAll` if present) merged over the provider's default tags. */
export function tagsOf(props: unknown, providerProps?: unknown): TagView {
    const tags: Record<string, string> = { ...providerDefaultTags(providerProps) };
    let unknown = collectTags(at(props, "tagsAll"), tags);
    unknown = collectTags(at(props, "tags"), tags) || unknown;
    return { tags, unknown };
}

export function tagValue(props: unknown, key: string, providerProps?: unknown): string | undefined {
    const v = tagsOf(props, providerProps).tags[key];
    return v === undefined || isUnknown(v) ? undefined : v;
}

export { REQUIRED_TAG_KEYS };

// ---------------------------------------------------------------------------------------------
// CIDRs
// ---------------------------------------------------------------------------------------------

export function isIpv6(cidr: string): boolean {
    return cidr.includes(":");
}

export function prefixOf(cidr: string): number | undefined {
    const m = /\/(\d{1,3})$/.exec(cidr.trim());
    if (!m) return isIpv6(cidr) ? 128 : 32;
    return Number(m[1]);
}

/** 0.0.0.0/0 or ::/0 (any prefix length 0). */
export function isWorld(cidr: string): boolean {
    return prefixOf(cidr) === 0;
}

/**
 * IPv4 space that is not reachable from the internet: RFC 1918 private ranges, RFC 6598 shared
 * address space (100.64.0.0/10, carrier-grade NAT), loopback and link-local. Everything else —
 * including the RFC 5737 documentation ranges, which stand for real public addresses in examples —
 * counts as public.
 */
export const NON_PUBLIC_V4: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"];

/** IPv6 unique-local (fc00::/7) and link-local (fe80::/10) prefixes; all else is global. */
function isNonPublicV6(cidr: string): boolean {
    const p = prefixOf(cidr) ?? 0;
    const first = cidr.split(":")[0].toLowerCase();
    const n = first === "" ? 0 : parseInt(first.padStart(4, "0").slice(0, 4), 16);
    if (Number.isNaN(n)) return false;
    if (p >= 7 && (n & 0xfe00) === 0xfc00) return true;
    return p >= 10 && (n & 0xffc0) === 0xfe80;
}

/**
 * True when the range contains any internet-routable address, whatever its size: 0.0.0.0/0, its
 * halves 0.0.0.0/1 + 128.0.0.0/1, 8.8.0.0/16 and 203.0.113.7/32 are all public; 10.0.0.0/8 is not.
 * Unparsable input is treated as public (it cannot be shown to be private).
 */
export function isPublicRange(cidr: string): boolean {
    if (isIpv6(cidr)) return !isNonPublicV6(cidr);
    const r = parseV4(cidr);
    if (!r) return true;
    return !NON_PUBLIC_V4.some((np) => v4Contains(np, cidr));
}

/**
 * "The world" for exposure rules: a public range at least as wide as a /8 (IPv4) or /32 (IPv6).
 * 0.0.0.0/0 split into 0.0.0.0/1 and 128.0.0.0/1 is still the world; an admin's /32 is not.
 */
export function isWorldLike(cidr: string): boolean {
    return isPublicRange(cidr) && isVeryWide(cidr);
}

/** Ranges at least as wide as a /8 (IPv4) or /32 (IPv6), e.g. 10.0.0.0/8 or the world. */
export function isVeryWide(cidr: string): boolean {
    const p = prefixOf(cidr);
    if (p === undefined) return false;
    return isIpv6(cidr) ? p <= 32 : p <= 8;
}

function v4ToInt(ip: string): number | undefined {
    const parts = ip.split(".");
    if (parts.length !== 4) return undefined;
    let n = 0;
    for (const p of parts) {
        if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
        n = n * 256 + Number(p);
    }
    return n;
}

export function parseV4(cidr: string): { start: number; end: number; prefix: number } | undefined {
    const [ip, len] = cidr.trim().split("/");
    const base = v4ToInt(ip);
    const prefix = len === undefined ? 32 : Number(len);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
    const size = 2 ** (32 - prefix);
    const start = Math.floor(base / size) * size;
    return { start, end: start + size - 1, prefix };
}

/** True when IPv4 `inner` lies within `outer`. False for IPv6 or unparsable input. */
export function v4Contains(outer: string, inner: string): boolean {
    const o = parseV4(outer);
    const i = parseV4(inner);
    return !!o && !!i && i.start >= o.start && i.end <= o.end;
}

export function v4Overlaps(a: string, b: string): boolean {
    const x = parseV4(a);
    const y = parseV4(b);
    return !!x && !!y && x.start <= y.end && y.start <= x.end;
}

// ---------------------------------------------------------------------------------------------
// Security-group ingress, normalised across the four ways to write it
// ---------------------------------------------------------------------------------------------

export interface PortRange { from: number; to: number }

export interface IngressRule {
    /** Where it was written, for messages: "ingress[2]" or "rule". */
    where: string;
    /** Protocol as written ("tcp", "udp", "-1", "6", ...); undefined when unknown. */
    protocol?: string;
    /** Port range covered; "all" for protocol -1; "none" for ICMP; undefined when unknown. */
    ports?: PortRange | "all" | "none";
    /** Known CIDR sources (IPv4 and IPv6). */
    cidrs: string[];
    /** Known security-group sources (IDs). */
    sourceSecurityGroups: string[];
    /** The property that names the source security group(s), for propertyDependencies look-ups. */
    sourceSgProperty?: string;
    self: boolean;
    /** Known managed prefix list sources (IDs); the ranges are resolved by stack policies. */
    prefixLists: string[];
    /** True when the rule has a prefix-list source (known or not). */
    hasPrefixListSource: boolean;
    /** The property that names the prefix list(s), for propertyDependencies look-ups. */
    prefixListProperty?: string;
}

const ALL_PROTOCOLS = new Set(["-1", "all"]);
const PORTED_PROTOCOLS = new Set(["tcp", "udp", "6", "17"]);

function portsOf(protocol: unknown, from: unknown, to: unknown): PortRange | "all" | "none" | undefined {
    if (isUnknown(protocol)) return undefined;
    const p = String(protocol ?? "").toLowerCase();
    if (ALL_PROTOCOLS.has(p) || p === "") return "all";
    if (!PORTED_PROTOCOLS.has(p)) return "none";
    const f = asNumber(from);
    const t = asNumber(to);
    if (f === undefined && t === undefined) {
        return isUnknown(from) || isUnknown(to) ? undefined : { from: 0, to: 65535 };
    }
    if (f === undefined || t === undefined) return undefined;
    if (f <= 0 && (t <= 0 || t >= 65535)) return { from: 0, to: 65535 };
    return { from: Math.max(0, f), to: t < 0 ? 65535 : t };
}

function knownStrings(v: unknown): string[] {
    const arr = asArray(v);
    if (!arr) return typeof v === "string" && !isUnknown(v) && v !== "" ? [v] : [];
    return arr.filter((x): x is string => typeof x === "string" && !isUnknown(x) && x !== "");
}

function prefixListsOf(v: unknown, property: string): Pick<IngressRule, "prefixLists" | "hasPrefixListSource" | "prefixListProperty"> {
    const known = knownStrings(v);
    const has = isUnknown(v) || known.length > 0 || (asArray(v)?.length ?? 0) > 0;
    return { prefixLists: known, hasPrefixListSource: has, prefixListProperty: has ? property : undefined };
}

/** Ingress rules written on a resource of one of the SG-bearing types; [] for any other type. */
export function ingressRulesOf(type: string, propsIn: unknown): IngressRule[] {
    const props = raw<Props>(propsIn);
    switch (type) {
        case "aws:ec2/securityGroup:SecurityGroup":
        case "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {
            const list = asArray(at(props, "ingress")) ?? [];
            return list.map((r, i) => ({
                where: `ingress[${i}]`,
                protocol: asString(at(r, "protocol")),
                ports: portsOf(at(r, "protocol"), at(r, "fromPort"), at(r, "toPort")),
                cidrs: [...knownStrings(at(r, "cidrBlocks")), ...knownStrings(at(r, "ipv6CidrBlocks"))],
                sourceSecurityGroups: knownStrings(at(r, "securityGroups")),
                sourceSgProperty: "ingress",
                self: isTrue(at(r, "self")),
                ...prefixListsOf(at(r, "prefixListIds"), "ingress"),
            }));
        }
        case "aws:ec2/securityGroupRule:SecurityGroupRule": {
            if (at(props, "type") !== "ingress") return [];
            return [{
                where: "rule",
                protocol: asString(at(props, "protocol")),
                ports: portsOf(at(props, "protocol"), at(props, "fromPort"), at(props, "toPort")),
                cidrs: [...knownStrings(at(props, "cidrBlocks")), ...knownStrings(at(props, "ipv6CidrBlocks"))],
                sourceSecurityGroups: knownStrings(at(props, "sourceSecurityGroupId")),
                sourceSgProperty: "sourceSecurityGroupId",
                self: isTrue(at(props, "self")),
                ...prefixListsOf(at(props, "prefixListIds"), "prefixListIds"),
            }];
        }
        case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            return [{
                where: "rule",
                protocol: asString(at(props, "ipProtocol")),
                ports: portsOf(at(props, "ipProtocol"), at(props, "fromPort"), at(props, "toPort")),
                cidrs: [...knownStrings(at(props, "cidrIpv4")), ...knownStrings(at(props, "cidrIpv6"))],
                sourceSecurityGroups: knownStrings(at(props, "referencedSecurityGroupId")),
                sourceSgProperty: "referencedSecurityGroupId",
                self: false,
                ...prefixListsOf(at(props, "prefixListId"), "prefixListId"),
            }];
        default:
            return [];
    }
}

export const INGRESS_TYPES: readonly string[] = [
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
];

export function coversPort(ports: PortRange | "all" | "none" | undefined, port: number): boolean {
    if (ports === "all") return true;
    if (ports === undefined || ports === "none") return false;
    return ports.from <= port && port <= ports.to;
}

export function overlapsRange(ports: PortRange | "all" | "none" | undefined, r: PortRange): boolean {
    if (ports === "all") return true;
    if (ports === undefined || ports === "none") return false;
    return ports.from <= r.to && r.from <= ports.to;
}

export function describePorts(ports: PortRange | "all" | "none" | undefined): string {
    if (ports === "all") return "all ports";
    if (ports === "none") return "no ports";
    if (ports === undefined) return "unknown ports";
    return ports.from === ports.to ? `port ${ports.from}` : `ports ${ports.from}-${ports.to}`;
}

/** Parses "443", "8000-8010" or a number into a range. */
export function parsePortSpec(spec: string | number): PortRange {
    if (typeof spec === "number") return { from: spec, to: spec };
    const [a, b] = spec.split("-").map((s) => Number(s.trim()));
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) {
        throw new Error(`bad port spec "${spec}": use "443" or "8000-8010"`);
    }
    return { from: a, to: b ?? a };
}

// ---------------------------------------------------------------------------------------------
// Policy plumbing
// ---------------------------------------------------------------------------------------------

/** A typed view of the arguments a resource check needs. */
export interface ResourceCtx {
    type: string;
    name: string;
    urn: string;
    props: Props;
    providerProps?: Props;
    args: ResourceValidationArgs;
}

/**
 * Builds a `validateResource` for the given type tokens. Like @pulumi/policy's
 * `validateResourceOfType`, it attaches `__pulumiType` when there is exactly one type, so the
 * engine can skip other resources cheaply, and reports "not applicable" for other types.
 */
export function forTypes(
    types: readonly string[],
    check: (ctx: ResourceCtx, report: ReportViolation) => void | Promise<void>,
): ResourceValidation {
    const fn: ResourceValidation = (args, report) => {
        if (!types.includes(args.type)) {
            return args.notApplicable(`Policy only applies to resources of type ${types.join(", ")}`);
        }
        const ctx: ResourceCtx = {
            type: args.type,
            name: args.name,
            urn: args.urn,
            props: raw<Props>(args.props),
            providerProps: args.provider ? raw<Props>(args.provider.props) : undefined,
            args,
        };
        return check(ctx, report);
    };
    if (types.length === 1) {
        (fn as unknown as { __pulumiType: string }).__pulumiType = types[0];
    }
    return fn;
}

/** Policy config merged over defaults (the CLI fills schema defaults too; this makes it explicit). */
export function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
    const c = args.getConfig<Partial<T>>();
    const out = { ...defaults } as T;
    for (const [k, v] of Object.entries(c ?? {})) {
        if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Stack helpers: follow propertyDependencies (IDs are unknown at preview, URNs are not)
// ---------------------------------------------------------------------------------------------

export function propsOf(r: PolicyResource): Props {
    return raw<Props>(r.props);
}

/** Resources of the given types that the property depends on (falls back to matching known IDs). */
export function referenced(
    r: PolicyResource,
    property: string,
    types: readonly string[],
    all: readonly PolicyResource[],
): PolicyResource[] {
    const out: PolicyResource[] = [];
    for (const d of r.propertyDependencies?.[property] ?? []) {
        if (d && types.includes(d.type) && !out.includes(d)) out.push(d);
    }
    if (out.length > 0) return out;
    // Offline plans (mocks) know IDs: match the property's known string values against `id`.
    const v = at(propsOf(r), property);
    const ids = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string" && !isUnknown(x));
    if (ids.length === 0) return out;
    for (const cand of all) {
        if (!types.includes(cand.type)) continue;
        const cid = at(propsOf(cand), "id");
        if (typeof cid === "string" && ids.includes(cid) && !out.includes(cand)) out.push(cand);
    }
    return out;
}

export function ofTypes(args: StackValidationArgs, types: readonly string[]): PolicyResource[] {
    return args.resources.filter((r) => types.includes(r.type));
}
