import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem } from "../shared/errors";
import { BACKUP_METRICS, GALERA_METRICS, GLUSTER_METRICS, NODE_METRICS_NAMESPACE, NodeMetricsSource, WSREP_SYNCED } from "../shared/nodeMetrics";

export interface ObservabilityArgs {
    /** E-mail address that receives alarm notifications (confirm the subscription mail). Optional. */
    alarmEmail?: string;
    /** `app/<name>/<id>` of the ALB (OwnCloudWebTier.albArnSuffix). */
    albArnSuffix: pulumi.Input<string>;
    /** `targetgroup/<name>/<id>` of the web target group (OwnCloudWebTier.targetGroupArnSuffix). */
    targetGroupArnSuffix: pulumi.Input<string>;
    /** Name of the web Auto Scaling group. */
    autoScalingGroupName: pulumi.Input<string>;
    /** Its maximum size: sitting at it means scaling has run out of room. */
    autoScalingMaxSize: number;
    /** Instances whose status checks are watched (Galera and GlusterFS nodes), by a label. */
    instances: ObservedInstance[];
    /** The Redis replication group's ID. */
    redisReplicationGroupId: pulumi.Input<string>;
    /** Redis shards and replicas per shard, to name the member clusters (ElastiCache numbers them). */
    redisShards: number;
    redisReplicasPerShard: number;
    /** Share of ALB responses that may be 5xx before alarming, in percent. Default 5. */
    http5xxPercent?: number;
    /** p95 target response time that alarms, in seconds. Default 2. */
    responseTimeSeconds?: number;
    /**
     * Galera clusters whose nodes publish metrics (`GaleraCluster.metrics`). Per node: cluster size
     * below the node count, not Synced, flow control, data-volume free space. Default none.
     */
    galeraClusters?: ObservedCluster[];
    /**
     * GlusterFS volumes whose nodes publish metrics (`GlusterDisperseVolume.metrics`, one brick per
     * node). Per node: bricks online below the node count, brick free space; per volume: heals
     * that do not drain. Default none.
     */
    glusterVolumes?: ObservedCluster[];
    /** Free space on a data volume (Galera datadir, Gluster brick) below which it alarms, in percent. Default 15. */
    freeSpacePercent?: number;
    /** Share of time a Galera node may be paused by flow control (5-minute average) before alarming, 0–1. Default 0.1. */
    flowControlPausedFraction?: number;
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
}

/** Default thresholds of the node-metric alarms (one home: the JSDoc above and the README quote them). */
export const NODE_ALARM_DEFAULTS = { freeSpacePercent: 15, flowControlPausedFraction: 0.1 } as const;

/** A cluster whose nodes publish metrics, with the label its alarms are named by. */
export interface ObservedCluster extends NodeMetricsSource {
    /** Short label used in alarm names, e.g. `galera` (`<label>-node1-cluster-size`). Default: `cluster`. */
    label?: string;
}

export interface ObservedInstance {
    /** Short label used in alarm names, e.g. `galera-node1`. */
    label: string;
    instanceId: pulumi.Input<string>;
}

/** Member cluster IDs ElastiCache gives a replication group: `<id>-001`… or, in cluster mode, `<id>-0001-001`…. */
export function redisMemberClusterIds(groupId: string, shards: number, replicasPerShard: number): string[] {
    const pad = (n: number, w: number) => String(n).padStart(w, "0");
    const nodes = replicasPerShard + 1;
    if (shards === 1) return Array.from({ length: nodes }, (_, i) => `${groupId}-${pad(i + 1, 3)}`);
    return Array.from({ length: shards }, (_, s) => Array.from({ length: nodes }, (_, n) => `${groupId}-${pad(s + 1, 4)}-${pad(n + 1, 3)}`)).flat();
}

