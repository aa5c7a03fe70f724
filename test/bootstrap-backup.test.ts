import { expect } from "chai";
import {
    BACKUP_PREFIXES,
    bucketNameProblem,
    DEFAULT_BINLOG_INTERVAL_S,
    DEFAULT_FILES_BACKUP_ON_CALENDAR,
    DEFAULT_GALERA_BACKUP_ON_CALENDAR,
    galeraBackupOrder,
    validateBackupSettings,
} from "../components/shared/backupPlan";
import { galeraPlan, GaleraPlanSettings, topoOrder } from "../components/database/plan";
import { glusterPlan, GlusterSettings } from "../components/storage/plan";
import { BootstrapPlan } from "../components/shared/bootstrapPlan";

const galeraBase: GaleraPlanSettings = {
    clusterName: "owncloud",
    nodes: [
        { name: "db1", address: "10.1.1.10" },
        { name: "db2", address: "10.1.2.10" },
        { name: "db3", address: "10.1.3.10" },
    ],
    appHosts: "10.0.%",
};
const glusterBase: GlusterSettings = {
    nodes: ["10.2.0.10", "10.2.16.10", "10.2.32.10"].map((address, i) => ({ host: `fs${i + 1}`, address })),
    brickDevice: "/dev/nvme1n1",
    clientCidrs: ["10.0.0.0/16"],
    volumeName: "gfs_v_r5",
};
const backupSteps = (p: BootstrapPlan) => p.steps.filter((s) => /-backup-/.test(s.id));

/** Every step a step waits for, directly or not. */
function ancestors(p: BootstrapPlan, id: string): Set<string> {
    const m = new Map(p.steps.map((s) => [s.id, s]));
    const out = new Set<string>();
    const walk = (i: string) => m.get(i)!.dependsOn.forEach((d) => { if (!out.has(d)) { out.add(d); walk(d); } });
    walk(id);
    return out;
}

