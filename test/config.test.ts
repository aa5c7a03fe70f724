import { expect } from "chai";
import {
    CONFIG_SCHEMA, ConfigError, isDocumentationCidr, isPlaceholderCertificateArn, loadPlatformConfig, parsePlatformConfig, PLACEHOLDER_CERTIFICATE_ARN,
} from "../stacks/config";
import { platformSettings, preflight } from "../stacks/platform";
import { readYaml } from "./harness/stacks";

const valid = { adminCidrs: ["198.51.100.7/32"], domain: "cloud.example.com" };

/**
 * What the program checks before creating anything: the config's own rules (loadPlatformConfig),
 * then every component setting under the key that fed it (the preflight). Zones as listed, else
 * three named ones (the region's lookup is not part of these rules).
 */
function checkStack(environment: string, raw: Record<string, unknown>): void {
    const parsed = parsePlatformConfig(environment, raw);
    const cfg = parsed.config;
    const zones = cfg.availabilityZones.length > 0 ? cfg.availabilityZones : ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
    preflight(cfg, zones, platformSettings(cfg, zones), parsed);
}

function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        checkStack("dev", raw);
    } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error("expected the configuration to be rejected");
}

/**
 * Asserts the input is rejected only for `key` (every problem names it; a setting shared by the
 * three VPCs may be reported once per VPC) and that the message explains the fix.
 */
function rejects(raw: Record<string, unknown>, key: string, fix: RegExp): void {
    const problems = problemsOf(raw);
    expect(problems.length, problems.join("\n")).to.be.within(1, 3);
    for (const p of problems) {
        expect(p).to.contain(`owncloud-ha:${key}`);
        expect(p).to.match(fix);
    }
}

