import { expect } from "chai";
import { TAG_SUBNET_TIER, TAG_TIER } from "../components/shared/conventions";
import { ConfigError } from "../stacks/config";
import { platformTags } from "../stacks/platform";
import { isSecretInput, resolveOutput, valueOf } from "./harness/mocks";
import { BuiltStack, buildStack, lastEngine } from "./harness/stacks";

const CIDRS = { web: "10.0.0.0/16", db: "10.1.0.0/16", fs: "10.2.0.0/16" };

function vpcOfRouteTable(s: BuiltStack, rtUrn: string): string {
    const rt = s.engine.byUrn(rtUrn)!;
    return s.engine.byUrn(rt.propertyDependencies.vpcId[0])!.inputs.cidrBlock;
}

/** Destination CIDRs routed through a peering, grouped by the CIDR of the VPC that owns the table. */
function peeringRoutesByVpc(s: BuiltStack): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of s.engine.ofType("aws:ec2/route:Route")) {
        if (!r.propertyDependencies.vpcPeeringConnectionId?.length) continue;
        const vpc = vpcOfRouteTable(s, r.propertyDependencies.routeTableId[0]);
        out.set(vpc, [...(out.get(vpc) ?? []), r.inputs.destinationCidrBlock]);
    }
    return out;
}