export function validateObservabilityArgs(name: string, args: ObservabilityArgs): void {
    const problems: ArgProblem[] = [];
    if (args.alarmEmail !== undefined && args.alarmEmail !== "" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.alarmEmail)) {
        problems.push(problem("alarmEmail", `"${args.alarmEmail}" is not an e-mail address`));
    }
    if (!Number.isInteger(args.autoScalingMaxSize) || args.autoScalingMaxSize < 1) problems.push(problem("autoScalingMaxSize", `${args.autoScalingMaxSize}; at least 1`));
    const labels = args.instances.map((i) => i.label);
    if (new Set(labels).size !== labels.length) problems.push(problem("instances", "labels must be unique (they name the alarms)"));
    for (const l of labels) if (!/^[a-z0-9-]{1,40}$/.test(l)) problems.push(problem("instances", `label "${l}" must be lower-case letters, digits and -`));
    const pct = args.http5xxPercent ?? 5;
    if (!(pct > 0 && pct <= 100)) problems.push(problem("http5xxPercent", `${pct} must be in (0, 100]`));
    const free = args.freeSpacePercent ?? NODE_ALARM_DEFAULTS.freeSpacePercent;
    if (!(free > 0 && free < 100)) problems.push(problem("freeSpacePercent", `${free} must be in (0, 100)`));
    const fc = args.flowControlPausedFraction ?? NODE_ALARM_DEFAULTS.flowControlPausedFraction;
    if (!(fc > 0 && fc < 1)) problems.push(problem("flowControlPausedFraction", `${fc} must be in (0, 1) (a share of time)`));
    const sources = [...(args.galeraClusters ?? []).map((c) => ["galeraClusters", c] as const), ...(args.glusterVolumes ?? []).map((c) => ["glusterVolumes", c] as const)];
    const clusterLabels = sources.map(([, c]) => c.label ?? c.cluster);
    if (new Set(clusterLabels).size !== clusterLabels.length) problems.push(problem(["galeraClusters", "glusterVolumes"], "labels (default: cluster names) must be unique (they name the alarms)"));
    for (const [field, c] of sources) {
        if (!/^[a-z0-9-]{1,40}$/.test(c.label ?? c.cluster)) problems.push(problem(field, `label "${c.label ?? c.cluster}" must be lower-case letters, digits and -`));
        if (c.nodes.length === 0) problems.push(problem(field, `cluster "${c.cluster}" has no nodes`));
        if (new Set(c.nodes).size !== c.nodes.length) problems.push(problem(field, `cluster "${c.cluster}" lists a node twice`));
        for (const n of c.nodes) if (!/^[a-z0-9-]{1,20}$/.test(n)) problems.push(problem(field, `node "${n}" of "${c.cluster}" must be lower-case letters, digits and -`));
        const age = c.backupMaxAgeSeconds;
        if (age !== undefined && !(Number.isInteger(age) && age >= 600)) problems.push(problem(field, `backupMaxAgeSeconds ${age} of "${c.cluster}" must be a whole number of seconds, at least 600`));
    }
    if (problems.length > 0) throw new InvalidArgsError("Observability", name, problems);
}

/**
 * Policy of the alarm topic's key: the account administers it through IAM (the key's default
 * statement), and CloudWatch may use it to publish to the topic, on behalf of this account only.
 */
export function alarmTopicKeyPolicy(accountId: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "AccountAdministersKey", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" },
            {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    };
}

/**
 * Alarms, a dashboard and the SNS topic they notify, for the whole platform: ALB 5xx rate,
 * unhealthy targets, response time, web group at its maximum, status checks of every stateful node
 * (a failed system check also triggers EC2 auto-recovery, which keeps the node's fixed address and
 * volumes), and Redis CPU, memory, evictions (evicted lock keys break ownCloud's file locking) and
 * replication lag.
 */
export class Observability extends pulumi.ComponentResource {
    public readonly topicArn: pulumi.Output<string>;
    /** The customer-managed KMS key the alarm topic is encrypted with. */
    public readonly topicKeyArn: pulumi.Output<string>;
    public readonly dashboardName: pulumi.Output<string>;
    public readonly alarmNames: pulumi.Output<string>[];

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        validateObservabilityArgs(name, args);
        super("owncloud-ha:monitoring:Observability", name, {}, opts);
        const tags = withTags(args.tags, {});
        const region = aws.getRegionOutput({}, { parent: this }).region;

