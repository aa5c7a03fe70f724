/**
 * The custom CloudWatch metrics the stateful nodes publish (scripts/node/galera/metrics.sh,
 * scripts/node/gluster/metrics.sh, every 60 s from a systemd timer), pure data: the node roles' IAM
 * condition, the bootstrap plans' environment and the alarms in Observability all read it here.
 */

/** Namespace of every node metric; the node roles may put metric data into this namespace only. */
export const NODE_METRICS_NAMESPACE = "OwncloudHA";

/** Dimensions of every node metric: the cluster component's name and the plan host (`node1`…). */
export const NODE_METRIC_DIMENSIONS = { cluster: "Cluster", node: "Node" } as const;

/** Metric names, exactly as the node scripts print them. */
export const GALERA_METRICS = {
    clusterSize: "WsrepClusterSize",
    localState: "WsrepLocalState",
    flowControlPaused: "FlowControlPaused",
    dataFreePercent: "DataFreePercent",
} as const;

export const GLUSTER_METRICS = {
    bricksOnline: "BricksOnline",
    pendingHeals: "PendingHeals",
    brickFreePercent: "BrickFreePercent",
} as const;

/**
 * Age in seconds of the newest successful backup, published by the node scripts (Galera: full
 * mariabackup; files: the volume's tar.zst) with the `Cluster` dimension only: whichever node took
 * the backup, the cluster has one age. Missing data counts as too old.
 */
export const BACKUP_METRICS = { galera: "BackupAgeSeconds", files: "FilesBackupAgeSeconds" } as const;

/** wsrep_local_state of a node that is Synced (1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced). */
export const WSREP_SYNCED = 4;

/** The publishing nodes of one cluster, as Observability needs them to name alarms and dimensions. */
export interface NodeMetricsSource {
    /** The `Cluster` dimension: the cluster component's name. */
    cluster: string;
    /** The `Node` dimension of each node, e.g. `node1`. Their count is the cluster's full size. */
    nodes: string[];
    /**
     * Set when the cluster backs up to S3: the backup-age alarm fires when the age of the newest
     * successful backup (`BACKUP_METRICS`) stays above this many seconds.
     */
    backupMaxAgeSeconds?: number;
}

/** The environment a tier's setup step passes so metrics_install (scripts/node/lib/metrics.sh) can install the timer. */
export function nodeMetricsEnv(cluster: string, node: string): Record<string, string> {
    return { OCHA_METRICS_NAMESPACE: NODE_METRICS_NAMESPACE, OCHA_METRICS_CLUSTER: cluster, OCHA_METRICS_NODE: node };
}

/**
 * The one IAM statement a publishing node needs. PutMetricData has no resource-level permissions
 * (its resource must be "*"); the `cloudwatch:namespace` condition key scopes it to our namespace.
 */
export function putNodeMetricsStatement(): object {
    return {
        Sid: "PublishNodeMetrics",
        Effect: "Allow",
        Action: ["cloudwatch:PutMetricData"],
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": NODE_METRICS_NAMESPACE } },
    };
}

/** How often each node publishes (the systemd timer in scripts/node/lib/metrics.sh): the alarms' shortest period. */
export const NODE_METRICS_PUBLISH_SECONDS = 60;
