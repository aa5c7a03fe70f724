import { expect } from "chai";
import { PeeredVpc } from "../components/network/peeredVpc";
import { VpcPeering, VpcPeeringArgs, validateVpcPeeringArgs } from "../components/network/vpcPeering";
import { InvalidArgsError } from "../components/shared/errors";
import { underMocks } from "./harness/mocks";

const AZS = ["eu-central-1a", "eu-central-1b"];
const args: VpcPeeringArgs = {
    requesterVpcId: "vpc-a",
    requesterCidrBlock: "10.0.0.0/16",
    requesterRouteTableIds: ["rtb-a1"],
    accepterVpcId: "vpc-b",
    accepterCidrBlock: "10.1.0.0/16",
    accepterRouteTableIds: ["rtb-b1"],
};

describe("VpcPeering", () => {
    describe("validateVpcPeeringArgs (no mocks)", () => {
        it("accepts disjoint CIDRs", () => expect(() => validateVpcPeeringArgs("p", args)).to.not.throw());
        it("refuses overlapping CIDRs and says why", () =>
            expect(() => validateVpcPeeringArgs("p", { ...args, accepterCidrBlock: "10.0.128.0/17" })).to.throw(
                InvalidArgsError,
                /overlaps accepterCidrBlock 10\.0\.128\.0\/17: AWS cannot route between overlapping VPCs/,
            ));
        it("refuses a malformed CIDR by name", () =>
            expect(() => validateVpcPeeringArgs("p", { ...args, requesterCidrBlock: "10.0.0.0/40" })).to.throw(/requesterCidrBlock:/));
        it("refuses a side without route tables", () =>
            expect(() => validateVpcPeeringArgs("p", { ...args, accepterRouteTableIds: [] })).to.throw(/accepterRouteTableIds: give at least one/));
    });

    it("peers two PeeredVpcs: auto-accepted, DNS across, one route per table for exactly the peer CIDR", async () => {
        const engine = await underMocks(() => {
            const a = new PeeredVpc("a", { cidrBlock: "10.0.0.0/16", availabilityZones: AZS, natStrategy: "onePerAz" });
            const b = new PeeredVpc("b", { cidrBlock: "10.1.0.0/16", availabilityZones: AZS, natStrategy: "none" });
            new VpcPeering("a-b", {
                requesterVpcId: a.vpcId,
                requesterCidrBlock: a.cidrBlock,
                requesterRouteTableIds: a.routeTableIds,
                accepterVpcId: b.vpcId,
                accepterCidrBlock: b.cidrBlock,
                accepterRouteTableIds: b.routeTableIds,
            });
        });
        const [conn] = engine.ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
        expect(conn.inputs.autoAccept).to.equal(true);
        expect(conn.inputs.requester.allowRemoteVpcDnsResolution).to.equal(true);
        expect(conn.inputs.accepter.allowRemoteVpcDnsResolution).to.equal(true);
        expect(engine.byUrn(conn.propertyDependencies.vpcId[0])!.name).to.equal("a-vpc");
        expect(engine.byUrn(conn.propertyDependencies.peerVpcId[0])!.name).to.equal("b-vpc");

        const peeringRoutes = engine.ofType("aws:ec2/route:Route").filter((r) => r.propertyDependencies.vpcPeeringConnectionId?.length);
        for (const [vpc, peerCidr] of [["a", "10.1.0.0/16"], ["b", "10.0.0.0/16"]]) {
            const tables = engine.ofType("aws:ec2/routeTable:RouteTable").filter((t) => t.name.startsWith(`${vpc}-`));
            expect(tables).to.have.length(3); // public + one private per AZ
            for (const table of tables) {
                const routes = peeringRoutes.filter((r) => r.propertyDependencies.routeTableId[0] === table.urn);
                expect(routes, table.name).to.have.length(1);
                expect(routes[0].inputs.destinationCidrBlock, table.name).to.equal(peerCidr);
            }
        }
        expect(peeringRoutes).to.have.length(6);
        expect(engine.duplicateNames()).to.deep.equal([]);
    });
});