        // CloudWatch publishes alarms as its service principal, which needs the topic key: the
        // AWS-managed alias/aws/sns key's policy cannot grant that, so alarms would never arrive.
        const key = new aws.kms.Key(
            `${name}-alarms-key`,
            { description: `Encrypts the ${name} alarm topic`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
            { parent: this },
        );
        const keyPolicy = new aws.kms.KeyPolicy(
            `${name}-alarms-key-policy`,
            { keyId: key.id, policy: key.arn.apply((arn) => JSON.stringify(alarmTopicKeyPolicy(arn.split(":")[4]))) },
            { parent: key },
        );
        this.topicKeyArn = key.arn;
        const topic = new aws.sns.Topic(`${name}-alarms`, { kmsMasterKeyId: key.arn, tags }, { parent: this, dependsOn: [keyPolicy] });
        this.topicArn = topic.arn;
        if (args.alarmEmail) {
            new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail }, { parent: topic });
        }
        const actions = [topic.arn];
        const alarms: aws.cloudwatch.MetricAlarm[] = [];
        const alarm = (id: string, a: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags">, extraActions: pulumi.Input<string>[] = []) => {
            const m = new aws.cloudwatch.MetricAlarm(
                `${name}-${id}`,
                { ...a, alarmActions: [...actions, ...extraActions], okActions: actions, treatMissingData: a.treatMissingData ?? "notBreaching", tags },
                { parent: this },
            );
            alarms.push(m);
            return m;
        };
        const alb = { LoadBalancer: args.albArnSuffix };
        const tg = { LoadBalancer: args.albArnSuffix, TargetGroup: args.targetGroupArnSuffix };

        alarm("alb-5xx-rate", {
            alarmDescription: `More than ${args.http5xxPercent ?? 5} % of requests answered 5xx for 10 minutes`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: args.http5xxPercent ?? 5,
            evaluationPeriods: 2,
            metricQueries: [
                { id: "rate", expression: "100 * (elb5xx + target5xx) / MAX([requests, 1])", label: "5xx %", returnData: true },
                { id: "elb5xx", metric: { namespace: "AWS/ApplicationELB", metricName: "HTTPCode_ELB_5XX_Count", dimensions: alb, period: 300, stat: "Sum" } },
                { id: "target5xx", metric: { namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count", dimensions: alb, period: 300, stat: "Sum" } },
                { id: "requests", metric: { namespace: "AWS/ApplicationELB", metricName: "RequestCount", dimensions: alb, period: 300, stat: "Sum" } },
            ],
        });
        alarm("unhealthy-hosts", {
            alarmDescription: "A web node fails the ALB health check (ownCloud cannot serve there)",
            namespace: "AWS/ApplicationELB",
            metricName: "UnHealthyHostCount",
            dimensions: tg,
            statistic: "Maximum",
            period: 60,
            evaluationPeriods: 3,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
        });
        alarm("response-time", {
            alarmDescription: `p95 response time above ${args.responseTimeSeconds ?? 2} s for 10 minutes`,
            namespace: "AWS/ApplicationELB",
            metricName: "TargetResponseTime",
            dimensions: alb,
            extendedStatistic: "p95",
            period: 300,
            evaluationPeriods: 2,
            comparisonOperator: "GreaterThanThreshold",
            threshold: args.responseTimeSeconds ?? 2,
        });
        alarm("asg-at-max", {
            alarmDescription: "The web group has been at its maximum size for 15 minutes: raise maxSize or find the load",
            namespace: "AWS/AutoScaling",
            metricName: "GroupInServiceInstances",
            dimensions: { AutoScalingGroupName: args.autoScalingGroupName },
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 3,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: args.autoScalingMaxSize,
        });
        for (const inst of args.instances) {
            alarm(`${inst.label}-status`, {
                alarmDescription: `${inst.label}: instance status check failing`,
                namespace: "AWS/EC2",
                metricName: "StatusCheckFailed_Instance",
                dimensions: { InstanceId: inst.instanceId },
                statistic: "Maximum",
                period: 60,
                evaluationPeriods: 3,
                comparisonOperator: "GreaterThanThreshold",
                threshold: 0,
            });
            alarm(
                `${inst.label}-system`,
                {
                    alarmDescription: `${inst.label}: system status check failing; EC2 recovers the instance onto healthy hardware`,
                    namespace: "AWS/EC2",
                    metricName: "StatusCheckFailed_System",
                    dimensions: { InstanceId: inst.instanceId },
                    statistic: "Maximum",
                    period: 60,
                    evaluationPeriods: 2,
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: 0,
                },
                [pulumi.interpolate`arn:aws:automate:${region}:ec2:recover`],
            );
        }
        const members = pulumi.output(args.redisReplicationGroupId).apply((id) => redisMemberClusterIds(id, args.redisShards, args.redisReplicasPerShard));
        const memberCount = args.redisShards * (args.redisReplicasPerShard + 1);
        for (let i = 0; i < memberCount; i++) {
            const cluster = members.apply((m) => m[i]);
            const dims = { CacheClusterId: cluster };
            const label = `redis${i + 1}`;
            alarm(`${label}-cpu`, { alarmDescription: "Redis engine CPU above 80 %", namespace: "AWS/ElastiCache", metricName: "EngineCPUUtilization", dimensions: dims, statistic: "Average", period: 300, evaluationPeriods: 2, comparisonOperator: "GreaterThanThreshold", threshold: 80 });
            alarm(`${label}-memory`, { alarmDescription: "Redis memory above 80 % of maxmemory", namespace: "AWS/ElastiCache", metricName: "DatabaseMemoryUsagePercentage", dimensions: dims, statistic: "Maximum", period: 300, evaluationPeriods: 2, comparisonOperator: "GreaterThanThreshold", threshold: 80 });
            alarm(`${label}-evictions`, { alarmDescription: "Redis evicted keys: evicted file-lock keys break ownCloud's locking", namespace: "AWS/ElastiCache", metricName: "Evictions", dimensions: dims, statistic: "Sum", period: 300, evaluationPeriods: 1, comparisonOperator: "GreaterThanThreshold", threshold: 0 });
            alarm(`${label}-replication-lag`, { alarmDescription: "Redis replica more than 5 s behind its primary", namespace: "AWS/ElastiCache", metricName: "ReplicationLag", dimensions: dims, statistic: "Maximum", period: 60, evaluationPeriods: 3, comparisonOperator: "GreaterThanThreshold", threshold: 5 });
        }
        nodeMetricAlarms(args, alarm);
        this.alarmNames = alarms.map((a) => a.name);

        const dashboardBody = pulumi
            .all([region, args.albArnSuffix, args.targetGroupArnSuffix, args.autoScalingGroupName, pulumi.all(args.instances.map((i) => i.instanceId)), members])
            .apply(([r, albSuffix, tgSuffix, asgName, instanceIds, memberIds]) =>
                JSON.stringify(dashboardJson(r, albSuffix, tgSuffix, asgName, instanceIds, memberIds)),
            );
        const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: `${name}-owncloud-ha`, dashboardBody }, { parent: this });
        this.dashboardName = dashboard.dashboardName;
        this.registerOutputs({ topicArn: this.topicArn, dashboardName: this.dashboardName });
    }
}