describe("backup plan steps", () => {
    describe("Galera", () => {
        it("has no backup step unless backup is set", () => {
            expect(backupSteps(galeraPlan(galeraBase))).to.deep.equal([]);
        });
        const plan = galeraPlan({ ...galeraBase, backup: { bucket: "owncloud-backups-1" } });
        it("adds one galera-backup-<host> step per node running galera/backup-install.sh with no secrets", () => {
            expect(() => topoOrder(plan)).not.to.throw();
            const steps = backupSteps(plan);
            expect(steps.map((s) => s.id)).to.deep.equal(["galera-backup-db1", "galera-backup-db2", "galera-backup-db3"]);
            for (const s of steps) {
                expect(s.script).to.equal("galera/backup-install.sh");
                expect(s.secrets).to.deep.equal([]);
                expect(s.host).to.equal(s.id.replace("galera-backup-", ""));
            }
        });
        it("installs on each node only after that node runs (bootstrap or its own join)", () => {
            expect(plan.steps.find((s) => s.id === "galera-backup-db1")!.dependsOn).to.deep.equal(["galera-bootstrap-db1"]);
            expect(plan.steps.find((s) => s.id === "galera-backup-db2")!.dependsOn).to.deep.equal(["galera-join-db2"]);
            expect(ancestors(plan, "galera-backup-db3")).to.include("galera-join-db3");
        });
        it("passes the environment contract with the tier's defaults, the writer last in the backup order", () => {
            const env = plan.steps.find((s) => s.id === "galera-backup-db2")!.env;
            expect(env).to.deep.equal({
                BACKUP_BUCKET: "owncloud-backups-1",
                BACKUP_PREFIX: BACKUP_PREFIXES.galera,
                BACKUP_NODE: "db2",
                BACKUP_NODE_ORDER: "db3,db2,db1",
                BACKUP_NODE_ADDRESSES: "10.1.3.10,10.1.2.10,10.1.1.10",
                BACKUP_ON_CALENDAR: DEFAULT_GALERA_BACKUP_ON_CALENDAR,
                BACKUP_BINLOG_INTERVAL_S: String(DEFAULT_BINLOG_INTERVAL_S),
            });
            expect(DEFAULT_GALERA_BACKUP_ON_CALENDAR).to.equal("*-*-* 02:30:00");
            expect(BACKUP_PREFIXES.galera).to.equal("galera");
        });
        it("passes given settings through, region and endpoint only when set", () => {
            const p = galeraPlan({
                ...galeraBase,
                backup: { bucket: "{{backupBucket}}", prefix: "db/galera", onCalendar: "*-*-* 04:00:00", binlogIntervalSeconds: 30, region: "{{region}}", s3Endpoint: "http://10.9.0.1:9000" },
            });
            const env = p.steps.find((s) => s.id === "galera-backup-db1")!.env;
            expect(env).to.include({ BACKUP_BUCKET: "{{backupBucket}}", BACKUP_PREFIX: "db/galera", BACKUP_ON_CALENDAR: "*-*-* 04:00:00", BACKUP_BINLOG_INTERVAL_S: "30", BACKUP_REGION: "{{region}}", BACKUP_S3_ENDPOINT: "http://10.9.0.1:9000" });
            expect(plan.steps.find((s) => s.id === "galera-backup-db1")!.env).not.to.have.any.keys("BACKUP_REGION", "BACKUP_S3_ENDPOINT", "BACKUP_VOLUME");
        });
        it("refuses bad backup settings with the setting named", () => {
            expect(() => galeraPlan({ ...galeraBase, backup: { bucket: "Bad_Bucket" } })).to.throw(/backup\.bucket: "Bad_Bucket"/);
            expect(() => galeraPlan({ ...galeraBase, backup: { bucket: "ok-bucket", binlogIntervalSeconds: 5 } })).to.throw(/backup\.binlogIntervalSeconds: 5 .*10–3600/);
            expect(() => galeraPlan({ ...galeraBase, backup: { bucket: "ok-bucket", onCalendar: "daily\nExecStart=/bin/sh" } })).to.throw(/backup\.onCalendar/);
        });
    });

    describe("GlusterFS", () => {
        it("has no backup step unless backup is set", () => {
            expect(backupSteps(glusterPlan(glusterBase))).to.deep.equal([]);
        });
        const plan = glusterPlan({ ...glusterBase, backup: { bucket: "owncloud-backups-1" } });
        it("adds one gluster-backup-<host> step per node after the volume is verified, with the volume name", () => {
            const steps = backupSteps(plan);
            expect(steps.map((s) => s.id)).to.deep.equal(["gluster-backup-fs1", "gluster-backup-fs2", "gluster-backup-fs3"]);
            for (const s of steps) {
                expect(s.script).to.equal("gluster/backup-install.sh");
                expect(s.secrets).to.deep.equal([]);
                expect(s.dependsOn).to.deep.equal(["gluster-verify-volume"]);
                expect(ancestors(plan, s.id)).to.include("gluster-create-volume");
            }
            expect(steps[1].env).to.deep.equal({
                BACKUP_BUCKET: "owncloud-backups-1",
                BACKUP_PREFIX: "files",
                BACKUP_NODE: "fs2",
                BACKUP_NODE_ORDER: "fs1,fs2,fs3",
                BACKUP_NODE_ADDRESSES: "10.2.0.10,10.2.16.10,10.2.32.10",
                BACKUP_ON_CALENDAR: DEFAULT_FILES_BACKUP_ON_CALENDAR,
                BACKUP_VOLUME: "gfs_v_r5",
            });
            expect(DEFAULT_FILES_BACKUP_ON_CALENDAR).to.equal("hourly");
        });
        it("refuses a binlog interval (Galera only) and a bad prefix", () => {
            const errs = (b: object) => glusterPlanErrors({ ...glusterBase, backup: { bucket: "ok-bucket", ...b } });
            expect(errs({ binlogIntervalSeconds: 60 })).to.match(/backup\.binlogIntervalSeconds: only Galera/);
            expect(errs({ prefix: "/files/" })).to.match(/backup\.prefix: "\/files\/"/);
        });
    });

    describe("validateBackupSettings", () => {
        it("accepts the defaults and deploy-time placeholders", () => {
            expect(validateBackupSettings({ bucket: "owncloud-backups-1" }, "galera")).to.deep.equal([]);
            expect(validateBackupSettings({ bucket: "{{backupBucket}}", region: "{{region}}" }, "files")).to.deep.equal([]);
            expect(validateBackupSettings({ bucket: "b.c-d", binlogIntervalSeconds: 10, region: "eu-central-1" }, "galera")).to.deep.equal([]);
            expect(validateBackupSettings({ bucket: "abc", binlogIntervalSeconds: 3600 }, "galera")).to.deep.equal([]);
        });
        it("names each bad field", () => {
            const p = validateBackupSettings({ bucket: "", prefix: "a//b", onCalendar: " ", binlogIntervalSeconds: 3601, region: "Frankfurt", s3Endpoint: "minio:9000" }, "galera");
            expect(p.map((x) => x.split(":")[0])).to.deep.equal(["backup.bucket", "backup.prefix", "backup.onCalendar", "backup.binlogIntervalSeconds", "backup.region", "backup.s3Endpoint"]);
            expect(validateBackupSettings({ bucket: "ok-bucket", binlogIntervalSeconds: 9.5 }, "galera")).to.have.length(1);
        });
        it("knows S3's bucket naming rules", () => {
            for (const ok of ["abc", "owncloud-ha-dev-backups-20251201", "a.b.c", "a".repeat(63)]) expect(bucketNameProblem(ok), ok).to.equal(undefined);
            for (const bad of ["ab", "a".repeat(64), "Upper", "under_score", "-lead", "trail-", "a..b", "192.168.1.1", "xn--abc", "sthree-x", "x-s3alias", "x--ol-s3", "x.mrap", "x--x-s3"]) {
                expect(bucketNameProblem(bad), bad).to.be.a("string");
            }
        });
    });

    it("galeraBackupOrder puts the writer last and the others in reverse order", () => {
        expect(galeraBackupOrder(["n1", "n2", "n3"])).to.deep.equal(["n3", "n2", "n1"]);
        expect(galeraBackupOrder(["n1", "n2", "n3", "n4", "n5"])).to.deep.equal(["n5", "n4", "n3", "n2", "n1"]);
    });
});

function glusterPlanErrors(s: GlusterSettings): string {
    try {
        glusterPlan(s);
        return "";
    } catch (e) {
        return (e as Error).message;
    }
}
