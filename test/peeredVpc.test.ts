import { expect } from "chai";
import { ipv6Subnet64, natLayout, PeeredVpc, PeeredVpcArgs, resolvePeeredVpcArgs } from "../components/network/peeredVpc";
import { TAG_SUBNET_TIER } from "../components/shared/conventions";
import { InvalidArgsError } from "../components/shared/errors";
import { MockEngine, RecordedResource, underMocks } from "./harness/mocks";
import { evaluate } from "../policy/evaluate";
import { toEvalResources } from "../scripts/plan/report";

/** A registered resource's name (the SDK keeps it on the resource object). */
const pulumiName = (r: unknown): string => (r as { __name: string }).__name;

const AZS = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
const base: PeeredVpcArgs = { cidrBlock: "10.1.0.0/16", availabilityZones: AZS };

const T = {
    subnet: "aws:ec2/subnet:Subnet",
    rt: "aws:ec2/routeTable:RouteTable",
    route: "aws:ec2/route:Route",
    assoc: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    nat: "aws:ec2/natGateway:NatGateway",
    eip: "aws:ec2/eip:Eip",
    igw: "aws:ec2/internetGateway:InternetGateway",
    defaultSg: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    flowLog: "aws:ec2/flowLog:FlowLog",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

/** The resource whose URN a property of `r` depends on (mocks give IDs; dependencies say which resource). */
function dependencyOf(engine: MockEngine, r: RecordedResource, prop: string): RecordedResource {
    const urns = r.propertyDependencies[prop] ?? [];
    expect(urns, `${r.name}.${prop}`).to.have.length(1);
    return engine.byUrn(urns[0])!;
}

async function build(args: Partial<PeeredVpcArgs> = {}): Promise<MockEngine> {
    return underMocks(() => new PeeredVpc("db", { ...base, ...args }));
}

describe("PeeredVpc", () => {
    describe("resolvePeeredVpcArgs (no mocks)", () => {
        it("fills defaults: single NAT, 365-day flow logs, /20 private and /24 public in a /16", () => {
            const r = resolvePeeredVpcArgs("db", base);
            expect(r.natStrategy).to.equal("single");
            expect(r.flowLogRetentionDays).to.equal(365);
            expect(r.flowLogTrafficType).to.equal("ALL");
            expect(r.subnets.privateCidrs).to.deep.equal(["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"]);
            expect(r.subnets.publicCidrs).to.deep.equal(["10.1.48.0/24", "10.1.49.0/24", "10.1.50.0/24"]);
        });

        const bad: [string, Partial<PeeredVpcArgs>, RegExp][] = [
            ["a malformed CIDR", { cidrBlock: "10.1.0.0" }, /cidrBlock: .*not IPv4 CIDR notation/],
            ["a VPC wider than /16", { cidrBlock: "10.0.0.0/12" }, /cidrBlock: AWS VPCs are \/16 to \/28/],
            ["no zones", { availabilityZones: [] }, /availabilityZones: give at least one/],
            ["duplicate zones", { availabilityZones: ["eu-central-1a", "eu-central-1a"] }, /availabilityZones: duplicates/],
            ["an unknown NAT strategy", { natStrategy: "perSubnet" as never }, /natStrategy: "perSubnet" is not one of/],
            ["an invalid retention", { flowLogRetentionDays: 2 }, /flowLogRetentionDays: 2 is not a CloudWatch Logs retention value/],
            ["an invalid traffic type", { flowLogTrafficType: "SOME" }, /flowLogTrafficType/],
            ["subnets that do not fit", { privateSubnetPrefixLength: 17 }, /need \d+ addresses/],
        ];
        for (const [what, args, message] of bad) {
            it(`refuses ${what}`, () => {
                expect(() => resolvePeeredVpcArgs("db", { ...base, ...args }))
                    .to.throw(InvalidArgsError, message)
                    .with.property("message")
                    .that.matches(/^PeeredVpc "db": /);
            });
        }

        it("refuses before creating anything", async () => {
            const engine = await underMocks(() => {
                try {
                    new PeeredVpc("db", { ...base, cidrBlock: "nope" });
                } catch {
                    /* expected */
                }
            });
            expect(engine.resources).to.have.length(0);
        });

        it("lays NAT out per strategy", () => {
            expect(natLayout("none", 3)).to.deep.equal({ natAzIndexes: [], routeVia: [undefined, undefined, undefined] });
            expect(natLayout("single", 3)).to.deep.equal({ natAzIndexes: [0], routeVia: [0, 0, 0] });
            expect(natLayout("onePerAz", 3)).to.deep.equal({ natAzIndexes: [0, 1, 2], routeVia: [0, 1, 2] });
        });
    });

    describe("under mocks", () => {
        it("creates one public and one private subnet per AZ with the planned CIDRs, none auto-assigning public IPs", async () => {
            const engine = await build();
            const subnets = engine.ofType(T.subnet);
            expect(subnets).to.have.length(6);
            for (const [i, az] of AZS.entries()) {
                const pub = engine.byName(`db-public-${az}`);
                const priv = engine.byName(`db-private-${az}`);
                expect(pub.inputs.availabilityZone).to.equal(az);
                expect(priv.inputs.availabilityZone).to.equal(az);
                expect(pub.inputs.cidrBlock).to.equal(`10.1.${48 + i}.0/24`);
                expect(priv.inputs.cidrBlock).to.equal(`10.1.${16 * i}.0/20`);
                expect(pub.inputs.tags[TAG_SUBNET_TIER]).to.equal("public");
                expect(priv.inputs.tags[TAG_SUBNET_TIER]).to.equal("private");
            }
            for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch, s.name).to.equal(false);
        });

        it("enables DNS support and hostnames on the VPC (needed for DNS across peering)", async () => {
            const vpc = (await build()).byName("db-vpc");
            expect(vpc.inputs.enableDnsSupport).to.equal(true);
            expect(vpc.inputs.enableDnsHostnames).to.equal(true);
            expect(vpc.inputs.cidrBlock).to.equal("10.1.0.0/16");
        });

        for (const strategy of ["none", "single", "onePerAz"] as const) {
            it(`natStrategy ${strategy}: NAT count, placement in public subnets, and private routes`, async () => {
                const engine = await build({ natStrategy: strategy });
                const expectedNatAzs = { none: [], single: [AZS[0]], onePerAz: AZS }[strategy];
                const nats = engine.ofType(T.nat);
                expect(nats.map((n) => n.name).sort()).to.deep.equal(expectedNatAzs.map((az) => `db-nat-${az}`));
                expect(engine.ofType(T.eip)).to.have.length(expectedNatAzs.length);
                for (const nat of nats) {
                    const subnet = dependencyOf(engine, nat, "subnetId");
                    expect(subnet.inputs.tags[TAG_SUBNET_TIER], nat.name).to.equal("public");
                    expect(nat.name.replace("db-nat-", "")).to.equal(subnet.inputs.availabilityZone);
                    expect(dependencyOf(engine, nat, "allocationId").type).to.equal(T.eip);
                }
                for (const az of AZS) {
                    const rt = engine.byName(`db-private-rt-${az}`);
                    const defaults = engine
                        .ofType(T.route)
                        .filter((r) => r.inputs.destinationCidrBlock === "0.0.0.0/0" && dependencyOf(engine, r, "routeTableId") === rt);
                    if (strategy === "none") {
                        expect(defaults, az).to.have.length(0);
                        continue;
                    }
                    expect(defaults, az).to.have.length(1);
                    const nat = dependencyOf(engine, defaults[0], "natGatewayId");
                    expect(nat.name).to.equal(strategy === "single" ? `db-nat-${AZS[0]}` : `db-nat-${az}`);
                }
            });
        }

        it("never routes a private subnet's table to the internet gateway; the public table does", async () => {
            const engine = await build({ natStrategy: "onePerAz" });
            const igwRoutes = engine.ofType(T.route).filter((r) => r.propertyDependencies.gatewayId?.length);
            expect(igwRoutes).to.have.length(1);
            const table = dependencyOf(engine, igwRoutes[0], "routeTableId");
            expect(table.name).to.equal("db-public-rt");
            expect(igwRoutes[0].inputs.destinationCidrBlock).to.equal("0.0.0.0/0");
            for (const rt of engine.ofType(T.rt).filter((r) => r.inputs.tags[TAG_SUBNET_TIER] === "private")) {
                const routes = engine.ofType(T.route).filter((r) => dependencyOf(engine, r, "routeTableId") === rt);
                for (const r of routes) expect(r.propertyDependencies.gatewayId ?? [], r.name).to.have.length(0);
            }
        });

        it("associates every subnet with the route table of its tier and AZ", async () => {
            const engine = await build();
            const assocs = engine.ofType(T.assoc);
            expect(assocs).to.have.length(6);
            for (const a of assocs) {
                const subnet = dependencyOf(engine, a, "subnetId");
                const rt = dependencyOf(engine, a, "routeTableId");
                const tier = subnet.inputs.tags[TAG_SUBNET_TIER];
                expect(rt.inputs.tags[TAG_SUBNET_TIER], a.name).to.equal(tier);
                if (tier === "private") expect(rt.name).to.equal(`db-private-rt-${subnet.inputs.availabilityZone}`);
            }
        });

        it("takes over the default security group with no rules", async () => {
            const engine = await build();
            const [sg] = engine.ofType(T.defaultSg);
            expect(sg.inputs.ingress ?? []).to.deep.equal([]);
            expect(sg.inputs.egress ?? []).to.deep.equal([]);
            expect(dependencyOf(engine, sg, "vpcId").name).to.equal("db-vpc");
        });

        it("sends flow logs to a retained log group through a role scoped to that group", async () => {
            const engine = await build({ flowLogRetentionDays: 90 });
            const [flowLog] = engine.ofType(T.flowLog);
            expect(flowLog.inputs.trafficType).to.equal("ALL");
            expect(flowLog.inputs.logDestinationType).to.equal("cloud-watch-logs");
            expect(dependencyOf(engine, flowLog, "vpcId").name).to.equal("db-vpc");
            const group = dependencyOf(engine, flowLog, "logDestination");
            expect(group.type).to.equal(T.logGroup);
            expect(group.inputs.retentionInDays).to.equal(90);
            const [policy] = engine.ofType(T.rolePolicy);
            const doc = JSON.parse(policy.inputs.policy);
            for (const st of doc.Statement) {
                expect(st.Action.some((a: string) => a.includes("*")), "no wildcard actions").to.equal(false);
                expect(st.Resource).to.not.include("*");
                expect(st.Resource[0]).to.equal(`arn:aws:mock:eu-central-1:123456789012:${T.logGroup}/db-flow-logs`);
            }
        });

        it("parents every child to the component and tags it with the caller's tags", async () => {
            const engine = await underMocks(() => new PeeredVpc("db", { ...base, tags: { Project: "p", Environment: "e" } }));
            const component = engine.byName("db");
            expect(component.type).to.equal("owncloud-ha:network:PeeredVpc");
            const descendants = new Set<string>([component.urn]);
            for (const r of engine.resources) if (r.parent && descendants.has(r.parent)) descendants.add(r.urn);
            expect(descendants.size).to.equal(engine.resources.length);
            for (const r of engine.resources.filter((x) => x.custom && "tags" in x.inputs)) {
                expect(r.inputs.tags.Project, r.name).to.equal("p");
            }
            expect(engine.duplicateUrns()).to.deep.equal([]);
            expect(engine.duplicateNames()).to.deep.equal([]);
        });
    });
});