type AlarmFactory = (id: string, a: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "tags">) => aws.cloudwatch.MetricAlarm;

/**
 * Alarms on the metrics the Galera and GlusterFS nodes publish every 60 s (scripts/node/galera/metrics.sh, scripts/node/gluster/metrics.sh).
 *
 * - `<label>-<node>-cluster-size`: the node's wsrep_cluster_size below the node count, minimum of
 *   each minute, for 5 minutes. Missing data is *breaching*: this is the node's heartbeat, so a node
 *   (or its publisher) that stops reporting alarms here; the node's other alarms treat missing data
 *   as not breaching so one stopped node pages once. 5 minutes rides over an IST rejoin after a
 *   rolling restart (about a minute); a lost node, an SST or a partition pages.
 * - `<label>-<node>-not-synced`: wsrep_local_state below 4 (Synced) for the whole of 5 minutes
 *   (maximum per minute: a node Synced at any time in a minute counts as Synced).
 * - `<label>-<node>-flow-control`: the share of time replication was paused by flow control,
 *   5-minute average above `flowControlPausedFraction` (0.1) twice running: a slow node throttles
 *   every writer.
 * - `<label>-<node>-free-space` (Galera datadir, Gluster brick): free space below
 *   `freeSpacePercent` (15 %), minimum of 5 minutes: free space shrinks slowly, one period is enough.
 * - `<label>-<node>-bricks-online`: bricks online as the node's glusterd sees them below the node
 *   count for 3 minutes; missing data breaching (the Gluster node's heartbeat). A brick process
 *   does not restart by itself: `gluster volume start VOL force` restarts it.
 * - `<label>-pending-heals` (one per volume): entries pending heal, the largest any node reports
 *   of its 5-minute minimum, above 0 for 6 periods (30 minutes). A dispersed volume under write
 *   load always has a few transient entries, so the per-period *minimum* is what shows a backlog:
 *   heals that drain reach 0 within minutes; a minimum that stays above 0 for 30 minutes means
 *   self-heal is not keeping up or cannot heal (a brick down, a split). Plain "> 0 for N periods"
 *   instead of a slope (metric math RATE): the slope of a noisy count flips sign every period.
 * - `<label>-backup-age` (one per cluster that backs up, `backupMaxAgeSeconds` set): the age of the
 *   newest successful backup (`BackupAgeSeconds` for Galera, `FilesBackupAgeSeconds` for files,
 *   dimension `Cluster` only) above `backupMaxAgeSeconds` (26 h / 2 h by default), minimum of
 *   5 minutes over all publishing nodes, 3 periods running. Missing data is *breaching*: a
 *   cluster that stops reporting its backups has, as far as anyone can tell, none.
 */
