import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrProblem, cidrsOverlap } from "../shared/cidr";
import { withTags } from "../shared/conventions";
import { ArgProblem, InvalidArgsError, problem, problemBetween } from "../shared/errors";

export interface VpcPeeringArgs {
    /** ID of the requesting VPC (any VPC in this account and region, not only a PeeredVpc). */
    requesterVpcId: pulumi.Input<string>;
    /** IPv4 CIDR of the requesting VPC; the accepter side routes exactly this CIDR to the peering. */
    requesterCidrBlock: string;
    /**
     * Every route table of the requesting VPC that should reach the accepter (usually all of them).
     * Each gets one route for exactly `accepterCidrBlock`. The order must stay stable between
     * deployments: the routes are named by position.
     */
    requesterRouteTableIds: pulumi.Input<string>[];
    /** ID of the accepting VPC, in the same account and region (the peering is auto-accepted). */
    accepterVpcId: pulumi.Input<string>;
    /** IPv4 CIDR of the accepting VPC; must not overlap `requesterCidrBlock`. */
    accepterCidrBlock: string;
    /** Route tables of the accepting VPC that should reach the requester; same rules as the requester's. */
    accepterRouteTableIds: pulumi.Input<string>[];
    /** Tags added to the peering connection. */
    tags?: Record<string, string>;
}

/** Throws one error that names every bad argument; peering overlapping CIDRs cannot route. */
export function validateVpcPeeringArgs(name: string, args: VpcPeeringArgs): void {
    const problems: ArgProblem[] = [];
    const req = cidrProblem(args.requesterCidrBlock);
    const acc = cidrProblem(args.accepterCidrBlock);
    if (req) problems.push(problem("requesterCidrBlock", `${req}`));
    if (acc) problems.push(problem("accepterCidrBlock", `${acc}`));
    if (!req && !acc && cidrsOverlap(args.requesterCidrBlock, args.accepterCidrBlock)) {
        problems.push(
            problemBetween(
                ["requesterCidrBlock", "accepterCidrBlock"],
                (n) =>
                    `${n("requesterCidrBlock")} ${args.requesterCidrBlock} overlaps ${n("accepterCidrBlock")} ${args.accepterCidrBlock}: ` +
                    "AWS cannot route between overlapping VPCs; give one of them a distinct range",
            ),
        );
    }
    if (args.requesterRouteTableIds.length === 0) {
        problems.push(problem("requesterRouteTableIds", "give at least one route table, or the peering carries no traffic"));
    }
    if (args.accepterRouteTableIds.length === 0) {
        problems.push(problem("accepterRouteTableIds", "give at least one route table, or the peering carries no traffic"));
    }
    if (problems.length > 0) {
        throw new InvalidArgsError("VpcPeering", name, problems);
    }
}

/**
 * Peers two VPCs of the same account and region: the connection (auto-accepted, private DNS names
 * resolved across it) and, in every given route table on both sides, one route for exactly the
 * other side's CIDR (Checkov CKV2_AWS_44: never a wider range through a peering). Peering is not
 * transitive: two VPCs peered with a third cannot reach each other through it.
 */
export class VpcPeering extends pulumi.ComponentResource {
    public readonly peeringConnectionId: pulumi.Output<string>;

    constructor(name: string, args: VpcPeeringArgs, opts?: pulumi.ComponentResourceOptions) {
        validateVpcPeeringArgs(name, args);
        super("owncloud-ha:network:VpcPeering", name, {}, opts);

        const connection = new aws.ec2.VpcPeeringConnection(
            `${name}-connection`,
            {
                vpcId: args.requesterVpcId,
                peerVpcId: args.accepterVpcId,
                autoAccept: true,
                requester: { allowRemoteVpcDnsResolution: true },
                accepter: { allowRemoteVpcDnsResolution: true },
                tags: withTags(args.tags, { Name: name }),
            },
            { parent: this },
        );
        this.peeringConnectionId = connection.id;

        const routeSides = [
            { side: "requester", tables: args.requesterRouteTableIds, destination: args.accepterCidrBlock },
            { side: "accepter", tables: args.accepterRouteTableIds, destination: args.requesterCidrBlock },
        ];
        for (const { side, tables, destination } of routeSides) {
            tables.forEach(
                (routeTableId, i) =>
                    new aws.ec2.Route(
                        `${name}-${side}-rt${i}`,
                        { routeTableId, destinationCidrBlock: destination, vpcPeeringConnectionId: connection.id },
                        { parent: connection },
                    ),
            );
        }

        this.registerOutputs({ peeringConnectionId: this.peeringConnectionId });
    }
}
