import { expect } from "chai";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { GaleraCluster } from "../components/database/galeraCluster";
import { underMocks } from "./harness/mocks";

/**
 * Many Pulumi users build VPCs with awsx. Our components take plain IDs and CIDRs, so they drop
 * into an awsx.ec2.Vpc they did not build (awsx v3 is a remote component: under mocks it is a
 * single resource with invented outputs, which is what makes it a good test of "plain inputs").
 */
describe("components inside an awsx.ec2.Vpc", () => {
    it("runs a GaleraCluster in the awsx VPC's private subnets at addresses inside the awsx subnet CIDRs", async () => {
        const privateCidrs = ["10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"];
        const engine = await underMocks(() => {
            const vpc = new awsx.ec2.Vpc("shared", {
                cidrBlock: "10.20.0.0/16",
                availabilityZoneNames: ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
                subnetSpecs: [
                    { type: awsx.ec2.SubnetType.Private, cidrBlocks: privateCidrs },
                    { type: awsx.ec2.SubnetType.Public, cidrBlocks: ["10.20.96.0/24", "10.20.97.0/24", "10.20.98.0/24"] },
                ],
            });
            new GaleraCluster("orders-db", {
                vpcId: vpc.vpcId,
                subnetIds: [0, 1, 2].map((i) => vpc.privateSubnetIds.apply((ids) => ids[i])),
                subnetCidrs: privateCidrs,
                clientCidrs: ["10.20.0.0/16"],
                clientSecurityGroupIds: ["sg-app"],
                bastion: { host: "203.0.113.5", securityGroupId: "sg-jump", keyPairName: "ops", privateKey: pulumi.secret("KEY") },
            });
        });
        const instances = engine.ofType("aws:ec2/instance:Instance");
        expect(instances.map((i) => i.inputs.subnetId)).to.deep.equal(["shared-private-0", "shared-private-1", "shared-private-2"]);
        expect(instances.map((i) => i.inputs.privateIp)).to.deep.equal(["10.20.0.10", "10.20.32.10", "10.20.64.10"]);
        const [sg] = engine.ofType("aws:ec2/securityGroup:SecurityGroup");
        expect(sg.inputs.vpcId).to.equal("shared-vpc-id");
        expect(engine.ofType("awsx:ec2:Vpc")).to.have.length(1);
        expect(engine.ofType("command:remote:Command").length).to.be.greaterThan(10);
    });
});
