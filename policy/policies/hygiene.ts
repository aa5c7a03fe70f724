/** Hygiene policies: CloudWatch log retention (CloudWatch.16, and a bound on it) and required tags. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { REQUIRED_TAG_KEYS, T, TAGGABLE_TYPES } from "../conventions";
import { asNumber, at, configOf, forTypes, isUnknown, raw, tagsOf, type Props } from "../lib";

/**
 * CloudWatch.16 as AWS defines it (Config rule cw-loggroup-retention-period-check): a log group is
 * compliant when it never expires or keeps logs at least minimumDays (AWS's default parameter: 365).
 * Short retention is the finding, not "never expire".
 */
export const logRetention: ResourceValidationPolicy = {
    name: "cloudwatch-log-retention",
    description:
        "[AWS FSBP CloudWatch.16] CloudWatch log groups must keep logs at least minimumDays (AWS's default 365); " +
        "\"never expire\" (retentionInDays unset or 0) complies. Config: minimumDays.",
    enforcementLevel: "advisory",
    tags: ["CloudWatch.16", "logging"],
    configSchema: {
        properties: {
            minimumDays: { type: "integer", minimum: 1, default: 365, description: "AWS's MinRetentionTime parameter (default 365 days)." },
        },
    },
    validateResource: forTypes([T.logGroup], ({ props, args }, report) => {
        const { minimumDays } = configOf(args, { minimumDays: 365 });
        const v = at(props, "retentionInDays");
        if (isUnknown(v)) return;
        const n = asNumber(v);
        if (n === undefined || n === 0) return; // never expires: compliant with CloudWatch.16
        if (n < minimumDays) report(`retentionInDays is ${n}: CloudWatch.16 requires at least ${minimumDays} (or never expire).`);
    }),
};

/**
 * The opposite concern, kept as its own project rule: logs that never expire grow cost without bound
 * and keep personal data (user names, client IPs in web and flow logs) longer than needed (GDPR
 * storage limitation). This was the pack's old "CloudWatch.16"; it is not an AWS control.
 */
export const logRetentionBounded: ResourceValidationPolicy = {
    name: "cloudwatch-log-retention-bounded",
    description:
        "[Cost, data minimisation] CloudWatch log groups must set a retention period (retentionInDays > 0): logs that never " +
        "expire grow cost without bound and keep personal data longer than needed.",
    enforcementLevel: "advisory",
    tags: ["logging", "cost"],
    validateResource: forTypes([T.logGroup], ({ props }, report) => {
        const v = at(props, "retentionInDays");
        if (isUnknown(v)) return;
        const n = asNumber(v);
        if (n === undefined || n === 0) report("retentionInDays is not set: logs are kept forever. Set a retention period.");
    }),
};

export const requiredTags: ResourceValidationPolicy = {
    name: "required-tags",
    description:
        `[Tagging] Taggable resources must carry the tags ${REQUIRED_TAG_KEYS.join(", ")} ` +
        "(own tags or the provider's defaultTags).",
    enforcementLevel: "advisory",
    tags: ["tags"],
    configSchema: {
        properties: {
            requiredTags: { type: "array", items: { type: "string" }, default: [...REQUIRED_TAG_KEYS] },
        },
    },
    validateResource: (args, report) => {
        const props = raw<Props>(args.props);
        const taggable = TAGGABLE_TYPES.includes(args.type) || (args.type.startsWith("aws:") && "tags" in props);
        if (!taggable) {
            return args.notApplicable("resource type is not in the taggable list and sets no tags");
        }
        const { requiredTags: keys } = configOf(args, { requiredTags: [...REQUIRED_TAG_KEYS] as string[] });
        const view = tagsOf(props, args.provider ? raw<Props>(args.provider.props) : undefined);
        if (view.unknown) return;
        const missing = keys.filter((k) => view.tags[k] === undefined || view.tags[k] === "");
        if (missing.length > 0) report(`missing tag(s): ${missing.join(", ")}.`);
    },
};

export const hygienePolicies = [logRetention, logRetentionBounded, requiredTags];