describe("PeeredVpc egress choices", () => {
    const instanceT = "aws:ec2/instance:Instance";
    const sgT = "aws:ec2/securityGroup:SecurityGroup";
    const eigwT = "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway";
    let captured: PeeredVpc | undefined;
    const make = (args: Partial<PeeredVpcArgs>) =>
        underMocks(() => {
            captured = new PeeredVpc("db", { ...base, ...args });
        });

    it("refuses an unknown egress mode or NAT instance type before creating anything", () => {
        expect(() => resolvePeeredVpcArgs("db", { ...base, egress: "carrierPigeon" as never })).to.throw(InvalidArgsError, /egress: "carrierPigeon" is not one of natGateway, natInstance, ipv6EgressOnly, none/);
        expect(() => resolvePeeredVpcArgs("db", { ...base, egress: "natInstance", natInstanceType: "nano" })).to.throw(InvalidArgsError, /natInstanceType: "nano"/);
        expect(resolvePeeredVpcArgs("db", base).egress).to.equal("natGateway");
    });

    it("natInstance onePerAz: one forwarding instance per AZ in its public subnet, each AZ's default route to its own instance's ENI", async () => {
        const engine = await make({ egress: "natInstance", natStrategy: "onePerAz" });
        expect(engine.ofType(T.nat)).to.have.length(0);
        expect(engine.ofType(T.eip)).to.have.length(0);
        const vms = engine.ofType(instanceT);
        expect(vms.map((v) => v.name)).to.deep.equal(AZS.map((az) => `db-nat-instance-${az}`));
        AZS.forEach((az, i) => {
            const vm = engine.byName(`db-nat-instance-${az}`)!;
            expect(dependencyOf(engine, vm, "subnetId").name).to.equal(`db-public-${az}`);
            expect(vm.inputs.sourceDestCheck).to.equal(false);
            expect(vm.inputs.associatePublicIpAddress).to.equal(true);
            expect(vm.inputs.instanceType).to.equal("t4g.nano");
            expect(vm.inputs.metadataOptions).to.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
            expect(vm.inputs.rootBlockDevice).to.include({ encrypted: true, volumeType: "gp3" });
            expect(vm.inputs.maintenanceOptions).to.deep.equal({ autoRecovery: "default" });
            // Forwarding and masquerade for exactly the private subnets, no secret in user data.
            const ud = String(vm.inputs.userData);
            expect(ud).to.include("PRIVATE_CIDRS='10.1.0.0/20 10.1.16.0/20 10.1.32.0/20'");
            expect(ud).to.include("net.ipv4.ip_forward=1").and.include("masquerade").and.include("send_redirects=0");
            const [route] = engine.ofType(T.route).filter((r) => dependencyOf(engine, r, "routeTableId").name === `db-private-rt-${az}`);
            expect(route.name).to.equal(`db-private-default-${az}`);
            expect(route.inputs.destinationCidrBlock).to.equal("0.0.0.0/0");
            // The route's target is this AZ's instance (losing another AZ leaves it untouched).
            expect(route.dependencies.filter((u) => u.includes("aws:ec2/instance:Instance"))).to.deep.equal([vm.urn]);
            expect(vms.indexOf(vm)).to.equal(i);
        });
        // The NAT security group admits only the private subnets, only on the ports they use outbound.
        const sg = engine.ofType(sgT).find((g) => g.name === "db-nat-sg")!;
        for (const rule of sg.inputs.ingress as Record<string, unknown>[]) {
            expect(rule.cidrBlocks).to.deep.equal(["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"]);
            expect([80, 443]).to.include(rule.fromPort);
        }
        expect((sg.inputs.egress as Record<string, unknown>[]).map((e) => e.toPort)).to.deep.equal([80, 443]);
        // egressReady: the instances, the default routes, and the tables' associations they go through.
        const ready = captured!.egressReady.map((r) => pulumiName(r));
        expect(ready).to.have.members([
            ...AZS.map((az) => `db-nat-instance-${az}`),
            ...AZS.map((az) => `db-private-default-${az}`),
            "db-public-default",
            ...AZS.map((az) => `db-public-rta-${az}`),
            ...AZS.map((az) => `db-private-rta-${az}`),
            "db-s3",
        ]);
    });

    it("natInstance passes the policy pack's mandatory rules (public IP exemption, IMDSv2, encryption, SG)", async () => {
        const engine = await make({ egress: "natInstance", natStrategy: "onePerAz", tags: { Project: "owncloud-ha", Environment: "dev", ManagedBy: "pulumi" } });
        const verdicts = await evaluate(toEvalResources(engine.resources as never), { stack: "dev" });
        expect(verdicts.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`)).to.deep.equal([]);
    });

    it("ipv6EgressOnly: an IPv6 /56, dual-stack private subnets, ::/0 through one egress-only gateway in every private table, no NAT", async () => {
        const engine = await make({ egress: "ipv6EgressOnly" });
        expect(engine.byName("db-vpc")!.inputs.assignGeneratedIpv6CidrBlock).to.equal(true);
        expect(engine.ofType(T.nat).length + engine.ofType(instanceT).length + engine.ofType(T.eip).length).to.equal(0);
        const [eigw] = engine.ofType(eigwT);
        expect(eigw.name).to.equal("db-eigw");
        for (const az of AZS) {
            expect(engine.byName(`db-private-${az}`)!.inputs.assignIpv6AddressOnCreation).to.equal(true);
            expect(engine.byName(`db-public-${az}`)!.inputs.assignIpv6AddressOnCreation).to.equal(undefined);
            const routes = engine.ofType(T.route).filter((r) => dependencyOf(engine, r, "routeTableId").name === `db-private-rt-${az}`);
            expect(routes.map((r) => [r.name, r.inputs.destinationIpv6CidrBlock, r.inputs.destinationCidrBlock])).to.deep.equal([[`db-private-default6-${az}`, "::/0", undefined]]);
            expect(dependencyOf(engine, routes[0], "egressOnlyGatewayId")).to.equal(eigw);
        }
        expect(captured!.egressReady.map((r) => pulumiName(r))).to.have.members([
            "db-eigw",
            ...AZS.map((az) => `db-private-default6-${az}`),
            ...AZS.map((az) => `db-private-rta-${az}`),
            "db-s3",
        ]);
    });

    it("carves /64s out of the VPC's /56 by index", () => {
        expect(ipv6Subnet64("2a05:d014:abc:de00::/56", 0)).to.equal("2a05:d014:abc:de00::/64");
        expect(ipv6Subnet64("2a05:d014:abc:de00::/56", 2)).to.equal("2a05:d014:abc:de02::/64");
        expect(() => ipv6Subnet64("2a05:d014:abc:de00::/64", 1)).to.throw(/\/56/);
    });

    it("none: no NAT, no egress-only gateway, no default route in private tables; natGateway keeps its resource names", async () => {
        const engine = await make({ egress: "none", natStrategy: "onePerAz" });
        expect(engine.ofType(T.nat).length + engine.ofType(instanceT).length + engine.ofType(eigwT).length).to.equal(0);
        expect(engine.ofType(T.route).filter((r) => r.name.startsWith("db-private-default"))).to.have.length(0);
        // S3 stays reachable (backups) through the gateway endpoint: the only way out.
        expect(captured!.egressReady.map((r) => pulumiName(r))).to.have.members(["db-s3", ...AZS.map((az) => `db-private-rta-${az}`)]);
        const gw = await make({ natStrategy: "onePerAz" });
        expect(gw.ofType(T.nat).map((n) => n.name)).to.deep.equal(AZS.map((az) => `db-nat-${az}`));
        expect(captured!.egressReady.map((r) => pulumiName(r))).to.include.members([...AZS.map((az) => `db-nat-${az}`), ...AZS.map((az) => `db-private-default-${az}`), "db-public-default"]);
    });

    for (const egress of ["natGateway", "natInstance", "ipv6EgressOnly", "none"] as const) {
        it(`${egress}: an S3 gateway endpoint (free) routes the private tables, never the public one, to the region's S3`, async () => {
            const engine = await make({ egress });
            const endpoints = engine.ofType("aws:ec2/vpcEndpoint:VpcEndpoint");
            expect(endpoints.map((e) => e.name)).to.deep.equal(["db-s3"]);
            const [ep] = endpoints;
            expect(ep.inputs.vpcEndpointType).to.equal("Gateway");
            expect(ep.inputs.serviceName).to.equal("com.amazonaws.eu-central-1.s3");
            const tables = ep.propertyDependencies.routeTableIds.map((u) => engine.byUrn(u)!.name);
            expect(tables).to.have.members(AZS.map((az) => `db-private-rt-${az}`));
            expect(captured!.egressReady.map((r) => pulumiName(r))).to.include("db-s3");
        });
    }
});