describe("stack config", () => {
    describe("schema", () => {
        it("declares in Pulumi.yaml exactly the keys the loader reads, with the same types and defaults", () => {
            const declared = readYaml("Pulumi.yaml").config;
            expect(Object.keys(declared).sort()).to.deep.equal(Object.keys(CONFIG_SCHEMA).sort());
            for (const [k, schema] of Object.entries(CONFIG_SCHEMA)) {
                expect(declared[k].type, k).to.equal(schema.type);
                expect(declared[k].description, k).to.be.a("string").and.not.equal("");
                expect(declared[k].default, k).to.deep.equal((schema as { default?: unknown }).default);
            }
        });

        it("accepts both stack files as they are committed", () => {
            for (const stack of ["dev", "prod"]) {
                const file = readYaml(`Pulumi.${stack}.yaml`).config;
                const raw = Object.fromEntries(
                    Object.entries(file)
                        .filter(([k]) => k.startsWith("owncloud-ha:"))
                        .map(([k, v]) => [k.slice("owncloud-ha:".length), v]),
                );
                const cfg = loadPlatformConfig(stack, raw);
                expect(cfg.network.web.cidr).to.equal("10.0.0.0/16");
                expect(cfg.network.db.cidr).to.equal("10.1.0.0/16");
                expect(cfg.network.fs.cidr).to.equal("10.2.0.0/16");
                expect(file["aws:region"]).to.equal("eu-central-1");
            }
        });

        it("differs between dev and prod where the environments should", () => {
            const setting = (s: string, k: string) => readYaml(`Pulumi.${s}.yaml`).config[`owncloud-ha:${k}`];
            // Egress survives an AZ loss in both (NAT instances per AZ are cheap enough for dev).
            for (const s of ["dev", "prod"]) expect(setting(s, "natStrategy"), s).to.equal("onePerAz");
            expect(setting("dev", "flowLogRetentionDays")).to.be.lessThan(setting("prod", "flowLogRetentionDays"));
            expect(setting("dev", "albDeletionProtection")).to.equal(false);
            expect(setting("prod", "albDeletionProtection")).to.equal(true);
        });

        it("ships admin CIDR placeholders that are recognisable as placeholders", () => {
            for (const stack of ["dev", "prod"]) {
                const cidrs: string[] = readYaml(`Pulumi.${stack}.yaml`).config["owncloud-ha:adminCidrs"];
                expect(cidrs.every(isDocumentationCidr), stack).to.equal(true);
            }
            expect(isDocumentationCidr("198.18.0.0/24")).to.equal(false);
            expect(isDocumentationCidr("203.0.113.0/24")).to.equal(true);
        });
    });

    describe("defaults and parsing", () => {
        it("fills defaults for everything but adminCidrs", () => {
            const cfg = loadPlatformConfig("dev", valid);
            expect(cfg.natStrategy).to.equal("single");
            expect(cfg.flowLogRetentionDays).to.equal(365);
            expect(cfg.network.web).to.deep.equal({
                cidr: "10.0.0.0/16",
                azCount: 3,
                privateSubnetPrefixLength: 20,
                publicSubnetPrefixLength: 24,
            });
            expect(cfg.bastion).to.deep.equal({ instanceType: "t4g.nano", amiId: undefined, access: "publicIp", tunnelPort: 2222 });
            expect(cfg.availabilityZones).to.deep.equal([]);
        });

        it("parses values the way the Pulumi CLI hands them over (strings, lists as JSON)", () => {
            const cfg = loadPlatformConfig("dev", {
                domain: "cloud.example.com",
                albDeletionProtection: "true",
                adminCidrs: '["198.51.100.7/32","192.0.2.0/28"]',
                webAzCount: "2",
                dbAzCount: "2",
                fsAzCount: "2",
                natStrategy: "onePerAz",
                availabilityZones: '["eu-central-1b","eu-central-1c"]',
            });
            expect(cfg.adminCidrs).to.deep.equal(["198.51.100.7/32", "192.0.2.0/28"]);
            expect(cfg.network.web.azCount).to.equal(2);
            expect(cfg.natStrategy).to.equal("onePerAz");
            expect(cfg.availabilityZones).to.deep.equal(["eu-central-1b", "eu-central-1c"]);
            expect(cfg.web.deletionProtection).to.equal(true);
        });

        it("passes the cost choices through: egress per VPC, NAT instance type, cache engine, spot above the on-demand base", () => {
            const cfg = loadPlatformConfig("t", { ...valid, webEgress: "natInstance", dbEgress: "ipv6EgressOnly", redisEngine: "valkey", webSpot: "true", webOnDemandBaseCapacity: "1" });
            expect(cfg.egress).to.deep.equal({ web: "natInstance", db: "ipv6EgressOnly", fs: "natGateway" });
            expect(cfg.natInstanceType).to.equal("t4g.nano");
            expect(cfg.redis.engine).to.equal("valkey");
            expect(cfg.web.spotAboveOnDemandBase).to.equal(1);
            expect(loadPlatformConfig("t", valid).web.spotAboveOnDemandBase).to.equal(undefined);
        });

        it("collects every problem at once instead of stopping at the first", () => {
            const problems = problemsOf({ ...valid, adminCidrs: ["0.0.0.0/0"], natStrategy: "many", webAzCount: 5 });
            expect(problems).to.have.length(3);
        });
    });

    describe("rejects", () => {
        it("missing admin CIDRs", () => rejects({ domain: valid.domain }, "adminCidrs", /missing.*pulumi config set --path/));
        it("an empty admin CIDR list", () => rejects({ ...valid, adminCidrs: [] }, "adminCidrs", /missing/));
        it("0.0.0.0/0 as an admin CIDR", () => rejects({ ...valid, adminCidrs: ["0.0.0.0/0"] }, "adminCidrs", /whole internet.*EC2\.13/));
        it("a malformed admin CIDR", () => rejects({ ...valid, adminCidrs: ["my-office"] }, "adminCidrs", /not IPv4 CIDR notation/));
        it("admin CIDRs that are not a list", () => rejects({ ...valid, adminCidrs: "1.2.3.4/32" }, "adminCidrs", /not a list/));
        it("an unknown egress choice", () => rejects({ ...valid, dbEgress: "vpn" }, "dbEgress", /"vpn" is not one of natGateway, natInstance, ipv6EgressOnly, none/));
        it("a malformed NAT instance type", () => rejects({ ...valid, natInstanceType: "nano" }, "natInstanceType", /not an EC2 instance type/));
        it("an unknown cache engine", () => rejects({ ...valid, redisEngine: "memcached" }, "redisEngine", /not one of redis, valkey/));
        it("spot with no on-demand web node left", () => rejects({ ...valid, webSpot: true, webOnDemandBaseCapacity: 0 }, "webOnDemandBaseCapacity", /between 1 and owncloud-ha:webMinSize \(2\)/));
        it("a missing domain", () => rejects({ adminCidrs: valid.adminCidrs }, "domain", /missing; set the host name/));
        it("a malformed certificate ARN", () => rejects({ ...valid, certificateArn: "my-cert" }, "certificateArn", /not an ACM certificate ARN/));
        it("a malformed hosted zone ID", () => rejects({ ...valid, hostedZoneId: "example.com" }, "hostedZoneId", /not a Route 53 zone ID/));
        it("a flag that is not true or false", () => rejects({ ...valid, albAccessLogs: "yes" }, "albAccessLogs", /expected true or false/));
        it("a malformed VPC CIDR", () => rejects({ ...valid, dbVpcCidr: "10.1.0.0/33" }, "dbVpcCidr", /not a valid IPv4 CIDR/));
        it("a VPC CIDR with host bits", () => rejects({ ...valid, fsVpcCidr: "10.2.3.0/16" }, "fsVpcCidr", /network address is 10\.2\.0\.0\/16/));
        it("a VPC larger than AWS allows", () => rejects({ ...valid, webVpcCidr: "10.0.0.0/8" }, "webVpcCidr", /\/16 to \/28/));
        it("overlapping VPC CIDRs", () =>
            rejects({ ...valid, fsVpcCidr: "10.0.128.0/17" }, "webVpcCidr", /overlaps owncloud-ha:fsVpcCidr 10\.0\.128\.0\/17/));
        it("identical VPC CIDRs", () => rejects({ ...valid, dbVpcCidr: "10.0.0.0/16" }, "webVpcCidr", /disjoint ranges/));
        it("subnet sizes that don't fit the VPC", () =>
            rejects({ ...valid, privateSubnetPrefixLength: 17 }, "privateSubnetPrefixLength", /need \d+ addresses but VPC/));
        it("a subnet prefix smaller than AWS allows", () =>
            rejects({ ...valid, publicSubnetPrefixLength: 29 }, "publicSubnetPrefixLength", /at most \/28/));
        it("fewer than 2 AZs for a tier", () => rejects({ ...valid, dbAzCount: 1 }, "dbAzCount", /use 2 or 3/));
        it("more than 3 AZs for a tier", () => rejects({ ...valid, webAzCount: 4 }, "webAzCount", /use 2 or 3/));
        it("a non-integer AZ count", () => rejects({ ...valid, fsAzCount: "three" }, "fsAzCount", /whole number/));
        it("more AZs than listed zones", () => {
            // Two zones also leave Galera's 3 nodes with a majority in one AZ: reported in the same run.
            const problems = problemsOf({ ...valid, availabilityZones: ["eu-central-1a", "eu-central-1b"], dbAzCount: 2, fsAzCount: 2 });
            expect(problems, problems.join("\n")).to.have.length(2);
            expect(problems[0]).to.contain("owncloud-ha:webAzCount").and.match(/3 zones requested but owncloud-ha:availabilityZones lists only 2/);
            expect(problems[1]).to.match(/^owncloud-ha:dbAzCount \(GaleraCluster subnetIds: 2 subnet\(s\) for 3 nodes puts a majority in one AZ/);
        });
        it("a duplicated zone", () =>
            expect(problemsOf({ ...valid, availabilityZones: ["eu-central-1a", "eu-central-1a", "eu-central-1b"] }).join()).to.match(
                /availabilityZones: .* lists a zone twice/,
            ));
        it("a malformed zone name", () =>
            expect(problemsOf({ ...valid, availabilityZones: ["eu-central-1a", "eu-central-1b", "central"] }).join()).to.match(
                /"central" is not an availability zone name/,
            ));
        it("an unknown NAT strategy", () => rejects({ ...valid, natStrategy: "perVpc" }, "natStrategy", /not one of none, single, onePerAz/));
        it("a retention CloudWatch does not offer", () =>
            rejects({ ...valid, flowLogRetentionDays: 10 }, "flowLogRetentionDays", /not a CloudWatch Logs retention value/));
        it("a malformed instance type", () => rejects({ ...valid, bastionInstanceType: "micro" }, "bastionInstanceType", /like t3\.micro/));
        it("a malformed AMI ID", () => rejects({ ...valid, bastionAmiId: "debian-12" }, "bastionAmiId", /not an AMI ID/));
        it("an unknown (misspelt) key", () => rejects({ ...valid, natStrategie: "single" }, "natStrategie", /unknown setting \(a typo\?\)/));
        it("a VPC CIDR from public address space", () =>
            rejects({ ...valid, webVpcCidr: "8.8.0.0/16" }, "webVpcCidr", /public address space.*shadow.*allowPublicVpcCidrs/));
        it("a VPC CIDR that only starts in private space", () => rejects({ ...valid, dbVpcCidr: "172.32.0.0/16" }, "dbVpcCidr", /public address space/));
    });

    describe("public VPC CIDRs and pairs of settings", () => {
        it("accepts RFC 1918 and 100.64.0.0/10 VPCs, and a public one only with the explicit opt-in", () => {
            const cfg = loadPlatformConfig("dev", { ...valid, webVpcCidr: "100.64.0.0/16", dbVpcCidr: "172.16.0.0/16", fsVpcCidr: "192.168.0.0/16" });
            expect(cfg.network.web.cidr).to.equal("100.64.0.0/16");
            expect(loadPlatformConfig("dev", { ...valid, webVpcCidr: "8.8.0.0/16", allowPublicVpcCidrs: true }).network.web.cidr).to.equal("8.8.0.0/16");
        });

        it("names both keys of a pair: webMinSize vs webMaxSize, webDesiredCapacity vs both, glusterNodeCount vs glusterRedundancy", () => {
            const [minMax] = problemsOf({ ...valid, webMinSize: 5, webMaxSize: 4 });
            expect(minMax).to.contain("owncloud-ha:webMinSize 5").and.contain("owncloud-ha:webMaxSize 4");
            const [desired] = problemsOf({ ...valid, webDesiredCapacity: 9 });
            expect(desired).to.contain("owncloud-ha:webDesiredCapacity 9").and.contain("owncloud-ha:webMinSize 2").and.contain("owncloud-ha:webMaxSize 4");
            const [gluster] = problemsOf({ ...valid, glusterRedundancy: 2 });
            expect(gluster).to.contain("owncloud-ha:glusterNodeCount 3").and.contain("owncloud-ha:glusterRedundancy 2").and.match(/at least 5/);
            expect(loadPlatformConfig("dev", { ...valid, glusterNodeCount: 5, glusterRedundancy: 2 }).gluster.redundancy).to.equal(2);
        });
    });

    describe("production and plain HTTP", () => {
        const prodProblems = (raw: Record<string, unknown>): string[] => {
            try {
                checkStack("prod", raw);
            } catch (e) {
                return (e as ConfigError).problems;
            }
            return [];
        };

        it("refuses a production stack without certificateArn or hostedZoneId, and says how to give one", () => {
            const problems = prodProblems(valid);
            expect(problems).to.have.length(1);
            expect(problems[0]).to.contain("owncloud-ha:certificateArn/owncloud-ha:hostedZoneId").and.contain("pulumi config set owncloud-ha:certificateArn arn:aws:acm:");
            expect(prodProblems({ ...valid, hostedZoneId: "Z0123456789ABC" })).to.deep.equal([]);
            expect(prodProblems({ ...valid, certificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab" })).to.deep.equal([]);
        });

        it("refuses an HTTP exemption in production, and a contradictory one elsewhere", () => {
            const withCert = { ...valid, hostedZoneId: "Z0123456789ABC" };
            expect(prodProblems({ ...withCert, plainHttpExemption: "just this once" })[0]).to.contain("owncloud-ha:plainHttpExemption").and.contain("production never serves plain HTTP");
            expect(problemsOf({ ...withCert, plainHttpExemption: "x" })[0]).to.contain("owncloud-ha:plainHttpExemption").and.contain("owncloud-ha:hostedZoneId");
            expect(loadPlatformConfig("dev", { ...valid, plainHttpExemption: " dev only " }).web.plainHttpExemption).to.equal("dev only");
        });

        it("the committed prod file carries the recognisable placeholder certificate; dev carries an explicit exemption", () => {
            const prod = readYaml("Pulumi.prod.yaml").config;
            expect(prod["owncloud-ha:certificateArn"]).to.equal(PLACEHOLDER_CERTIFICATE_ARN);
            expect(isPlaceholderCertificateArn(PLACEHOLDER_CERTIFICATE_ARN)).to.equal(true);
            expect(isPlaceholderCertificateArn("arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab")).to.equal(false);
            expect(readYaml("Pulumi.dev.yaml").config["owncloud-ha:plainHttpExemption"]).to.match(/^dev: /);
        });
    });
});
