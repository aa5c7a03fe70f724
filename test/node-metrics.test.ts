import { expect } from "chai";
import { InvalidArgsError } from "../components/shared/errors";
import { Observability, ObservabilityArgs, validateObservabilityArgs } from "../components/monitoring/observability";
import { galeraPlan } from "../components/database/plan";
import { glusterPlan } from "../components/storage/plan";
import { GALERA_METRICS, GLUSTER_METRICS, NODE_METRICS_NAMESPACE, putNodeMetricsStatement } from "../components/shared/nodeMetrics";
import type { PlanResource } from "../scripts/plan/build";
import { estimateCost, loadUsage, PRICES, type Usage } from "../scripts/plan/cost";
import { underMocks } from "./harness/mocks";

const nodes = ["node1", "node2", "node3"];
const args: ObservabilityArgs = {
    albArnSuffix: "app/web/123",
    targetGroupArnSuffix: "targetgroup/web/456",
    autoScalingGroupName: "web-asg",
    autoScalingMaxSize: 4,
    instances: [],
    redisReplicationGroupId: "cache",
    redisShards: 1,
    redisReplicasPerShard: 1,
    galeraClusters: [{ cluster: "dev-db", nodes, label: "galera" }],
    glusterVolumes: [{ cluster: "dev-fs", nodes, label: "gluster" }],
};
/** No usage: only the lines the resources themselves decide. */
const ZERO_USAGE = Object.fromEntries(Object.keys(loadUsage("default").usage).map((k) => [k, 0])) as unknown as Usage;
const TOPIC = "arn:aws:mock:eu-central-1:123456789012:aws:sns/topic:Topic/ops-alarms";

