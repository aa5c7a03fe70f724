/**
 * S3 bucket policies (AWS FSBP S3.5, S3.8, S3.9, S3.12) for the buckets the program creates (the
 * ALB access-log bucket, backup buckets). A bucket's settings live in separate resources
 * (BucketPublicAccessBlock, BucketPolicy, BucketLogging, BucketOwnershipControls, BucketAcl), found
 * through the `bucket` property's dependencies.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { BACKUP_TIER, BUCKET_TYPES, T, TAG_TIER } from "../conventions";
import { asArray, at, isTrue, isUnknown, ofTypes, propsOf, referenced, tagValue } from "../lib";
import { statementsOf } from "./iam";

function label(r: PolicyResource): string {
    return `bucket "${r.name}"`;
}

/** Resources of the given types whose `bucket` property names this bucket. */
function settingsOf(bucket: PolicyResource, types: readonly string[], all: readonly PolicyResource[]): PolicyResource[] {
    return all.filter((r) => types.includes(r.type) && referenced(r, "bucket", BUCKET_TYPES, all).includes(bucket));
}

export const s3BlockPublicAccess: StackValidationPolicy = {
    name: "s3-block-public-access",
    description:
        "[AWS FSBP S3.8] Every bucket must have an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, " +
        "ignorePublicAcls and restrictPublicBuckets all true.",
    enforcementLevel: "mandatory",
    tags: ["S3.8", "exposure"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const bucket of ofTypes(args, BUCKET_TYPES)) {
            const blocks = settingsOf(bucket, [T.s3PublicAccessBlock], all);
            if (blocks.length === 0) {
                report(`${label(bucket)} has no BucketPublicAccessBlock: add one with all four settings true.`, bucket.urn);
                continue;
            }
            for (const b of blocks) {
                const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((k) => {
                    const v = at(propsOf(b), k);
                    return !isUnknown(v) && !isTrue(v);
                });
                if (off.length > 0) report(`${label(bucket)}: ${off.join(", ")} not true in "${b.name}".`, b.urn);
            }
        }
    },
};

/** True when a statement denies requests that do not use TLS (aws:SecureTransport = false). */
function deniesPlainHttp(doc: unknown): boolean | undefined {
    if (isUnknown(doc)) return undefined;
    const statements = statementsOf(doc);
    if (!statements) return undefined;
    return statements.some((s) => {
        if (s.Effect !== "Deny") return false;
        const cond = s.Condition as Record<string, Record<string, unknown>> | undefined;
        const v = cond?.Bool?.["aws:SecureTransport"] ?? cond?.Bool?.["aws:securetransport"];
        return v === false || v === "false" || (Array.isArray(v) && v.map(String).includes("false"));
    });
}

export const s3TlsOnly: StackValidationPolicy = {
    name: "s3-tls-only",
    description:
        "[AWS FSBP S3.5] Every bucket must have a bucket policy that denies requests without TLS " +
        "(Effect Deny with Condition Bool aws:SecureTransport = false).",
    enforcementLevel: "mandatory",
    tags: ["S3.5", "encryption"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const bucket of ofTypes(args, BUCKET_TYPES)) {
            const policies = settingsOf(bucket, [T.s3BucketPolicy], all).map((p) => at(propsOf(p), "policy"));
            const inline = at(propsOf(bucket), "policy");
            if (inline !== undefined && inline !== null) policies.push(inline);
            const verdicts = policies.map(deniesPlainHttp);
            if (verdicts.some((v) => v === undefined || v === true)) continue; // unknown at preview, or compliant
            report(`${label(bucket)} accepts plain-HTTP requests: add a bucket policy statement denying s3:* when aws:SecureTransport is false.`, bucket.urn);
        }
    },
};

export const s3AccessLogging: StackValidationPolicy = {
    name: "s3-access-logging",
    description: "[AWS FSBP S3.9] Every bucket must have server access logging (aws.s3.BucketLogging with a target bucket).",
    enforcementLevel: "advisory",
    tags: ["S3.9", "logging"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const bucket of ofTypes(args, BUCKET_TYPES)) {
            const inline = asArray(at(propsOf(bucket), "loggings")) ?? [];
            if (inline.length > 0 || settingsOf(bucket, [T.s3BucketLogging, T.s3BucketLoggingV2], all).length > 0) continue;
            report(`${label(bucket)} has no server access logging.`, bucket.urn);
        }
    },
};

