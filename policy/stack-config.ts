/**
 * Per-stack policy configuration. The same objects are written to `policy/config/<stack>.json` for
 * the CLI (`pulumi preview --policy-pack policy --policy-pack-config policy/config/prod.json`); a
 * test keeps the files and this module equal. The pack itself cannot see the stack name, so
 * stack-dependent rules (ELB.6 in prod) read it from this config.
 */
import type { PolicyPackConfig } from "@pulumi/policy";

export const STACK_POLICY_CONFIG: Record<string, PolicyPackConfig> = {
    dev: {
        "elb-deletion-protection": { required: false },
        "elb-https-required": { production: false },
        "elb-http-redirects-to-https": { production: false },
    },
    prod: {
        "elb-deletion-protection": { enforcementLevel: "mandatory", required: true },
        "elb-https-required": { production: true },
        "elb-http-redirects-to-https": { production: true },
        "elasticache-automatic-backups": { enforcementLevel: "mandatory", minimumRetentionDays: 7 },
    },
};

/** The policy config for a stack name ({} for stacks without one). */
export function stackPolicyConfig(stack: string | undefined): PolicyPackConfig {
    return (stack && STACK_POLICY_CONFIG[stack]) || {};
}
