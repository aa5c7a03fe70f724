import { expect } from "chai";
import { GaleraCluster } from "../components/database/galeraCluster";
import { GlusterDisperseVolume } from "../components/storage/glusterDisperseVolume";
import type { PlanResource } from "../scripts/plan/build";
import { backupsPerDay, estimateCost, loadUsage, PRICES, type Usage } from "../scripts/plan/cost";
import { underMocks } from "./harness/mocks";

const bastion = { host: "192.0.2.10", securityGroupId: "sg-bastion", keyPairName: "kp", privateKey: "KEY" };
const common = { subnetIds: ["subnet-a", "subnet-b", "subnet-c"], clientSecurityGroupIds: ["sg-web"], clientCidrs: ["10.0.0.0/16"], bastion };
const ZERO = Object.fromEntries(Object.keys(loadUsage("default").usage).map((k) => [k, 0])) as unknown as Usage;
const usage: Usage = { ...ZERO, galeraBackupGb: 2, galeraBinlogGbPerDay: 0.5, filesBackupGb: 1, albAccessLogsGb: 100, ebsSnapshotGb: 10 };
const S3 = PRICES.regions["eu-central-1"].s3StandardGbMonth;

describe("cost of backups (plan tool)", () => {
    it("counts backups a day from the OnCalendar forms the program uses", () => {
        expect(backupsPerDay("hourly").perDay).to.equal(24);
        expect(backupsPerDay("*-*-* 02:30:00").perDay).to.equal(1);
        expect(backupsPerDay("daily").perDay).to.equal(1);
        expect(backupsPerDay("*:0/30").perDay).to.equal(48);
        expect(backupsPerDay("Mon *-*-* 01:00")).to.deep.equal({ perDay: 1, detail: '1/day assumed for "Mon *-*-* 01:00"' });
    });

    it("prices each backup bucket from its retention, its cluster's schedule and binlog interval; never the ALB-log usage", async () => {
        const engine = await underMocks(() => {
            new GaleraCluster("db", { ...common, vpcId: "vpc-db", subnetCidrs: ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"], backupRetentionDays: 10, binlogIntervalSeconds: 30 });
            new GlusterDisperseVolume("fs", { ...common, vpcId: "vpc-fs", subnetCidrs: ["10.2.0.0/20", "10.2.16.0/20", "10.2.32.0/20"] });
        });
        const c = estimateCost(engine.resources as unknown as PlanResource[], "eu-central-1", { usage });
        const s3 = c.lines.filter((l) => l.driver === "s3");
        const line = (resource: string, unit: string, re: RegExp) => s3.find((l) => l.resource === resource && l.unit === unit && re.test(l.detail));
        // Galera: 10 days × 1 full a day × 2 GB, and 10 days of 0.5 GB binary logs.
        expect(line("db-backups-bucket", "GB-month", /full Galera backups/)!.quantity).to.equal(20);
        expect(line("db-backups-bucket", "GB-month", /binary logs/)!.quantity).to.equal(5);
        // PUTs: 30 backups of 256 parts (2 GB in 8 MiB parts) + a shipment every 30 s.
        expect(line("db-backups-bucket", "1,000 requests", /PUT/)!.quantity).to.be.closeTo((30 * 256 + (PRICES.hoursPerMonth * 3600) / 30) / 1000, 1e-9);
        // Files: hourly, 14 days (the default) × 1 GB.
        expect(line("fs-backups-bucket", "GB-month", /files backups/)!.quantity).to.equal(336);
        expect(line("fs-backups-bucket", "GB-month", /files backups/)!.unitPrice).to.equal(S3);
        expect(s3.filter((l) => /albAccessLogsGb/.test(l.detail))).to.deep.equal([]);
        // Snapshots: the usage figure, said to come from the DLM policies; DLM and versioning are free.
        expect(c.lines.find((l) => /EBS snapshots/.test(l.detail))!.detail).to.match(/daily by 2 Data Lifecycle Manager policies/);
        expect(c.free.map((f) => f.type)).to.include.members(["aws:dlm/lifecyclePolicy:LifecyclePolicy", "aws:s3/bucketVersioning:BucketVersioning"]);
        expect(c.unpriced).to.deep.equal([]);
    });
});
