import { expect } from "chai";
import {
    DEFAULT_GALERA_APP_DATABASE,
    DEFAULT_GALERA_APP_USER,
    DEFAULT_GALERA_SYNC_TIMEOUT_S,
    GALERA_SECRETS,
    galeraPlan,
    galeraRollingRestartPlan,
} from "../components/database/plan";
import { TAG_TIER } from "../components/shared/conventions";
import { InvalidArgsError } from "../components/shared/errors";
import { GaleraCluster, GaleraClusterArgs, galeraCloudPlan, resolveGaleraClusterArgs } from "../components/database/galeraCluster";
import { isSecretInput, MockEngine, RecordedResource, resolveOutput, underMocks } from "./harness/mocks";

const bastion = { host: "192.0.2.10", securityGroupId: "sg-bastion", keyPairName: "kp", privateKey: "KEY" };
const args: GaleraClusterArgs = {
    vpcId: "vpc-db",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    subnetCidrs: ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"],
    clientSecurityGroupIds: ["sg-web"],
    clientCidrs: ["10.0.0.0/16"],
    bastion,
};

function ingress(engine: MockEngine): RecordedResource[] {
    return engine.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
}

describe("GaleraCluster", () => {
    describe("resolveGaleraClusterArgs (no mocks)", () => {
        it("defaults to 3 nodes at the 10th address of each AZ's subnet, t3.small, 20 GiB data", () => {
            const r = resolveGaleraClusterArgs("g", args);
            expect(r.addresses).to.deep.equal(["10.1.0.10", "10.1.16.10", "10.1.32.10"]);
            expect([r.nodeCount, r.instanceType, r.dataVolumeSizeGb, r.clusterName]).to.deep.equal([3, "t3.small", 20, "owncloud"]);
            expect(r.appHosts).to.equal("10.0.%");
        });
        it("places 5 nodes round-robin over 3 subnets", () => {
            expect(resolveGaleraClusterArgs("g", { ...args, nodeCount: 5 }).addresses).to.deep.equal([
                "10.1.0.10",
                "10.1.16.10",
                "10.1.32.10",
                "10.1.0.11",
                "10.1.16.11",
            ]);
        });
        const bad: [string, Partial<GaleraClusterArgs>, RegExp][] = [
            ["an even node count", { nodeCount: 4 }, /nodeCount: 4 is even.*use an odd count/],
            ["fewer than 3 nodes", { nodeCount: 1 }, /nodeCount: 1 nodes cannot keep quorum/],
            ["fewer subnets than needed", { subnetIds: ["subnet-a"], subnetCidrs: ["10.1.0.0/20"] }, /puts a majority in one AZ/],
            ["no addresses", { subnetCidrs: undefined }, /subnetCidrs\/privateIps: give/],
            ["CIDRs not matching subnets", { subnetCidrs: ["10.1.0.0/20"] }, /subnetCidrs: 1 CIDRs for 3 subnetIds/],
            ["a private IP outside its subnet", { privateIps: ["10.1.0.10", "10.1.0.11", "10.1.32.10"] }, /node 2 \(10\.1\.0\.11\) .* is not inside it/],
            ["a world-open client CIDR", { clientCidrs: ["0.0.0.0/0"] }, /would let every address try the database/],
            ["no client CIDR", { clientCidrs: [] }, /clientCidrs: give the CIDR/],
            ["a bad database name", { appDatabase: "own-cloud" }, /appDatabase: "own-cloud"/],
        ];
        for (const [what, over, message] of bad) {
            it(`refuses ${what}`, () => expect(() => resolveGaleraClusterArgs("g", { ...args, ...over })).to.throw(InvalidArgsError, message));
        }
    });

    describe("defaults shared by the component and the bootstrap plan", () => {
        const nodes = ["10.1.0.10", "10.1.16.10", "10.1.32.10"].map((address, i) => ({ name: `node${i + 1}`, address }));
        const timeouts = (steps: { env: Record<string, string> }[]) => [...new Set(steps.filter((st) => st.env.GALERA_SYNC_TIMEOUT).map((st) => st.env.GALERA_SYNC_TIMEOUT))];
        it("waits the same time for Synced whether the plan is built by the component or on its own (lab, tools)", () => {
            const resolved = resolveGaleraClusterArgs("g", args);
            expect(resolved.syncTimeoutSeconds).to.equal(DEFAULT_GALERA_SYNC_TIMEOUT_S);
            const standalone = galeraPlan({ clusterName: "c", nodes, appHosts: "10.0.%" });
            expect(timeouts(standalone.steps)).to.deep.equal([String(DEFAULT_GALERA_SYNC_TIMEOUT_S)]);
            expect(timeouts(galeraRollingRestartPlan({ clusterName: "c", nodes, appHosts: "10.0.%" }).steps)).to.deep.equal([String(DEFAULT_GALERA_SYNC_TIMEOUT_S)]);
            expect(timeouts(galeraCloudPlan(resolved).steps)).to.deep.equal(timeouts(standalone.steps));
        });
        it("creates the same application user and database by default in both layers", () => {
            const resolved = resolveGaleraClusterArgs("g", args);
            expect([resolved.appUser, resolved.appDatabase]).to.deep.equal([DEFAULT_GALERA_APP_USER, DEFAULT_GALERA_APP_DATABASE]);
            const users = galeraPlan({ clusterName: "c", nodes, appHosts: "10.0.%" }).steps.find((st) => st.id === "galera-users")!;
            expect([users.env.GALERA_APP_USER, users.env.GALERA_APP_DATABASE]).to.deep.equal([resolved.appUser, resolved.appDatabase]);
        });
    });

    describe("galeraCloudPlan (no mocks)", () => {
        const plan = galeraCloudPlan(resolveGaleraClusterArgs("g", args));
        const byId = Object.fromEntries(plan.steps.map((s) => [s.id, s]));
        it("mounts the data volume before MariaDB is installed on each node", () => {
            for (const n of ["node1", "node2", "node3"]) {
                expect(byId[`galera-install-${n}`].dependsOn).to.include(`galera-datadir-${n}`);
                expect(byId[`galera-datadir-${n}`].env).to.deep.equal({ DATA_DEVICE: "{{dataDevice}}", DATA_MOUNT: "/var/lib/mysql" });
            }
        });
        it("bootstraps node1, then joins node2 and node3 one at a time, then verifies everywhere", () => {
            expect(byId["galera-bootstrap-node1"].env.GALERA_MODE).to.equal("bootstrap");
            expect(byId["galera-join-node2"].dependsOn).to.include("galera-users");
            expect(byId["galera-join-node3"].dependsOn).to.include("galera-join-node2");
            for (const n of ["node1", "node2", "node3"]) expect(byId[`galera-verify-${n}`].dependsOn).to.include("galera-join-node3");
        });
    });

    describe("under mocks", () => {
        let cluster: GaleraCluster;
        const build = (over: Partial<GaleraClusterArgs> = {}) =>
            underMocks(() => {
                cluster = new GaleraCluster("db", { ...args, ...over });
            });

        it("spreads private, IMDSv2-only nodes with encrypted root and data volumes over the AZ subnets at fixed addresses", async () => {
            const engine = await build();
            const instances = engine.ofType("aws:ec2/instance:Instance");
            expect(instances.map((i) => [i.inputs.subnetId, i.inputs.privateIp])).to.deep.equal([
                ["subnet-a", "10.1.0.10"],
                ["subnet-b", "10.1.16.10"],
                ["subnet-c", "10.1.32.10"],
            ]);
            for (const i of instances) {
                expect(i.inputs.associatePublicIpAddress, i.name).to.equal(false);
                expect(i.inputs.metadataOptions).to.deep.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
                expect(i.inputs.rootBlockDevice).to.deep.include({ encrypted: true, volumeType: "gp3" });
                expect(i.inputs.tags[TAG_TIER]).to.equal("galera");
                expect(i.inputs.userData ?? "").to.equal("");
            }
            const volumes = engine.ofType("aws:ebs/volume:Volume");
            expect(volumes).to.have.length(3);
            for (const v of volumes) expect(v.inputs).to.deep.include({ encrypted: true, type: "gp3", size: 20 });
            const attachments = engine.ofType("aws:ec2/volumeAttachment:VolumeAttachment");
            expect(attachments.map((a) => engine.byUrn(a.propertyDependencies.instanceId[0])!.name).sort()).to.deep.equal(["db-node1", "db-node2", "db-node3"]);
            expect(cluster.writerOrder).to.deep.equal(["10.1.0.10", "10.1.16.10", "10.1.32.10"]);
        });

        it("opens exactly: 3306 and the health answers 9200/9201/9202 from clients, 4567 tcp+udp/4568/4444 from itself, 22 from the bastion", async () => {
            const engine = await build();
            const sgUrn = engine.ofType("aws:ec2/securityGroup:SecurityGroup")[0].urn;
            const rules = ingress(engine).map((r) => {
                const self = r.propertyDependencies.referencedSecurityGroupId?.[0] === sgUrn;
                return `${r.inputs.ipProtocol}/${r.inputs.fromPort}-${r.inputs.toPort} from ${self ? "self" : r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4}`;
            });
            expect(rules.sort()).to.deep.equal(
                [
                    "tcp/3306-3306 from sg-web",
                    "tcp/9200-9200 from sg-web",
                    "tcp/9201-9201 from sg-web",
                    "tcp/9202-9202 from sg-web",
                    "tcp/4567-4567 from self",
                    "udp/4567-4567 from self",
                    "tcp/4568-4568 from self",
                    "tcp/4444-4444 from self",
                    "tcp/22-22 from sg-bastion",
                ].sort(),
            );
            for (const r of ingress(engine)) expect(r.inputs.cidrIpv4 ?? "").to.not.equal("0.0.0.0/0");
        });

        it("opens the clients' side too: an egress rule on each client group to its own group on exactly its client ports, unless clientEgress is false", async () => {
            const engine = await build();
            const own = engine.ofType("aws:ec2/securityGroup:SecurityGroup")[0].urn;
            const out = engine
                .ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                .filter((r) => r.inputs.securityGroupId === "sg-web")
                .map((r) => `${r.name} ${r.inputs.ipProtocol}/${r.inputs.fromPort}-${r.inputs.toPort} to ${r.propertyDependencies.referencedSecurityGroupId?.[0] === own ? "own" : "?"}`);
            expect(out.sort()).to.deep.equal(["db-client0-out-mysql tcp/3306-3306 to own", "db-client0-out-health tcp/9200-9200 to own", "db-client0-out-health-donor tcp/9201-9201 to own", "db-client0-out-writer tcp/9202-9202 to own"].sort());
            const off = await build({ clientEgress: false });
            expect(off.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === "sg-web")).to.deep.equal([]);
        });

        it("falls back to the client CIDR for 3306 and the health answers only when no client SG is given", async () => {
            const engine = await build({ clientSecurityGroupIds: [] });
            const fromCidr = ingress(engine).filter((r) => r.inputs.cidrIpv4);
            expect(fromCidr.map((r) => [r.inputs.fromPort, r.inputs.cidrIpv4]).sort()).to.deep.equal([
                [3306, "10.0.0.0/16"],
                [9200, "10.0.0.0/16"],
                [9201, "10.0.0.0/16"],
                [9202, "10.0.0.0/16"],
            ]);
        });

        it("keeps passwords secret: in Secrets Manager and on stdin, never in a command string or user data", async () => {
            const engine = await build();
            const version = engine.byName("db-credentials-value");
            expect(isSecretInput(version, "secretString")).to.equal(true);
            expect(Object.keys(JSON.parse(version.inputs.secretString)).sort()).to.deep.equal(
                ["appDatabase", "appPassword", "appUser", "healthPassword", "rootPassword", "sstPassword"].sort(),
            );
            const commands = engine.ofType("command:remote:Command");
            expect(commands.length).to.be.greaterThan(0);
            for (const r of engine.resources) {
                for (const [prop, value] of Object.entries(r.inputs)) {
                    if (JSON.stringify(value).includes("MOCKSECRET")) {
                        expect(isSecretInput(r, prop), `${r.name}.${prop} carries a password`).to.equal(true);
                        expect(["stdin", "secretString", "result"]).to.include(prop);
                    }
                }
            }
            const users = engine.byName("db-galera-users");
            expect(users.inputs.stdin).to.match(new RegExp(`^${GALERA_SECRETS.root}=MOCKSECRET-db-root-password\\n`));
            expect(users.inputs.logging).to.equal("none");
            expect(users.inputs.addPreviousOutputInEnv).to.equal(false);
            expect(engine.byName("db-galera-join-node2").inputs.stdin).to.equal(undefined);
        });

        it("gives the application its own secret with exactly appUser, appPassword, appDatabase", async () => {
            let cluster: GaleraCluster | undefined;
            const engine = await underMocks(() => (cluster = new GaleraCluster("db", { ...args, appUser: "oc", appDatabase: "ocdb" })));
            const version = engine.byName("db-app-credentials-value");
            expect(isSecretInput(version, "secretString")).to.equal(true);
            expect(JSON.parse(version.inputs.secretString)).to.deep.equal({ appUser: "oc", appPassword: "MOCKSECRET-db-app-password", appDatabase: "ocdb" });
            const appSecret = engine.byName("db-app-credentials");
            expect(version.propertyDependencies.secretId).to.deep.equal([appSecret.urn]);
            expect((await resolveOutput(cluster!.appSecretArn)).value).to.equal(`arn:aws:mock:eu-central-1:123456789012:aws:secretsmanager/secret:Secret/db-app-credentials`);
            expect((await resolveOutput(cluster!.secretArn)).value).to.not.equal((await resolveOutput(cluster!.appSecretArn)).value);
        });

        it("lets the nodes read only this cluster's secret", async () => {
            const engine = await build();
            const [policy] = engine.ofType("aws:iam/rolePolicy:RolePolicy");
            const doc = JSON.parse(policy.inputs.policy);
            // Its secret, publishing its metrics into our namespace only (PutMetricData has no
            // resource-level permissions), and its own prefix of the backup bucket (statements 2, 3).
            expect(doc.Statement).to.have.length(4);
            expect(doc.Statement[0].Action).to.deep.equal(["secretsmanager:GetSecretValue"]);
            expect(doc.Statement[0].Resource).to.deep.equal(["arn:aws:mock:eu-central-1:123456789012:aws:secretsmanager/secret:Secret/db-credentials"]);
            expect(doc.Statement[1]).to.deep.equal({
                Sid: "PublishNodeMetrics",
                Effect: "Allow",
                Action: ["cloudwatch:PutMetricData"],
                Resource: "*",
                Condition: { StringEquals: { "cloudwatch:namespace": "OwncloudHA" } },
            });
            const bucket = "arn:aws:mock:eu-central-1:123456789012:aws:s3/bucket:Bucket/db-backups-bucket";
            expect(doc.Statement.slice(2)).to.deep.equal([
                { Sid: "BackupObjects", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${bucket}/galera/*` },
                { Sid: "BackupList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket, Condition: { StringLike: { "s3:prefix": ["galera/*"] } } },
            ]);
        });

        it("orders the bootstrap commands as the plan says, through the bastion", async () => {
            const engine = await build();
            const deps = (name: string) => engine.byName(name).dependencies.map((u) => engine.byUrn(u)!.name);
            expect(deps("db-galera-install-node1")).to.include.members(["db-scripts-node1", "db-galera-datadir-node1"]);
            expect(deps("db-galera-join-node2")).to.include("db-galera-users");
            expect(deps("db-galera-join-node3")).to.include("db-galera-join-node2");
            expect(deps("db-galera-verify-node1")).to.include("db-galera-join-node3");
            expect(deps("db-scripts-node1")).to.include.members(["db-node1", "db-node1-data-attach"]);
            const join = engine.byName("db-galera-join-node2");
            expect(join.inputs.connection).to.deep.include({ host: "10.1.16.10", user: "admin" });
            expect(join.inputs.connection.proxy.host).to.equal("192.0.2.10");
            expect(join.inputs.create).to.match(/^sudo -n env .*GALERA_MODE='join'.* bash '\/home\/admin\/owncloud-ha\/scripts\/galera\/start\.sh'$/);
            const datadir = engine.byName("db-galera-datadir-node1");
            expect(datadir.inputs.create).to.contain("DATA_DEVICE='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_db");
        });

        it("re-runs a node's steps when that node is replaced (its instance ID is a trigger)", async () => {
            const engine = await build();
            const [trigger, instanceId] = engine.byName("db-galera-join-node2").inputs.triggers;
            expect(trigger).to.match(/^[0-9a-f]{64}$/);
            expect(instanceId).to.equal("db-node2-id");
        });

        it("exposes port, secret ARN and SG as outputs", async () => {
            await build();
            expect(cluster.port).to.equal(3306);
            expect((await resolveOutput(cluster.secretArn)).value).to.match(/db-credentials$/);
            expect((await resolveOutput(cluster.securityGroupId)).value).to.equal("db-sg-id");
        });
    });
});
