/**
 * Backups to S3 as plan data: the settings a cluster plan takes, their defaults (one home for the
 * plans, the cloud components, the stack config and the lab) and the environment contract of the
 * node scripts `galera/backup-install.sh` and `gluster/backup-install.sh` (they `require_env` it).
 *
 * What runs where: backup-install.sh installs the tier's backup scripts under
 * `BACKUP_INSTALL_DIR` and systemd timers: Galera takes a full `mariabackup` on the schedule (on the
 * first node of `BACKUP_NODE_ORDER` that is available, never the writer while another node is) and
 * ships binary logs every `BACKUP_BINLOG_INTERVAL_S`; GlusterFS snapshots the volume's content as a
 * tar.zst. Objects land under `s3://BACKUP_BUCKET/BACKUP_PREFIX/`.
 */

import { ArgProblem, describeProblem, problem } from "./errors";

/** Tiers that back up to S3, each under its own key prefix of the bucket. */
export type BackupTier = "galera" | "files";

/** Key prefix (no slashes at the ends) of each tier's objects; the node roles may touch only their own. */
export const BACKUP_PREFIXES: Record<BackupTier, string> = { galera: "galera", files: "files" };

/** Daily full backup at 02:30 (node local time, UTC on Debian cloud images): a quiet hour. */
export const DEFAULT_GALERA_BACKUP_ON_CALENDAR = "*-*-* 02:30:00";
/** Files: hourly (ownCloud's data changes all day; a tar.zst of the volume is incremental-free, so keep it cheap to rerun). */
export const DEFAULT_FILES_BACKUP_ON_CALENDAR = "hourly";
/** Seconds between binary-log shipments: the point-in-time restore's RPO bound (issue #12: aim ≤ 1 min). */
export const DEFAULT_BINLOG_INTERVAL_S = 60;
export const BINLOG_INTERVAL_RANGE_S = { min: 10, max: 3600 } as const;
/**
 * Days the bucket keeps current objects. Full backups and binary logs expire together (one rule per
 * prefix, same age): a point-in-time restore needs the binary logs from the oldest full backup on.
 */
export const DEFAULT_BACKUP_RETENTION_DAYS = 14;
/** EBS snapshots of the data volumes the snapshot policy keeps per volume (one a day). */
export const DEFAULT_SNAPSHOT_RETENTION_COUNT = 7;
/** Age of the newest successful backup above which the backup-age alarm fires: daily + 2 h slack. */
export const DEFAULT_GALERA_BACKUP_MAX_AGE_HOURS = 26;
/** Files: 2 × the hourly schedule. */
export const DEFAULT_FILES_BACKUP_MAX_AGE_HOURS = 2;
/** Where backup-install.sh installs the backup scripts on a node (like metrics_install's directory). */
export const BACKUP_INSTALL_DIR = "/opt/owncloud-ha/backup";

/** The S3 side of a cluster's backups. Unset in a plan's settings: no backup step. */
export interface BackupSettings {
    /** Bucket name, or a deploy-time placeholder like `{{backupBucket}}` the runner fills in. */
    bucket: string;
    /** Key prefix without slashes at the ends. Default: the tier's `BACKUP_PREFIXES` entry. */
    prefix?: string;
    /** systemd `OnCalendar=` of the scheduled backup. Default: the tier's default above. */
    onCalendar?: string;
    /** Galera only: seconds between binary-log shipments, 10–3600. Default `DEFAULT_BINLOG_INTERVAL_S`. */
    binlogIntervalSeconds?: number;
    /** Bucket region (or a `{{…}}` placeholder). Unset: the scripts read the instance's region from IMDSv2. */
    region?: string;
    /** S3 endpoint URL of an S3-compatible stand-in (the lab only; the cloud uses AWS's). */
    s3Endpoint?: string;
}

const PLACEHOLDER_RE = /^\{\{[a-zA-Z0-9_]+\}\}$/;

/** S3's general-purpose bucket naming rules; returns what is wrong, or undefined. */
export function bucketNameProblem(name: string): string | undefined {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
        return "must be 3–63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit";
    }
    if (name.includes("..")) return "must not contain two adjacent dots";
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "must not be formatted as an IP address";
    if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return "must not start with xn--, sthree- or amzn-s3-demo- (reserved)";
    if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) return "must not end with a suffix S3 reserves (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)";
    return undefined;
}

