import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { withTags } from "./conventions";
import { InvalidArgsError } from "./errors";

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
    /** Tags added to every resource this component creates. */
    tags?: Record<string, string>;
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
    const problems: string[] = [];
    if (args.alarmEmail !== undefined && args.alarmEmail !== "" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.alarmEmail)) {
        problems.push(`alarmEmail: "${args.alarmEmail}" is not an e-mail address`);
    }
    if (!Number.isInteger(args.autoScalingMaxSize) || args.autoScalingMaxSize < 1) problems.push(`autoScalingMaxSize: ${args.autoScalingMaxSize}; at least 1`);
    const labels = args.instances.map((i) => i.label);
    if (new Set(labels).size !== labels.length) problems.push("instances: labels must be unique (they name the alarms)");
    for (const l of labels) if (!/^[a-z0-9-]{1,40}$/.test(l)) problems.push(`instances: label "${l}" must be lower-case letters, digits and -`);
    const pct = args.http5xxPercent ?? 5;
    if (!(pct > 0 && pct <= 100)) problems.push(`http5xxPercent: ${pct} must be in (0, 100]`);
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
