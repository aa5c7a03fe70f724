import { expect } from "chai";
import { RedisCluster, RedisClusterArgs, resolveRedisClusterArgs } from "../components/cache/redisCluster";
import { InvalidArgsError } from "../components/shared/errors";
import { isSecretInput, resolveOutput, underMocks } from "./harness/mocks";

const args: RedisClusterArgs = {
    vpcId: "vpc-db",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    clientSecurityGroupIds: ["sg-web"],
};

describe("RedisCluster", () => {
    describe("resolveRedisClusterArgs (no mocks)", () => {
        it("defaults to cluster mode disabled, 1 primary + 1 replica with failover, t4g.micro, 1 day of snapshots", () => {
            const r = resolveRedisClusterArgs("r", args);
            expect(r).to.deep.include({
                shards: 1,
                replicasPerShard: 1,
                clusterMode: false,
                automaticFailover: true,
                nodeType: "cache.t4g.micro",
                snapshotRetentionDays: 1,
            });
        });
        it("switches to cluster mode for more than one shard", () => {
            expect(resolveRedisClusterArgs("r", { ...args, shards: 3, replicasPerShard: 2 }).clusterMode).to.equal(true);
        });
        it("turns failover off without replicas in cluster-mode-disabled", () => {
            expect(resolveRedisClusterArgs("r", { ...args, replicasPerShard: 0 }).automaticFailover).to.equal(false);
        });
        const bad: [string, Partial<RedisClusterArgs>, RegExp][] = [
            ["0 shards", { shards: 0 }, /shards: 0 is outside 1–500/],
            ["501 shards", { shards: 501 }, /shards: 501 is outside 1–500/],
            ["6 replicas", { replicasPerShard: 6 }, /replicasPerShard: 6 is outside 0–5/],
            ["negative replicas", { replicasPerShard: -1 }, /replicasPerShard: -1 is outside 0–5/],
            ["cluster mode without replicas", { shards: 3, replicasPerShard: 0 }, /needs at least 1 replica per shard/],
            ["a previous-generation node type", { nodeType: "cache.m3.medium" }, /previous-generation type/],
            ["a malformed node type", { nodeType: "t4g.micro" }, /not an ElastiCache node type/],
            ["replicas in a single subnet", { subnetIds: ["subnet-a"] }, /at least 2 availability zones/],
            ["no subnets", { subnetIds: [] }, /subnetIds: give at least one/],
            ["snapshots kept too long", { snapshotRetentionDays: 36 }, /outside 0–35/],
            ["a world-open client CIDR", { clientCidrs: ["0.0.0.0/0"] }, /would expose Redis to every address/],
            ["no clients at all", { clientSecurityGroupIds: [] }, /nothing can reach the cache/],
            ["an invalid secret recovery window", { secretRecoveryWindowDays: 3 }, /0 or 7–30/],
            ["an unknown engine", { engine: "memcached" as never }, /engine: "memcached" is not one of redis, valkey/],
        ];
        for (const [what, over, message] of bad) {
            it(`refuses ${what}`, () => expect(() => resolveRedisClusterArgs("r", { ...args, ...over })).to.throw(InvalidArgsError, message));
        }
    });

    describe("under mocks", () => {
        let redis: RedisCluster;
        const build = (over: Partial<RedisClusterArgs> = {}) =>
            underMocks(() => {
                redis = new RedisCluster("cache", { ...args, ...over });
            });

        it("cluster mode disabled: 1 node group, replicas, Multi-AZ failover, TLS, at-rest encryption, AUTH, snapshots", async () => {
            const engine = await build({ replicasPerShard: 2 });
            const [g] = engine.ofType("aws:elasticache/replicationGroup:ReplicationGroup");
            expect(g.inputs).to.deep.include({
                clusterMode: "disabled",
                parameterGroupName: "default.redis7",
                numNodeGroups: 1,
                replicasPerNodeGroup: 2,
                automaticFailoverEnabled: true,
                multiAzEnabled: true,
                transitEncryptionEnabled: true,
                atRestEncryptionEnabled: true,
                autoMinorVersionUpgrade: true,
                snapshotRetentionLimit: 1,
                port: 6379,
            });
            expect(g.inputs.authToken).to.equal("MOCKSECRET-cache-auth-token");
            expect(isSecretInput(g, "authToken")).to.equal(true);
            expect((await resolveOutput(redis.endpoint)).value).to.equal("master.cache-group.mock.cache.amazonaws.com");
        });

        it("cluster mode enabled (seed 002: 3 shards × 2 replicas) uses the configuration endpoint", async () => {
            const engine = await build({ shards: 3, replicasPerShard: 2 });
            const [g] = engine.ofType("aws:elasticache/replicationGroup:ReplicationGroup");
            expect(g.inputs).to.deep.include({
                clusterMode: "enabled",
                parameterGroupName: "default.redis7.cluster.on",
                numNodeGroups: 3,
                replicasPerNodeGroup: 2,
                automaticFailoverEnabled: true,
            });
            expect((await resolveOutput(redis.endpoint)).value).to.equal("clustercfg.cache-group.mock.cache.amazonaws.com");
        });

        it("engine valkey: the valkey engine, its version and parameter group family, with the same TLS, AUTH and failover", async () => {
            const engine = await build({ engine: "valkey" });
            const [g] = engine.ofType("aws:elasticache/replicationGroup:ReplicationGroup");
            expect(g.inputs).to.deep.include({
                engine: "valkey",
                engineVersion: "8.0",
                parameterGroupName: "default.valkey8",
                transitEncryptionEnabled: true,
                atRestEncryptionEnabled: true,
                automaticFailoverEnabled: true,
                multiAzEnabled: true,
            });
            expect(isSecretInput(g, "authToken")).to.equal(true);
            const [def] = (await build()).ofType("aws:elasticache/replicationGroup:ReplicationGroup");
            expect(def.inputs).to.deep.include({ engine: "redis", engineVersion: "7.1" });
        });

        it("uses its own subnet group, never the default", async () => {
            const engine = await build();
            const [g] = engine.ofType("aws:elasticache/replicationGroup:ReplicationGroup");
            const subnetGroup = engine.byUrn(g.propertyDependencies.subnetGroupName[0])!;
            expect(subnetGroup.type).to.equal("aws:elasticache/subnetGroup:SubnetGroup");
            expect(subnetGroup.inputs.subnetIds).to.deep.equal(args.subnetIds);
            expect(g.inputs.subnetGroupName).to.not.equal("default");
        });

        it("opens 6379 to the client security groups and CIDRs only, with no egress", async () => {
            const engine = await build({ clientCidrs: ["10.0.0.0/16"] });
            const [sg] = engine.ofType("aws:ec2/securityGroup:SecurityGroup");
            expect(sg.inputs.ingress).to.have.length(2);
            for (const rule of sg.inputs.ingress) expect([rule.protocol, rule.fromPort, rule.toPort]).to.deep.equal(["tcp", 6379, 6379]);
            expect(sg.inputs.ingress[0].securityGroups).to.deep.equal(["sg-web"]);
            expect(sg.inputs.ingress[1].cidrBlocks).to.deep.equal(["10.0.0.0/16"]);
            expect(sg.inputs.egress).to.deep.equal([]);
        });

        it("opens the clients' side too: an egress rule on each client group to its own group on exactly its client ports, unless clientEgress is false", async () => {
            const engine = await build();
            const own = engine.ofType("aws:ec2/securityGroup:SecurityGroup")[0].urn;
            const out = engine
                .ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                .filter((r) => r.inputs.securityGroupId === "sg-web")
                .map((r) => `${r.name} ${r.inputs.ipProtocol}/${r.inputs.fromPort}-${r.inputs.toPort} to ${r.propertyDependencies.referencedSecurityGroupId?.[0] === own ? "own" : "?"}`);
            expect(out.sort()).to.deep.equal(["cache-client0-out-redis tcp/6379-6379 to own"].sort());
            const off = await build({ clientEgress: false });
            expect(off.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === "sg-web")).to.deep.equal([]);
        });

        it("stores the token in Secrets Manager as a secret, and nowhere in plain text", async () => {
            const engine = await build();
            const [version] = engine.ofType("aws:secretsmanager/secretVersion:SecretVersion");
            expect(isSecretInput(version, "secretString")).to.equal(true);
            expect(JSON.parse(version.inputs.secretString)).to.deep.equal({ authToken: "MOCKSECRET-cache-auth-token" });
            for (const r of engine.resources) {
                for (const [prop, value] of Object.entries(r.inputs)) {
                    if (JSON.stringify(value).includes("MOCKSECRET")) expect(isSecretInput(r, prop), `${r.name}.${prop}`).to.equal(true);
                }
            }
            expect((await resolveOutput(redis.authSecretArn)).secret).to.equal(false);
        });
    });
});
