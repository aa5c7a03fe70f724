import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { instanceArchitecture } from "../components/shared/ami";
import { Bastion, BastionArgs, resolveBastionArgs } from "../components/access/bastion";
import { TAG_PUBLIC_EXEMPTION, TAG_TIER } from "../components/shared/conventions";
import { InvalidArgsError } from "../components/shared/errors";
import { isSecretInput, MOCK_AMIS, resolveOutput, underMocks } from "./harness/mocks";

const args: BastionArgs = {
    vpcId: "vpc-web",
    subnetId: "subnet-public-a",
    adminCidrs: ["198.51.100.7/32"],
    sshTargetCidrs: ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"],
};

describe("Bastion", () => {
    describe("resolveBastionArgs (no mocks)", () => {
        it("defaults to the smallest type (t4g.nano, arm64), 8 GiB, user admin, a public IP", () => {
            const r = resolveBastionArgs("b", args);
            expect([r.instanceType, r.rootVolumeSizeGb, r.sshUser, r.architecture, r.access]).to.deep.equal(["t4g.nano", 8, "admin", "arm64", "publicIp"]);
        });
        const bad: [string, Partial<BastionArgs>, RegExp][] = [
            ["no admin CIDRs", { adminCidrs: [] }, /adminCidrs: give at least one/],
            ["0.0.0.0/0 as admin CIDR", { adminCidrs: ["0.0.0.0/0"] }, /adminCidrs: 0\.0\.0\.0\/0 would open SSH to the whole internet/],
            ["a malformed admin CIDR", { adminCidrs: ["1.2.3.4"] }, /adminCidrs: .*not IPv4 CIDR notation/],
            ["no SSH targets", { sshTargetCidrs: [] }, /sshTargetCidrs: give at least one/],
            ["a root volume below the AMI's size", { rootVolumeSizeGb: 4 }, /rootVolumeSizeGb: 4 is smaller/],
            ["a malformed AMI ID", { amiId: "debian" }, /amiId: "debian" is not an AMI ID/],
            ["a malformed instance type", { instanceType: "big" }, /instanceType: "big"/],
            ["an unknown access mode", { access: "vpn" as never }, /access: "vpn" is not one of publicIp, instanceConnectEndpoint/],
            ["a privileged tunnel port", { tunnelPort: 22 }, /tunnelPort: 22 is not a local port/],
        ];
        for (const [what, over, message] of bad) {
            it(`refuses ${what}`, () => expect(() => resolveBastionArgs("b", { ...args, ...over })).to.throw(InvalidArgsError, message));
        }
        it("knows Graviton instance types from the others", () => {
            expect(instanceArchitecture("t4g.small")).to.equal("arm64");
            expect(instanceArchitecture("c7gn.large")).to.equal("arm64");
            expect(instanceArchitecture("a1.medium")).to.equal("arm64");
            expect(instanceArchitecture("t3.micro")).to.equal("x86_64");
            expect(instanceArchitecture("g4dn.xlarge")).to.equal("x86_64");
            expect(instanceArchitecture("m6i.large")).to.equal("x86_64");
        });
    });

    describe("under mocks", () => {
        let bastion: Bastion;
        const build = (over: Partial<BastionArgs> = {}) =>
            underMocks(() => {
                bastion = new Bastion("bastion", { ...args, ...over });
            });

        it("admits SSH only from the admin CIDRs, and nothing else", async () => {
            const engine = await build({ adminCidrs: ["198.51.100.7/32", "192.0.2.0/28"] });
            const [sg] = engine.ofType("aws:ec2/securityGroup:SecurityGroup");
            expect(sg.inputs.ingress).to.have.length(1);
            const [rule] = sg.inputs.ingress;
            expect([rule.protocol, rule.fromPort, rule.toPort]).to.deep.equal(["tcp", 22, 22]);
            expect(rule.cidrBlocks).to.deep.equal(["198.51.100.7/32", "192.0.2.0/28"]);
            expect(rule.ipv6CidrBlocks ?? []).to.deep.equal([]);
            const sshOut = sg.inputs.egress.filter((e: any) => e.fromPort === 22);
            expect(sshOut).to.have.length(1);
            expect(sshOut[0].cidrBlocks).to.deep.equal(args.sshTargetCidrs);
            for (const e of sg.inputs.egress) expect([22, 80, 443]).to.include(e.fromPort);
        });

        it("launches with IMDSv2 only (hop limit 1), an encrypted gp3 root and the SG", async () => {
            const engine = await build();
            const [instance] = engine.ofType("aws:ec2/instance:Instance");
            expect(instance.inputs.metadataOptions).to.deep.include({ httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" });
            expect(instance.inputs.rootBlockDevice).to.deep.include({ volumeType: "gp3", volumeSize: 8, encrypted: true });
            expect(engine.byUrn(instance.propertyDependencies.vpcSecurityGroupIds[0])!.type).to.equal("aws:ec2/securityGroup:SecurityGroup");
            expect(instance.inputs.subnetId).to.equal("subnet-public-a");
        });

        it("is the one explicit, tagged public host", async () => {
            const engine = await build();
            const [instance] = engine.ofType("aws:ec2/instance:Instance");
            expect(instance.inputs.associatePublicIpAddress).to.equal(true);
            expect(instance.inputs.tags[TAG_PUBLIC_EXEMPTION]).to.be.a("string").and.not.equal("");
            expect(instance.inputs.tags[TAG_TIER]).to.equal("bastion");
        });

        it("looks up the Debian 12 AMI for the instance's architecture unless one is given", async () => {
            let engine = await build({ instanceType: "t4g.nano" });
            expect(engine.ofType("aws:ec2/instance:Instance")[0].inputs.ami).to.equal(MOCK_AMIS.arm64);
            const lookup = engine.invokes.find((i) => i.token === "aws:ec2/getAmi:getAmi")!;
            expect(lookup.args.owners).to.deep.equal(["136693071363"]);
            expect(lookup.args.filters.find((f: any) => f.name === "name").values).to.deep.equal(["debian-12-arm64-*"]);
            engine = await build({ amiId: "ami-0123456789abcdef0" });
            expect(engine.ofType("aws:ec2/instance:Instance")[0].inputs.ami).to.equal("ami-0123456789abcdef0");
            expect(engine.invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi")).to.have.length(0);
        });

        it("generates an ed25519 key whose private half is only ever a secret", async () => {
            const engine = await build();
            const [key] = engine.ofType("tls:index/privateKey:PrivateKey");
            expect(key.inputs.algorithm).to.equal("ED25519");
            const [kp] = engine.ofType("aws:ec2/keyPair:KeyPair");
            expect(engine.byUrn(kp.propertyDependencies.publicKey[0])).to.equal(key);
            expect((await resolveOutput(bastion.privateKeyOpenssh)).secret).to.equal(true);
            for (const r of engine.resources) {
                expect(JSON.stringify(r.inputs), r.name).to.not.contain("PRIVATE KEY");
            }
            expect(isSecretInput(engine.ofType("aws:ec2/instance:Instance")[0], "userData")).to.equal(false);
        });

        it("grants SSM core through its instance profile and nothing else", async () => {
            const engine = await build();
            const attachments = engine.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
            expect(attachments.map((a) => a.inputs.policyArn)).to.deep.equal(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
            expect(engine.ofType("aws:iam/rolePolicy:RolePolicy")).to.have.length(0);
            const [role] = engine.ofType("aws:iam/role:Role");
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "ec2.amazonaws.com" });
        });

        it("offers a connection that jumps through itself with the secret key", async () => {
            await build();
            const conn = bastion.connectionTo("10.1.0.10");
            expect(conn.host).to.equal("10.1.0.10");
            expect(conn.user).to.equal("admin");
            const proxy = await resolveOutput(pulumi.output(conn.proxy!));
            // The Elastic IP (mock 192.0.2.20), not the instance's launch-time address (mock 192.0.2.10).
            expect(proxy.value.host).to.equal("192.0.2.20");
            expect((await resolveOutput(conn.privateKey!)).secret).to.equal(true);
        });

        it("behind an Instance Connect Endpoint: no public IP or exemption, SSH only from the endpoint's group, dialled through the local tunnel", async () => {
            const engine = await build({ access: "instanceConnectEndpoint", subnetId: "subnet-private-a" });
            const [vm] = engine.ofType("aws:ec2/instance:Instance");
            expect(vm.inputs.associatePublicIpAddress).to.equal(false);
            expect(vm.inputs.tags).to.not.have.property(TAG_PUBLIC_EXEMPTION);
            const [eice] = engine.ofType("aws:ec2transitgateway/instanceConnectEndpoint:InstanceConnectEndpoint");
            expect(eice.inputs.subnetId).to.equal("subnet-private-a");
            const sg = engine.byName("bastion-sg")!;
            expect(sg.inputs.ingress).to.deep.equal([]);
            const eiceSg = engine.byName("bastion-eice-sg")!;
            expect(eice.inputs.securityGroupIds).to.deep.equal([`${eiceSg.name}-id`]);
            const rule = engine.byName("bastion-ssh-from-eice")!;
            expect(rule.inputs).to.include({ fromPort: 22, toPort: 22, referencedSecurityGroupId: `${eiceSg.name}-id`, securityGroupId: `${sg.name}-id` });
            const proxy = await resolveOutput(pulumi.output(bastion.connectionTo("10.1.0.10").proxy!));
            expect([proxy.value.host, proxy.value.port]).to.deep.equal(["127.0.0.1", 2222]);
        });

        it("ships user data without secrets", async () => {
            const engine = await build();
            const userData: string = engine.ofType("aws:ec2/instance:Instance")[0].inputs.userData;
            expect(userData).to.match(/^#!\/usr\/bin\/env bash\n/);
            expect(userData).to.match(/set -euo pipefail/);
            expect(userData).to.not.match(/password|secret_?key|BEGIN .*PRIVATE/i);
        });
    });
});
