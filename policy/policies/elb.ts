/** Elastic Load Balancing policies (AWS FSBP ELB.*). Apply to aws.lb.* and aws.alb.* alike. */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { LISTENER_TYPES, LOAD_BALANCER_TYPES, TAG_ENVIRONMENT } from "../conventions";
import {
    asArray, asString, at, configOf, forTypes, isKnown, isTrue, isUnknown, ofTypes, propsOf,
    referenced, tagValue, type Props,
} from "../lib";

function lbType(props: Props): string | undefined {
    const t = at(props, "loadBalancerType");
    if (isUnknown(t)) return undefined;
    return typeof t === "string" ? t : "application";
}

// --- ELB.1 ----------------------------------------------------------------------------------------

export const httpRedirectsToHttps: StackValidationPolicy = {
    name: "elb-http-redirects-to-https",
    description:
        "[AWS FSBP ELB.1] When a load balancer has an HTTPS listener, every HTTP listener on it must only " +
        "redirect to HTTPS.",
    enforcementLevel: "mandatory",
    tags: ["ELB.1", "encryption"],
    validateStack: (args, report) => {
        const all = args.resources;
        const byLb = new Map<PolicyResource, PolicyResource[]>();
        for (const l of ofTypes(args, LISTENER_TYPES)) {
            const lb = referenced(l, "loadBalancerArn", LOAD_BALANCER_TYPES, all)[0];
            if (!lb) continue;
            byLb.set(lb, [...(byLb.get(lb) ?? []), l]);
        }
        for (const [lb, listeners] of byLb) {
            const proto = (l: PolicyResource): string | undefined => asString(at(propsOf(l), "protocol"))?.toUpperCase();
            if (!listeners.some((l) => proto(l) === "HTTPS")) continue;
            for (const l of listeners.filter((x) => proto(x) === "HTTP")) {
                const actions = at(propsOf(l), "defaultActions");
                if (isUnknown(actions)) continue;
                const list = asArray(actions) ?? [];
                const ok =
                    list.length > 0 &&
                    list.every((a) => at(a, "type") === "redirect" && String(at(a, "redirect", "protocol") ?? "").toUpperCase() === "HTTPS");
                if (!ok) {
                    report(`HTTP listener "${l.name}" on load balancer "${lb.name}" must redirect to HTTPS (type "redirect", protocol "HTTPS").`, l.urn);
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
    httpRedirectsToHttps,
    dropInvalidHeaders,
    accessLogs,
    deletionProtection,
    desyncMitigation,
    multiAz,
    tlsPolicy,
];
