import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    BACKUP_PREFIXES,
    BackupSettings,
    BackupTier,
    bucketNameProblem,
    DEFAULT_BACKUP_RETENTION_DAYS,
    DEFAULT_FILES_BACKUP_MAX_AGE_HOURS,
    DEFAULT_GALERA_BACKUP_MAX_AGE_HOURS,
    DEFAULT_SNAPSHOT_RETENTION_COUNT,
    backupSettingProblems,
} from "../shared/backupPlan";
import { TAG_TIER, withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem } from "../shared/errors";
import { snapshotRetentionProblem } from "../shared/volumeSnapshots";

export interface BackupBucketArgs {
    /**
     * Key prefixes (no slashes at the ends) the bucket holds, e.g. `["galera"]`; each gets its own
     * expiry rule. Default: every tier's prefix in `BACKUP_PREFIXES`.
     */
    prefixes?: string[];
    /**
     * Days a backup object stays current before it expires, at least 2. Default
     * `DEFAULT_BACKUP_RETENTION_DAYS` (14). One age for everything under a prefix on purpose: a
     * point-in-time restore replays binary logs from the oldest full backup on, so full backups and
     * binary logs must expire together (a binary log is always younger than the full backup it
     * continues, so it outlives it). Keep it above the full-backup interval, or a failed backup
     * run can leave no full backup at all.
     */
    retentionDays?: number;
    /** KMS key ARN for SSE-KMS (with an S3 bucket key, to keep KMS requests few). Default: SSE-S3 (AES256). */
    kmsKeyId?: pulumi.Input<string>;
    /** Let `pulumi destroy` delete a bucket that still holds backups. Default false: backups outlive the stack. */
    forceDestroy?: boolean;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/**
 * Days a replaced or deleted object version is kept. Versioning turns an overwrite (the node roles
 * may put, never delete) into a new version; the old one is recoverable for this long.
 */
export const NONCURRENT_VERSION_DAYS = 1;
/** Days after which an unfinished multipart upload (a backup interrupted mid-stream) is aborted. */
export const ABORT_MULTIPART_DAYS = 1;

export interface ResolvedBackupBucketArgs {
    prefixes: string[];
    retentionDays: number;
    bucketPrefix: string;
    forceDestroy: boolean;
    tags: Record<string, string>;
}

export function resolveBackupBucketArgs(name: string, args: BackupBucketArgs): ResolvedBackupBucketArgs {
    const problems: ArgProblem[] = [];
    const prefixes = args.prefixes ?? Object.values(BACKUP_PREFIXES);
    if (prefixes.length === 0) problems.push(problem("prefixes", "give at least one key prefix (e.g. galera)"));
    for (const p of prefixes) {
        if (!/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/.test(p)) problems.push(problem("prefixes", `"${p}" must be a key prefix without slashes at the ends, e.g. galera`));
    }
    for (const p of prefixes) {
        const other = prefixes.find((q) => q !== p && (q.startsWith(`${p}/`) || q === p));
        if (other !== undefined) problems.push(problem("prefixes", `"${other}" lies inside "${p}" (or repeats it): each prefix needs its own expiry rule`));
    }
    const retentionDays = args.retentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS;
    if (!Number.isInteger(retentionDays) || retentionDays < 2 || retentionDays > 3650) {
        problems.push(problem("retentionDays", `${retentionDays} must be a whole number of days, 2–3650 (keep it above the full-backup interval)`));
    }
    // S3 bucket names are lower-case; the bucket prefix may be at most 37 characters.
    const bucketPrefix = `${name}-`.slice(0, 37);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(bucketPrefix)) problems.push(problem("name", `"${name}" must be lower-case letters, digits and hyphens (it prefixes the bucket name)`));
    if (problems.length > 0) throw new InvalidArgsError("BackupBucket", name, problems);
    return { prefixes, retentionDays, bucketPrefix, forceDestroy: args.forceDestroy ?? false, tags: args.tags ?? {} };
}

/**
 * The lifecycle rules: per prefix, current objects expire after `retentionDays`; bucket-wide,
 * noncurrent versions go after `NONCURRENT_VERSION_DAYS`, unfinished multipart uploads are aborted
 * after `ABORT_MULTIPART_DAYS`, and delete markers left with no version behind them are removed.
 */
export function backupLifecycleRules(a: Pick<ResolvedBackupBucketArgs, "prefixes" | "retentionDays">): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    return [
        ...a.prefixes.map((prefix) => ({
            id: `expire-${prefix.replace(/[^A-Za-z0-9-]/g, "-")}`,
            status: "Enabled",
            filter: { prefix: `${prefix}/` },
            expiration: { days: a.retentionDays },
        })),
        {
            id: "noncurrent-and-incomplete",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
            abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_DAYS },
        },
        // Its own rule: S3 refuses ExpiredObjectDeleteMarker beside Days in one Expiration.
        { id: "expired-delete-markers", status: "Enabled", filter: {}, expiration: { expiredObjectDeleteMarker: true } },
    ];
}

