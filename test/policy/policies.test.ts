/**
 * For every policy of the pack: the compliant baseline passes it, and a targeted mutation violates
 * it, with the policy's default enforcement level. Everything runs through evaluate(), i.e. the same
 * validateResource/validateStack functions the pack serves.
 */
import { expect } from "chai";
import { gzipSync } from "zlib";
import { TAG_HTTP_EXEMPTION, TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER, T } from "../../policy/conventions";
import { evaluate, formatVerdicts, UNKNOWN, type EvalConfig, type Verdict } from "../../policy/evaluate";
import { allPolicies } from "../../policy/policies";
import { findSecrets } from "../../policy/policies/ec2";
import { baseline, clone, props, StackBuilder, urnOf, type Stack } from "./fixtures";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const doc = (Statement: unknown[]): string => JSON.stringify({ Version: "2012-10-17", Statement });

/** Adds a resource to a stack under test (tagged like the baseline unless `taggable` is false). */
function add(s: Stack, name: string, type: string, p: Record<string, unknown>, deps: Record<string, string[]> = {}, taggable = true): void {
    const b = new StackBuilder();
    for (const [k, v] of s) b.resources.set(k, v);
    b.add(name, type, p, deps, taggable);
    s.set(name, b.resources.get(name)!);
}

/** A bucket with every FSBP S3 setting right: public access blocked, TLS-only policy, access logs, ACLs off. */
function bucket(s: Stack): void {
    add(s, "logs", T.s3Bucket, { bucketPrefix: "owncloud-ha-logs-", forceDestroy: false });
    add(s, "logs-pab", T.s3PublicAccessBlock, { bucket: "logs", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, { bucket: ["logs"] }, false);
    add(s, "logs-policy", T.s3BucketPolicy, {
        bucket: "logs",
        policy: doc([{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }]),
    }, { bucket: ["logs"] }, false);
    add(s, "logs-logging", T.s3BucketLogging, { bucket: "logs", targetBucket: "audit", targetPrefix: "logs/" }, { bucket: ["logs"] }, false);
    add(s, "logs-ownership", T.s3OwnershipControls, { bucket: "logs", rule: { objectOwnership: "BucketOwnerEnforced" } }, { bucket: ["logs"] }, false);
}

/** A bucket like every bucket above, tagged as a backup bucket, versioned and encrypted with a KMS key. */
function backupBucket(s: Stack): void {
    bucket(s);
    props(s, "logs").tags = { ...(props(s, "logs").tags as Record<string, string>), [TAG_TIER]: "backup" };
    add(s, "logs-versioning", T.s3BucketVersioning, { bucket: "logs", versioningConfiguration: { status: "Enabled" } }, { bucket: ["logs"] }, false);
    add(s, "logs-sse", T.s3Encryption, { bucket: "logs", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-central-1:123456789012:key/k" }, bucketKeyEnabled: true }] }, { bucket: ["logs"] }, false);
}

/** A secret rotated every 30 days. */
function secret(s: Stack): void {
    add(s, "db-secret", T.secret, { namePrefix: "owncloud-ha/db-" });
    add(s, "db-rotation", T.secretRotation, { secretId: "db-secret-arn", rotationLambdaArn: "arn:aws:lambda:x", rotationRules: { automaticallyAfterDays: 30 } }, { secretId: ["db-secret"] }, false);
}

async function run(s: Stack, config: EvalConfig = {}): Promise<Verdict[]> {
    return evaluate([...s.values()], config);
}

function of(verdicts: Verdict[], policy: string): Verdict[] {
    return verdicts.filter((v) => v.policyName === policy);
}

interface Case {
    /** Breaks the baseline so that the policy must object; returns the name of the offending resource. */
    violate: (s: Stack) => string | undefined;
    /** Extra compliant variants beyond the baseline (each must produce no verdict for the policy). */
    comply?: ((s: Stack) => void)[];
    config?: EvalConfig;
}

const CASES: Record<string, Case> = {
    // --- EC2 resource policies ---
    "ec2-ebs-encrypted": {
        violate: (s) => { (props(s, "gluster-1").ebsBlockDevices as Record<string, unknown>[])[0].encrypted = false; return "gluster-1"; },
        comply: [
            (s) => { props(s, "gluster-1-brick").encrypted = UNKNOWN; }, // unknown at preview: no judgement
        ],
    },
    "ec2-imdsv2-required": {
        violate: (s) => { (props(s, "web-lt").metadataOptions as Record<string, unknown>).httpTokens = "optional"; return "web-lt"; },
        comply: [(s) => { props(s, "galera-1").metadataOptions = { httpEndpoint: "disabled" }; }],
    },
    "ec2-instance-no-public-ip": {
        violate: (s) => { props(s, "galera-1").associatePublicIpAddress = true; return "galera-1"; },
    },
    "ec2-launch-template-no-public-ip": {
        violate: (s) => { (props(s, "web-lt").networkInterfaces as Record<string, unknown>[])[0].associatePublicIpAddress = "true"; return "web-lt"; },
        comply: [(s) => {
            const p = props(s, "web-lt");
            (p.networkInterfaces as Record<string, unknown>[])[0].associatePublicIpAddress = "true";
            (p.tags as Record<string, string>)[TAG_PUBLIC_EXEMPTION] = "test exemption";
        }],
    },
    "ec2-subnet-no-auto-public-ip": {
        violate: (s) => { props(s, "web-public-a").mapPublicIpOnLaunch = true; return "web-public-a"; },
    },
    "ec2-no-admin-ports-from-world": {
        violate: (s) => { (props(s, "bastion-ssh").cidrBlocks as string[])[0] = "0.0.0.0/0"; return "bastion-ssh"; },
    },
    "ec2-high-risk-ports-restricted": {
        violate: (s) => { props(s, "gluster-from-web-cidr").cidrBlocks = ["10.0.0.0/8"]; return "gluster-from-web-cidr"; },
        comply: [(s) => { props(s, "gluster-from-web-cidr").cidrBlocks = ["10.0.0.0/16"]; }],
    },
    "ec2-no-secrets-in-user-data": {
        violate: (s) => { props(s, "web-lt").userData = b64("#!/bin/bash\nexport OWNCLOUD_DB_PASSWORD=hunter2secret\n"); return "web-lt"; },
    },
    // --- network stack policies ---
    "ec2-default-sg-closed": {
        violate: (s) => { props(s, "db-default-sg").ingress = [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }]; return "db-default-sg"; },
    },
    "ec2-vpc-flow-logs": {
        violate: (s) => { s.delete("fs-flow-log"); return "fs-vpc"; },
    },
    "ec2-world-ingress-alb-only": {
        violate: (s) => {
            (props(s, "web-sg")).ingress = [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }];
            return "web-sg";
        },
    },
    "ec2-eip-only-on-exempt-instances": {
        violate: (s) => {
            const b = new StackBuilder();
            b.resources.set("galera-1", s.get("galera-1")!);
            b.add("galera-eip", T.eip, { domain: "vpc", instance: "i-galera" }, { instance: ["galera-1"] });
            s.set("galera-eip", b.resources.get("galera-eip")!);
            return "galera-eip";
        },
    },
    "vpc-peering-routes-peer-cidr-only": {
        violate: (s) => { props(s, "web-to-db").destinationCidrBlock = "10.0.0.0/8"; return "web-to-db"; },
        comply: [(s) => { props(s, "web-to-db").destinationCidrBlock = "10.1.0.0/20"; }],
    },
    "nodes-in-private-subnets": {
        violate: (s) => {
            const r = s.get("web-asg")!;
            r.propertyDependencies!.vpcZoneIdentifiers = [urnOf(T.subnet, "web-private-a"), urnOf(T.subnet, "web-public-b")];
            return "web-asg";
        },
    },
    "sg-cross-vpc-sources-peer-only": {
        violate: (s) => {
            // gluster (fs VPC) accepting the db VPC: db and fs are not peered.
            props(s, "gluster-from-web-cidr").cidrBlocks = ["10.1.0.0/20"];
            return "gluster-from-web-cidr";
        },
    },
    // --- ELB ---
    "elb-http-redirects-to-https": {
        violate: (s) => { props(s, "http").defaultActions = [{ type: "forward", targetGroupArn: "arn:tg" }]; return "http"; },
    },
    "elb-drop-invalid-headers": {
        violate: (s) => { props(s, "alb").dropInvalidHeaderFields = false; return "alb"; },
    },
    "elb-access-logs": {
        violate: (s) => { props(s, "alb").accessLogs = { bucket: "owncloud-ha-alb-logs" }; return "alb"; }, // enabled defaults to false
    },
    "elb-deletion-protection": {
        // Prod (by tag and by stack config) requires it; the dev baseline does not.
        violate: (s) => { (props(s, "alb").tags as Record<string, string>).Environment = "prod"; return "alb"; },
        comply: [(s) => { props(s, "alb").enableDeletionProtection = true; (props(s, "alb").tags as Record<string, string>).Environment = "prod"; }],
    },
    "elb-desync-mitigation": {
        violate: (s) => { props(s, "alb").desyncMitigationMode = "monitor"; return "alb"; },
        comply: [(s) => { delete props(s, "alb").desyncMitigationMode; }],
    },
    "elb-multi-az": {
        violate: (s) => { props(s, "alb").subnets = ["subnet-a"]; return "alb"; },
    },
    "elb-tls-policy": {
        violate: (s) => { props(s, "https").sslPolicy = "ELBSecurityPolicy-2016-08"; return "https"; },
        comply: [(s) => { props(s, "https").sslPolicy = "ELBSecurityPolicy-TLS13-1-3-2021-06"; }],
    },
    // --- Auto Scaling ---
    "autoscaling-elb-health-check": {
        violate: (s) => { props(s, "web-asg").healthCheckType = "EC2"; return "web-asg"; },
    },
    "autoscaling-multi-az": {
        violate: (s) => { props(s, "web-asg").vpcZoneIdentifiers = ["subnet-pa"]; return "web-asg"; },
    },
    "autoscaling-launch-template": {
        violate: (s) => { const p = props(s, "web-asg"); delete p.launchTemplate; p.launchConfiguration = "web-lc"; return "web-asg"; },
    },
    // --- ElastiCache ---
    "elasticache-automatic-backups": {
        violate: (s) => { props(s, "redis").snapshotRetentionLimit = 0; return "redis"; },
    },
    "elasticache-auto-minor-upgrade": {
        violate: (s) => { props(s, "redis").autoMinorVersionUpgrade = false; return "redis"; },
    },
    "elasticache-automatic-failover": {
        violate: (s) => { props(s, "redis").automaticFailoverEnabled = false; return "redis"; },
    },
    "elasticache-encryption-at-rest": {
        violate: (s) => { delete props(s, "redis").atRestEncryptionEnabled; return "redis"; },
    },
    "elasticache-encryption-in-transit": {
        violate: (s) => { props(s, "redis").transitEncryptionMode = "preferred"; return "redis"; },
    },
    "elasticache-auth": {
        violate: (s) => { delete props(s, "redis").authToken; return "redis"; },
        comply: [(s) => { props(s, "redis").authToken = UNKNOWN; }], // a generated password: set, value unknown
    },
    "elasticache-redis-in-replication-group": {
        violate: (s) => {
            const b = new StackBuilder();
            b.add("cache", T.cacheCluster, { engine: "redis", nodeType: "cache.t4g.micro", numCacheNodes: 1 });
            s.set("cache", b.resources.get("cache")!);
            return "cache";
        },
        comply: [(s) => {
            const b = new StackBuilder();
            b.add("member", T.cacheCluster, { engine: "redis", replicationGroupId: "owncloud-redis" });
            b.add("memcached", T.cacheCluster, { engine: "memcached", nodeType: "cache.t4g.micro", numCacheNodes: 1 });
            for (const [k, v] of b.resources) s.set(k, v);
        }],
    },
    "elasticache-no-default-subnet-group": {
        violate: (s) => { props(s, "redis").subnetGroupName = "default"; return "redis"; },
    },
    // --- IAM ---
    "iam-no-full-admin": {
        violate: (s) => {
            props(s, "node-secrets").policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
            return "node-secrets";
        },
    },
    "iam-no-service-wildcards": {
        violate: (s) => {
            props(s, "node-secrets").policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["*"] }] });
            return "node-secrets";
        },
        comply: [(s) => {
            props(s, "node-secrets").policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::bucket/*"] }] });
        }],
    },
    // --- hygiene ---
    "cloudwatch-log-retention": {
        // CloudWatch.16 as AWS means it: short retention is the finding; never expiring complies.
        violate: (s) => { props(s, "log-group").retentionInDays = 30; return "log-group"; },
        comply: [
            (s) => { delete props(s, "log-group").retentionInDays; },
            (s) => { props(s, "log-group").retentionInDays = 0; },
            (s) => { props(s, "log-group").retentionInDays = 3653; },
        ],
    },
    "cloudwatch-log-retention-bounded": {
        violate: (s) => { delete props(s, "log-group").retentionInDays; return "log-group"; },
        comply: [(s) => { props(s, "log-group").retentionInDays = 30; }],
    },
    // --- added controls ---
    "ec2-single-network-interface": {
        violate: (s) => { add(s, "second-eni", T.networkInterfaceAttachment, { instanceId: "i-galera", networkInterfaceId: "eni-2", deviceIndex: 1 }, {}, false); return "second-eni"; },
        comply: [(s) => { add(s, "primary-eni", T.networkInterfaceAttachment, { instanceId: "i-galera", networkInterfaceId: "eni-1", deviceIndex: 0 }, {}, false); }],
    },
    "ec2-no-paravirtual-instance-types": {
        violate: (s) => { props(s, "galera-1").instanceType = "m3.medium"; return "galera-1"; },
        comply: [(s) => { props(s, "galera-1").instanceType = "m7i.large"; }],
    },
    "ec2-source-dest-check": {
        violate: (s) => { add(s, "nat-eni", T.networkInterface, { subnetId: "subnet-a", sourceDestCheck: false }); return "nat-eni"; },
        comply: [(s) => { add(s, "plain-eni", T.networkInterface, { subnetId: "subnet-a" }); }],
    },
    "ec2-nacl-no-admin-ports-from-world": {
        violate: (s) => {
            add(s, "ssh-nacl-rule", T.networkAclRule, {
                networkAclId: "acl-web", ruleNumber: 90, egress: false, protocol: "tcp", ruleAction: "allow", cidrBlock: "0.0.0.0/0", fromPort: 22, toPort: 22,
            }, {}, false);
            return "ssh-nacl-rule";
        },
        comply: [
            (s) => { add(s, "deny-ssh", T.networkAclRule, { networkAclId: "acl-web", ruleNumber: 90, egress: false, protocol: "tcp", ruleAction: "deny", cidrBlock: "0.0.0.0/0", fromPort: 22, toPort: 22 }, {}, false); },
            (s) => { add(s, "https-in", T.networkAclRule, { networkAclId: "acl-web", ruleNumber: 91, egress: false, protocol: "tcp", ruleAction: "allow", cidrBlock: "0.0.0.0/0", fromPort: 443, toPort: 443 }, {}, false); },
            (s) => { add(s, "ssh-out", T.networkAclRule, { networkAclId: "acl-web", ruleNumber: 92, egress: true, protocol: "tcp", ruleAction: "allow", cidrBlock: "0.0.0.0/0", fromPort: 22, toPort: 22 }, {}, false); },
        ],
    },
    "ec2-default-nacl-managed": {
        violate: (s) => { s.delete("db-default-nacl"); return "db-vpc"; },
    },
    "ec2-vpc-endpoint": {
        violate: (s) => { props(s, "fs-ec2-endpoint").serviceName = "com.amazonaws.us-east-1.s3"; return "fs-vpc"; },
    },
    "data-tiers-no-public-sources": {
        violate: (s) => { props(s, "gluster-from-web-cidr").cidrBlocks = ["198.51.100.0/24"]; return "gluster-from-web-cidr"; },
        comply: [(s) => { props(s, "gluster-from-web-cidr").cidrBlocks = ["100.64.0.0/16"]; }], // shared (CGNAT) space is not public
    },
    "elb-https-required": {
        violate: (s) => { s.delete("https"); return "alb"; },
        comply: [
            (s) => { s.delete("https"); props(s, "alb").internal = true; },
            (s) => { s.delete("https"); (props(s, "alb").tags as Record<string, string>)[TAG_HTTP_EXEMPTION] = "test stack"; },
        ],
    },
    "elb-http-exemption-reported": {
        violate: (s) => { s.delete("https"); (props(s, "alb").tags as Record<string, string>)[TAG_HTTP_EXEMPTION] = "test stack"; return "alb"; },
        comply: [(s) => { (props(s, "alb").tags as Record<string, string>)[TAG_HTTP_EXEMPTION] = "stale tag; HTTPS is served"; }],
    },
    "elb-no-data-ports-from-internet": {
        violate: (s) => { props(s, "http").port = 3306; return "http"; },
        comply: [(s) => { props(s, "http").port = 3306; props(s, "alb").internal = true; }],
    },
    "iam-no-kms-decrypt-on-all-keys": {
        violate: (s) => { props(s, "node-secrets").policy = doc([{ Effect: "Allow", Action: "kms:*", Resource: "*" }]); return "node-secrets"; },
        comply: [(s) => { props(s, "node-secrets").policy = doc([{ Effect: "Allow", Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:1:key/abc" }]); }],
    },
    "iam-trust-policy-restricted": {
        violate: (s) => { props(s, "node-role").assumeRolePolicy = doc([{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }]); return "node-role"; },
        comply: [(s) => {
            props(s, "node-role").assumeRolePolicy = doc([{
                Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc123" } },
            }]);
        }],
    },
    "s3-block-public-access": {
        violate: (s) => { bucket(s); s.delete("logs-pab"); return "logs"; },
        comply: [(s) => { bucket(s); }],
    },
    "s3-tls-only": {
        violate: (s) => { bucket(s); props(s, "logs-policy").policy = doc([{ Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: "arn:aws:s3:::logs/*" }]); return "logs"; },
        comply: [(s) => { bucket(s); }, (s) => { bucket(s); props(s, "logs-policy").policy = UNKNOWN; }],
    },
    "s3-access-logging": {
        violate: (s) => { bucket(s); s.delete("logs-logging"); return "logs"; },
        comply: [(s) => { bucket(s); }],
    },
    "s3-no-acls": {
        violate: (s) => { bucket(s); add(s, "logs-acl", T.s3BucketAclV2, { bucket: "logs", acl: "log-delivery-write" }, { bucket: ["logs"] }, false); return "logs-acl"; },
        comply: [(s) => { bucket(s); }],
    },
    "s3-backup-versioned": {
        violate: (s) => { backupBucket(s); props(s, "logs-versioning").versioningConfiguration = { status: "Suspended" }; return "logs"; },
        comply: [
            (s) => { backupBucket(s); },
            (s) => { backupBucket(s); props(s, "logs-versioning").versioningConfiguration = { status: UNKNOWN }; },
            // A bucket that is not a backup bucket (the ALB's logs) need not be versioned.
            (s) => { bucket(s); },
        ],
    },
    "s3-backup-encrypted": {
        violate: (s) => { backupBucket(s); s.delete("logs-sse"); return "logs"; },
        comply: [
            (s) => { backupBucket(s); },
            (s) => { backupBucket(s); props(s, "logs-sse").rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]; },
            (s) => { bucket(s); },
        ],
    },
    "secretsmanager-rotation-enabled": {
        violate: (s) => { secret(s); s.delete("db-rotation"); return "db-secret"; },
        comply: [(s) => { secret(s); }],
    },
    "secretsmanager-rotation-period": {
        violate: (s) => { secret(s); props(s, "db-rotation").rotationRules = { automaticallyAfterDays: 180 }; return "db-rotation"; },
        comply: [(s) => { secret(s); }, (s) => { secret(s); props(s, "db-rotation").rotationRules = { scheduleExpression: "rate(30 days)" }; }],
    },
    "acm-rsa-key-length": {
        violate: (s) => { add(s, "cert", T.certificate, { domainName: "cloud.example.com", validationMethod: "DNS", keyAlgorithm: "RSA_1024" }); return "cert"; },
        comply: [(s) => { add(s, "cert", T.certificate, { domainName: "cloud.example.com", validationMethod: "DNS", keyAlgorithm: "EC_prime256v1" }); }],
    },
    "autoscaling-multiple-instance-types": {
        violate: (s) => { const p = props(s, "web-asg"); delete p.mixedInstancesPolicy; p.launchTemplate = { id: "lt-1", version: "$Latest" }; return "web-asg"; },
    },
    "required-tags": {
        violate: (s) => { delete (props(s, "redis").tags as Record<string, string>).ManagedBy; return "redis"; },
        comply: [(s) => {
            // Tags may come from the provider's defaultTags (JSON-encoded in provider properties).
            const r = s.get("redis")!;
            r.props.tags = { [TAG_TIER]: "redis" };
            r.provider = {
                type: "pulumi:providers:aws", name: "aws", urn: "urn:pulumi:test::owncloud-ha::pulumi:providers:aws::aws",
                props: { region: "us-east-1", defaultTags: JSON.stringify({ tags: { Project: "p", Environment: "dev", ManagedBy: "pulumi" } }) },
            };
        }],
    },
};

describe("policy pack: every policy, compliant and violating", () => {
    let base: Verdict[];
    before(async () => { base = await run(baseline()); });

    it("the compliant baseline stack produces no verdicts at all", () => {
        expect(base, formatVerdicts(base)).to.deep.equal([]);
    });

    it("every policy of the pack has a test case (and no case names a missing policy)", () => {
        const names = allPolicies.map((p) => p.name).sort();
        expect(Object.keys(CASES).sort()).to.deep.equal(names);
        expect(new Set(names).size, "policy names are unique").to.equal(names.length);
    });

    it("every policy names its control in the description and sets an enforcement level", () => {
        for (const p of allPolicies) {
            expect(p.description, p.name).to.match(/^\[[^\]]+\] /);
            expect(["advisory", "mandatory"], p.name).to.include(p.enforcementLevel);
        }
    });

    for (const policy of allPolicies) {
        const c = CASES[policy.name];
        if (!c) continue;
        describe(policy.name, () => {
            it("reports the violating resource with its default enforcement level", async () => {
                const s = clone(baseline());
                const offender = c.violate(s);
                const verdicts = of(await run(s, c.config), policy.name);
                expect(verdicts, `expected ${policy.name} to object`).to.have.length.greaterThan(0);
                for (const v of verdicts) expect(v.enforcementLevel).to.equal(policy.enforcementLevel);
                if (offender) {
                    const urn = s.get(offender)?.urn ?? [...s.values()].find((r) => r.name === offender)?.urn;
                    expect(verdicts.map((v) => v.urn), formatVerdicts(verdicts)).to.include(urn);
                }
            });
            it("accepts compliant variants", async () => {
                for (const variant of c.comply ?? []) {
                    const s = clone(baseline());
                    variant(s);
                    const verdicts = of(await run(s, c.config), policy.name);
                    expect(verdicts, formatVerdicts(verdicts)).to.deep.equal([]);
                }
            });
        });
    }
});

describe("policy pack: finer points", () => {
    it("EC2.9: the bastion's exemption needs a non-empty reason", async () => {
        const s = clone(baseline());
        (props(s, "bastion").tags as Record<string, string>)[TAG_PUBLIC_EXEMPTION] = " ";
        const v = await run(s);
        expect(of(v, "ec2-instance-no-public-ip").map((x) => x.urn)).to.deep.equal([s.get("bastion")!.urn]);
        expect(of(v, "ec2-eip-only-on-exempt-instances")).to.have.length(1);
    });

    it("EC2.13/EC2.19: protocol -1 from the world hits port 22, 3389 and high-risk ports", async () => {
        const s = clone(baseline());
        props(s, "galera-sg").ingress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }];
        const v = await run(s);
        expect(of(v, "ec2-no-admin-ports-from-world")).to.have.length(2);
        expect(of(v, "ec2-high-risk-ports-restricted")).to.have.length(1);
        expect(of(v, "ec2-world-ingress-alb-only").length).to.be.greaterThan(0);
    });

    it("EC2.19: IPv6 ::/0 and the configurable brick range count", async () => {
        const s = clone(baseline());
        props(s, "gluster-from-web-cidr").cidrBlocks = [];
        props(s, "gluster-from-web-cidr").ipv6CidrBlocks = ["::/0"];
        expect(of(await run(s), "ec2-high-risk-ports-restricted")).to.have.length(1);
        const t = clone(baseline());
        Object.assign(props(t, "gluster-from-web-cidr"), { fromPort: 49160, toPort: 49160, cidrBlocks: ["10.0.0.0/8"] });
        expect(of(await run(t), "ec2-high-risk-ports-restricted")).to.have.length(1);
        // A configured range adds to the component's default range (imported from the component), never replaces it.
        const u = clone(baseline());
        Object.assign(props(u, "gluster-from-web-cidr"), { fromPort: 49205, toPort: 49205, cidrBlocks: ["10.0.0.0/8"] });
        expect(of(await run(u), "ec2-high-risk-ports-restricted")).to.have.length(0);
        const cfg = { policyConfig: { "ec2-high-risk-ports-restricted": { brickPorts: "49200-49210" } } };
        expect(of(await run(u, cfg), "ec2-high-risk-ports-restricted")).to.have.length(1);
        expect(of(await run(t, cfg), "ec2-high-risk-ports-restricted")).to.have.length(1);
    });

    it("EC2.18: world ingress on 8443 into the ALB SG is still refused", async () => {
        const s = clone(baseline());
        (props(s, "alb-sg").ingress as unknown[]).push({ protocol: "tcp", fromPort: 8443, toPort: 8443, cidrBlocks: ["0.0.0.0/0"] });
        const v = of(await run(s), "ec2-world-ingress-alb-only");
        expect(v).to.have.length(1);
        expect(v[0].message).to.contain("8443");
    });

    it("EC2.18: a world rule on an SG outside the stack cannot be verified and is refused", async () => {
        const s = clone(baseline());
        const r = s.get("bastion-ssh")!;
        r.propertyDependencies = {};
        Object.assign(r.props, { securityGroupId: "sg-external", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] });
        expect(of(await run(s), "ec2-world-ingress-alb-only")).to.have.length(1);
    });

    it("EC2.3: a launch template without block device mappings leaves the root volume unencrypted", async () => {
        const s = clone(baseline());
        delete props(s, "web-lt").blockDeviceMappings;
        expect(of(await run(s), "ec2-ebs-encrypted")).to.have.length(1);
    });

    it("EC2.8: hop limit above 1 is refused unless configured", async () => {
        const s = clone(baseline());
        (props(s, "web-lt").metadataOptions as Record<string, unknown>).httpPutResponseHopLimit = 2;
        expect(of(await run(s), "ec2-imdsv2-required")).to.have.length(1);
        const cfg = { policyConfig: { "ec2-imdsv2-required": { maxHopLimit: 2 } } };
        expect(of(await run(s, cfg), "ec2-imdsv2-required")).to.have.length(0);
    });

    it("CKV_AWS_46: finds AWS keys, private keys and gzip+base64 payloads, not $VAR references", async () => {
        expect(findSecrets("AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP")).to.include("AWS access key ID");
        expect(findSecrets("-----BEGIN OPENSSH PRIVATE KEY-----\nabc")).to.include("private key");
        expect(findSecrets(gzipSync("redis_password: 'letmein123'").toString("base64"))).to.have.length.greaterThan(0);
        expect(findSecrets("mysql -uroot -pSuperSecret1 -e 'select 1'")).to.include("password on a MySQL/MariaDB command line");
        expect(findSecrets("REDIS_URL=rediss://default:s3cr3tpw@redis.internal:6379")).to.include("credentials in a URL");
        expect(findSecrets("wsrep_sst_auth=sst:Passw0rd")).to.include("Galera SST credentials");
        expect(findSecrets('wsrep_sst_auth="sst:${SST_PASSWORD}"\nREDIS_URL=rediss://redis.internal:6379')).to.deep.equal([]);
        expect(findSecrets('PASSWORD="${DB_PASSWORD}"\nTOKEN=$(cat /run/token)\nSECRET_ARN=arn:aws:x')).to.deep.equal([]);
        // An ARN names a secret; "secretsmanager:" inside it is not an assignment.
        expect(findSecrets("export DB_SECRET_ARN='arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-AbCdEf'")).to.deep.equal([]);
        expect(findSecrets("DB_SECRET=hunter22")).to.include("password/secret/token assignment");
    });

    it("CKV2_AWS_44: 0.0.0.0/0 into a peering is refused; a route whose peering is unknown is skipped", async () => {
        const s = clone(baseline());
        props(s, "db-to-web").destinationCidrBlock = "0.0.0.0/0";
        expect(of(await run(s), "vpc-peering-routes-peer-cidr-only")).to.have.length(1);
        const t = clone(baseline());
        props(t, "db-to-web").destinationCidrBlock = "10.2.0.0/16"; // fs CIDR sent to web: not the peer's
        expect(of(await run(t), "vpc-peering-routes-peer-cidr-only")).to.have.length(1);
        const u = clone(baseline());
        Object.assign(props(u, "db-to-web"), { destinationCidrBlock: "10.2.0.0/16", vpcPeeringConnectionId: UNKNOWN });
        u.get("db-to-web")!.propertyDependencies = {};
        expect(of(await run(u), "vpc-peering-routes-peer-cidr-only")).to.have.length(0);
    });

    it("placement: an untagged subnet is refused; an instance whose subnet is outside the stack is skipped", async () => {
        const s = clone(baseline());
        delete (props(s, "db-private-a").tags as Record<string, string>)[TAG_SUBNET_TIER];
        expect(of(await run(s), "nodes-in-private-subnets")).to.have.length(1);
        const t = clone(baseline());
        t.get("galera-1")!.propertyDependencies = {};
        props(t, "galera-1").subnetId = "subnet-from-awsx";
        expect(of(await run(t), "nodes-in-private-subnets")).to.have.length(0);
        const u = clone(baseline());
        (props(u, "bastion").tags as Record<string, string>)[TAG_TIER] = "web"; // a web node in a public subnet
        expect(of(await run(u), "nodes-in-private-subnets")).to.have.length(1);
    });

    it("cross-VPC: a security-group source from an unpeered VPC is refused", async () => {
        const s = clone(baseline());
        const r = s.get("galera-from-web")!;
        r.propertyDependencies!.referencedSecurityGroupId = [urnOf(T.securityGroup, "gluster-sg")];
        expect(of(await run(s), "sg-cross-vpc-sources-peer-only")).to.have.length(1);
    });

    it("IAM.1: AdministratorAccess attachments and NotAction on * are refused", async () => {
        const s = clone(baseline());
        props(s, "node-role").managedPolicyArns = ["arn:aws:iam::aws:policy/AdministratorAccess"];
        props(s, "node-secrets").policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", NotAction: ["iam:*"], Resource: "*" }] };
        expect(of(await run(s), "iam-no-full-admin")).to.have.length(2);
    });

    it("ELB.1: every HTTP listener is judged, also without an HTTPS listener; a tagged dev exemption is left to elb-https-required", async () => {
        const s = clone(baseline());
        s.delete("https");
        props(s, "http").defaultActions = [{ type: "forward", targetGroupArn: "arn:tg" }];
        expect(of(await run(s), "elb-http-redirects-to-https")).to.have.length(1);
        (props(s, "alb").tags as Record<string, string>)[TAG_HTTP_EXEMPTION] = "dev only";
        expect(of(await run(s), "elb-http-redirects-to-https")).to.have.length(0);
        expect(of(await run(s, { stack: "prod" }), "elb-http-redirects-to-https"), "production ignores the exemption").to.have.length(1);
    });
});
