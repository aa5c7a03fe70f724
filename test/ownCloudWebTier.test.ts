import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { expect } from "chai";
import { InvalidArgsError } from "../components/shared/errors";
import { SCRIPTS_DIR } from "../components/shared/remoteBootstrap";
import { bundleScripts } from "../components/shared/userData";
import { DEFAULT_OWNCLOUD_IMAGE, HEALTH_PORT, OwnCloudWebTier, OwnCloudWebTierArgs, resolveWebTierArgs, TLS_POLICY, webUserData } from "../components/web/ownCloudWebTier";
import { MOCK_AMIS, MockEngine, underMocks } from "./harness/mocks";
import { WEB_NODE_FILES } from "./fixtures/shipped-files";

const args: OwnCloudWebTierArgs = {
    vpcId: "vpc-web",
    publicSubnetIds: ["pub-a", "pub-b", "pub-c"],
    privateSubnetIds: ["priv-a", "priv-b", "priv-c"],
    nodeSecurityGroupId: "sg-nodes",
    domain: "cloud.example.com",
    galeraWriterOrder: ["10.1.0.10", "10.1.16.10", "10.1.32.10"],
    galeraSecretArn: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:galera",
    glusterServers: ["10.2.0.10", "10.2.16.10", "10.2.32.10"],
    glusterVolume: "gfs_v_r5",
    redisEndpoint: "master.redis.cache.amazonaws.com",
    redisSecretArn: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:redis",
    bastionSecurityGroupId: "sg-bastion",
};

