/**
 * What happens to nodes across later `pulumi up`s: an AMI release never replaces a data node, a
 * replaced node frees its fixed address first and keeps its data volume, a replaced bastion re-runs
 * no cluster step, and only hosts that run the SSM agent get its policy.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { TAG_PUBLIC_EXEMPTION } from "../components/shared/conventions";
import { BuiltStack, buildStack } from "./harness/stacks";

const INSTANCE = "aws:ec2/instance:Instance";

describe("node lifecycle (dev stack)", () => {
    let s: BuiltStack;
    before(async () => {
        s = await buildStack("dev");
    });

    describe("AMI releases and replacements of fixed-address nodes", () => {
        const dataNodes = () => s.engine.ofType(INSTANCE).filter((i) => i.inputs.privateIp !== undefined);

        it("never replaces a Galera or GlusterFS node because the AMI lookup answers a newer image", () => {
            const nodes = dataNodes();
            expect(nodes.map((n) => n.name).sort()).to.deep.equal(
                ["dev-galera-node1", "dev-galera-node2", "dev-galera-node3", "dev-gluster-node1", "dev-gluster-node2", "dev-gluster-node3"],
            );
            for (const n of nodes) expect(n.ignoreChanges, n.name).to.include("ami");
        });

        it("deletes a fixed-address node before creating its replacement (AWS refuses a second instance at the address)", () => {
            for (const n of dataNodes()) expect(n.deleteBeforeReplace, n.name).to.equal(true);
        });

        it("takes each data volume's zone from the subnet, so replacing the node cannot cascade into replacing its data", () => {
            const volumes = s.engine.ofType("aws:ebs/volume:Volume");
            expect(volumes).to.have.length(6);
            const instances = new Set(s.engine.ofType(INSTANCE).map((i) => i.urn));
            for (const v of volumes) {
                expect(v.inputs.availabilityZone, v.name).to.match(/^eu-central-1[abc]$/);
                const fromInstance = Object.values(v.propertyDependencies).flat().filter((u) => instances.has(u));
                expect(fromInstance, v.name).to.deep.equal([]);
            }
            // Each volume sits in its node's subnet's zone.
            for (const n of dataNodes()) {
                const subnet = s.engine.resources.find((r) => r.type === "aws:ec2/subnet:Subnet" && `${r.name}-id` === n.inputs.subnetId)!;
                expect(s.engine.byName(`${n.name}-data`).inputs.availabilityZone).to.equal(subnet.inputs.availabilityZone);
            }
        });
    });

    describe("replacing the bastion", () => {
        it("reaches the bastion at an Elastic IP it owns, tagged as the public-IP exemption", () => {
            const [eip] = s.engine.ofType("aws:ec2/eip:Eip").filter((e) => e.name === "dev-bastion-eip");
            expect(eip.propertyDependencies.instance).to.deep.equal([s.engine.byName("dev-bastion-instance").urn]);
            // EC2 associates an address only in a VPC with an internet gateway.
            expect(eip.dependencies).to.include(s.engine.byName("dev-web-igw").urn);
            expect(eip.inputs.tags[TAG_PUBLIC_EXEMPTION]).to.be.a("string").and.not.equal("");
        });

        it("changes no bootstrap command's or copy's connection: none depends on the bastion instance, all on its Elastic IP", () => {
            const bastionInstance = s.engine.byName("dev-bastion-instance").urn;
            const eip = s.engine.byName("dev-bastion-eip").urn;
            const remote = [...s.engine.ofType("command:remote:Command"), ...s.engine.ofType("command:remote:CopyToRemote")];
            expect(remote.length).to.be.greaterThan(20);
            for (const r of remote) {
                const deps = r.propertyDependencies.connection ?? [];
                expect(deps, r.name).to.include(eip);
                expect(deps, r.name).to.not.include(bastionInstance);
                expect(r.inputs.connection.proxy.host, r.name).to.equal("192.0.2.20");
            }
        });
    });

    describe("SSM Session Manager", () => {
        it("attaches the SSM core policy only to the bastion, the one host that installs the agent", () => {
            const ssm = s.engine
                .ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                .filter((a) => a.inputs.policyArn === "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
            expect(ssm.map((a) => s.engine.byUrn(a.propertyDependencies.role[0])!.name)).to.deep.equal(["dev-bastion-role"]);
            const userData = fs.readFileSync(path.resolve(__dirname, "..", "scripts", "node", "bastion", "user-data.sh"), "utf8");
            expect(userData).to.match(/dpkg -i .*\n[\s\S]*systemctl enable --now amazon-ssm-agent/);
            expect(s.engine.byName("dev-bastion-instance").inputs.userData).to.equal(userData);
        });
    });
});
