import { expect } from "chai";
import { InvalidArgsError } from "../components/shared/errors";
import { Observability, ObservabilityArgs, redisMemberClusterIds, validateObservabilityArgs } from "../components/monitoring/observability";
import { underMocks } from "./harness/mocks";
import { buildStack } from "./harness/stacks";

const args: ObservabilityArgs = {
    albArnSuffix: "app/web/123",
    targetGroupArnSuffix: "targetgroup/web/456",
    autoScalingGroupName: "web-asg",
    autoScalingMaxSize: 4,
    instances: [
        { label: "galera-node1", instanceId: "i-1" },
        { label: "gluster-node1", instanceId: "i-2" },
    ],
    redisReplicationGroupId: "cache",
    redisShards: 1,
    redisReplicasPerShard: 1,
};

describe("Observability", () => {
    it("names Redis member clusters the way ElastiCache numbers them", () => {
        expect(redisMemberClusterIds("cache", 1, 2)).to.deep.equal(["cache-001", "cache-002", "cache-003"]);
        expect(redisMemberClusterIds("cache", 2, 1)).to.deep.equal(["cache-0001-001", "cache-0001-002", "cache-0002-001", "cache-0002-002"]);
    });

    it("refuses a malformed e-mail and duplicate instance labels", () => {
        expect(() => validateObservabilityArgs("o", { ...args, alarmEmail: "ops" })).to.throw(InvalidArgsError, /alarmEmail: "ops"/);
        expect(() => validateObservabilityArgs("o", { ...args, instances: [args.instances[0], args.instances[0]] })).to.throw(/labels must be unique/);
    });

    it("encrypts the topic with its own rotating key that CloudWatch may use, for this account only", async () => {
        const e = await underMocks(() => new Observability("ops", args));
        const key = e.byName("ops-alarms-key");
        expect(key.type).to.equal("aws:kms/key:Key");
        expect(key.inputs.enableKeyRotation).to.equal(true);
        const topic = e.byName("ops-alarms");
        // The customer-managed key, never the AWS-managed alias/aws/sns (whose policy cannot admit CloudWatch).
        expect(topic.inputs.kmsMasterKeyId).to.equal("arn:aws:mock:eu-central-1:123456789012:aws:kms/key:Key/ops-alarms-key");
        expect(topic.propertyDependencies.kmsMasterKeyId).to.deep.equal([key.urn]);
        const policy = e.byName("ops-alarms-key-policy");
        expect(policy.propertyDependencies.keyId).to.deep.equal([key.urn]);
        expect(topic.dependencies).to.include(policy.urn);
        const statements = JSON.parse(policy.inputs.policy).Statement;
        const cw = statements.filter((st: any) => st.Principal?.Service === "cloudwatch.amazonaws.com");
        expect(cw).to.have.length(1);
        expect(cw[0]).to.deep.include({ Effect: "Allow", Resource: "*" });
        expect([...cw[0].Action].sort()).to.deep.equal(["kms:Decrypt", "kms:GenerateDataKey*"]);
        expect(cw[0].Condition).to.deep.equal({ StringEquals: { "aws:SourceAccount": "123456789012" } });
        // Nobody else but the account itself (through IAM).
        for (const st of statements.filter((x: any) => x !== cw[0])) expect(st.Principal).to.deep.equal({ AWS: "arn:aws:iam::123456789012:root" });
    });

    it("sends every alarm to the topic, subscribes the e-mail, and auto-recovers stateful nodes", async () => {
        const e = await underMocks(() => new Observability("ops", { ...args, alarmEmail: "ops@example.com" }));
        const topic = e.byName("ops-alarms");
        expect(topic.propertyDependencies.kmsMasterKeyId).to.deep.equal([e.byName("ops-alarms-key").urn]);
        expect(e.byName("ops-alarms-email").inputs).to.deep.include({ protocol: "email", endpoint: "ops@example.com" });
        const alarms = e.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
        for (const a of alarms) {
            expect(a.propertyDependencies.alarmActions, a.name).to.include(topic.urn);
        }
        const names = alarms.map((a) => a.name.replace(/^ops-/, "")).sort();
        expect(names).to.include.members([
            "alb-5xx-rate",
            "unhealthy-hosts",
            "response-time",
            "asg-at-max",
            "galera-node1-status",
            "galera-node1-system",
            "gluster-node1-status",
            "redis1-cpu",
            "redis1-memory",
            "redis1-evictions",
            "redis2-replication-lag",
        ]);
        expect(e.byName("ops-galera-node1-system").inputs.alarmActions).to.include("arn:aws:automate:eu-central-1:ec2:recover");
        expect(e.byName("ops-redis2-cpu").inputs.dimensions).to.deep.equal({ CacheClusterId: "cache-002" });
        expect(e.byName("ops-asg-at-max").inputs.threshold).to.equal(4);
        const dashboard = JSON.parse(e.byName("ops-dashboard").inputs.dashboardBody);
        expect(dashboard.widgets.map((w: any) => w.properties.title)).to.include("Redis evictions and replication lag");
    });

    it("covers every tier of the real platform: one status alarm per Galera and Gluster node, Redis alarms per cache node", async () => {
        const s = await buildStack("prod");
        const names = s.engine.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.name);
        for (const n of [1, 2, 3]) {
            expect(names).to.include(`prod-ops-galera-node${n}-status`);
            expect(names).to.include(`prod-ops-gluster-node${n}-status`);
        }
        // prod's cache: one primary and one replica (Pulumi.prod.yaml).
        for (const n of [1, 2]) expect(names).to.include(`prod-ops-redis${n}-evictions`);
        expect(names).to.not.include("prod-ops-redis3-evictions");
        expect(s.engine.ofType("aws:sns/topicSubscription:TopicSubscription")).to.have.length(0);
    });
});
