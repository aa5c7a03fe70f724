/**
 * Issue #13's findings, each as a violating and a complying variant of the compliant baseline, run
 * through evaluate() (the same validateResource/validateStack functions the pack serves).
 */
import { expect } from "chai";
import * as gluster from "../../components/storage/plan";
import { TAG_HTTP_EXEMPTION, TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER, T } from "../../policy/conventions";
import { evaluate, formatVerdicts, type EvalConfig, type Verdict } from "../../policy/evaluate";
import { isPublicRange, isWorldLike } from "../../policy/lib";
import { findSecrets } from "../../policy/policies/ec2";
import { DATA_PORTS, DEFAULT_BRICK_PORTS } from "../../policy/policies/ports";
import { baseline, clone, props, StackBuilder, urnOf, type Stack } from "./fixtures";

const doc = (Statement: unknown[]): string => JSON.stringify({ Version: "2012-10-17", Statement });

async function verdicts(s: Stack, config: EvalConfig = {}): Promise<Verdict[]> {
    return evaluate([...s.values()], config);
}

async function names(s: Stack, config: EvalConfig = {}): Promise<string[]> {
    return (await verdicts(s, config)).map((v) => `${v.policyName}:${v.enforcementLevel}`);
}

function add(s: Stack, name: string, type: string, p: Record<string, unknown>, deps: Record<string, string[]> = {}, taggable = true): void {
    const b = new StackBuilder();
    for (const [k, v] of s) b.resources.set(k, v);
    b.add(name, type, p, deps, taggable);
    s.set(name, b.resources.get(name)!);
}

const tags = (s: Stack, name: string): Record<string, string> => props(s, name).tags as Record<string, string>;

