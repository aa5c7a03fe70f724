import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * One flow a component serves to its clients: the protocol and port range its security group
 * admits from them. The component that serves a flow declares it once and creates both sides.
 */
export interface ClientFlow {
    /** Short role of the flow, part of the rules' names (`mysql`, `bricks`, …). */
    id: string;
    protocol: "tcp" | "udp";
    from: number;
    to: number;
    /** Rule description, as the client sees the flow. */
    description: string;
}

/** JSDoc shared by the components that serve clients by security group. */
export interface ClientFlowArgs {
    /**
     * Add to each of `clientSecurityGroupIds` the egress rules for this component's ports (the
     * other side of the ingress it opens), so a client group needs no rule of its own. Default
     * true; set false when the client groups' egress is managed elsewhere (for instance with inline
     * `egress` blocks, which standalone rules would fight) or is open.
     */
    clientEgress?: boolean;
}

/**
 * The client side of `flows`: on each client security group an egress rule to `serverGroupId`,
 * named `${name}-client<i>-out-<flow>` (as the ingress is `${name}-in-<flow>-client<i>`). Like
 * pulumi-eks's node group, which adds both the node→cluster egress and the cluster's ingress, the
 * owner of a port opens both ends, so a port lives in one place.
 */
export function clientEgressRules(
    name: string,
    clientSecurityGroupIds: pulumi.Input<string>[],
    serverGroupId: pulumi.Input<string>,
    flows: ClientFlow[],
    tags: Record<string, string>,
    opts: { parent: pulumi.Resource; dependsOn?: pulumi.Resource[] },
): aws.vpc.SecurityGroupEgressRule[] {
    return clientSecurityGroupIds.flatMap((client, i) =>
        flows.map(
            (f) =>
                new aws.vpc.SecurityGroupEgressRule(
                    `${name}-client${i}-out-${f.id}`,
                    {
                        securityGroupId: client,
                        referencedSecurityGroupId: serverGroupId,
                        ipProtocol: f.protocol,
                        fromPort: f.from,
                        toPort: f.to,
                        description: f.description,
                        tags,
                    },
                    opts,
                ),
        ),
    );
}