describe("platform (dev and prod from the committed stack files)", function () {
    const stacks: Record<string, BuiltStack> = {};
    before(async () => {
        stacks.dev = await buildStack("dev");
        stacks.prod = await buildStack("prod");
    });

    for (const name of ["dev", "prod"]) {
        describe(name, () => {
            it("builds three VPCs with the documented CIDRs across three AZs", () => {
                const s = stacks[name];
                const vpcs = s.engine.ofType("aws:ec2/vpc:Vpc").map((v) => v.inputs.cidrBlock).sort();
                expect(vpcs).to.deep.equal(Object.values(CIDRS));
                for (const cidr of Object.values(CIDRS)) {
                    const subnets = s.engine
                        .ofType("aws:ec2/subnet:Subnet")
                        .filter((sn) => s.engine.byUrn(sn.propertyDependencies.vpcId[0])!.inputs.cidrBlock === cidr);
                    const azs = new Set(subnets.map((sn) => sn.inputs.availabilityZone));
                    expect([...azs].sort()).to.deep.equal(["eu-central-1a", "eu-central-1b", "eu-central-1c"]);
                    expect(subnets.filter((sn) => sn.inputs.tags[TAG_SUBNET_TIER] === "private")).to.have.length(3);
                }
            });

            it("peers web with db and with fs, never db with fs", () => {
                const conns = stacks[name].engine.ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
                const pairs = conns.map((c) =>
                    [c.propertyDependencies.vpcId[0], c.propertyDependencies.peerVpcId[0]]
                        .map((u) => stacks[name].engine.byUrn(u)!.inputs.cidrBlock)
                        .sort()
                        .join(" <-> "),
                );
                expect(pairs.sort()).to.deep.equal([`${CIDRS.web} <-> ${CIDRS.db}`, `${CIDRS.web} <-> ${CIDRS.fs}`]);
            });

            it("routes exactly the peer CIDR from every route table, and db and fs have no route to each other", () => {
                const s = stacks[name];
                const routes = peeringRoutesByVpc(s);
                const tablesIn = (cidr: string) =>
                    s.engine.ofType("aws:ec2/routeTable:RouteTable").filter((t) => s.engine.byUrn(t.propertyDependencies.vpcId[0])!.inputs.cidrBlock === cidr).length;
                // every table of web has one route to db and one to fs; every table of db/fs one route to web
                expect([...(routes.get(CIDRS.web) ?? [])].sort()).to.deep.equal(
                    [...Array(tablesIn(CIDRS.web)).fill(CIDRS.db), ...Array(tablesIn(CIDRS.web)).fill(CIDRS.fs)].sort(),
                );
                expect(routes.get(CIDRS.db)).to.deep.equal(Array(tablesIn(CIDRS.db)).fill(CIDRS.web));
                expect(routes.get(CIDRS.fs)).to.deep.equal(Array(tablesIn(CIDRS.fs)).fill(CIDRS.web));
                for (const r of s.engine.ofType("aws:ec2/route:Route")) {
                    const own = vpcOfRouteTable(s, r.propertyDependencies.routeTableId[0]);
                    if (own === CIDRS.db) expect(r.inputs.destinationCidrBlock).to.not.equal(CIDRS.fs);
                    if (own === CIDRS.fs) expect(r.inputs.destinationCidrBlock).to.not.equal(CIDRS.db);
                }
            });

            it("has one flow log and one closed default SG per VPC", () => {
                const s = stacks[name];
                expect(s.engine.ofType("aws:ec2/flowLog:FlowLog")).to.have.length(3);
                const retention = s.engine
                    .ofType("aws:cloudwatch/logGroup:LogGroup")
                    .filter((g) => g.inputs.namePrefix.includes("vpc-flow-logs"))
                    .map((g) => g.inputs.retentionInDays);
                expect(retention).to.deep.equal(Array(3).fill(s.config.flowLogRetentionDays));
                for (const sg of s.engine.ofType("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")) {
                    expect(sg.inputs.ingress ?? []).to.deep.equal([]);
                    expect(sg.inputs.egress ?? []).to.deep.equal([]);
                }
            });

            it("puts one bastion in a public subnet of the web VPC, SSH from the admin CIDRs only", () => {
                const s = stacks[name];
                const [instance] = s.engine.ofType("aws:ec2/instance:Instance").filter((i) => i.inputs.tags[TAG_TIER] === "bastion");
                const subnet = s.engine.byUrn(instance.propertyDependencies.subnetId[0])!;
                expect(subnet.inputs.tags[TAG_SUBNET_TIER]).to.equal("public");
                expect(s.engine.byUrn(subnet.propertyDependencies.vpcId[0])!.inputs.cidrBlock).to.equal(CIDRS.web);
                const sg = s.engine.byName(`${name}-bastion-sg`);
                expect(sg.inputs.ingress.map((r: any) => r.cidrBlocks)).to.deep.equal([s.config.adminCidrs]);
                expect(sg.inputs.egress.find((r: any) => r.fromPort === 22).cidrBlocks).to.deep.equal(Object.values(CIDRS));
            });

            it("tags every taggable resource with Project, Environment and ManagedBy", () => {
                const s = stacks[name];
                for (const r of s.engine.resources.filter((x) => x.custom && x.inputs.tags !== undefined)) {
                    // Auto Scaling groups take tags as a list of {key, value, propagateAtLaunch}.
                    const tags = Array.isArray(r.inputs.tags) ? Object.fromEntries(r.inputs.tags.map((t: any) => [t.key, t.value])) : r.inputs.tags;
                    expect(tags, r.name).to.include(platformTags(name));
                }
                const untaggable = new Set([
                    "aws:ec2/route:Route",
                    "aws:ec2/routeTableAssociation:RouteTableAssociation",
                    "aws:iam/rolePolicy:RolePolicy",
                    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    "tls:index/privateKey:PrivateKey",
                    "random:index/randomPassword:RandomPassword",
                    "aws:secretsmanager/secretVersion:SecretVersion",
                    "aws:ec2/volumeAttachment:VolumeAttachment",
                    "command:remote:Command",
                    "command:remote:CopyToRemote",
                    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                    "aws:s3/bucketVersioning:BucketVersioning",
                    "aws:s3/bucketPolicy:BucketPolicy",
                    "aws:autoscaling/policy:Policy",
                    "aws:cloudwatch/dashboard:Dashboard",
                    "aws:kms/keyPolicy:KeyPolicy",
                ]);
                for (const r of s.engine.resources.filter((x) => x.custom && !untaggable.has(x.type))) {
                    expect(r.inputs.tags, `${r.type} ${r.name}`).to.not.equal(undefined);
                }
            });

            it("uses every resource name once", () => {
                expect(stacks[name].engine.duplicateUrns()).to.deep.equal([]);
                expect(stacks[name].engine.duplicateNames()).to.deep.equal([]);
            });

            it("exports IDs, the bastion address, an SSH hint, and the key only as a secret", async () => {
                const out = stacks[name].platform.outputs;
                expect(Object.keys(out).sort()).to.deep.equal(
                    [
                        "availabilityZones",
                        "bastionPrivateKey",
                        "bastionPublicIp",
                        "bastionSshCommand",
                        "subnetIds",
                        "vpcIds",
                        "webSecurityGroupId",
                        "galeraWriterOrder",
                        "galeraSecretArn",
                        "glusterMountSource",
                        "glusterBackupVolfileServers",
                        "galeraBackupBucketName",
                        "glusterBackupBucketName",
                        "redisEndpoint",
                        "redisPort",
                        "redisAuthSecretArn",
                        "siteUrl",
                        "albDnsName",
                        "ownCloudAdminSecretArn",
                        "dashboardUrl",
                        "alarmTopicArn",
                        "operations",
                    ].sort(),
                );
                expect(out.galeraWriterOrder).to.deep.equal(["10.1.0.10", "10.1.16.10", "10.1.32.10"]);
                expect(out.glusterMountSource).to.equal("10.2.0.10:/gfs_v_r5");
                for (const [k, v] of Object.entries(out)) {
                    if (k !== "bastionPrivateKey") expect((await resolveOutput(v as any)).secret, k).to.equal(false);
                }
                expect((await resolveOutput(out.bastionPrivateKey as any)).secret).to.equal(true);
                const hint = await resolveOutput(out.bastionSshCommand as any);
                expect(hint.secret).to.equal(false);
                // The bastion's Elastic IP (mock 192.0.2.20), which survives replacing the instance.
                expect(hint.value).to.match(/ssh -i bastion\.key admin@192\.0\.2\.20$/);
                const subnetIds = out.subnetIds as Record<string, { public: unknown[]; private: unknown[] }>;
                for (const t of ["web", "db", "fs"]) expect(subnetIds[t].private).to.have.length(3);
            });

            it("sends secrets only where they belong: stdin of bootstrap steps, Secrets Manager, the Redis AUTH token", () => {
                const allowed = new Set([
                    "command:remote:Command.stdin",
                    "command:remote:Command.connection",
                    "command:remote:CopyToRemote.connection",
                    "aws:secretsmanager/secretVersion:SecretVersion.secretString", "aws:elasticache/replicationGroup:ReplicationGroup.authToken"]);
                let seen = 0;
                for (const r of stacks[name].engine.resources) {
                    for (const [prop, value] of Object.entries(r.inputs)) {
                        const leaks = JSON.stringify(value ?? null).includes("MOCKSECRET") || JSON.stringify(value ?? null).includes("PRIVATE KEY");
                        if (isSecretInput(r, prop)) {
                            seen++;
                            expect(allowed.has(`${r.type}.${prop}`), `${r.name}.${prop} is secret`).to.equal(true);
                        } else {
                            expect(leaks, `${r.name}.${prop} carries a secret in plain text`).to.equal(false);
                        }
                    }
                }
                expect(seen).to.be.greaterThan(3);
            });
        });
    }

    it("both stacks egress through one NAT instance per AZ in every VPC, each private table routed to its own AZ's instance", () => {
        for (const s of ["dev", "prod"]) {
            const e = stacks[s].engine;
            expect(e.ofType("aws:ec2/natGateway:NatGateway"), s).to.have.length(0);
            const nats = e.ofType("aws:ec2/instance:Instance").filter((r) => r.inputs.sourceDestCheck === false);
            expect(nats.map((r) => r.name).sort(), s).to.deep.equal(
                ["web", "db", "fs"].flatMap((t) => ["a", "b", "c"].map((z) => `${s}-${t}-nat-instance-eu-central-1${z}`)).sort(),
            );
            for (const vm of nats) {
                const az = vm.name.slice(-1);
                const tier = vm.name.split("-")[1];
                const route = e.byName(`${s}-${tier}-private-default-eu-central-1${az}`)!;
                expect(route.dependencies.filter((u) => u.includes("aws:ec2/instance:Instance")), route.name).to.deep.equal([vm.urn]);
                expect(vm.inputs.instanceType).to.equal("t4g.nano");
            }
        }
    });

    it("dev and prod differ only where their stack files differ", () => {
        const shape = (s: BuiltStack) =>
            s.engine.resources
                // ALB access logs (prod) are the intended difference.
                .filter((r) => !r.name.includes("-alb-logs"))
                // Prod serves HTTPS (its stack file gives a certificate); dev serves HTTP under its exemption.
                .filter((r) => !r.name.endsWith("-owncloud-https"))
                // One set of Redis alarms per cache node: dev has 2 nodes, prod 3.
                .filter((r) => !/-ops-redis\d+-/.test(r.name))
                .map((r) => `${r.type} ${r.name.replace(/^(dev|prod)-/, "")}`)
                .sort();
        expect(shape(stacks.dev)).to.deep.equal(shape(stacks.prod));
    });

    it("honours natStrategy none: no NAT and no default route in private tables", async () => {
        const s = await buildStack("dev", { "owncloud-ha:natStrategy": "none" });
        expect(s.engine.ofType("aws:ec2/natGateway:NatGateway")).to.have.length(0);
        expect(s.engine.ofType("aws:ec2/route:Route").filter((r) => r.name.includes("-private-default-"))).to.have.length(0);
    });

    it("spreads a 2-AZ tier over the first two zones only", async () => {
        const s = await buildStack("dev", { "owncloud-ha:fsAzCount": 2 });
        const fsSubnets = s.engine.ofType("aws:ec2/subnet:Subnet").filter((sn) => sn.name.startsWith("dev-fs-"));
        expect(new Set(fsSubnets.map((sn) => sn.inputs.availabilityZone))).to.deep.equal(new Set(["eu-central-1a", "eu-central-1b"]));
    });

    for (const [setting, value, message] of [
        ["galeraNodeCount", 4, /owncloud-ha:galeraNodeCount \(GaleraCluster nodeCount: 4 is even/],
        ["glusterRedundancy", 2, /owncloud-ha:glusterNodeCount 3 with owncloud-ha:glusterRedundancy 2: a disperse volume needs more than 2 × redundancy/],
        ["redisReplicasPerShard", 6, /owncloud-ha:redisReplicasPerShard \(RedisCluster replicasPerShard: 6 is outside 0–5/],
        ["redisNodeType", "cache.m3.medium", /owncloud-ha:redisNodeType \(RedisCluster nodeType: cache\.m3\.medium is a previous-generation type/],
        ["dbAzCount", 2, /owncloud-ha:dbAzCount \(GaleraCluster subnetIds: 2 subnet\(s\) for 3 nodes puts a majority in one AZ/],
        ["galeraBackupSchedule", "", /owncloud-ha:galeraBackupSchedule \(GaleraCluster backupOnCalendar: "" must be a non-empty systemd OnCalendar/],
        ["filesBackupSchedule", "hourly\nExecStart=/bin/true", /owncloud-ha:filesBackupSchedule \(GlusterDisperseVolume backupOnCalendar:/],
        ["galeraBinlogIntervalSeconds", 5, /owncloud-ha:galeraBinlogIntervalSeconds \(GaleraCluster binlogIntervalSeconds: 5 must be/],
        ["backupRetentionDays", 1, /owncloud-ha:backupRetentionDays \(GaleraCluster backupRetentionDays: 1 must be/],
        ["snapshotRetentionCount", 0, /owncloud-ha:snapshotRetentionCount \(GaleraCluster snapshotRetentionCount: 0 must be/],
        ["owncloudImage", "owncloud/server:11.0", /owncloud-ha:owncloudImage \(OwnCloudWebTier owncloudImage: "owncloud\/server:11\.0" is not a pinned owncloud\/server version.*set owncloudImage to owncloud\/server:11\.0\.0\)/],
    ] as const) {
        it(`refuses ${setting}=${value} naming the setting, before registering any resource`, async () => {
            let caught: unknown;
            let registered = -1;
            try {
                await buildStack("dev", { [`owncloud-ha:${setting}`]: value });
            } catch (e) {
                caught = e;
            }
            expect(caught, "expected a ConfigError").to.be.instanceOf(ConfigError);
            expect((caught as Error).message).to.match(message);
            await lastEngine().settle();
            registered = lastEngine().resources.length;
            expect(registered).to.equal(0);
        });
    }

    it("passes the backup settings from config to both clusters and exports their buckets", async () => {
        const s = await buildStack("dev", {
            "owncloud-ha:backupRetentionDays": 30,
            "owncloud-ha:snapshotRetentionCount": 3,
            "owncloud-ha:galeraBackupSchedule": "*-*-* 04:15:00",
            "owncloud-ha:galeraBinlogIntervalSeconds": 30,
            "owncloud-ha:filesBackupSchedule": "*:0/30",
        });
        const e = s.engine;
        for (const c of ["dev-galera", "dev-gluster"]) {
            expect(e.byName(`${c}-backups-lifecycle`).inputs.rules[0].expiration).to.deep.equal({ days: 30 });
            expect(e.byName(`${c}-snapshots`).inputs.policyDetails.schedules[0].retainRule).to.deep.equal({ count: 3 });
        }
        const galera = e.byName("dev-galera-galera-backup-node1").inputs.create;
        expect(galera).to.include("BACKUP_ON_CALENDAR='*-*-* 04:15:00'").and.include("BACKUP_BINLOG_INTERVAL_S='30'");
        expect(e.byName("dev-gluster-gluster-backup-node1").inputs.create).to.include("BACKUP_ON_CALENDAR='*:0/30'");
        expect(await valueOf(s.platform.outputs.galeraBackupBucketName as never)).to.equal("dev-galera-backups-mock");
        expect(await valueOf(s.platform.outputs.glusterBackupBucketName as never)).to.equal("dev-gluster-backups-mock");
        // Both clusters' backup-age alarms exist, fed by the components' thresholds.
        expect(e.byName("dev-ops-galera-backup-age").inputs.threshold).to.equal(26 * 3600);
        expect(e.byName("dev-ops-gluster-backup-age").inputs.threshold).to.equal(2 * 3600);
    });

    it("starts web nodes only after Galera and the Gluster volume are verified", () => {
        const e = stacks.dev.engine;
        const asg = e.byName("dev-owncloud-asg");
        const deps = asg.dependencies.map((u) => e.byUrn(u)?.name);
        expect(deps).to.include.members(["dev-galera-galera-verify-node1", "dev-galera-galera-verify-node3", "dev-gluster-gluster-verify-volume"]);
    });

    it("deploys seed 002's Redis layout (3 shards x 2 replicas, cluster mode) by config alone", async () => {
        const s = await buildStack("prod", { "owncloud-ha:redisShards": 3, "owncloud-ha:redisReplicasPerShard": 2 });
        const [g] = s.engine.ofType("aws:elasticache/replicationGroup:ReplicationGroup");
        expect(g.inputs).to.deep.include({ clusterMode: "enabled", numNodeGroups: 3, replicasPerNodeGroup: 2 });
        // ...and the web nodes configure ownCloud for a cluster (OWNCLOUD_REDIS_SEEDS), not a single host.
        const [lt] = s.engine.ofType("aws:ec2/launchTemplate:LaunchTemplate");
        expect(Buffer.from(lt.inputs.userData, "base64").toString()).to.match(/^export REDIS_CLUSTER_MODE='enabled'$/m);
    });

    it("wires the web nodes' group to each data tier on exactly its ports, and nothing else", () => {
        const s = stacks.dev;
        const name = (urn: string | undefined) => (urn ? s.engine.byUrn(urn)!.name : "");
        const web = s.engine.byName("dev-web-nodes-sg");
        const egress = s.engine
            .ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
            .filter((r) => r.propertyDependencies.securityGroupId?.[0] === web.urn && r.inputs.referencedSecurityGroupId !== undefined)
            .map((r) => `${name(r.propertyDependencies.referencedSecurityGroupId?.[0])} ${r.inputs.fromPort}-${r.inputs.toPort}`);
        expect(egress.sort()).to.deep.equal(
            ["dev-galera-sg 3306-3306", "dev-galera-sg 9200-9200", "dev-galera-sg 9201-9201", "dev-galera-sg 9202-9202", "dev-gluster-sg 24007-24008", "dev-gluster-sg 49152-49161", "dev-redis-sg 6379-6379"].sort(),
        );
        const fromWeb = s.engine
            .resources.filter((r) => r.type.startsWith("aws:vpc/securityGroupIngressRule") || r.type === "aws:ec2/securityGroup:SecurityGroup")
            .flatMap((r) =>
                r.type === "aws:ec2/securityGroup:SecurityGroup"
                    ? (r.inputs.ingress ?? []).filter(() => (r.propertyDependencies.ingress ?? []).includes(web.urn)).map((i: any) => `${r.name} ${i.fromPort}-${i.toPort}`)
                    : r.propertyDependencies.referencedSecurityGroupId?.[0] === web.urn
                      ? [`${name(r.propertyDependencies.securityGroupId[0])} ${r.inputs.fromPort}-${r.inputs.toPort}`]
                      : [],
            );
        expect(fromWeb.sort()).to.deep.equal(
            ["dev-galera-sg 3306-3306", "dev-galera-sg 9200-9200", "dev-galera-sg 9201-9201", "dev-galera-sg 9202-9202", "dev-gluster-sg 24007-24008", "dev-gluster-sg 49152-49161", "dev-redis-sg 6379-6379"].sort(),
        );
    });

    it("the web nodes' egress rules the data tiers now create keep their former URNs through aliases (children of the web nodes' group, dev-web-to-*-out)", () => {
        const s = stacks.dev;
        const web = s.engine.byName("dev-web-nodes-sg");
        const [prefix, , webType] = [web.urn.split("::").slice(0, 2).join("::"), "", web.urn.split("::")[2]];
        const moved = s.engine
            .ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
            .filter((r) => r.propertyDependencies.securityGroupId?.[0] === web.urn && r.inputs.referencedSecurityGroupId !== undefined);
        const aliases = moved.map((r) => `${r.name} <- ${(r.aliases ?? []).join(" ")}`);
        const former = (n: string) => `${prefix}::${webType}$aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::dev-web-to-${n}-out`;
        expect(aliases.sort()).to.deep.equal(
            [
                `dev-galera-client0-out-mysql <- ${former("galera-sql")}`,
                `dev-galera-client0-out-health <- ${former("galera-health")}`,
                `dev-redis-client0-out-redis <- ${former("redis")}`,
                `dev-gluster-client0-out-glusterd <- ${former("glusterd")}`,
                `dev-gluster-client0-out-bricks <- ${former("gluster-bricks")}`,
                // New with the Donor and designated-writer health answers: nothing to keep.
                "dev-galera-client0-out-health-donor <- ",
                "dev-galera-client0-out-writer <- ",
            ].sort(),
        );
        // Each still waits for the peering to its tier's VPC, as before.
        for (const r of moved) expect(r.dependencies.some((d) => /VpcPeeringConnection::dev-web-(db|fs)-connection$/.test(d)), r.name).to.equal(true);
    });

    it("rejects a bad stack file before creating anything", async () => {
        let caught: unknown;
        try {
            await buildStack("dev", { "owncloud-ha:adminCidrs": ["0.0.0.0/0"] });
        } catch (e) {
            caught = e;
        }
        expect(caught).to.be.instanceOf(ConfigError);
        expect((caught as Error).message).to.match(/owncloud-ha:adminCidrs \(Bastion adminCidrs: 0\.0\.0\.0\/0 would open SSH/);
    });
});
