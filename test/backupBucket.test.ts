import { expect } from "chai";
import { BackupBucket, BackupBucketArgs, backupLifecycleRules, resolveBackupBucketArgs, resolveClusterBackup } from "../components/backup/backupBucket";
import { DEFAULT_BACKUP_RETENTION_DAYS, DEFAULT_SNAPSHOT_RETENTION_COUNT } from "../components/shared/backupPlan";
import { TAG_SNAPSHOT_POLICY } from "../components/shared/conventions";
import { InvalidArgsError } from "../components/shared/errors";
import { GaleraCluster, GaleraClusterArgs, resolveGaleraClusterArgs } from "../components/database/galeraCluster";
import { GlusterDisperseVolume, GlusterDisperseVolumeArgs, resolveGlusterArgs } from "../components/storage/glusterDisperseVolume";
import { DLM_SERVICE_POLICY_ARN, snapshotPolicyDescription } from "../components/shared/volumeSnapshots";
import { MockEngine, underMocks, valueOf } from "./harness/mocks";

const bastion = { host: "192.0.2.10", securityGroupId: "sg-bastion", keyPairName: "kp", privateKey: "KEY" };
const galeraArgs: GaleraClusterArgs = {
    vpcId: "vpc-db",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    subnetCidrs: ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"],
    clientSecurityGroupIds: ["sg-web"],
    clientCidrs: ["10.0.0.0/16"],
    bastion,
};
const glusterArgs: GlusterDisperseVolumeArgs = {
    vpcId: "vpc-fs",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    subnetCidrs: ["10.2.0.0/20", "10.2.16.0/20", "10.2.32.0/20"],
    clientSecurityGroupIds: ["sg-web"],
    clientCidrs: ["10.0.0.0/16"],
    bastion,
};
const KEY = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const children = (engine: MockEngine, parentName: string, type: string) => {
    const parent = engine.ofType("aws:s3/bucket:Bucket").find((b) => b.name === parentName)!;
    return engine.ofType(type).filter((r) => r.parent === parent.urn);
};