/** The settings a web node boots with: the `export NAME='value'` lines of its user data. */
function userDataEnv(e: MockEngine, name = "web-lt"): Record<string, string> {
    const script = Buffer.from(e.byName(name).inputs.userData, "base64").toString();
    return Object.fromEntries([...script.matchAll(/^export ([A-Z_0-9]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
}

const build = (over: Partial<OwnCloudWebTierArgs> = {}) => underMocks(() => new OwnCloudWebTier("web", { ...args, ...over }));
const listeners = (e: MockEngine) => e.ofType("aws:lb/listener:Listener").map((l) => l.inputs);

describe("OwnCloudWebTier", () => {
    describe("resolveWebTierArgs (no mocks)", () => {
        it("defaults: 2/4/2 nodes, ownCloud 11.0.0, CPU target 50 %, no HTTPS without certificate or zone", () => {
            const r = resolveWebTierArgs("w", args);
            expect([r.minSize, r.maxSize, r.desiredCapacity, r.owncloudImage, r.cpuTargetPercent, r.https]).to.deep.equal([2, 4, 2, "owncloud/server:11.0.0", 50, "none"]);
            expect(DEFAULT_OWNCLOUD_IMAGE).to.equal("owncloud/server:11.0.0");
        });
        it("accepts pinned images: published full versions, date tags, digests, other registries' tags", () => {
            for (const owncloudImage of [
                "owncloud/server:11.0.0",
                "owncloud/server:11.0.0-20260801",
                "owncloud/server:10.16.4",
                "docker.io/owncloud/server:11.0.0",
                `owncloud/server@sha256:${"ab".repeat(32)}`,
                "registry.example.com:5000/mirror/owncloud-server:11.0.0-custom",
            ]) {
                expect(resolveWebTierArgs("w", { ...args, owncloudImage }).owncloudImage).to.equal(owncloudImage);
            }
        });
        for (const tag of ["11.0", "11", "latest", "10.16"]) {
            it(`refuses owncloud/server:${tag} (not a pinned published version), naming owncloudImage and the fix`, () =>
                expect(() => resolveWebTierArgs("w", { ...args, owncloudImage: `owncloud/server:${tag}` })).to.throw(
                    InvalidArgsError,
                    /owncloudImage: "owncloud\/server:[0-9a-z.]+" is not a pinned owncloud\/server version.*set owncloudImage to owncloud\/server:11\.0\.0/,
                ));
        }
        const bad: [string, Partial<OwnCloudWebTierArgs>, RegExp][] = [
            ["an image without a tag", { owncloudImage: "owncloud/server" }, /owncloudImage: "owncloud\/server" must be image:tag or image@sha256:digest, e\.g\. owncloud\/server:11\.0\.0/],
            ["a single AZ for the ALB", { publicSubnetIds: ["pub-a"] }, /at least 2 AZs \(FSBP ELB\.13\)/],
            ["a single AZ for the nodes", { privateSubnetIds: ["priv-a"] }, /privateSubnetIds: give private subnets in at least 2 AZs/],
            ["desired outside min..max", { minSize: 3, maxSize: 9, desiredCapacity: 10 }, /desiredCapacity 10 must lie between minSize 3 and maxSize 9/],
            ["max below min", { minSize: 3, maxSize: 2 }, /maxSize 2 is below minSize 3/],
            ["a bad domain", { domain: "Cloud Example" }, /not a lower-case DNS name/],
            ["both a certificate and a zone", { certificateArn: "arn:cert", hostedZoneId: "Z1" }, /give one/],
            ["one Gluster server", { glusterServers: ["10.2.0.10"] }, /at least 2/],
        ];
        for (const [what, over, message] of bad) {
            it(`refuses ${what}`, () => expect(() => resolveWebTierArgs("w", { ...args, ...over })).to.throw(InvalidArgsError, message));
        }
    });

    describe("listeners", () => {
        it("without a certificate: one HTTP listener forwarding, no HTTPS", async () => {
            const l = listeners(await build());
            expect(l).to.have.length(1);
            expect(l[0]).to.deep.include({ port: 80, protocol: "HTTP" });
            expect(l[0].defaultActions[0].type).to.equal("forward");
        });
        it("with a certificate ARN: HTTPS with the TLS 1.2/1.3 policy, HTTP redirects to HTTPS", async () => {
            const l = listeners(await build({ certificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/abc" }));
            const https = l.find((x) => x.port === 443)!;
            expect(https).to.deep.include({ protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/abc" });
            const http = l.find((x) => x.port === 80)!;
            expect(http.defaultActions).to.deep.equal([{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
        });
        it("with a hosted zone: an ACM certificate validated by DNS, used by HTTPS, and an alias record", async () => {
            const e = await build({ hostedZoneId: "Z123" });
            const [cert] = e.ofType("aws:acm/certificate:Certificate");
            expect(cert.inputs).to.deep.include({ domainName: "cloud.example.com", validationMethod: "DNS" });
            const https = e.ofType("aws:lb/listener:Listener").find((x) => x.inputs.port === 443)!;
            expect(e.byUrn(https.propertyDependencies.certificateArn[0])!.type).to.equal("aws:acm/certificateValidation:CertificateValidation");
            const records = e.ofType("aws:route53/record:Record").map((r) => r.inputs);
            expect(records.find((r) => r.type === "A")).to.deep.include({ name: "cloud.example.com", zoneId: "Z123" });
        });
    });

    describe("load balancer and nodes", () => {
        it("hardens the ALB: invalid headers dropped, defensive desync mitigation, deletion protection as asked", async () => {
            const [alb] = (await build({ deletionProtection: true })).ofType("aws:lb/loadBalancer:LoadBalancer");
            expect(alb.inputs).to.deep.include({ dropInvalidHeaderFields: true, desyncMitigationMode: "defensive", enableDeletionProtection: true, internal: false });
            expect(alb.inputs.subnets).to.deep.equal(args.publicSubnetIds);
        });

        it("opens the ALB to the world on 80/443 only and the nodes to the ALB only", async () => {
            const e = await build();
            const albSg = e.byName("web-alb-sg");
            expect(albSg.inputs.ingress.map((r: any) => [r.fromPort, r.toPort, r.cidrBlocks])).to.deep.equal([
                [80, 80, ["0.0.0.0/0"]],
                [443, 443, ["0.0.0.0/0"]],
            ]);
            const nodeIngress = e
                .ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                .map((r) => `${r.inputs.fromPort} from ${r.propertyDependencies.referencedSecurityGroupId?.length ? e.byUrn(r.propertyDependencies.referencedSecurityGroupId[0])!.name : r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4}`);
            expect(nodeIngress.sort()).to.deep.equal([`${HEALTH_PORT} from web-alb-sg`, "22 from sg-bastion", "8080 from web-alb-sg"].sort());
        });

        it("checks health on the node's health frontend, independent of the Host header, with stickiness", async () => {
            const [tg] = (await build()).ofType("aws:lb/targetGroup:TargetGroup");
            expect(tg.inputs.port).to.equal(8080);
            expect(tg.inputs.healthCheck).to.deep.include({ port: String(HEALTH_PORT), path: "/healthz", matcher: "200" });
            expect(tg.inputs.stickiness).to.deep.include({ enabled: true, type: "lb_cookie" });
        });

        it("runs nodes in the private subnets of every AZ, with ELB health checks, refresh on template change, and scaling on CPU and requests", async () => {
            const e = await build({ minSize: 3, maxSize: 9, desiredCapacity: 3 });
            const [asg] = e.ofType("aws:autoscaling/group:Group");
            expect(asg.inputs).to.deep.include({ minSize: 3, maxSize: 9, desiredCapacity: 3, healthCheckType: "ELB" });
            expect(asg.inputs.vpcZoneIdentifiers).to.deep.equal(args.privateSubnetIds);
            expect(asg.inputs.instanceRefresh.strategy).to.equal("Rolling");
            expect(e.byUrn(asg.propertyDependencies.launchTemplate[0])!.type).to.equal("aws:ec2/launchTemplate:LaunchTemplate");
            const policies = e.ofType("aws:autoscaling/policy:Policy").map((p) => p.inputs.targetTrackingConfiguration);
            expect(policies.map((p) => p.predefinedMetricSpecification.predefinedMetricType).sort()).to.deep.equal(["ALBRequestCountPerTarget", "ASGAverageCPUUtilization"]);
            expect(policies.find((p) => p.predefinedMetricSpecification.predefinedMetricType === "ALBRequestCountPerTarget").predefinedMetricSpecification.resourceLabel).to.equal(
                "app/web-alb/0123456789abcdef/targetgroup/web-tg/0123456789abcdef",
            );
        });

        it("spot above an on-demand base: a mixed-instances policy on the same launch template; refused outside 1..minSize", async () => {
            const e: MockEngine = await build({ spotAboveOnDemandBase: 1, instanceType: "t4g.small" });
            const [asg] = e.ofType("aws:autoscaling/group:Group");
            const [lt] = e.ofType("aws:ec2/launchTemplate:LaunchTemplate");
            expect(asg.inputs.launchTemplate).to.equal(undefined);
            expect(asg.inputs.capacityRebalance).to.equal(true);
            const mip = asg.inputs.mixedInstancesPolicy;
            expect(mip.instancesDistribution).to.deep.equal({ onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" });
            expect(mip.launchTemplate.launchTemplateSpecification.launchTemplateId).to.equal(`${lt.name}-id`); // the mocks' ID for it
            // One architecture per tier: the only override is the launch template's own (arm64) type.
            expect(mip.launchTemplate.overrides).to.deep.equal([{ instanceType: "t4g.small" }]);
            expect(lt.inputs.imageId).to.equal(MOCK_AMIS.arm64);
            const [plain] = (await build()).ofType("aws:autoscaling/group:Group");
            expect(plain.inputs.mixedInstancesPolicy).to.equal(undefined);
            for (const bad of [0, 3]) expect(() => resolveWebTierArgs("w", { ...args, spotAboveOnDemandBase: bad })).to.throw(InvalidArgsError, /spotAboveOnDemandBase: \d must be a whole number between 1 and minSize \(2\)/);
        });

        it("launches without public IPs, IMDSv2 only with hop limit 1, encrypted root", async () => {
            const [lt] = (await build()).ofType("aws:ec2/launchTemplate:LaunchTemplate");
            expect(lt.inputs.networkInterfaces[0].associatePublicIpAddress).to.equal("false");
            expect(lt.inputs.metadataOptions).to.deep.include({ httpTokens: "required", httpPutResponseHopLimit: 1 });
            expect(lt.inputs.blockDeviceMappings[0].ebs).to.deep.include({ encrypted: "true", volumeType: "gp3" });
        });

        it("grants the nodes their three secrets, their log group and their metric namespace, and nothing wider", async () => {
            const e = await build();
            const doc = JSON.parse(e.byName("web-node-policy").inputs.policy);
            const bySid = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
            expect(bySid.ReadOwnSecrets.Resource).to.have.length(3);
            expect(bySid.ReadOwnSecrets.Resource).to.include(args.galeraSecretArn);
            expect(bySid.OwnMetrics.Condition).to.deep.equal({ StringEquals: { "cloudwatch:namespace": "owncloud-ha" } });
            for (const s of doc.Statement) {
                for (const action of [s.Action].flat()) expect(action, s.Sid).to.not.match(/(^\*$|:\*$)/);
            }
        });

        it("writes access logs to a private, encrypted bucket when asked", async () => {
            const e = await build({ accessLogs: true });
            const [alb] = e.ofType("aws:lb/loadBalancer:LoadBalancer");
            expect(alb.inputs.accessLogs.enabled).to.equal(true);
            expect(e.ofType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs).to.deep.include({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
            const [sse] = e.ofType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
            expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("AES256");
        });

        it("creates the load balancer only after the log bucket's policy, public-access block and ownership controls", async () => {
            // Enabling access logs makes ELB check it can write to the bucket; without the policy: Access Denied.
            const e = await build({ accessLogs: true });
            const [alb] = e.ofType("aws:lb/loadBalancer:LoadBalancer");
            for (const type of [
                "aws:s3/bucketPolicy:BucketPolicy",
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            ]) {
                const [r] = e.ofType(type);
                expect(alb.dependencies, type).to.include(r.urn);
            }
            const [policy] = e.ofType("aws:s3/bucketPolicy:BucketPolicy");
            expect(JSON.parse(policy.inputs.policy).Statement.find((st: any) => st.Sid === "AlbLogDelivery").Resource).to.match(/\/web\/AWSLogs\/\*$/);
        });
    });

    describe("user data", () => {
        it("carries no secret, only ARNs to fetch them with, and the settings every node shares", async () => {
            const e = await build();
            const [lt] = e.ofType("aws:ec2/launchTemplate:LaunchTemplate");
            const script = Buffer.from(lt.inputs.userData, "base64").toString();
            expect(script).to.not.match(/MOCKSECRET|PRIVATE KEY|password=/i);
            expect(script).to.contain(`export DB_SECRET_ARN='${args.galeraSecretArn}'`);
            expect(script).to.contain("export GALERA_BACKENDS='galera1=10.1.0.10,galera2=10.1.16.10,galera3=10.1.32.10'");
            expect(script).to.contain("export OWNCLOUD_IMAGE='owncloud/server:11.0.0'");
        });

        it("tells the nodes the protocol users reach the ALB with: http without a certificate (dev today), https with one", async () => {
            expect(userDataEnv(await build()).OWNCLOUD_PROTOCOL).to.equal("http");
            expect(userDataEnv(await build({ certificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/abc" })).OWNCLOUD_PROTOCOL).to.equal("https");
            expect(userDataEnv(await build({ hostedZoneId: "Z123" })).OWNCLOUD_PROTOCOL).to.equal("https");
        });

        it("tells the nodes whether the Redis endpoint is a cluster-mode configuration endpoint", async () => {
            expect(userDataEnv(await build()).REDIS_CLUSTER_MODE).to.equal("disabled");
            const cluster = userDataEnv(await build({ redisClusterMode: true, redisEndpoint: "clustercfg.redis.abc.euc1.cache.amazonaws.com" }));
            expect([cluster.REDIS_CLUSTER_MODE, cluster.REDIS_HOST]).to.deep.equal(["enabled", "clustercfg.redis.abc.euc1.cache.amazonaws.com"]);
        });

        it("depends on the files' contents only, never on when they were written (no spurious instance refresh), and fits EC2's limit", () => {
            // Two checkouts of the same files, one written in 2001 and one now: the same bundle, and
            // neither the tar entries nor the gzip header carry a time.
            const copies = [new Date("2001-01-01T00:00:00Z"), new Date()].map((when) => {
                const root = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-"));
                for (const f of WEB_NODE_FILES) {
                    fs.mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
                    fs.copyFileSync(path.join(SCRIPTS_DIR, f), path.join(root, f));
                    fs.utimesSync(path.join(root, f), when, when);
                }
                return root;
            });
            try {
                const [old, now] = copies.map((root) => bundleScripts(WEB_NODE_FILES, root));
                expect(now).to.equal(old);
                const gz = Buffer.from(now, "base64");
                expect(gz.readUInt32LE(4), "gzip MTIME").to.equal(0);
                const tar = zlib.gunzipSync(gz);
                for (let off = 0; off + 512 <= tar.length && tar[off] !== 0; ) {
                    expect(parseInt(tar.subarray(off + 136, off + 147).toString("ascii"), 8), "tar mtime").to.equal(0);
                    off += 512 + Math.ceil(parseInt(tar.subarray(off + 124, off + 135).toString("ascii"), 8) / 512) * 512;
                }
            } finally {
                for (const root of copies) fs.rmSync(root, { recursive: true, force: true });
            }
            const env = { AWS_REGION: "eu-central-1", OWNCLOUD_DOMAIN: "cloud.example.com" };
            expect(Buffer.byteLength(webUserData(env))).to.be.below(16 * 1024);
        });

        it("passes shellcheck and unpacks the scripts it runs", function () {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "userdata-"));
            const file = path.join(dir, "user-data.sh");
            fs.writeFileSync(file, webUserData({ AWS_REGION: "eu-central-1" }));
            execFileSync("shellcheck", [file]);
            const bundle = fs.readFileSync(file, "utf8").split("\n");
            const start = bundle.findIndex((l) => l.startsWith("base64 -d <<'BUNDLE'"));
            const end = bundle.indexOf("BUNDLE");
            const listing = execFileSync("tar", ["-tzf", "-"], { input: Buffer.from(bundle.slice(start + 1, end).join(""), "base64") }).toString();
            expect(listing.split("\n").filter(Boolean).sort()).to.deep.equal(
                WEB_NODE_FILES.map((f) => `scripts/${f}`).sort(),
            );
            fs.rmSync(dir, { recursive: true });
        });
    });
});