export function nodeMetricAlarms(args: ObservabilityArgs, alarm: AlarmFactory): void {
    const free = args.freeSpacePercent ?? NODE_ALARM_DEFAULTS.freeSpacePercent;
    const fc = args.flowControlPausedFraction ?? NODE_ALARM_DEFAULTS.flowControlPausedFraction;
    const dims = (cluster: string, node: string) => ({ Cluster: cluster, Node: node });
    const common = { namespace: NODE_METRICS_NAMESPACE, period: 60 } as const;
    // One rule for every data volume, whichever tier's metric reports it.
    const freeSpace = (name: string, who: string, what: string, metricName: string, dimensions: Record<string, string>) =>
        alarm(name, {
            ...common,
            alarmDescription: `${who}: less than ${free} % free on the ${what}`,
            metricName,
            dimensions,
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 1,
            comparisonOperator: "LessThanThreshold",
            threshold: free,
        });
    function backupAge(c: ObservedCluster, metricName: string, what: string): void {
        if (c.backupMaxAgeSeconds === undefined) return;
        alarm(`${c.label ?? c.cluster}-backup-age`, {
            namespace: NODE_METRICS_NAMESPACE,
            alarmDescription: `${c.cluster}: no successful ${what} in ${c.backupMaxAgeSeconds / 3600} h (or no node reports it): check the backup timer's journal (README "Backups and point-in-time restore")`,
            metricName,
            dimensions: { Cluster: c.cluster },
            statistic: "Minimum",
            period: 300,
            evaluationPeriods: 3,
            comparisonOperator: "GreaterThanThreshold",
            threshold: c.backupMaxAgeSeconds,
            treatMissingData: "breaching",
        });
    }
    for (const c of args.galeraClusters ?? []) {
        const n = c.nodes.length;
        for (const node of c.nodes) {
            const d = dims(c.cluster, node);
            alarm(`${c.label ?? c.cluster}-${node}-cluster-size`, {
                ...common,
                alarmDescription: `${c.cluster} ${node}: sees fewer than ${n} Galera nodes (or stopped reporting) for 5 minutes: find the missing node (README "Alarms")`,
                metricName: GALERA_METRICS.clusterSize,
                dimensions: d,
                statistic: "Minimum",
                evaluationPeriods: 5,
                comparisonOperator: "LessThanThreshold",
                threshold: n,
                treatMissingData: "breaching",
            });
            alarm(`${c.label ?? c.cluster}-${node}-not-synced`, {
                ...common,
                alarmDescription: `${c.cluster} ${node}: not Synced (wsrep_local_state < ${WSREP_SYNCED}) for 5 minutes`,
                metricName: GALERA_METRICS.localState,
                dimensions: d,
                statistic: "Maximum",
                evaluationPeriods: 5,
                comparisonOperator: "LessThanThreshold",
                threshold: WSREP_SYNCED,
            });
            alarm(`${c.label ?? c.cluster}-${node}-flow-control`, {
                ...common,
                alarmDescription: `${c.cluster} ${node}: replication paused by flow control more than ${fc * 100} % of the time for 10 minutes`,
                metricName: GALERA_METRICS.flowControlPaused,
                dimensions: d,
                statistic: "Average",
                period: 300,
                evaluationPeriods: 2,
                comparisonOperator: "GreaterThanThreshold",
                threshold: fc,
            });
            freeSpace(`${c.label ?? c.cluster}-${node}-free-space`, `${c.cluster} ${node}`, "data volume", GALERA_METRICS.dataFreePercent, d);
        }
        backupAge(c, BACKUP_METRICS.galera, "database backup (full mariabackup)");
    }
    for (const v of args.glusterVolumes ?? []) {
        backupAge(v, BACKUP_METRICS.files, "files backup");
        const n = v.nodes.length;
        for (const node of v.nodes) {
            const d = dims(v.cluster, node);
            alarm(`${v.label ?? v.cluster}-${node}-bricks-online`, {
                ...common,
                alarmDescription: `${v.cluster} ${node}: fewer than ${n} bricks online (or stopped reporting) for 3 minutes`,
                metricName: GLUSTER_METRICS.bricksOnline,
                dimensions: d,
                statistic: "Minimum",
                evaluationPeriods: 3,
                comparisonOperator: "LessThanThreshold",
                threshold: n,
                treatMissingData: "breaching",
            });
            freeSpace(`${v.label ?? v.cluster}-${node}-free-space`, `${v.cluster} ${node}`, "brick", GLUSTER_METRICS.brickFreePercent, d);
        }
        const ids = v.nodes.map((_, i) => `heals${i + 1}`);
        alarm(`${v.label ?? v.cluster}-pending-heals`, {
            alarmDescription: `${v.cluster}: entries pending heal never drained to 0 for 30 minutes`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            evaluationPeriods: 6,
            metricQueries: [
                { id: "pending", expression: `MAX([${ids.join(", ")}])`, label: "pending heals (5-minute minimum)", returnData: true },
                ...v.nodes.map((node, i) => ({
                    id: ids[i],
                    metric: { namespace: NODE_METRICS_NAMESPACE, metricName: GLUSTER_METRICS.pendingHeals, dimensions: dims(v.cluster, node), period: 300, stat: "Minimum" },
                })),
            ],
        });
    }
}

