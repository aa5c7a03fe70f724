/** Hygiene policies: CloudWatch log retention (CloudWatch.16) and required tags. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { REQUIRED_TAG_KEYS, T, TAGGABLE_TYPES } from "../conventions";
import { asNumber, at, configOf, forTypes, isUnknown, raw, tagsOf, type Props } from "../lib";

export const logRetention: ResourceValidationPolicy = {
    name: "cloudwatch-log-retention",
    description: "[AWS FSBP CloudWatch.16] CloudWatch log groups must set a retention period (retentionInDays > 0).",
    enforcementLevel: "advisory",
    tags: ["CloudWatch.16", "logging"],
    configSchema: {
        properties: {
            minimumDays: { type: "integer", minimum: 1, default: 1, description: "FSBP's own default parameter is 365." },
        },
    },
    validateResource: forTypes([T.logGroup], ({ props, args }, report) => {
        const { minimumDays } = configOf(args, { minimumDays: 1 });
        const v = at(props, "retentionInDays");
        if (isUnknown(v)) return;
        const n = asNumber(v);
        if (n === undefined || n === 0) report("retentionInDays is not set: logs are kept forever. Set a retention period.");
        else if (n < minimumDays) report(`retentionInDays is ${n}: at least ${minimumDays} required.`);
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

export const hygienePolicies = [logRetention, requiredTags];
