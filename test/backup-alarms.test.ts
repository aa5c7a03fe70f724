import { expect } from "chai";
import { InvalidArgsError } from "../components/shared/errors";
import { Observability, ObservabilityArgs, validateObservabilityArgs } from "../components/monitoring/observability";
import { BACKUP_METRICS, NODE_METRICS_NAMESPACE } from "../components/shared/nodeMetrics";
import { DEFAULT_FILES_BACKUP_MAX_AGE_HOURS, DEFAULT_GALERA_BACKUP_MAX_AGE_HOURS } from "../components/shared/backupPlan";
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
    galeraClusters: [{ cluster: "dev-db", nodes, label: "galera", backupMaxAgeSeconds: DEFAULT_GALERA_BACKUP_MAX_AGE_HOURS * 3600 }],
    glusterVolumes: [{ cluster: "dev-fs", nodes, label: "gluster", backupMaxAgeSeconds: DEFAULT_FILES_BACKUP_MAX_AGE_HOURS * 3600 }],
};
const TOPIC = "arn:aws:mock:eu-central-1:123456789012:aws:sns/topic:Topic/ops-alarms";

describe("backup-age alarms (Observability under mocks)", () => {
    it("names the metrics exactly as the node scripts publish them", () => {
        expect(BACKUP_METRICS).to.deep.equal({ galera: "BackupAgeSeconds", files: "FilesBackupAgeSeconds" });
        expect([DEFAULT_GALERA_BACKUP_MAX_AGE_HOURS, DEFAULT_FILES_BACKUP_MAX_AGE_HOURS]).to.deep.equal([26, 2]);
    });

    it("one alarm per cluster on the newest backup's age, dimension Cluster only, missing data breaching", async () => {
        const e = await underMocks(() => new Observability("ops", args));
        const common = { namespace: NODE_METRICS_NAMESPACE, statistic: "Minimum", period: 300, evaluationPeriods: 3, comparisonOperator: "GreaterThanThreshold", treatMissingData: "breaching", alarmActions: [TOPIC], okActions: [TOPIC] };
        expect(e.byName("ops-galera-backup-age").inputs).to.deep.include({ ...common, metricName: "BackupAgeSeconds", dimensions: { Cluster: "dev-db" }, threshold: 26 * 3600 });
        expect(e.byName("ops-gluster-backup-age").inputs).to.deep.include({ ...common, metricName: "FilesBackupAgeSeconds", dimensions: { Cluster: "dev-fs" }, threshold: 2 * 3600 });
        expect(e.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.endsWith("backup-age"))).to.have.length(2);
    });

    it("no backup-age alarm for a cluster that does not back up", async () => {
        const e = await underMocks(() => new Observability("ops", { ...args, galeraClusters: [{ cluster: "dev-db", nodes, label: "galera" }], glusterVolumes: [] }));
        expect(e.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.endsWith("backup-age"))).to.deep.equal([]);
    });

    it("refuses a maximum age below 10 minutes", () => {
        expect(() => validateObservabilityArgs("o", { ...args, galeraClusters: [{ cluster: "dev-db", nodes, backupMaxAgeSeconds: 60 }] })).to.throw(
            InvalidArgsError,
            /galeraClusters: backupMaxAgeSeconds 60 of "dev-db"/,
        );
    });
});
