/** Elastic Load Balancing policies (AWS FSBP ELB.*). Apply to aws.lb.* and aws.alb.* alike. */
import type { PolicyResource, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { LISTENER_TYPES, LOAD_BALANCER_TYPES, T, TAG_ENVIRONMENT, TAG_HTTP_EXEMPTION, TARGET_GROUP_TYPES } from "../conventions";
import {
    asArray, asNumber, asString, at, configOf, forTypes, isKnown, isTrue, isUnknown, ofTypes, propsOf,
    referenced, tagValue, type PortRange, type Props,
} from "../lib";
import { DATA_PORTS, OTHER_DATA_PORTS } from "./ports";

function lbType(props: Props): string | undefined {
    const t = at(props, "loadBalancerType");
    if (isUnknown(t)) return undefined;
    return typeof t === "string" ? t : "application";
}

// --- Shared: load balancers, listeners, production -------------------------------------------------

const ALL_LB_TYPES: readonly string[] = [...LOAD_BALANCER_TYPES, T.classicLoadBalancer];

function tagOf(r: PolicyResource, key: string): string | undefined {
    return tagValue(propsOf(r), key, r.provider ? r.provider.props : undefined);
}

/** "internet-facing" unless `internal` is true (the AWS default is internet-facing). */
function internetFacing(lb: PolicyResource): boolean | undefined {
    const v = at(propsOf(lb), "internal");
    if (isUnknown(v)) return undefined;
    return !isTrue(v);
}

interface ListenerView { res?: PolicyResource; where: string; protocol?: string; port?: number; encrypted: boolean; targetPorts: number[] }

/**
 * A listener's protocol as the load balancer will run it: unset means HTTP on an application load
 * balancer and TCP on a network load balancer (aws.lb.Listener docs, "protocol").
 */
function listenerProtocol(l: PolicyResource, lb: PolicyResource): string | undefined {
    const v = at(propsOf(l), "protocol");
    if (isUnknown(v)) return undefined;
    if (typeof v === "string" && v !== "") return v.toUpperCase();
    const t = lbType(propsOf(lb));
    return t === "network" ? "TCP" : t === "gateway" ? "GENEVE" : "HTTP";
}

/** Every listener of every load balancer, classic ones (inline `listeners`) included. */
function listenersByLb(args: StackValidationArgs): Map<PolicyResource, ListenerView[]> {
    const all = args.resources;
    const out = new Map<PolicyResource, ListenerView[]>();
    for (const lb of ofTypes(args, ALL_LB_TYPES)) out.set(lb, []);
    for (const l of ofTypes(args, LISTENER_TYPES)) {
        const lb = referenced(l, "loadBalancerArn", LOAD_BALANCER_TYPES, all)[0];
        if (!lb) continue;
        const protocol = listenerProtocol(l, lb);
        const tgs = referenced(l, "defaultActions", TARGET_GROUP_TYPES, all);
        out.get(lb)!.push({
            res: l,
            where: `listener "${l.name}"`,
            protocol,
            port: asNumber(at(propsOf(l), "port")),
            encrypted: protocol === "HTTPS" || protocol === "TLS",
            targetPorts: tgs.map((tg) => asNumber(at(propsOf(tg), "port"))).filter((p): p is number => p !== undefined),
        });
    }
    for (const lb of ofTypes(args, [T.classicLoadBalancer])) {
        (asArray(at(propsOf(lb), "listeners")) ?? []).forEach((x, i) => {
            const protocol = asString(at(x, "lbProtocol"))?.toUpperCase();
            const instancePort = asNumber(at(x, "instancePort"));
            out.get(lb)!.push({
                where: `listeners[${i}]`,
                protocol,
                port: asNumber(at(x, "lbPort")),
                encrypted: protocol === "HTTPS" || protocol === "SSL",
                targetPorts: instancePort === undefined ? [] : [instancePort],
            });
        });
    }
    return out;
}

export interface ProductionConfig {
    /** true/false decides outright (the prod stack's policy config sets true); unset: the Environment tag decides. */
    production?: boolean;
    productionEnvironments: string[];
}

const PRODUCTION_SCHEMA = {
    production: { type: "boolean" as const, description: "This stack is production (set in the prod policy config)." },
    productionEnvironments: {
        type: "array" as const, items: { type: "string" as const }, default: ["prod", "production"],
        description: `Used when "production" is unset: ${TAG_ENVIRONMENT} tag values that mean production.`,
    },
};

function isProduction(lb: PolicyResource, cfg: ProductionConfig): boolean {
    if (cfg.production !== undefined) return cfg.production;
    const env = tagOf(lb, TAG_ENVIRONMENT);
    return env !== undefined && cfg.productionEnvironments.includes(env.toLowerCase());
}

function httpExemption(lb: PolicyResource): string | undefined {
    const v = tagOf(lb, TAG_HTTP_EXEMPTION);
    return v !== undefined && v.trim() !== "" ? v : undefined;
}

const HOW_TO_CERTIFICATE =
    "give the load balancer an HTTPS listener with an ACM certificate (stack config: " +
    "pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id>, or set hostedZoneId to have one issued and validated by DNS)";

// --- Production refuses plain HTTP ----------------------------------------------------------------

export const httpsRequired: StackValidationPolicy = {
    name: "elb-https-required",
    description:
        "[AWS FSBP ELB.1, ELB.3; Architecture] Every internet-facing load balancer (application, network or classic) must " +
        `have an HTTPS/TLS listener. Production never serves plain HTTP; elsewhere an HTTP-only load balancer needs the ` +
        `explicit "${TAG_HTTP_EXEMPTION}" tag with the reason. Config: production, productionEnvironments.`,
    enforcementLevel: "mandatory",
    tags: ["ELB.1", "ELB.3", "encryption"],
    configSchema: { properties: PRODUCTION_SCHEMA },
    validateStack: (args, report) => {
        const cfg = configOf<ProductionConfig>(args, { productionEnvironments: ["prod", "production"] });
        for (const [lb, listeners] of listenersByLb(args)) {
            if (internetFacing(lb) !== true) continue;
            if (lbType(propsOf(lb)) === "gateway") continue; // GWLB: no client protocol, not internet-facing HTTP
            if (listeners.length === 0) continue; // serves nothing (yet)
            if (listeners.some((l) => l.protocol === undefined)) continue; // judged when known
            const prod = isProduction(lb, cfg);
            const exemption = httpExemption(lb);
            if (prod && exemption !== undefined) {
                report(`load balancer "${lb.name}" carries "${TAG_HTTP_EXEMPTION}" (${exemption}), which production never honours; ${HOW_TO_CERTIFICATE}.`, lb.urn);
            }
            if (listeners.some((l) => l.encrypted)) continue;
            if (prod) {
                report(`load balancer "${lb.name}" is internet-facing in production and has no HTTPS listener, so logins would cross the internet in clear text; ${HOW_TO_CERTIFICATE}.`, lb.urn);
            } else if (exemption === undefined) {
                report(`load balancer "${lb.name}" is internet-facing and serves only plain HTTP; ${HOW_TO_CERTIFICATE}, or (not in production) tag it "${TAG_HTTP_EXEMPTION}" = <reason>.`, lb.urn);
            }
        }
    },
};

export const httpExemptionReported: StackValidationPolicy = {
    name: "elb-http-exemption-reported",
    description:
        `[Architecture] Reports every load balancer that serves plain HTTP under a "${TAG_HTTP_EXEMPTION}" exemption, ` +
        "so the exemption stays visible in every preview and plan.",
    enforcementLevel: "advisory",
    tags: ["encryption", "exemption"],
    validateStack: (args, report) => {
        for (const [lb, listeners] of listenersByLb(args)) {
            const exemption = httpExemption(lb);
            if (exemption === undefined || listeners.some((l) => l.encrypted)) continue;
            report(`load balancer "${lb.name}" serves plain HTTP under the exemption: ${exemption}.`, lb.urn);
        }
    },
};

// --- ELB.1 ----------------------------------------------------------------------------------------

export const httpRedirectsToHttps: StackValidationPolicy = {
    name: "elb-http-redirects-to-https",
    description:
        "[AWS FSBP ELB.1] Every HTTP listener of an application load balancer (protocol HTTP, or unset, which defaults " +
        `to HTTP) must only redirect to HTTPS; a load balancer with a "${TAG_HTTP_EXEMPTION}" tag is judged by ` +
        "elb-https-required instead (never in production).",
    enforcementLevel: "mandatory",
    tags: ["ELB.1", "encryption"],
    configSchema: { properties: PRODUCTION_SCHEMA },
    validateStack: (args, report) => {
        const cfg = configOf<ProductionConfig>(args, { productionEnvironments: ["prod", "production"] });
        for (const [lb, listeners] of listenersByLb(args)) {
            if (lbType(propsOf(lb)) !== "application") continue;
            if (httpExemption(lb) !== undefined && !isProduction(lb, cfg)) continue;
            for (const l of listeners.filter((x) => x.protocol === "HTTP" && x.res)) {
                const actions = at(propsOf(l.res!), "defaultActions");
                if (isUnknown(actions)) continue;
                const list = asArray(actions) ?? [];
                const ok =
                    list.length > 0 &&
                    list.every((a) => at(a, "type") === "redirect" && String(at(a, "redirect", "protocol") ?? "").toUpperCase() === "HTTPS");
                if (!ok) {
                    report(`HTTP listener "${l.res!.name}" on load balancer "${lb.name}" must redirect to HTTPS (type "redirect", protocol "HTTPS").`, l.res!.urn);
                }
            }
        }
    },
};

// --- Data ports behind an internet-facing load balancer -------------------------------------------

export const noDataPortsToInternet: StackValidationPolicy = {
    name: "elb-no-data-ports-from-internet",
    description:
        "[AWS FSBP EC2.19; Architecture] No internet-facing load balancer (application, network or classic) may listen on " +
        "or forward to a data or replication port (MariaDB/Galera, GlusterFS, Redis, NFS, other databases).",
    enforcementLevel: "mandatory",
    tags: ["EC2.19", "exposure"],
    validateStack: (args, report) => {
        const data: (PortRange & { service: string })[] = [...DATA_PORTS, ...OTHER_DATA_PORTS];
        const hit = (p: number) => data.find((d) => d.from <= p && p <= d.to);
        for (const [lb, listeners] of listenersByLb(args)) {
            if (internetFacing(lb) !== true) continue;
            for (const l of listeners) {
                for (const [what, p] of [["listens on", l.port], ...l.targetPorts.map((t) => ["forwards to", t] as const)] as const) {
                    const d = p === undefined ? undefined : hit(p);
                    if (d) report(`internet-facing load balancer "${lb.name}" ${l.where} ${what} port ${p} (${d.service}): data ports never face the internet.`, l.res?.urn ?? lb.urn);
                }
            }
        }
    },
};

// --- ELB.4 ----------------------------------------------------------------------------------------

export const dropInvalidHeaders: ResourceValidationPolicy = {
    name: "elb-drop-invalid-headers",
    description: "[AWS FSBP ELB.4] Application load balancers must drop invalid HTTP header fields.",
    enforcementLevel: "advisory",
    tags: ["ELB.4"],
    validateResource: forTypes(LOAD_BALANCER_TYPES, ({ props }, report) => {
        if (lbType(props) !== "application") return;
        const v = at(props, "dropInvalidHeaderFields");
        if (!isUnknown(v) && !isTrue(v)) report("set dropInvalidHeaderFields = true.");
    }),
};

// --- ELB.5 ----------------------------------------------------------------------------------------

export const accessLogs: ResourceValidationPolicy = {
    name: "elb-access-logs",
    description: "[AWS FSBP ELB.5] Load balancers must write access logs (accessLogs.enabled with a bucket).",
    enforcementLevel: "advisory",
    tags: ["ELB.5", "logging"],
    validateResource: forTypes(LOAD_BALANCER_TYPES, ({ props }, report) => {
        const al = at(props, "accessLogs");
        if (isUnknown(al)) return;
        const enabled = at(al, "enabled");
        const bucket = at(al, "bucket");
        // accessLogs.enabled defaults to false even when a bucket is given.
        const off = al === undefined || al === null || (!isUnknown(enabled) && !isTrue(enabled));
        const noBucket = !isUnknown(bucket) && (!isKnown(bucket) || bucket === "");
        if (off || noBucket) {
            report("access logs are off: set accessLogs = { enabled: true, bucket: <log bucket> }.");
        }
    }),
};

// --- ELB.6 ----------------------------------------------------------------------------------------

export interface DeletionProtectionConfig {
    /** true/false decides outright; when unset, the Environment tag decides. */
    required?: boolean;
    requiredForEnvironments: string[];
}

export const deletionProtection: ResourceValidationPolicy = {
    name: "elb-deletion-protection",
    description:
        "[AWS FSBP ELB.6] Load balancers must have deletion protection where the policy config requires it " +
        `(config "required", or by default when the ${TAG_ENVIRONMENT} tag is in "requiredForEnvironments" = ["prod"]).`,
    enforcementLevel: "mandatory",
    tags: ["ELB.6", "availability"],
    configSchema: {
        properties: {
            required: { type: "boolean", description: "Require deletion protection in this stack (set in the prod policy config)." },
            requiredForEnvironments: {
                type: "array", items: { type: "string" }, default: ["prod"],
                description: `Used when "required" is unset: ${TAG_ENVIRONMENT} tag values that require deletion protection.`,
            },
        },
    },
    validateResource: forTypes(LOAD_BALANCER_TYPES, ({ props, providerProps, args }, report) => {
        const cfg = configOf<DeletionProtectionConfig>(args, { requiredForEnvironments: ["prod"] });
        let required = cfg.required;
        let why = "the policy config requires it";
        if (required === undefined) {
            const env = tagValue(props, TAG_ENVIRONMENT, providerProps);
            required = env !== undefined && cfg.requiredForEnvironments.includes(env);
            why = `${TAG_ENVIRONMENT} is "${env}"`;
        }
        if (!required) return;
        const v = at(props, "enableDeletionProtection");
        if (!isUnknown(v) && !isTrue(v)) report(`enableDeletionProtection must be true (${why}).`);
    }),
};

// --- ELB.12 ---------------------------------------------------------------------------------------

export const desyncMitigation: ResourceValidationPolicy = {
    name: "elb-desync-mitigation",
    description: "[AWS FSBP ELB.12] Application load balancers must use desync mitigation mode defensive or strictest.",
    enforcementLevel: "advisory",
    tags: ["ELB.12"],
    validateResource: forTypes(LOAD_BALANCER_TYPES, ({ props }, report) => {
        if (lbType(props) !== "application") return;
        const v = at(props, "desyncMitigationMode");
        // Unset means AWS's default, "defensive".
        if (typeof v === "string" && !isUnknown(v) && v !== "defensive" && v !== "strictest") {
            report(`desyncMitigationMode is "${v}": use "defensive" or "strictest".`);
        }
    }),
};

// --- ELB.13 ---------------------------------------------------------------------------------------

export const multiAz: ResourceValidationPolicy = {
    name: "elb-multi-az",
    description: "[AWS FSBP ELB.13] Load balancers must span at least two subnets (availability zones).",
    enforcementLevel: "advisory",
    tags: ["ELB.13", "availability"],
    validateResource: forTypes(LOAD_BALANCER_TYPES, ({ props }, report) => {
        const subnets = at(props, "subnets");
        const mappings = at(props, "subnetMappings");
        if (isUnknown(subnets) || isUnknown(mappings)) return;
        const n = Math.max(asArray(subnets)?.length ?? 0, asArray(mappings)?.length ?? 0);
        if (n < 2) report(`the load balancer uses ${n} subnet(s); give it subnets in at least two AZs.`);
    }),
};

// --- ELB.17 ---------------------------------------------------------------------------------------

/** Predefined policies that allow TLS 1.2 and/or 1.3 only (AWS FSBP ELB.17's recommended set). */
export const TLS12_13_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;

export const tlsPolicy: ResourceValidationPolicy = {
    name: "elb-tls-policy",
    description: "[AWS FSBP ELB.17] HTTPS/TLS listeners must use a TLS 1.2/1.3-only security policy.",
    enforcementLevel: "mandatory",
    tags: ["ELB.17", "encryption"],
    configSchema: {
        properties: {
            allowedPolicies: {
                type: "array", items: { type: "string" }, default: [],
                description: "Exact sslPolicy names to allow; empty = any ELBSecurityPolicy-TLS13-1-2/1-3, TLS-1-2 or FS-1-2 policy.",
            },
        },
    },
    validateResource: forTypes(LISTENER_TYPES, ({ props, args }, report) => {
        const { allowedPolicies } = configOf(args, { allowedPolicies: [] as string[] });
        const proto = asString(at(props, "protocol"))?.toUpperCase();
        if (proto !== "HTTPS" && proto !== "TLS") return;
        const policy = at(props, "sslPolicy");
        if (isUnknown(policy)) return;
        const name = asString(policy);
        const ok = name !== undefined && (allowedPolicies.length > 0 ? allowedPolicies.includes(name) : TLS12_13_POLICY.test(name));
        if (!ok) {
            report(
                `sslPolicy is ${JSON.stringify(name ?? "unset (ELBSecurityPolicy-2016-08, allows TLS 1.0)")}: use e.g. ` +
                    `"ELBSecurityPolicy-TLS13-1-2-2021-06".`,
            );
        }
    }),
};

export const elbPolicies = [
    httpsRequired,
    httpExemptionReported,
    httpRedirectsToHttps,
    noDataPortsToInternet,
    dropInvalidHeaders,
    accessLogs,
    deletionProtection,
    desyncMitigation,
    multiAz,
    tlsPolicy,
];