/** The dashboard: the same metrics the alarms watch, one widget per concern. */
export function dashboardJson(region: string, alb: string, tg: string, asg: string, instanceIds: string[], redisMembers: string[]): object {
    const widget = (title: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
        type: "metric",
        width: 12,
        height: 6,
        properties: { title, region, metrics, view: "timeSeries", stacked: false, period: 300, ...extra },
    });
    return {
        widgets: [
            widget("ALB requests and 5xx", [
                ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb, { stat: "Sum" }],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb, { stat: "Sum" }],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", alb, { stat: "Sum" }],
            ]),
            widget("Target response time (p95)", [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", alb, { stat: "p95" }]]),
            widget("Healthy / unhealthy web nodes", [
                ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", alb, "TargetGroup", tg, { stat: "Minimum" }],
                ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", alb, "TargetGroup", tg, { stat: "Maximum" }],
            ]),
            widget("Web group size", [
                ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", asg],
                ["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", asg],
            ]),
            widget("Stateful node status checks", instanceIds.map((id) => ["AWS/EC2", "StatusCheckFailed", "InstanceId", id, { stat: "Maximum" }])),
            widget("Redis CPU and memory", redisMembers.flatMap((c) => [
                ["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", c],
                ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", c],
            ])),
            widget("Redis evictions and replication lag", redisMembers.flatMap((c) => [
                ["AWS/ElastiCache", "Evictions", "CacheClusterId", c, { stat: "Sum" }],
                ["AWS/ElastiCache", "ReplicationLag", "CacheClusterId", c, { stat: "Maximum" }],
            ])),
        ],
    };
}
