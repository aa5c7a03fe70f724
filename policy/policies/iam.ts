/**
 * IAM policies: AWS FSBP IAM.1 (no full admin), IAM.21 (no service-wide wildcards on "*"), KMS.1/KMS.2
 * (no decryption on all KMS keys) and role trust policies (who may assume a role).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { T } from "../conventions";
import { asArray, asString, at, forTypes, isUnknown, type Props } from "../lib";

const DOC_TYPES: readonly string[] = [T.iamPolicy, T.iamRolePolicy, T.iamUserPolicy, T.iamGroupPolicy];
const ATTACHMENT_TYPES: readonly string[] = [T.iamRolePolicyAttachment, T.iamUserPolicyAttachment, T.iamGroupPolicyAttachment, T.iamPolicyAttachment];
const ALL_TYPES = [...DOC_TYPES, T.iamRole, ...ATTACHMENT_TYPES];

interface Statement {
    Effect?: unknown; Action?: unknown; NotAction?: unknown; Resource?: unknown; NotResource?: unknown;
    Principal?: unknown; NotPrincipal?: unknown; Condition?: unknown;
}

const list = (v: unknown): string[] =>
    (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter((x): x is string => typeof x === "string");

/** Parsed statements of a policy document (JSON string or object); undefined when unknown/unparsable. */
export function statementsOf(doc: unknown): Statement[] | undefined {
    if (isUnknown(doc) || doc === undefined || doc === null) return undefined;
    let d: unknown = doc;
    if (typeof d === "string") {
        try { d = JSON.parse(d); } catch { return undefined; }
    }
    const s = at(d, "Statement") ?? at(d, "statements");
    if (isUnknown(s)) return undefined;
    const arr = Array.isArray(s) ? s : s ? [s] : [];
    // Accept both IAM JSON (Effect/Action/Resource) and aws.iam.PolicyDocument inputs (effect/actions/resources).
    return arr.map((x) => {
        const o = x as Record<string, unknown>;
        return {
            Effect: o.Effect ?? o.effect ?? "Allow",
            Action: o.Action ?? o.actions,
            NotAction: o.NotAction ?? o.notActions,
            Resource: o.Resource ?? o.resources,
            NotResource: o.NotResource ?? o.notResources,
            Principal: o.Principal ?? o.principals,
            NotPrincipal: o.NotPrincipal ?? o.notPrincipals,
            Condition: o.Condition ?? o.conditions,
        };
    });
}

/** Policy documents carried by a resource, with a label for messages. */
function documentsOf(type: string, props: Props): [string, unknown][] {
    if (DOC_TYPES.includes(type)) return [["policy", at(props, "policy")]];
    if (type === T.iamRole) {
        return (asArray(at(props, "inlinePolicies")) ?? []).map((p, i): [string, unknown] => [
            `inlinePolicies[${i}] (${asString(at(p, "name")) ?? "?"})`, at(p, "policy"),
        ]);
    }
    return [];
}

function managedArns(type: string, props: Props): string[] {
    if (type === T.iamRole) return list(at(props, "managedPolicyArns")).filter((a) => !isUnknown(a));
    if (ATTACHMENT_TYPES.includes(type)) return list(at(props, "policyArn")).filter((a) => !isUnknown(a));
    return [];
}

const onAllResources = (s: Statement): boolean => list(s.Resource).includes("*") || (s.Resource === undefined && s.NotResource !== undefined);
const isAllow = (s: Statement): boolean => s.Effect === "Allow";

export const noFullAdmin: ResourceValidationPolicy = {
    name: "iam-no-full-admin",
    description: "[AWS FSBP IAM.1] IAM policies must not grant full administrative privileges (\"*\" actions or NotAction on \"*\").",
    enforcementLevel: "mandatory",
    tags: ["IAM.1", "access"],
    validateResource: forTypes(ALL_TYPES, ({ type, props }, report) => {
        for (const [where, doc] of documentsOf(type, props)) {
            (statementsOf(doc) ?? []).forEach((s, i) => {
                if (!isAllow(s) || !onAllResources(s)) return;
                if (list(s.Action).some((a) => a === "*" || a === "*:*")) {
                    report(`${where} Statement[${i}] allows "*" on "*" (full admin).`);
                } else if (s.NotAction !== undefined) {
                    report(`${where} Statement[${i}] allows everything except NotAction on "*" (effectively admin).`);
                }
            });
        }
        for (const arn of managedArns(type, props)) {
            if (/:policy\/AdministratorAccess$/.test(arn)) report(`attaches ${arn} (full admin).`);
        }
    }),
};

export const noServiceWildcards: ResourceValidationPolicy = {
    name: "iam-no-service-wildcards",
    description: "[AWS FSBP IAM.21] IAM policies must not allow service-wide wildcard actions (\"service:*\") on \"*\".",
    enforcementLevel: "advisory",
    tags: ["IAM.21", "access"],
    validateResource: forTypes(ALL_TYPES, ({ type, props }, report) => {
        for (const [where, doc] of documentsOf(type, props)) {
            (statementsOf(doc) ?? []).forEach((s, i) => {
                if (!isAllow(s) || !onAllResources(s)) return;
                const wild = list(s.Action).filter((a) => /^[A-Za-z0-9-]+:\*$/.test(a));
                if (wild.length > 0) report(`${where} Statement[${i}] allows ${wild.join(", ")} on "*": list the actions needed.`);
            });
        }
        for (const arn of managedArns(type, props)) {
            if (/:policy\/(PowerUserAccess|[A-Za-z0-9]+FullAccess)$/.test(arn)) report(`attaches ${arn} (service-wide wildcard).`);
        }
    }),
};