describe("issue #13 findings", () => {
    describe("production refuses plain HTTP", () => {
        const httpOnly = (env: string): Stack => {
            const s = clone(baseline());
            s.delete("https");
            props(s, "http").defaultActions = [{ type: "forward", targetGroupArn: "arn:tg" }];
            tags(s, "alb").Environment = env;
            return s;
        };

        it("an internet-facing HTTP-only load balancer in production is mandatory, by tag or by the prod policy config", async () => {
            expect(await names(httpOnly("prod"))).to.include("elb-https-required:mandatory");
            expect(await names(httpOnly("dev"), { stack: "prod" })).to.include("elb-https-required:mandatory");
            const msg = (await verdicts(httpOnly("prod"))).find((v) => v.policyName === "elb-https-required")!.message;
            expect(msg).to.include("pulumi config set certificateArn");
        });

        it("the exemption tag is never honoured in production, even beside an HTTPS listener", async () => {
            const s = httpOnly("prod");
            tags(s, "alb")[TAG_HTTP_EXEMPTION] = "please";
            expect((await names(s)).filter((n) => n === "elb-https-required:mandatory")).to.have.length(2);
            const t = clone(baseline());
            tags(t, "alb")[TAG_HTTP_EXEMPTION] = "please";
            expect(await names(t, { stack: "prod" })).to.include("elb-https-required:mandatory");
        });

        it("dev: HTTP-only only with the explicit exemption, which is then reported (advisory) and nothing else", async () => {
            const s = httpOnly("dev");
            expect(await names(s, { stack: "dev" })).to.include.members(["elb-https-required:mandatory", "elb-http-redirects-to-https:mandatory"]);
            tags(s, "alb")[TAG_HTTP_EXEMPTION] = "dev: no certificate yet";
            expect(await names(s, { stack: "dev" })).to.deep.equal(["elb-http-exemption-reported:advisory"]);
        });

        it("a listener without protocol is HTTP on an ALB and TCP on an NLB", async () => {
            const s = clone(baseline());
            delete props(s, "http").protocol;
            props(s, "http").defaultActions = [{ type: "forward", targetGroupArn: "arn:tg" }];
            expect(await names(s)).to.include("elb-http-redirects-to-https:mandatory");
            const t = clone(baseline());
            props(t, "alb").loadBalancerType = "network";
            delete props(t, "http").protocol;
            props(t, "http").defaultActions = [{ type: "forward", targetGroupArn: "arn:tg" }];
            expect(await names(t)).to.not.include("elb-http-redirects-to-https:mandatory");
        });

        it("classic load balancers count: HTTP-only and internet-facing is refused, with an HTTPS listener it passes", async () => {
            const s = clone(baseline());
            add(s, "classic", T.classicLoadBalancer, { subnets: ["subnet-a", "subnet-b"], listeners: [{ lbPort: 80, lbProtocol: "http", instancePort: 8080, instanceProtocol: "http" }] });
            expect(await names(s)).to.include("elb-https-required:mandatory");
            (props(s, "classic").listeners as unknown[]).push({ lbPort: 443, lbProtocol: "https", instancePort: 8080, instanceProtocol: "http", sslCertificateId: "arn:acm" });
            expect(await names(s)).to.not.include("elb-https-required:mandatory");
        });
    });

    describe("the world is judged by address range, not only /0", () => {
        it("classifies ranges: halves of the world and any public range are public; RFC 1918 and 100.64/10 are not", () => {
            for (const c of ["0.0.0.0/1", "128.0.0.0/1", "8.8.0.0/16", "203.0.113.7/32", "2001:db8::/32", "::/0"]) expect(isPublicRange(c), c).to.equal(true);
            for (const c of ["10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24", "100.64.0.0/10", "fd00::/8"]) expect(isPublicRange(c), c).to.equal(false);
            expect(isWorldLike("0.0.0.0/1")).to.equal(true);
            expect(isWorldLike("203.0.113.7/32")).to.equal(false);
            expect(isWorldLike("10.0.0.0/8"), "private, however wide").to.equal(false);
        });

        it("SSH from the world split in two is refused; from the admin /32 it is not", async () => {
            const s = clone(baseline());
            props(s, "bastion-ssh").cidrBlocks = ["0.0.0.0/1", "128.0.0.0/1"];
            expect((await names(s)).filter((n) => n === "ec2-no-admin-ports-from-world:mandatory")).to.have.length(2);
            const t = clone(baseline());
            props(t, "bastion-ssh").cidrBlocks = ["203.0.113.7/32"];
            expect(await names(t)).to.deep.equal([]);
        });

        it("a data or replication port from any public range is refused, however narrow; a private range passes", async () => {
            for (const [port, cidr] of [[3306, "198.51.100.0/24"], [4567, "203.0.113.9/32"], [6379, "8.8.0.0/16"]] as const) {
                const s = clone(baseline());
                Object.assign(props(s, "gluster-from-web-cidr"), { fromPort: port, toPort: port, cidrBlocks: [cidr] });
                expect(await names(s), `${port} from ${cidr}`).to.include("ec2-high-risk-ports-restricted:mandatory");
            }
            const ok = clone(baseline());
            Object.assign(props(ok, "gluster-from-web-cidr"), { fromPort: 3306, toPort: 3306, cidrBlocks: ["10.0.16.0/20"] });
            expect(await names(ok)).to.deep.equal([]);
        });

        it("HTTPS from the world split in two into a non-ALB security group is refused (EC2.18)", async () => {
            const s = clone(baseline());
            props(s, "web-sg").ingress = [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"] }];
            expect(await names(s)).to.include("ec2-world-ingress-alb-only:mandatory");
        });
    });

    describe("every load-balancer type forwarding to a data port", () => {
        it("an internet-facing NLB listening on 3306 is refused; the same NLB internal passes", async () => {
            const s = clone(baseline());
            add(s, "nlb", T.lbLoadBalancer, { loadBalancerType: "network", internal: false, subnets: ["subnet-a", "subnet-b"] });
            add(s, "nlb-mysql", T.lbListener, { loadBalancerArn: "arn:nlb", port: 3306, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg-db" }] }, { loadBalancerArn: ["nlb"] });
            expect(await names(s)).to.include("elb-no-data-ports-from-internet:mandatory");
            props(s, "nlb").internal = true;
            expect(await names(s)).to.not.include("elb-no-data-ports-from-internet:mandatory");
        });

        it("an ALB listener on 443 forwarding to a Redis target group is refused; to 8080 it passes", async () => {
            const s = clone(baseline());
            add(s, "tg-redis", T.lbTargetGroup, { port: 6379, protocol: "HTTP", vpcId: "vpc-web" });
            props(s, "https").defaultActions = [{ type: "forward", targetGroupArn: "arn:tg-redis" }];
            s.get("https")!.propertyDependencies!.defaultActions = [urnOf(T.lbTargetGroup, "tg-redis")];
            expect(await names(s)).to.include("elb-no-data-ports-from-internet:mandatory");
            props(s, "tg-redis").port = 8080;
            expect(await names(s)).to.not.include("elb-no-data-ports-from-internet:mandatory");
        });

        it("a classic ELB forwarding to instance port 6379 is refused", async () => {
            const s = clone(baseline());
            add(s, "classic", T.classicLoadBalancer, { subnets: ["subnet-a", "subnet-b"], listeners: [{ lbPort: 443, lbProtocol: "ssl", instancePort: 6379, instanceProtocol: "tcp" }] });
            expect(await names(s)).to.include("elb-no-data-ports-from-internet:mandatory");
        });
    });

    describe("every path by which a public IP reaches an instance", () => {
        const eniOnGalera = (s: Stack): void => {
            add(s, "galera-eni", T.networkInterface, { subnetId: "subnet-db-a" });
            add(s, "galera-eni-attach", T.networkInterfaceAttachment, { instanceId: "i-galera", networkInterfaceId: "eni-g", deviceIndex: 0 },
                { instanceId: ["galera-1"], networkInterfaceId: ["galera-eni"] }, false);
        };

        it("an Elastic IP on a network interface attached to a data node is refused; on the exempt bastion's it passes", async () => {
            const s = clone(baseline());
            eniOnGalera(s);
            add(s, "eni-eip", T.eip, { domain: "vpc", networkInterface: "eni-g" }, { networkInterface: ["galera-eni"] });
            expect(await names(s)).to.include("ec2-eip-only-on-exempt-instances:mandatory");
            s.get("galera-eni-attach")!.propertyDependencies!.instanceId = [urnOf(T.instance, "bastion")];
            expect(await names(s)).to.not.include("ec2-eip-only-on-exempt-instances:mandatory");
        });

        it("an EipAssociation naming the interface is judged the same way", async () => {
            const s = clone(baseline());
            eniOnGalera(s);
            add(s, "eip2", T.eip, { domain: "vpc" });
            add(s, "eip2-assoc", T.eipAssociation, { allocationId: "eipalloc-1", networkInterfaceId: "eni-g" }, { allocationId: ["eip2"], networkInterfaceId: ["galera-eni"] }, false);
            expect(await names(s)).to.include("ec2-eip-only-on-exempt-instances:mandatory");
        });

        it("spot instance requests get the instance rules: public IP, IMDSv2, placement", async () => {
            const s = clone(baseline());
            add(s, "spot", T.spotInstanceRequest, {
                ami: "ami-1", instanceType: "t3.small", subnetId: "subnet-web-pub-a", associatePublicIpAddress: true,
                metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 }, rootBlockDevice: { encrypted: true },
                tags: { [TAG_TIER]: "galera" },
            }, { subnetId: ["web-public-a"] });
            expect(await names(s)).to.include.members([
                "ec2-instance-no-public-ip:mandatory", "ec2-imdsv2-required:mandatory", "nodes-in-private-subnets:mandatory",
            ]);
            Object.assign(props(s, "spot"), { associatePublicIpAddress: false, metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } });
            s.get("spot")!.propertyDependencies!.subnetId = [urnOf(T.subnet, "db-private-a")];
            expect(await names(s)).to.deep.equal([]);
        });
    });

    describe("role trust policies", () => {
        it("Principal \"*\" (also from getPolicyDocument's input shape) and NotPrincipal are refused; a service or a bound org passes", async () => {
            for (const bad of [
                doc([{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole" }]),
                doc([{ Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::1:root" }, Action: "sts:AssumeRole" }]),
                { statements: [{ effect: "Allow", actions: ["sts:AssumeRole"], principals: [{ type: "AWS", identifiers: ["*"] }] }] },
            ]) {
                const s = clone(baseline());
                props(s, "node-role").assumeRolePolicy = bad;
                expect(await names(s), JSON.stringify(bad)).to.include("iam-trust-policy-restricted:mandatory");
            }
            const ok = clone(baseline());
            props(ok, "node-role").assumeRolePolicy = doc([{ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole", Condition: { StringEquals: { "sts:ExternalId": "x-123" } } }]);
            expect(await names(ok)).to.deep.equal([]);
        });
    });

    describe("every ElastiCache authentication mode", () => {
        const rbac = (auth: Record<string, unknown>, access = "on ~* +@all"): Stack => {
            const s = clone(baseline());
            delete props(s, "redis").authToken;
            add(s, "redis-user", T.cacheUser, { userId: "app", userName: "default", engine: "redis", accessString: access, ...auth });
            add(s, "redis-users", T.cacheUserGroup, { userGroupId: "app-group", engine: "redis", userIds: ["app"] }, { userIds: ["redis-user"] });
            props(s, "redis").userGroupIds = ["app-group"];
            s.get("redis")!.propertyDependencies = { userGroupIds: [urnOf(T.cacheUserGroup, "redis-users")] };
            return s;
        };

        it("a user group whose user needs no password is no authentication", async () => {
            expect(await names(rbac({ authenticationMode: { type: "no-password-required" } }))).to.include("elasticache-auth:mandatory");
            expect(await names(rbac({ noPasswordRequired: true }))).to.include("elasticache-auth:mandatory");
        });

        it("password and IAM users pass, and so does a disabled password-less user", async () => {
            expect(await names(rbac({ authenticationMode: { type: "password", passwords: ["x".repeat(20)] } }))).to.deep.equal([]);
            expect(await names(rbac({ authenticationMode: { type: "iam" } }))).to.deep.equal([]);
            expect(await names(rbac({ authenticationMode: { type: "no-password-required" } }, "off ~* -@all"))).to.deep.equal([]);
        });
    });

    describe("prefix lists", () => {
        const viaPrefixList = (cidr: string, managed = true): Stack => {
            const s = clone(baseline());
            if (managed) add(s, "partners", T.prefixList, { name: "partners", addressFamily: "IPv4", maxEntries: 5, entries: [{ cidr }] });
            add(s, "galera-from-pl", T.sgIngressRule, { securityGroupId: "sg-galera", ipProtocol: "tcp", fromPort: 3306, toPort: 3306, prefixListId: managed ? "pl-partners" : "pl-0123456789abcdef0" },
                managed ? { securityGroupId: ["galera-sg"], prefixListId: ["partners"] } : { securityGroupId: ["galera-sg"] });
            return s;
        };

        it("a prefix list with a public range into a data tier is refused; a private one passes", async () => {
            expect(await names(viaPrefixList("203.0.113.0/24"))).to.include("data-tiers-no-public-sources:mandatory");
            expect(await names(viaPrefixList("10.0.0.0/20"))).to.deep.equal([]);
        });

        it("a prefix list not declared in the stack (e.g. AWS-managed) cannot be verified for a data tier", async () => {
            expect(await names(viaPrefixList("", false))).to.include("data-tiers-no-public-sources:mandatory");
        });

        it("a prefix list holding 0.0.0.0/0 counts as the world for EC2.18", async () => {
            const s = clone(baseline());
            add(s, "everyone", T.prefixList, { name: "everyone", addressFamily: "IPv4", maxEntries: 1, entries: [{ cidr: "0.0.0.0/0" }] });
            add(s, "web-from-pl", T.sgIngressRule, { securityGroupId: "sg-web", ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-e" },
                { securityGroupId: ["web-sg"], prefixListId: ["everyone"] });
            expect(await names(s)).to.include("ec2-world-ingress-alb-only:mandatory");
        });
    });

    describe("Gluster brick ports: one home, and the configured range", () => {
        it("the pack's default brick range is the component's (imported, not copied)", () => {
            expect(DEFAULT_BRICK_PORTS).to.equal(`${gluster.DEFAULT_BASE_PORT}-${gluster.DEFAULT_MAX_PORT}`);
            expect(DATA_PORTS.some((p) => p.from === gluster.DEFAULT_BASE_PORT && p.to === gluster.DEFAULT_MAX_PORT)).to.equal(true);
        });

        it("a stack that configures a wider brick range is judged at that range: a public source on 49250 is refused", async () => {
            const s = clone(baseline());
            add(s, "gluster-bricks", T.sgIngressRule, { securityGroupId: "sg-gluster", ipProtocol: "tcp", fromPort: 49152, toPort: 49300, referencedSecurityGroupId: "sg-web" },
                { securityGroupId: ["gluster-sg"], referencedSecurityGroupId: ["web-sg"] });
            add(s, "web-49250", T.sgIngressRule, { securityGroupId: "sg-web", ipProtocol: "tcp", fromPort: 49250, toPort: 49250, cidrIpv4: "198.51.100.0/24" },
                { securityGroupId: ["web-sg"] });
            expect(await names(s)).to.include("data-tiers-no-public-sources:mandatory");
            expect(await names(s), "the default range alone would not see it").to.not.include("ec2-high-risk-ports-restricted:mandatory");
            props(s, "gluster-bricks").toPort = 49200;
            expect(await names(s)).to.deep.equal([]);
        });
    });

    describe("served data ports never swallow the ALB's web ports", () => {
        it("a data tier that also accepts 443 from the web tier does not turn the ALB's world-open 443 into a violation", async () => {
            const s = clone(baseline());
            add(s, "gluster-https", T.sgIngressRule, { securityGroupId: "sg-gluster", ipProtocol: "tcp", fromPort: 443, toPort: 443, referencedSecurityGroupId: "sg-web" },
                { securityGroupId: ["gluster-sg"], referencedSecurityGroupId: ["web-sg"] });
            expect(await names(s)).to.deep.equal([]);
        });
    });

    describe("network ACLs", () => {
        it("SSH from the world split in two through an ACL is refused; from the admin range it passes", async () => {
            const s = clone(baseline());
            (props(s, "web-default-nacl").ingress as Record<string, unknown>[])[1].cidrBlock = "0.0.0.0/1";
            expect(await names(s)).to.include("ec2-nacl-no-admin-ports-from-world:mandatory");
            const t = clone(baseline());
            add(t, "nacl", T.networkAcl, { vpcId: "vpc-web", ingress: [{ protocol: "-1", ruleNo: 100, action: "allow", cidrBlock: "0.0.0.0/0", fromPort: 0, toPort: 0 }] }, { vpcId: ["web-vpc"] });
            expect(await names(t)).to.include("ec2-nacl-no-admin-ports-from-world:mandatory");
        });
    });

    describe("provider default tags", () => {
        it("a tier given only through the provider's defaultTags is judged (a galera node in a public subnet)", async () => {
            const s = clone(baseline());
            const node = s.get("galera-1")!;
            delete (node.props.tags as Record<string, string>)[TAG_TIER];
            node.propertyDependencies!.subnetId = [urnOf(T.subnet, "web-public-a")];
            expect(await names(s), "without the provider, the tier is unknown").to.not.include("nodes-in-private-subnets:mandatory");
            node.provider = {
                type: "pulumi:providers:aws", name: "galera", urn: "urn:pulumi:test::owncloud-ha::pulumi:providers:aws::galera",
                props: { defaultTags: JSON.stringify({ tags: { [TAG_TIER]: "galera" } }) },
            };
            expect(await names(s)).to.include("nodes-in-private-subnets:mandatory");
            expect(tags(s, "web-public-a")[TAG_SUBNET_TIER]).to.equal("public");
            void TAG_PUBLIC_EXEMPTION;
        });
    });

    describe("the user-data secret detector: real secret forms and lines that only name secrets", () => {
        const SECRETS = [
            "MYSQL_PWD=Sup3rS3cret",
            "export MYSQL_PWD='hunter2-pw'",
            "occ maintenance:install --admin-user admin --admin-pass hunter2pw",
            "occ maintenance:install --database-pass=\"dbpw1234\" --database-user owncloud",
            "mariadb -uroot -pRootPw123 -e \"select 1\"",
            "mysqldump -uroot -pRootPw123 owncloud",
            "requirepass Redis123pw",
            "masterauth Redis123pw",
            "redis-cli --tls -a redispw123 ping",
            "OWNCLOUD_ADMIN_PASSWORD=adminpw1",
            "OWNCLOUD_DB_PASSWORD: \"dbpw5678\"",
            "CREATE USER 'sst'@'localhost' IDENTIFIED BY 'sstpw123';",
            "docker run -e OWNCLOUD_REDIS_PASSWORD=tok3n0123 owncloud/server:11.0",
            "CLIENT_SECRET=abc123def",
            "wsrep_sst_auth=sst:Passw0rd",
            "REDIS_URL=rediss://default:s3cr3tpw@redis.internal:6379",
        ];
        const NOT_SECRETS = [
            "DB_PASSWORD_SECRET=owncloud-ha/prod/galera",
            "GALERA_SECRET=owncloud-ha/dev/galera-credentials",
            "TOKEN_TTL=21600",
            "TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H \"X-aws-ec2-metadata-token-ttl-seconds: 21600\")",
            "occ maintenance:install --admin-pass \"$ADMIN_PASSWORD\" --database-pass \"${DB_PASSWORD}\"",
            "mysql -p\"$MYSQL_ROOT_PASSWORD\" -e 'select 1'",
            "mysql -p -uroot",
            "requirepass ${REDIS_PASSWORD}",
            "redis-cli --tls -a \"$REDIS_TOKEN\" ping",
            "PASSWORD_LENGTH=32",
            "aws secretsmanager get-secret-value --secret-id owncloud-ha/prod/galera --query SecretString",
            "SECRET_ID=owncloud/db",
            "GALERA_SECRET_ARN=arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-AbCdEf",
            "export REDIS_PASSWORD_FILE=/run/secrets/redis",
            "PWD=/root",
            "mariadb --defaults-extra-file=/run/owncloud/my.cnf",
            "SESSION_TIMEOUT=3600",
        ];
        for (const line of SECRETS) it(`finds: ${line}`, () => expect(findSecrets(line), line).to.have.length.greaterThan(0));
        for (const line of NOT_SECRETS) it(`leaves alone: ${line}`, () => expect(findSecrets(line), line).to.deep.equal([]));

        it("the whole corpus as one user-data script: each secret line reported, the benign lines alone pass the policy", async () => {
            const s = clone(baseline());
            props(s, "web-lt").userData = Buffer.from(["#!/bin/bash", ...NOT_SECRETS].join("\n")).toString("base64");
            expect(await names(s), formatVerdicts(await verdicts(s))).to.deep.equal([]);
            props(s, "web-lt").userData = Buffer.from(["#!/bin/bash", ...NOT_SECRETS, SECRETS[0]].join("\n")).toString("base64");
            expect(await names(s)).to.deep.equal(["ec2-no-secrets-in-user-data:mandatory"]);
        });
    });
});
