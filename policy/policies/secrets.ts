/** Secrets Manager rotation (AWS FSBP SecretsManager.1, .4) and ACM key length (ACM.2). */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { T } from "../conventions";
import { asNumber, asString, at, configOf, forTypes, isUnknown, ofTypes, referenced } from "../lib";

export const secretRotationEnabled: StackValidationPolicy = {
    name: "secretsmanager-rotation-enabled",
    description: "[AWS FSBP SecretsManager.1] Every Secrets Manager secret must have automatic rotation (aws.secretsmanager.SecretRotation).",
    enforcementLevel: "advisory",
    tags: ["SecretsManager.1", "secrets"],
    validateStack: (args, report) => {
        const all = args.resources;
        const rotations = ofTypes(args, [T.secretRotation]);
        for (const secret of ofTypes(args, [T.secret])) {
            if (!rotations.some((r) => referenced(r, "secretId", [T.secret], all).includes(secret))) {
                report(`secret "${secret.name}" has no SecretRotation: it keeps its value until someone changes it by hand.`, secret.urn);
            }
        }
    },
};

/** Days between rotations from rotationRules (automaticallyAfterDays or a rate(N days) schedule); undefined if not known. */
export function rotationDays(rules: unknown): number | undefined {
    const days = asNumber(at(rules, "automaticallyAfterDays"));
    if (days !== undefined) return days;
    const expr = asString(at(rules, "scheduleExpression"));
    const m = expr ? /^rate\((\d+)\s+days?\)$/.exec(expr.trim()) : null;
    if (m) return Number(m[1]);
    const h = expr ? /^rate\((\d+)\s+hours?\)$/.exec(expr.trim()) : null;
    return h ? Number(h[1]) / 24 : undefined; // cron(...) schedules: not judged
}

export const secretRotationPeriod: ResourceValidationPolicy = {
    name: "secretsmanager-rotation-period",
    description:
        "[AWS FSBP SecretsManager.4] Secret rotation must happen at least every maxDaysSinceRotation days (AWS's default 90). " +
        "Config: maxDaysSinceRotation.",
    enforcementLevel: "advisory",
    tags: ["SecretsManager.4", "secrets"],
    configSchema: { properties: { maxDaysSinceRotation: { type: "integer", minimum: 1, default: 90 } } },
    validateResource: forTypes([T.secretRotation], ({ props, args }, report) => {
        const { maxDaysSinceRotation } = configOf(args, { maxDaysSinceRotation: 90 });
        const rules = at(props, "rotationRules");
        if (isUnknown(rules)) return;
        const days = rotationDays(rules);
        if (days !== undefined && days > maxDaysSinceRotation) report(`rotates every ${days} days: at most ${maxDaysSinceRotation} allowed.`);
    }),
};

export const acmKeyLength: ResourceValidationPolicy = {
    name: "acm-rsa-key-length",
    description: "[AWS FSBP ACM.2] ACM certificates must use RSA keys of at least 2048 bits (keyAlgorithm RSA_1024 is refused).",
    enforcementLevel: "mandatory",
    tags: ["ACM.2", "encryption"],
    validateResource: forTypes([T.certificate], ({ props }, report) => {
        const alg = asString(at(props, "keyAlgorithm"));
        const m = alg ? /^RSA_(\d+)$/.exec(alg) : null;
        if (m && Number(m[1]) < 2048) report(`keyAlgorithm ${alg}: use RSA_2048 or larger, or an EC key.`);
    }),
};

export const secretsPolicies = [secretRotationEnabled, secretRotationPeriod, acmKeyLength];
