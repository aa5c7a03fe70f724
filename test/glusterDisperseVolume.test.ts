import { expect } from "chai";
import { TAG_TIER } from "../components/shared/conventions";
import { InvalidArgsError } from "../components/shared/errors";
import { GlusterDisperseVolume, GlusterDisperseVolumeArgs, resolveGlusterArgs } from "../components/storage/glusterDisperseVolume";
import { underMocks } from "./harness/mocks";
import { putNodeMetricsStatement } from "../components/shared/nodeMetrics";

const bastion = { host: "192.0.2.10", securityGroupId: "sg-bastion", keyPairName: "kp", privateKey: "KEY" };
const args: GlusterDisperseVolumeArgs = {
    vpcId: "vpc-fs",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    subnetCidrs: ["10.2.0.0/20", "10.2.16.0/20", "10.2.32.0/20"],
    clientSecurityGroupIds: ["sg-web"],
    clientCidrs: ["10.0.0.0/16"],
    bastion,
};

describe("GlusterDisperseVolume", () => {
    describe("resolveGlusterArgs (no mocks)", () => {
        it("defaults to seed 000's gfs_v_r5: disperse 3 redundancy 1, 20 GiB bricks, bounded ports, 10 s ping-timeout", () => {
            const r = resolveGlusterArgs("fs", args);
            expect(r.volumeName).to.equal("gfs_v_r5");
            expect(r.settings).to.deep.include({ disperse: 3, redundancy: 1, pingTimeoutSeconds: 10, basePort: 49152, maxPort: 49161 });
            expect(r.addresses).to.deep.equal(["10.2.0.10", "10.2.16.10", "10.2.32.10"]);
            expect(r.brickVolumeSizeGb).to.equal(20);
        });
        const bad: [string, Partial<GlusterDisperseVolumeArgs>, RegExp][] = [
            ["redundancy too high for the node count", { redundancy: 2 }, /nodeCount 3 with redundancy 2: a disperse volume needs more than 2 × redundancy bricks \(at least 5\): GlusterFS requires N > 2R/],
            ["a non-optimal layout without consent", { nodeCount: 4, subnetIds: ["a", "b", "c", "d"], subnetCidrs: ["10.2.0.0/20", "10.2.16.0/20", "10.2.32.0/20", "10.2.48.0/20"] }, /not one of GlusterFS's optimal combinations.*allowNonOptimal/],
            ["fewer than 3 nodes", { nodeCount: 2 }, /nodeCount: 2; a disperse volume needs at least 3 nodes/],
            ["a brick port range overlapping glusterd", { brickPortFrom: 24000, brickPortTo: 24010 }, /brickPortFrom\/brickPortTo: brick port range 24000-24010 overlaps glusterd/],
            ["no client CIDRs", { clientCidrs: [] }, /clientCidrs: give the clients' CIDRs/],
            ["an overly broad client CIDR", { clientCidrs: ["0.0.0.0/0"] }, /broader than \/8/],
            ["no addresses", { subnetCidrs: undefined }, /subnetCidrs\/privateIps/],
        ];
        for (const [what, over, message] of bad) {
            it(`refuses ${what}`, () => expect(() => resolveGlusterArgs("fs", { ...args, ...over })).to.throw(InvalidArgsError, message));
        }
        it("accepts a non-optimal layout when asked, with a warning", () => {
            const r = resolveGlusterArgs("fs", {
                ...args,
                nodeCount: 4,
                allowNonOptimal: true,
                subnetIds: ["a", "b", "c", "d"],
                subnetCidrs: ["10.2.0.0/20", "10.2.16.0/20", "10.2.32.0/20", "10.2.48.0/20"],
            });
            expect(r.warnings.join()).to.match(/not one of GlusterFS's optimal combinations/);
        });
    });

    describe("under mocks", () => {
        let volume: GlusterDisperseVolume;
        const build = (over: Partial<GlusterDisperseVolumeArgs> = {}) =>
            underMocks(() => {
                volume = new GlusterDisperseVolume("fs", { ...args, ...over });
            });

        it("opens the clients' side too: an egress rule on each client group to its own group on exactly its client ports, unless clientEgress is false", async () => {
            const engine = await build();
            const own = engine.ofType("aws:ec2/securityGroup:SecurityGroup")[0].urn;
            const out = engine
                .ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                .filter((r) => r.inputs.securityGroupId === "sg-web")
                .map((r) => `${r.name} ${r.inputs.ipProtocol}/${r.inputs.fromPort}-${r.inputs.toPort} to ${r.propertyDependencies.referencedSecurityGroupId?.[0] === own ? "own" : "?"}`);
            expect(out.sort()).to.deep.equal(["fs-client0-out-glusterd tcp/24007-24008 to own", "fs-client0-out-bricks tcp/49152-49161 to own"].sort());
            const off = await build({ clientEgress: false });
            expect(off.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === "sg-web")).to.deep.equal([]);
        });

        it("lets the nodes publish their metrics into our namespace and use their prefix of the backup bucket, nothing else", async () => {
            const engine = await build();
            const [policy] = engine.ofType("aws:iam/rolePolicy:RolePolicy");
            const bucket = "arn:aws:mock:eu-central-1:123456789012:aws:s3/bucket:Bucket/fs-backups-bucket";
            expect(JSON.parse(policy.inputs.policy).Statement).to.deep.equal([
                putNodeMetricsStatement(),
                { Sid: "BackupObjects", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${bucket}/files/*` },
                { Sid: "BackupList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket, Condition: { StringLike: { "s3:prefix": ["files/*"] } } },
            ]);
            expect(volume.metrics).to.deep.equal({ cluster: "fs", nodes: ["node1", "node2", "node3"], backupMaxAgeSeconds: 2 * 3600 });
        });

        it("creates one private node with one encrypted brick volume per AZ", async () => {
            const engine = await build();
            const instances = engine.ofType("aws:ec2/instance:Instance");
            expect(instances.map((i) => i.inputs.subnetId)).to.deep.equal(["subnet-a", "subnet-b", "subnet-c"]);
            for (const i of instances) {
                expect(i.inputs.associatePublicIpAddress).to.equal(false);
                expect(i.inputs.metadataOptions.httpTokens).to.equal("required");
                expect(i.inputs.tags[TAG_TIER]).to.equal("gluster");
            }
            expect(engine.ofType("aws:ebs/volume:Volume").map((v) => [v.inputs.encrypted, v.inputs.size])).to.deep.equal(Array(3).fill([true, 20]));
        });

        it("opens glusterd and exactly the brick range to clients and peers, and 22 to the bastion only", async () => {
            const engine = await build({ brickPortFrom: 49200, brickPortTo: 49209 });
            const sgUrn = engine.ofType("aws:ec2/securityGroup:SecurityGroup")[0].urn;
            const rules = engine.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => {
                const self = r.propertyDependencies.referencedSecurityGroupId?.[0] === sgUrn;
                return `${r.inputs.ipProtocol}/${r.inputs.fromPort}-${r.inputs.toPort} from ${self ? "self" : r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4}`;
            });
            expect(rules.sort()).to.deep.equal(
                ["tcp/24007-24008 from sg-web", "tcp/24007-24008 from self", "tcp/49200-49209 from sg-web", "tcp/49200-49209 from self", "tcp/22-22 from sg-bastion"].sort(),
            );
        });

        it("creates the volume only after every node has its brick and glusterd, then verifies", async () => {
            const engine = await build();
            const deps = (name: string) => engine.byName(name).dependencies.map((u) => engine.byUrn(u)!.name);
            expect(deps("fs-gluster-create-volume")).to.include.members(["fs-gluster-glusterd-node1", "fs-gluster-glusterd-node2", "fs-gluster-glusterd-node3"]);
            expect(deps("fs-gluster-verify-volume")).to.include("fs-gluster-create-volume");
            for (const n of ["node1", "node2", "node3"]) expect(deps(`fs-gluster-glusterd-${n}`)).to.include(`fs-gluster-brick-${n}`);
            const create = engine.byName("fs-gluster-create-volume").inputs.create as string;
            expect(create).to.contain("GLUSTER_DISPERSE='3'");
            expect(create).to.contain("GLUSTER_REDUNDANCY='1'");
            expect(create).to.match(/GLUSTER_AUTH_ALLOW='10\.0\.\*,(10\.2\.\d+\.10,){2}10\.2\.\d+\.10'/);
            expect(create).to.contain("GLUSTER_BRICKS='10.2.0.10:/data/glusterfs/gfs_v_r5/brick_a/brick");
            expect(engine.byName("fs-gluster-brick-node2").inputs.create).to.contain("BRICK_DEVICE='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_fs");
        });

        it("tells clients where to mount and which servers back the volfile", async () => {
            await build();
            expect(volume.mountSource).to.equal("10.2.0.10:/gfs_v_r5");
            expect(volume.backupVolfileServers).to.deep.equal(["10.2.16.10", "10.2.32.10"]);
        });
    });
});