export const s3NoAcls: StackValidationPolicy = {
    name: "s3-no-acls",
    description:
        "[AWS FSBP S3.12] Buckets must not use ACLs for access: no aws.s3.BucketAcl, and object ownership (if set) " +
        "BucketOwnerEnforced, which disables ACLs.",
    enforcementLevel: "advisory",
    tags: ["S3.12", "access"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const bucket of ofTypes(args, BUCKET_TYPES)) {
            for (const acl of settingsOf(bucket, [T.s3BucketAcl, T.s3BucketAclV2], all)) {
                report(`${label(bucket)} is given an ACL by "${acl.name}": grant access with bucket or IAM policies instead.`, acl.urn);
            }
            const inlineAcl = at(propsOf(bucket), "acl");
            if (typeof inlineAcl === "string" && !isUnknown(inlineAcl) && inlineAcl !== "private") {
                report(`${label(bucket)} sets acl "${inlineAcl}".`, bucket.urn);
            }
            for (const oc of settingsOf(bucket, [T.s3OwnershipControls], all)) {
                const v = at(propsOf(oc), "rule", "objectOwnership");
                if (typeof v === "string" && !isUnknown(v) && v !== "BucketOwnerEnforced") {
                    report(`${label(bucket)}: objectOwnership "${v}" keeps ACLs enabled; use "BucketOwnerEnforced".`, oc.urn);
                }
            }
        }
    },
};

/** Buckets tagged as backup buckets (`owncloud-ha:tier` = backup). */
function backupBuckets(args: { resources: PolicyResource[] }): PolicyResource[] {
    return args.resources.filter((r) => BUCKET_TYPES.includes(r.type) && tagValue(propsOf(r), TAG_TIER) === BACKUP_TIER);
}

export const s3BackupVersioned: StackValidationPolicy = {
    name: "s3-backup-versioned",
    description:
        `[AWS FSBP S3.14, Architecture] A backup bucket (tag ${TAG_TIER} = ${BACKUP_TIER}) must have versioning enabled ` +
        "(aws.s3.BucketVersioning status Enabled), so an overwritten or deleted backup stays recoverable.",
    enforcementLevel: "mandatory",
    tags: ["S3.14", "backup"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const bucket of backupBuckets(args)) {
            const inline = at(propsOf(bucket), "versioning", "enabled");
            if (isTrue(inline) || isUnknown(inline)) continue;
            const statuses = settingsOf(bucket, [T.s3BucketVersioning, T.s3BucketVersioningV2], all).map((v) => at(propsOf(v), "versioningConfiguration", "status"));
            if (statuses.some((s) => s === "Enabled" || isUnknown(s))) continue;
            report(`backup ${label(bucket)} is not versioned: add an aws.s3.BucketVersioning with versioningConfiguration.status "Enabled".`, bucket.urn);
        }
    },
};

const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

export const s3BackupEncrypted: StackValidationPolicy = {
    name: "s3-backup-encrypted",
    description:
        `[Architecture] A backup bucket (tag ${TAG_TIER} = ${BACKUP_TIER}) must declare default encryption ` +
        "(aws.s3.BucketServerSideEncryptionConfiguration with AES256, aws:kms or aws:kms:dsse): the choice of key is the stack's, never implicit.",
    enforcementLevel: "mandatory",
    tags: ["encryption", "backup"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const bucket of backupBuckets(args)) {
            const configs = settingsOf(bucket, [T.s3Encryption, T.s3EncryptionV2], all).map((c) => asArray(at(propsOf(c), "rules")) ?? []);
            const inline = asArray(at(propsOf(bucket), "serverSideEncryptionConfiguration", "rule")) ?? [];
            const algorithms = [...configs.flat(), ...inline].map((r) => at(r, "applyServerSideEncryptionByDefault", "sseAlgorithm"));
            if (algorithms.some((a) => isUnknown(a) || (typeof a === "string" && SSE_ALGORITHMS.includes(a)))) continue;
            report(`backup ${label(bucket)} declares no default encryption: add an aws.s3.BucketServerSideEncryptionConfiguration (aws:kms with the cluster's key, or AES256).`, bucket.urn);
        }
    },
};

export const s3Policies = [s3BlockPublicAccess, s3TlsOnly, s3AccessLogging, s3NoAcls, s3BackupVersioned, s3BackupEncrypted];
