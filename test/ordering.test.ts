/**
 * Creation order the engine must respect on the first `pulumi up`, read from the recorded
 * dependencies: cross-VPC security-group references wait for the peering, and nothing installs
 * packages on a private host before its VPC has a way out.
 */
import { expect } from "chai";
import { RecordedResource } from "./harness/mocks";
import { BuiltStack, buildStack } from "./harness/stacks";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const RULES = ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"];

/** URNs reachable from `r` through recorded dependencies (explicit and through inputs). */
function dependsOnTransitively(s: BuiltStack, r: RecordedResource): Set<string> {
    const seen = new Set<string>();
    const todo = [r];
    while (todo.length > 0) {
        const cur = todo.pop()!;
        for (const urn of [...cur.dependencies, ...Object.values(cur.propertyDependencies).flat()]) {
            if (seen.has(urn)) continue;
            seen.add(urn);
            const next = s.engine.byUrn(urn);
            if (next) todo.push(next);
        }
    }
    return seen;
}

/** The VPC ID of the security group with this (mock) ID. */
function vpcOfGroup(s: BuiltStack, groupId: string): string {
    const sg = s.engine.ofType(SG).find((g) => `${g.name}-id` === groupId);
    if (!sg) throw new Error(`no security group ${groupId}`);
    return sg.inputs.vpcId;
}

/** Every (resource, own VPC, referenced VPC) where a group or rule names a group of another VPC. */
function crossVpcReferences(s: BuiltStack): { r: RecordedResource; own: string; peer: string }[] {
    const out: { r: RecordedResource; own: string; peer: string }[] = [];
    for (const rule of s.engine.resources.filter((r) => RULES.includes(r.type))) {
        if (!rule.inputs.referencedSecurityGroupId) continue;
        const own = vpcOfGroup(s, rule.inputs.securityGroupId);
        const peer = vpcOfGroup(s, rule.inputs.referencedSecurityGroupId);
        if (own !== peer) out.push({ r: rule, own, peer });
    }
    for (const sg of s.engine.ofType(SG)) {
        for (const block of [...(sg.inputs.ingress ?? []), ...(sg.inputs.egress ?? [])]) {
            for (const ref of block.securityGroups ?? []) {
                const peer = vpcOfGroup(s, ref);
                if (peer !== sg.inputs.vpcId) out.push({ r: sg, own: sg.inputs.vpcId, peer });
            }
        }
    }
    return out;
}

for (const stack of ["dev", "prod"]) {
    describe(`creation order (${stack} stack)`, () => {
        let s: BuiltStack;
        before(async () => {
            s = await buildStack(stack);
        });

        it("every rule or group that names a group in another VPC waits for the peering of those two VPCs", () => {
            const refs = crossVpcReferences(s);
            // Galera (SQL, health, SSH), Gluster (glusterd, bricks, SSH), Redis, and the web tier's egress to each.
            expect(refs.length).to.be.greaterThan(10);
            const peerings = s.engine.ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
            for (const { r, own, peer } of refs) {
                const peering = peerings.find((p) => [p.inputs.vpcId, p.inputs.peerVpcId].sort().join() === [own, peer].sort().join());
                expect(peering, `${r.name}: no peering between ${own} and ${peer}`).to.not.equal(undefined);
                expect(dependsOnTransitively(s, r).has(peering!.urn), `${r.name} must wait for ${peering!.name}`).to.equal(true);
            }
        });

        it("no bootstrap copy or command runs before its VPC's default routes, NAT and its nodes' egress rules exist", () => {
            const remote = [...s.engine.ofType("command:remote:CopyToRemote"), ...s.engine.ofType("command:remote:Command")];
            expect(remote.length).to.be.greaterThan(20);
            for (const tier of ["galera", "gluster"]) {
                const vpc = tier === "galera" ? "db" : "fs";
                const routes = s.engine
                    .ofType("aws:ec2/route:Route")
                    .filter((r) => r.name.startsWith(`${stack}-${vpc}-private-default-`) || r.name === `${stack}-${vpc}-public-default`);
                // Whatever forwards the VPC's egress: NAT gateways, or NAT instances (source/dest check off).
                const nats = [
                    ...s.engine.ofType("aws:ec2/natGateway:NatGateway"),
                    ...s.engine.ofType("aws:ec2/instance:Instance").filter((i) => i.inputs.sourceDestCheck === false),
                ].filter((n) => n.name.startsWith(`${stack}-${vpc}-`));
                const egress = [`${stack}-${tier}-out-https`, `${stack}-${tier}-out-http`].map((n) => s.engine.byName(n));
                expect(routes).to.have.length(4);
                expect(nats.length).to.be.greaterThan(0);
                const steps = remote.filter((r) => r.name.startsWith(`${stack}-${tier}-`));
                expect(steps.length).to.be.greaterThan(5);
                for (const step of steps) {
                    const deps = dependsOnTransitively(s, step);
                    for (const needed of [...routes, ...nats, ...egress]) expect(deps.has(needed.urn), `${step.name} must wait for ${needed.name}`).to.equal(true);
                }
            }
        });

        it("web nodes boot only once the web VPC has its way out", () => {
            const asg = s.engine.ofType("aws:autoscaling/group:Group")[0];
            const deps = dependsOnTransitively(s, asg);
            for (const r of s.engine.ofType("aws:ec2/route:Route").filter((r) => r.name.startsWith(`${stack}-web-private-default-`))) {
                expect(deps.has(r.urn), r.name).to.equal(true);
            }
        });
    });
}