/** The bucket policy: nothing without TLS, for anyone. Access itself is granted by the node roles. */
export function backupBucketPolicy(bucketArn: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "TlsOnly",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/**
 * The only S3 (and KMS) permissions a node that backs up to `prefix` gets: put and get objects
 * under its own prefix and list only that prefix (the `s3:prefix` condition key), no delete; with
 * SSE-KMS, GenerateDataKey (upload) and Decrypt (download, and multipart upload) on that key only.
 */
export function backupNodeStatements(bucketArn: string, prefix: string, kmsKeyArn?: string): object[] {
    return [
        { Sid: "BackupObjects", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${bucketArn}/${prefix}/*` },
        { Sid: "BackupList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn, Condition: { StringLike: { "s3:prefix": [`${prefix}/*`] } } },
        ...(kmsKeyArn ? [{ Sid: "BackupKms", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn }] : []),
    ];
}

/**
 * A private S3 bucket for backups: versioned, encrypted (SSE-KMS with the given key, else SSE-S3),
 * all public access blocked, ACLs disabled (BucketOwnerEnforced), TLS required by bucket policy,
 * and a lifecycle that expires backups after `retentionDays` (see `backupLifecycleRules`).
 * Who may read and write is decided by the node roles (`backupNodeStatements`), one prefix each.
 */
export class BackupBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    /** What must exist before a node writes there: encryption, public access block, policy, versioning. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: BackupBucketArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const a = resolveBackupBucketArgs(name, args);
        super("owncloud-ha:backup:BackupBucket", name, {}, opts);
        // The tier tag marks it for the policy pack's backup-bucket rules (versioned, encrypted).
        const tags = withTags(a.tags, { [TAG_TIER]: "backup" });
        const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix: a.bucketPrefix, forceDestroy: a.forceDestroy, tags }, { parent: this });
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: bucket },
        );
        const ownership = new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: bucket });
        const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, { parent: bucket });
        const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: bucket.id,
                rules: [
                    args.kmsKeyId !== undefined
                        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyId }, bucketKeyEnabled: true }
                        : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
                ],
            },
            { parent: bucket },
        );
        // Lifecycle rules on a versioned bucket act on versions: configured once versioning is on.
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: bucket.id, rules: backupLifecycleRules(a) }, { parent: bucket, dependsOn: [versioning] });
        const policy = new aws.s3.BucketPolicy(
            `${name}-policy`,
            { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(backupBucketPolicy(arn))) },
            // A policy put while the public-access block is being changed can be refused: one after the other.
            { parent: bucket, dependsOn: [publicAccess] },
        );
        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.ready = [bucket, publicAccess, ownership, versioning, encryption, policy];
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}

/** Backup arguments both cluster components take (one place for their JSDoc and checks). */
export interface ClusterBackupArgs {
    /**
     * An existing bucket to back up into instead of the one the component creates (`<name>-backups`).
     * It must be in the stack's region (the VPC's S3 gateway endpoint reaches only that region's
     * buckets, and the nodes are told that region) and keep what `BackupBucket` does: versioning,
     * encryption, lifecycle, TLS-only. The nodes are granted only their prefix of it.
     */
    backupBucketName?: string;
    /** Days backups are kept, for the bucket this component creates. Default `DEFAULT_BACKUP_RETENTION_DAYS` (14). */
    backupRetentionDays?: number;
    /** systemd `OnCalendar=` of the scheduled backup. Default: daily 02:30 (Galera), hourly (files). */
    backupOnCalendar?: string;
    /**
     * Hours without a successful backup after which the backup-age alarm fires (Observability
     * reads it from `metrics.backupMaxAgeSeconds`). Default 26 (Galera, daily) or 2 (files, hourly):
     * keep it above the schedule's interval.
     */
    backupMaxAgeHours?: number;
    /** Daily EBS snapshots (Data Lifecycle Manager) kept per data volume, 1–1000. Default `DEFAULT_SNAPSHOT_RETENTION_COUNT` (7). */
    snapshotRetentionCount?: number;
    /**
     * An S3-compatible endpoint URL the nodes' backups use instead of AWS S3: the local lab's S3
     * stand-in. The nodes then send placeholder credentials (the stand-in checks none), so never set
     * it for a store that checks signatures. Default: unset (AWS S3 in the stack's region).
     */
    backupS3Endpoint?: string;
}

export interface ResolvedClusterBackup {
    /** Set: back up into this existing bucket; unset: create `<name>-backups`. */
    existingBucketName?: string;
    retentionDays: number;
    snapshotRetentionCount: number;
    maxAgeSeconds: number;
    /** The plan's settings, with deploy-time placeholders the runner fills in (see `BACKUP_PLAN_VARS`). */
    settings: BackupSettings;
}

/** Placeholders in the plan's backup settings, resolved at deployment from the host's vars. */
export const BACKUP_PLAN_VARS = { bucket: "backupBucket", region: "backupRegion" } as const;

/** The cluster component's argument that sets each of the plan's backup settings. */
const CLUSTER_BACKUP_ARG_OF: Partial<Record<keyof BackupSettings, string>> = { onCalendar: "backupOnCalendar", binlogIntervalSeconds: "binlogIntervalSeconds", s3Endpoint: "backupS3Endpoint" };

/** Checks a cluster component's backup arguments; problems name the argument. */
export function resolveClusterBackup(args: ClusterBackupArgs, tier: BackupTier, extra: Pick<BackupSettings, "binlogIntervalSeconds"> = {}): { problems: ArgProblem[]; backup: ResolvedClusterBackup } {
    const problems: ArgProblem[] = [];
    if (args.backupBucketName !== undefined) {
        const p = bucketNameProblem(args.backupBucketName);
        if (p) problems.push(problem("backupBucketName", `"${args.backupBucketName}" ${p}`));
    }
    const retentionDays = args.backupRetentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS;
    if (!Number.isInteger(retentionDays) || retentionDays < 2 || retentionDays > 3650) {
        problems.push(problem("backupRetentionDays", `${retentionDays} must be a whole number of days, 2–3650 (keep it above the full-backup interval)`));
    }
    const snapshotRetentionCount = args.snapshotRetentionCount ?? DEFAULT_SNAPSHOT_RETENTION_COUNT;
    const sp = snapshotRetentionProblem(snapshotRetentionCount);
    if (sp) problems.push(problem("snapshotRetentionCount", `${sp}`));
    const maxAgeHours = args.backupMaxAgeHours ?? (tier === "galera" ? DEFAULT_GALERA_BACKUP_MAX_AGE_HOURS : DEFAULT_FILES_BACKUP_MAX_AGE_HOURS);
    if (!Number.isInteger(maxAgeHours) || maxAgeHours < 1 || maxAgeHours > 24 * 31) problems.push(problem("backupMaxAgeHours", `${maxAgeHours} must be a whole number of hours, 1–744`));
    const settings: BackupSettings = {
        bucket: `{{${BACKUP_PLAN_VARS.bucket}}}`,
        region: `{{${BACKUP_PLAN_VARS.region}}}`,
        ...(args.backupOnCalendar !== undefined ? { onCalendar: args.backupOnCalendar } : {}),
        ...(args.backupS3Endpoint !== undefined ? { s3Endpoint: args.backupS3Endpoint } : {}),
        ...extra,
    };
    // The plan's settings have their own names; report them under this component's arguments.
    problems.push(...backupSettingProblems(settings, tier).map((p) => ({ ...p, args: p.args.map((a) => CLUSTER_BACKUP_ARG_OF[a as keyof BackupSettings] ?? a) })));
    return { problems, backup: { existingBucketName: args.backupBucketName, retentionDays, snapshotRetentionCount, maxAgeSeconds: maxAgeHours * 3600, settings } };
}

/** What a cluster component wires from its backups: the bucket, the node statements, the plan vars. */
export interface ClusterBackupWiring {
    bucketName: pulumi.Output<string>;
    /** Node role statements for the tier's prefix (and the KMS key, if any). */
    statements: pulumi.Output<object[]>;
    /** Host vars the plan's backup placeholders need. */
    vars: Record<string, pulumi.Input<string>>;
    /** What the backup steps wait for (the created bucket's settings). */
    ready: pulumi.Resource[];
}

/**
 * Creates `<name>-backups` (unless an existing bucket is given) and the pieces the component passes
 * on: role statements scoped to the tier's prefix, and the plan's deploy-time values.
 */
export function wireClusterBackup(
    name: string,
    tier: BackupTier,
    b: ResolvedClusterBackup,
    kmsKeyId: pulumi.Input<string> | undefined,
    tags: Record<string, string>,
    parent: pulumi.Resource,
): ClusterBackupWiring {
    const prefix = b.settings.prefix ?? BACKUP_PREFIXES[tier];
    let bucketName: pulumi.Output<string>;
    let bucketArn: pulumi.Output<string>;
    let ready: pulumi.Resource[] = [];
    if (b.existingBucketName !== undefined) {
        bucketName = pulumi.output(b.existingBucketName);
        const partition = aws.getPartitionOutput({}, { parent }).partition;
        bucketArn = pulumi.interpolate`arn:${partition}:s3:::${b.existingBucketName}`;
    } else {
        const bucket = new BackupBucket(`${name}-backups`, { prefixes: [prefix], retentionDays: b.retentionDays, kmsKeyId, tags }, { parent });
        bucketName = bucket.bucketName;
        bucketArn = bucket.bucketArn;
        ready = bucket.ready;
    }
    const statements = pulumi
        .all([bucketArn, pulumi.output(kmsKeyId)])
        .apply(([arn, key]) => backupNodeStatements(arn, prefix, key));
    const region = aws.getRegionOutput({}, { parent }).region;
    return { bucketName, statements, vars: { [BACKUP_PLAN_VARS.bucket]: bucketName, [BACKUP_PLAN_VARS.region]: region }, ready };
}