describe("backups in AWS", () => {
    describe("resolveBackupBucketArgs (no mocks)", () => {
        it("defaults to both tiers' prefixes, 14 days, no force-destroy", () => {
            const r = resolveBackupBucketArgs("dev-backups", {});
            expect(r).to.deep.include({ prefixes: ["galera", "files"], retentionDays: DEFAULT_BACKUP_RETENTION_DAYS, forceDestroy: false, bucketPrefix: "dev-backups-" });
            expect(DEFAULT_BACKUP_RETENTION_DAYS).to.equal(14);
        });
        it("keeps the bucket prefix within S3's 37 characters", () => {
            expect(resolveBackupBucketArgs("a".repeat(60), {}).bucketPrefix).to.have.length(37);
        });
        const cases: [string, string, BackupBucketArgs, RegExp][] = [
            ["a retention of 1 day", "b", { retentionDays: 1 }, /retentionDays: 1 must be a whole number of days, 2–3650/],
            ["a prefix with slashes at the ends", "b", { prefixes: ["/galera/"] }, /prefixes: "\/galera\/"/],
            ["nested prefixes", "b", { prefixes: ["db", "db/galera"] }, /"db\/galera" lies inside "db"/],
            ["an upper-case name", "Backups", {}, /name: "Backups" must be lower-case/],
        ];
        for (const [what, name, args, re] of cases) {
            it(`refuses ${what}`, () => expect(() => resolveBackupBucketArgs(name, args)).to.throw(InvalidArgsError, re));
        }
    });

    describe("backupLifecycleRules", () => {
        const rules = backupLifecycleRules({ prefixes: ["galera", "files"], retentionDays: 14 });
        it("expires current objects per prefix after the retention, full backups and binary logs alike", () => {
            expect(rules.filter((r) => (r.filter as { prefix?: string }).prefix)).to.deep.equal([
                { id: "expire-galera", status: "Enabled", filter: { prefix: "galera/" }, expiration: { days: 14 } },
                { id: "expire-files", status: "Enabled", filter: { prefix: "files/" }, expiration: { days: 14 } },
            ]);
        });
        it("drops noncurrent versions after 1 day and aborts unfinished multipart uploads after 1 day, bucket-wide", () => {
            const wide = rules.find((r) => r.id === "noncurrent-and-incomplete")!;
            expect(wide).to.deep.include({ filter: {}, noncurrentVersionExpiration: { noncurrentDays: 1 }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } });
            expect(rules.find((r) => r.id === "expired-delete-markers")).to.deep.include({ expiration: { expiredObjectDeleteMarker: true } });
        });
    });

    describe("BackupBucket (mocks)", () => {
        it("is versioned, SSE-S3 by default, fully public-access-blocked, ACL-free and TLS-only", async () => {
            const engine = await underMocks(() => new BackupBucket("bk", { prefixes: ["galera"], retentionDays: 10 }));
            const [bucket] = engine.ofType("aws:s3/bucket:Bucket");
            expect(bucket.inputs.bucketPrefix).to.equal("bk-");
            expect(bucket.inputs.forceDestroy).to.equal(false);
            expect(children(engine, "bk-bucket", "aws:s3/bucketVersioning:BucketVersioning")[0].inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
            expect(children(engine, "bk-bucket", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0].inputs.rules).to.deep.equal([
                { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
            ]);
            expect(children(engine, "bk-bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs).to.deep.include({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
            expect(children(engine, "bk-bucket", "aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0].inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
            const ARN = "arn:aws:mock:eu-central-1:123456789012:aws:s3/bucket:Bucket/bk-bucket";
            const policy = JSON.parse(children(engine, "bk-bucket", "aws:s3/bucketPolicy:BucketPolicy")[0].inputs.policy);
            expect(policy.Statement).to.deep.equal([
                { Sid: "TlsOnly", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [ARN, `${ARN}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ]);
            const lifecycle = children(engine, "bk-bucket", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0];
            expect(lifecycle.inputs.rules[0]).to.deep.include({ filter: { prefix: "galera/" }, expiration: { days: 10 } });
            // Lifecycle acts on versions: it waits for versioning.
            expect(lifecycle.dependencies).to.include(engine.byName("bk-versioning").urn);
        });
        it("uses SSE-KMS with a bucket key when given a key", async () => {
            const engine = await underMocks(() => new BackupBucket("bk", { kmsKeyId: KEY }));
            const [enc] = engine.ofType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
            expect(enc.inputs.rules).to.deep.equal([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY }, bucketKeyEnabled: true }]);
        });
    });

    describe("cluster components", () => {
        it("refuses bad backup arguments naming them, before anything is created", () => {
            const bad: [Partial<GaleraClusterArgs>, RegExp][] = [
                [{ backupBucketName: "My_Bucket" }, /backupBucketName: "My_Bucket"/],
                [{ backupRetentionDays: 0 }, /backupRetentionDays: 0/],
                [{ snapshotRetentionCount: 0 }, /snapshotRetentionCount: 0 must be a whole number of snapshots, 1–1000/],
                [{ backupOnCalendar: "" }, /backupOnCalendar: "" must be a non-empty systemd OnCalendar/],
                [{ binlogIntervalSeconds: 7200 }, /binlogIntervalSeconds: 7200 .*10–3600/],
                [{ backupMaxAgeHours: 0 }, /backupMaxAgeHours: 0/],
                [{ backupS3Endpoint: "198.18.0.1:9000" }, /backupS3Endpoint: "198.18.0.1:9000" must be an http\(s\) URL/],
            ];
            for (const [over, re] of bad) expect(() => resolveGaleraClusterArgs("g", { ...galeraArgs, ...over }), String(re)).to.throw(InvalidArgsError, re);
            expect(() => resolveGlusterArgs("fs", { ...glusterArgs, backupOnCalendar: "hourly\nx" })).to.throw(InvalidArgsError, /backupOnCalendar/);
        });
        it("defaults: daily Galera backup with 60 s binary logs and a 26 h alarm, hourly files with a 2 h alarm, 7 snapshots", () => {
            const g = resolveGaleraClusterArgs("g", galeraArgs).backup;
            expect(g.settings).to.deep.equal({ bucket: "{{backupBucket}}", region: "{{backupRegion}}", binlogIntervalSeconds: 60 });
            expect([g.maxAgeSeconds, g.snapshotRetentionCount, g.retentionDays]).to.deep.equal([26 * 3600, DEFAULT_SNAPSHOT_RETENTION_COUNT, 14]);
            const f = resolveGlusterArgs("fs", glusterArgs).backup;
            expect(f.settings).to.deep.equal({ bucket: "{{backupBucket}}", region: "{{backupRegion}}" });
            expect(f.maxAgeSeconds).to.equal(2 * 3600);
            expect(resolveClusterBackup({ backupOnCalendar: "*-*-* 01:00:00" }, "files").backup.settings.onCalendar).to.equal("*-*-* 01:00:00");
        });
        it("backupS3Endpoint (the lab's S3 stand-in) reaches both tiers' backup settings, and the backup steps as BACKUP_S3_ENDPOINT", async () => {
            const url = "http://198.18.0.1:9000";
            expect(resolveGaleraClusterArgs("g", { ...galeraArgs, backupS3Endpoint: url }).backup.settings.s3Endpoint).to.equal(url);
            expect(resolveGlusterArgs("fs", { ...glusterArgs, backupS3Endpoint: url }).backup.settings.s3Endpoint).to.equal(url);
            const engine = await underMocks(() => new GaleraCluster("db", { ...galeraArgs, backupS3Endpoint: url }));
            const steps = engine.ofType("command:remote:Command").filter((c) => c.name.includes("-backup-"));
            expect(steps).to.have.length(3);
            for (const s of steps) expect(await valueOf(s.inputs.create)).to.contain(`BACKUP_S3_ENDPOINT='${url}'`);
        });

        it("GaleraCluster creates <name>-backups, fills the backup steps' bucket and region, exposes backupBucketName", async () => {
            let cluster!: GaleraCluster;
            const engine = await underMocks(() => (cluster = new GaleraCluster("db", galeraArgs)));
            const buckets = engine.ofType("aws:s3/bucket:Bucket");
            expect(buckets.map((b) => b.name)).to.deep.equal(["db-backups-bucket"]);
            expect(engine.ofType("owncloud-ha:backup:BackupBucket").map((c) => c.name)).to.deep.equal(["db-backups"]);
            expect(await valueOf(cluster.backupBucketName)).to.equal("db-backups-mock");
            const step = engine.byName("db-galera-backup-node2");
            expect(step.inputs.create).to.include("BACKUP_BUCKET='db-backups-mock'");
            expect(step.inputs.create).to.include("BACKUP_REGION='eu-central-1'");
            expect(step.inputs.create).to.include("BACKUP_NODE_ORDER='node3,node2,node1'");
            expect(step.inputs.create).to.include("galera/backup-install.sh");
            // The step waits for the bucket's settings (nothing is written to a bucket without its policy).
            const copy = engine.byName("db-scripts-node2");
            expect(copy.dependencies).to.include.members([engine.byName("db-backups-policy").urn, engine.byName("db-backups-encryption").urn]);
            expect(cluster.metrics.backupMaxAgeSeconds).to.equal(26 * 3600);
        });

        it("an existing bucket: none is created, the role is scoped to it by ARN, KMS actions on the cluster key only", async () => {
            const engine = await underMocks(() => new GaleraCluster("db", { ...galeraArgs, backupBucketName: "corp-backups", kmsKeyId: KEY }));
            expect(engine.ofType("aws:s3/bucket:Bucket")).to.deep.equal([]);
            const [policy] = engine.ofType("aws:iam/rolePolicy:RolePolicy");
            const st = JSON.parse(policy.inputs.policy).Statement;
            expect(st.slice(2)).to.deep.equal([
                { Sid: "BackupObjects", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: "arn:aws:s3:::corp-backups/galera/*" },
                { Sid: "BackupList", Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::corp-backups", Condition: { StringLike: { "s3:prefix": ["galera/*"] } } },
                { Sid: "BackupKms", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: KEY },
            ]);
            expect(engine.byName("db-galera-backup-node1").inputs.create).to.include("BACKUP_BUCKET='corp-backups'");
        });

        for (const [component, build, tier] of [
            ["GaleraCluster", () => new GaleraCluster("db", { ...galeraArgs, snapshotRetentionCount: 5 }), "galera"],
            ["GlusterDisperseVolume", () => new GlusterDisperseVolume("db", { ...glusterArgs, snapshotRetentionCount: 5 }), "gluster"],
        ] as const) {
            it(`${component}: a daily DLM snapshot policy targets exactly its data volumes, keeps the count, runs as a DLM-only role`, async () => {
                const engine = await underMocks(build);
                const [dlm] = engine.ofType("aws:dlm/lifecyclePolicy:LifecyclePolicy");
                expect(dlm.name).to.equal("db-snapshots");
                expect(dlm.inputs.state).to.equal("ENABLED");
                expect(dlm.inputs.description).to.match(/^[0-9A-Za-z _-]+$/);
                const d = dlm.inputs.policyDetails;
                expect(d.resourceTypes).to.deep.equal(["VOLUME"]);
                expect(d.schedules[0].createRule).to.deep.equal({ interval: 24, intervalUnit: "HOURS", times: "03:30" });
                expect(d.schedules[0].retainRule).to.deep.equal({ count: 5 });
                const volumes = engine.ofType("aws:ebs/volume:Volume");
                expect(volumes).to.have.length(3);
                for (const v of volumes) expect(v.inputs.tags).to.include(d.targetTags);
                // Root volumes (instance volumeTags) are not targeted.
                for (const i of engine.ofType("aws:ec2/instance:Instance")) expect(i.inputs.volumeTags[TAG_SNAPSHOT_POLICY]).to.equal(undefined);
                const role = engine.byName("db-snapshots-role");
                expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "dlm.amazonaws.com" });
                expect(engine.byName("db-snapshots-role-policy").inputs.policyArn).to.equal(DLM_SERVICE_POLICY_ARN);
                expect(volumes[0].inputs.tags[TAG_SNAPSHOT_POLICY]).to.equal("db");
                expect(volumes[0].inputs.tags["owncloud-ha:tier"]).to.equal(tier);
            });
        }

        it("GlusterDisperseVolume: backup steps on every node after the verified volume, with the volume name", async () => {
            let vol!: GlusterDisperseVolume;
            const engine = await underMocks(() => (vol = new GlusterDisperseVolume("fs", glusterArgs)));
            for (const n of ["node1", "node2", "node3"]) {
                const step = engine.byName(`fs-gluster-backup-${n}`);
                expect(step.inputs.create).to.include("BACKUP_VOLUME='gfs_v_r5'").and.include("BACKUP_PREFIX='files'").and.include("BACKUP_ON_CALENDAR='hourly'");
                expect(step.dependencies).to.include(engine.byName("fs-gluster-verify-volume").urn);
            }
            expect(await valueOf(vol.backupBucketName)).to.equal("fs-backups-mock");
        });
    });

    for (const [component, build] of [
        ["GaleraCluster", () => new GaleraCluster("db", galeraArgs)],
        ["GlusterDisperseVolume", () => new GlusterDisperseVolume("db", glusterArgs)],
    ] as const) {
        it(`${component}: its nodes may open HTTPS to any IPv4 address, which covers S3's prefix list through the gateway endpoint`, async () => {
            const engine = await underMocks(build);
            const https = engine.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.fromPort <= 443 && r.inputs.toPort >= 443);
            expect(https.map((r) => [r.inputs.ipProtocol, r.inputs.cidrIpv4])).to.deep.include(["tcp", "0.0.0.0/0"]);
        });
    }

    it("the DLM description keeps to the characters the API accepts", () => {
        expect(snapshotPolicyDescription("prod.galera/x")).to.match(/^[0-9A-Za-z _-]+$/);
    });
});