describe("node metric alarms (Observability under mocks)", () => {
    it("alarms per Galera node on cluster size (heartbeat: missing data breaches), state, flow control and free space, to the topic", async () => {
        const e = await underMocks(() => new Observability("ops", args));
        for (const node of nodes) {
            const dims = { Cluster: "dev-db", Node: node };
            const a = (id: string) => e.byName(`ops-galera-${node}-${id}`).inputs;
            expect(a("cluster-size")).to.deep.include({
                namespace: NODE_METRICS_NAMESPACE, metricName: GALERA_METRICS.clusterSize, statistic: "Minimum", period: 60, evaluationPeriods: 5,
                comparisonOperator: "LessThanThreshold", threshold: 3, treatMissingData: "breaching",
            });
            expect(a("not-synced")).to.deep.include({ metricName: GALERA_METRICS.localState, statistic: "Maximum", comparisonOperator: "LessThanThreshold", threshold: 4, treatMissingData: "notBreaching" });
            expect(a("flow-control")).to.deep.include({ metricName: GALERA_METRICS.flowControlPaused, statistic: "Average", period: 300, evaluationPeriods: 2, comparisonOperator: "GreaterThanThreshold", threshold: 0.1 });
            expect(a("free-space")).to.deep.include({ metricName: GALERA_METRICS.dataFreePercent, statistic: "Minimum", comparisonOperator: "LessThanThreshold", threshold: 15 });
            for (const id of ["cluster-size", "not-synced", "flow-control", "free-space"]) {
                expect(a(id).namespace).to.equal(NODE_METRICS_NAMESPACE);
                expect(a(id).dimensions).to.deep.equal(dims);
                expect(a(id).alarmActions).to.deep.equal([TOPIC]);
                expect(a(id).okActions).to.deep.equal([TOPIC]);
            }
        }
    });

    it("alarms per Gluster node on bricks online (heartbeat) and brick free space, and per volume on heals that never drain for 30 minutes", async () => {
        const e = await underMocks(() => new Observability("ops", { ...args, freeSpacePercent: 20 }));
        for (const node of nodes) {
            const dims = { Cluster: "dev-fs", Node: node };
            expect(e.byName(`ops-gluster-${node}-bricks-online`).inputs).to.deep.include({
                namespace: NODE_METRICS_NAMESPACE, metricName: GLUSTER_METRICS.bricksOnline, dimensions: dims, statistic: "Minimum", period: 60, evaluationPeriods: 3,
                comparisonOperator: "LessThanThreshold", threshold: 3, treatMissingData: "breaching", alarmActions: [TOPIC],
            });
            expect(e.byName(`ops-gluster-${node}-free-space`).inputs).to.deep.include({ metricName: GLUSTER_METRICS.brickFreePercent, dimensions: dims, threshold: 20, comparisonOperator: "LessThanThreshold" });
        }
        const heals = e.byName("ops-gluster-pending-heals").inputs;
        expect(heals).to.deep.include({ comparisonOperator: "GreaterThanThreshold", threshold: 0, evaluationPeriods: 6, alarmActions: [TOPIC] });
        expect(heals.metricQueries[0]).to.deep.include({ expression: "MAX([heals1, heals2, heals3])", returnData: true });
        expect(heals.metricQueries.slice(1).map((q: any) => [q.id, q.metric.namespace, q.metric.metricName, q.metric.dimensions.Node, q.metric.period, q.metric.stat])).to.deep.equal(
            nodes.map((n, i) => [`heals${i + 1}`, NODE_METRICS_NAMESPACE, GLUSTER_METRICS.pendingHeals, n, 300, "Minimum"]),
        );
        // 3 × 4 Galera + 3 × 2 Gluster + 1 heals, besides the 4 web alarms and 4 for each of the 2 Redis nodes.
        expect(e.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")).to.have.length(4 + 8 + 12 + 6 + 1);
    });

    it("refuses bad thresholds and duplicate or malformed cluster labels, naming the setting", () => {
        expect(() => validateObservabilityArgs("o", { ...args, freeSpacePercent: 0 })).to.throw(InvalidArgsError, /freeSpacePercent: 0/);
        expect(() => validateObservabilityArgs("o", { ...args, flowControlPausedFraction: 5 })).to.throw(/flowControlPausedFraction: 5 must be in \(0, 1\)/);
        expect(() => validateObservabilityArgs("o", { ...args, glusterVolumes: [{ cluster: "x", nodes, label: "galera" }] })).to.throw(/labels .* must be unique/);
        expect(() => validateObservabilityArgs("o", { ...args, galeraClusters: [{ cluster: "db", nodes: [] }] })).to.throw(/has no nodes/);
    });
});

describe("node metrics wiring", () => {
    it("the node statement is exactly PutMetricData on * with the cloudwatch:namespace condition", () => {
        expect(putNodeMetricsStatement()).to.deep.equal({
            Sid: "PublishNodeMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": NODE_METRICS_NAMESPACE } },
        });
    });

    it("the cloud plans pass the metrics settings to the step that installs the timer; the lab's plans do not", () => {
        const gnodes = [1, 2, 3].map((i) => ({ name: `node${i}`, address: `10.0.${i}.10` }));
        const galera = galeraPlan({ clusterName: "oc", nodes: gnodes, appHosts: "10.%", metricsCluster: "dev-db" });
        expect(galera.steps.find((s) => s.id === "galera-configure-node2")!.env).to.deep.include({ OCHA_METRICS_NAMESPACE: NODE_METRICS_NAMESPACE, OCHA_METRICS_CLUSTER: "dev-db", OCHA_METRICS_NODE: "node2" });
        const lab = galeraPlan({ clusterName: "oc", nodes: gnodes, appHosts: "10.%" });
        expect(Object.keys(lab.steps.find((s) => s.id === "galera-configure-node2")!.env).filter((k) => k.startsWith("OCHA_METRICS"))).to.deep.equal([]);
        const fsNodes = [1, 2, 3].map((i) => ({ host: `node${i}`, address: `10.0.${i}.10`, device: "/dev/x" }));
        const gluster = glusterPlan({ nodes: fsNodes, clientCidrs: ["10.1.0.0/16"], metricsCluster: "dev-fs" });
        const env = gluster.steps.find((s) => s.id === "gluster-glusterd-node3")!.env;
        const brick = gluster.steps.find((s) => s.id === "gluster-brick-node3")!.env;
        expect(env).to.deep.include({ GLUSTER_METRICS_VOLUME: "gfs_v_r5", GLUSTER_METRICS_BRICK_MOUNT: brick.BRICK_MOUNT, OCHA_METRICS_CLUSTER: "dev-fs", OCHA_METRICS_NODE: "node3" });
    });

    it("prices the custom metrics (names × nodes) and their PutMetricData calls on the cluster components", () => {
        const comp = (type: string, name: string): PlanResource => ({ urn: `urn:${name}`, type, name, custom: false, inputs: {}, rawInputs: {}, dependencies: [], propertyDependencies: {}, secretOutputs: [] } as any);
        const inst = (parent: string, n: number): PlanResource =>
            ({ urn: `urn:${parent}-i${n}`, type: "aws:ec2/instance:Instance", name: `${parent}-node${n}`, parent: `urn:${parent}`, custom: true, inputs: { instanceType: "t3.micro" }, rawInputs: {}, dependencies: [], propertyDependencies: {}, secretOutputs: [] } as any);
        const c = estimateCost(
            [comp("owncloud-ha:database:GaleraCluster", "db"), inst("db", 1), inst("db", 2), inst("db", 3), comp("owncloud-ha:storage:GlusterDisperseVolume", "fs"), inst("fs", 1), inst("fs", 2), inst("fs", 3)],
            "eu-central-1",
            { usage: ZERO_USAGE },
        );
        const metrics = c.lines.filter((l) => l.unit === "metric-month");
        expect(metrics.map((l) => [l.resource, l.quantity, l.unitPrice])).to.deep.equal([["db", 12, 0.3], ["fs", 9, 0.3]]);
        const calls = c.lines.filter((l) => l.unit === "1,000 requests");
        expect(calls.map((l) => l.resource)).to.deep.equal(["db", "fs"]);
        expect(calls[0].quantity).to.be.closeTo((3 * PRICES.hoursPerMonth * 60) / 1000, 0.001);
    });
});