// --- KMS.1 / KMS.2 --------------------------------------------------------------------------------

/** Actions that decrypt with a KMS key (what KMS.1/KMS.2 look for), matched with IAM wildcards. */
const KMS_DECRYPT_ACTIONS = ["kms:Decrypt", "kms:ReEncryptFrom"];

function actionMatches(pattern: string, action: string): boolean {
    const re = new RegExp(`^${pattern.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
    return re.test(action);
}

export const noKmsDecryptOnAllKeys: ResourceValidationPolicy = {
    name: "iam-no-kms-decrypt-on-all-keys",
    description:
        "[AWS FSBP KMS.1, KMS.2] IAM policies (customer managed and inline) must not allow kms:Decrypt or kms:ReEncryptFrom " +
        "on all KMS keys (Resource \"*\"): name the keys.",
    enforcementLevel: "advisory",
    tags: ["KMS.1", "KMS.2", "access"],
    validateResource: forTypes(ALL_TYPES, ({ type, props }, report) => {
        for (const [where, doc] of documentsOf(type, props)) {
            (statementsOf(doc) ?? []).forEach((s, i) => {
                if (!isAllow(s) || !list(s.Resource).includes("*")) return;
                const hits = KMS_DECRYPT_ACTIONS.filter((a) => list(s.Action).some((p) => actionMatches(p, a)));
                if (hits.length > 0) report(`${where} Statement[${i}] allows ${hits.join(", ")} on all KMS keys ("*").`);
            });
        }
    }),
};

// --- Trust policies -------------------------------------------------------------------------------

/** Condition keys that tie a "*" or cross-account principal to something specific. */
const BINDING_CONDITION_KEYS = /^(aws:PrincipalOrgID|aws:PrincipalAccount|aws:PrincipalArn|aws:SourceAccount|aws:SourceArn|aws:SourceOrgID|sts:ExternalId|aws:PrincipalOrgPaths)$/i;

function conditionKeys(cond: unknown): string[] {
    if (cond === null || typeof cond !== "object") return [];
    if (Array.isArray(cond)) return cond.map((c) => String((c as { variable?: unknown }).variable ?? "")); // getPolicyDocument input shape
    return Object.values(cond as Record<string, unknown>).flatMap((v) => (v && typeof v === "object" ? Object.keys(v) : []));
}

/** "*" principals in a statement: Principal "*" or {AWS: "*"} (either spelling of the document). */
function wildcardPrincipal(p: unknown): boolean {
    if (p === "*") return true;
    if (Array.isArray(p)) {
        return p.some((x) => (x as { type?: unknown }).type !== "Service" && list((x as { identifiers?: unknown }).identifiers).includes("*"));
    }
    if (p && typeof p === "object") return list((p as Record<string, unknown>).AWS).includes("*") || list((p as Record<string, unknown>).Federated).includes("*");
    return false;
}

export const trustPolicyRestricted: ResourceValidationPolicy = {
    name: "iam-trust-policy-restricted",
    description:
        "[AWS FSBP IAM.1 (scope); CIS] Role trust policies (assumeRolePolicy) must not let any principal (\"*\") assume the " +
        "role, nor use NotPrincipal with Allow, unless a condition binds it (aws:PrincipalOrgID, aws:SourceAccount, " +
        "aws:SourceArn, sts:ExternalId, ...).",
    enforcementLevel: "mandatory",
    tags: ["IAM", "access", "trust"],
    validateResource: forTypes([T.iamRole], ({ props }, report) => {
        const doc = at(props, "assumeRolePolicy");
        if (isUnknown(doc)) return;
        const statements = statementsOf(doc);
        if (statements === undefined) {
            if (typeof doc === "string") report("assumeRolePolicy is not valid JSON, so who may assume the role cannot be verified.");
            return;
        }
        statements.forEach((s, i) => {
            if (!isAllow(s)) return;
            const bound = conditionKeys(s.Condition).some((k) => BINDING_CONDITION_KEYS.test(k));
            if (s.NotPrincipal !== undefined) {
                report(`assumeRolePolicy Statement[${i}] allows everyone except NotPrincipal to assume the role.`);
            } else if (wildcardPrincipal(s.Principal) && !bound) {
                report(
                    `assumeRolePolicy Statement[${i}] lets any AWS principal ("*") assume the role; name the service or account, ` +
                        "or bind it with a condition such as aws:PrincipalOrgID or sts:ExternalId.",
                );
            }
        });
    }),
};

export const iamPolicies = [noFullAdmin, noServiceWildcards, noKmsDecryptOnAllKeys, trustPolicyRestricted];
