/** IAM policies: AWS FSBP IAM.1 (no full admin) and IAM.21 (no service-wide wildcards on "*"). */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { T } from "../conventions";
import { asArray, asString, at, forTypes, isUnknown, type Props } from "../lib";

const DOC_TYPES: readonly string[] = [T.iamPolicy, T.iamRolePolicy, T.iamUserPolicy, T.iamGroupPolicy];
const ATTACHMENT_TYPES: readonly string[] = [T.iamRolePolicyAttachment, T.iamUserPolicyAttachment, T.iamGroupPolicyAttachment, T.iamPolicyAttachment];
const ALL_TYPES = [...DOC_TYPES, T.iamRole, ...ATTACHMENT_TYPES];

interface Statement { Effect?: unknown; Action?: unknown; NotAction?: unknown; Resource?: unknown; NotResource?: unknown }

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

export const iamPolicies = [noFullAdmin, noServiceWildcards];