/** Problems with one tier's backup settings, each naming the setting (`backup.<field>`). */
export function backupSettingProblems(b: BackupSettings, tier: BackupTier): ArgProblem[] {
    const problems: ArgProblem[] = [];
    if (typeof b.bucket !== "string" || b.bucket === "") problems.push(problem("bucket", "give the bucket name"));
    else if (!PLACEHOLDER_RE.test(b.bucket)) {
        const p = bucketNameProblem(b.bucket);
        if (p) problems.push(problem("bucket", `"${b.bucket}" ${p}`));
    }
    const prefix = b.prefix ?? BACKUP_PREFIXES[tier];
    if (!/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/.test(prefix)) {
        problems.push(problem("prefix", `"${prefix}" must be a key prefix of safe characters without slashes at the ends or doubled (e.g. ${BACKUP_PREFIXES[tier]})`));
    }
    const cal = backupOnCalendar(b, tier);
    if (cal.trim() === "" || /[\r\n]/.test(cal)) problems.push(problem("onCalendar", `"${cal}" must be a non-empty systemd OnCalendar expression on one line (e.g. ${DEFAULT_GALERA_BACKUP_ON_CALENDAR})`));
    if (b.binlogIntervalSeconds !== undefined) {
        const v = b.binlogIntervalSeconds;
        if (tier !== "galera") problems.push(problem("binlogIntervalSeconds", "only Galera ships binary logs; remove it"));
        else if (!Number.isInteger(v) || v < BINLOG_INTERVAL_RANGE_S.min || v > BINLOG_INTERVAL_RANGE_S.max) {
            problems.push(problem("binlogIntervalSeconds", `${v} must be a whole number of seconds, ${BINLOG_INTERVAL_RANGE_S.min}–${BINLOG_INTERVAL_RANGE_S.max}`));
        }
    }
    if (b.region !== undefined && !PLACEHOLDER_RE.test(b.region) && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(b.region)) {
        problems.push(problem("region", `"${b.region}" is not an AWS region like eu-central-1`));
    }
    if (b.s3Endpoint !== undefined && !/^https?:\/\/[^\s'"]+$/.test(b.s3Endpoint)) problems.push(problem("s3Endpoint", `"${b.s3Endpoint}" must be an http(s) URL`));
    return problems;
}

/** The same problems as text, named as the plan's `backup.*` settings (the lab's and the plans' callers read these). */
export function validateBackupSettings(b: BackupSettings, tier: BackupTier): string[] {
    return backupSettingProblems(b, tier).map((p) => `backup.${describeProblem(p)}`);
}

/** The effective OnCalendar of a tier's scheduled backup. */
export function backupOnCalendar(b: BackupSettings, tier: BackupTier): string {
    return b.onCalendar ?? (tier === "galera" ? DEFAULT_GALERA_BACKUP_ON_CALENDAR : DEFAULT_FILES_BACKUP_ON_CALENDAR);
}

/**
 * Order in which Galera nodes take the scheduled backup: the writer (first in writer order) last,
 * the others before it in reverse order (as the SST donor preference), so a mariabackup never loads
 * the writer while another node is available.
 */
export function galeraBackupOrder<T>(writerOrder: T[]): T[] {
    return [...writerOrder.slice(1).reverse(), ...writerOrder.slice(0, 1)];
}

/** The environment of one node's backup-install.sh (validated settings; see the module comment). */
export function backupEnv(
    b: BackupSettings,
    tier: BackupTier,
    node: string,
    order: { name: string; address: string }[],
    extra: Record<string, string>,
): Record<string, string> {
    const env: Record<string, string> = {
        BACKUP_BUCKET: b.bucket,
        BACKUP_PREFIX: b.prefix ?? BACKUP_PREFIXES[tier],
        BACKUP_NODE: node,
        BACKUP_NODE_ORDER: order.map((n) => n.name).join(","),
        // The scripts tell members by address (wsrep_incoming_addresses, the volume's brick hosts).
        BACKUP_NODE_ADDRESSES: order.map((n) => n.address).join(","),
        BACKUP_ON_CALENDAR: backupOnCalendar(b, tier),
        ...extra,
    };
    if (tier === "galera") env.BACKUP_BINLOG_INTERVAL_S = String(b.binlogIntervalSeconds ?? DEFAULT_BINLOG_INTERVAL_S);
    if (b.region !== undefined) env.BACKUP_REGION = b.region;
    if (b.s3Endpoint !== undefined) env.BACKUP_S3_ENDPOINT = b.s3Endpoint;
    return env;
}
