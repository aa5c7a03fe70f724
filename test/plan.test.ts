/**
 * The offline plan (`npm run plan`): cost arithmetic against the price table, the critical path on
 * small graphs, and the CLI end to end as a child process (exit codes, JSON shape, SVG).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import ELK from "elkjs/lib/elk.bundled.js";
import type { PlanResource } from "../scripts/plan/build";
import { DRIVERS, estimateCost, PRICES } from "../scripts/plan/cost";
import { creationTime, criticalPath } from "../scripts/plan/criticalPath";
import { cidrWithin } from "../scripts/plan/network";
import { parseArgs } from "../scripts/plan/plan";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { MockEngine } from "../scripts/plan/mockEngine";
import { PROJECT, stackConfig } from "../scripts/plan/stackBuild";
import { runProgram } from "../stacks/program";
import type { PlanReport } from "../scripts/plan/report";

const ROOT = path.resolve(__dirname, "..");
const H = PRICES.hoursPerMonth;
const near = (a: number, b: number) => expect(a).to.be.closeTo(b, 0.01);

/** A custom resource for synthetic plans: URN from type and name, ID `<name>-id`. */
function res(type: string, name: string, inputs: Record<string, any> = {}, deps: PlanResource[] = [], extra: Partial<PlanResource> = {}): PlanResource {
    return {
        urn: `urn:pulumi:t::p::${type}::${name}`,
        type,
        name,
        custom: true,
        inputs,
        rawInputs: inputs,
        dependencies: deps.map((d) => d.urn),
        propertyDependencies: {},
        additionalSecretOutputs: [],
        id: `${name}-id`,
        ...extra,
    };
}

describe("offline plan: cost estimate", () => {
    it("prices NAT gateways as count × hourly price × 730 h, and each driver from the table", () => {
        const nats = [1, 2, 3].map((i) => res("aws:ec2/natGateway:NatGateway", `nat${i}`));
        const eips = [1, 2, 3].map((i) => res("aws:ec2/eip:Eip", `eip${i}`));
        const instance = res("aws:ec2/instance:Instance", "vm", {
            instanceType: "t3.micro",
            associatePublicIpAddress: true,
            rootBlockDevice: { volumeSize: 8, volumeType: "gp3" },
        });
        const volume = res("aws:ebs/volume:Volume", "data", { size: 100, type: "gp3" });
        const cache = res("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { nodeType: "cache.t4g.micro", numNodeGroups: 3, replicasPerNodeGroup: 2 });
        const secrets = [1, 2].map((i) => res("aws:secretsmanager/secret:Secret", `s${i}`));
        const alarm = res("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm");
        const alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application", subnets: ["a", "b", "c"] });
        const lt = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {
            instanceType: "t3.small",
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 20, volumeType: "gp3" } }],
        });
        const asg = res("aws:autoscaling/group:Group", "asg", { desiredCapacity: 3, minSize: 2, launchTemplate: { id: "lt-id" } });

        const c = estimateCost([...nats, ...eips, instance, volume, cache, ...secrets, alarm, alb, lt, asg], "us-east-1");
        near(c.byDriver["nat-gateways"], 3 * PRICES.natGateway.hourly * H);
        near(c.byDriver.instances, (PRICES.ec2OnDemandHourly["t3.micro"] + 3 * PRICES.ec2OnDemandHourly["t3.small"]) * H);
        // 3 EIPs + the instance's address + one per ALB subnet.
        near(c.byDriver["public-ipv4"], (3 + 1 + 3) * PRICES.publicIpv4Hourly * H);
        near(c.byDriver.ebs, (8 + 100 + 3 * 20) * PRICES.ebsGbMonth.gp3);
        near(c.byDriver.elasticache, 9 * PRICES.elasticacheNodeHourly["cache.t4g.micro"] * H);
        near(c.byDriver.alb, (PRICES.alb.hourly + PRICES.alb.assumedLcus * PRICES.alb.lcuHourly) * H);
        near(c.byDriver.secrets, 2 * PRICES.secretsManagerSecretMonthly);
        near(c.byDriver.alarms, PRICES.cloudwatchAlarmMonthly);
        near(c.total, DRIVERS.reduce((s, d) => s + c.byDriver[d], 0));
        expect(c.unpriced).to.deep.equal([]);
        expect(c.note).to.equal("list prices of the deployment region");
    });

    it("itemizes by top-level component and lists what it cannot price instead of guessing", () => {
        const comp: PlanResource = { ...res("my:index:Cluster", "db"), custom: false, id: undefined };
        const vm = res("aws:ec2/instance:Instance", "db-node", { instanceType: "x9.huge" }, [], { parent: comp.urn });
        const nat = res("aws:ec2/natGateway:NatGateway", "nat", {}, [], { parent: vm.urn });
        const c = estimateCost([comp, vm, nat], "eu-central-1");
        expect(Object.keys(c.byComponent)).to.deep.equal(["db (Cluster)"]);
        expect(c.unpriced.map((u) => u.reason)).to.deep.equal(['no price for instance type "x9.huge"']);
        // The root volume is still priced, at the AMI default size, and says so.
        expect(c.lines.find((l) => l.driver === "ebs")?.detail).to.include("assumed");
        expect(c.note).to.include("indicative");
    });

    it("keeps its price table's provenance (region, source, date)", () => {
        expect(PRICES.region).to.equal("us-east-1");
        expect(PRICES.source).to.include("ARCHITECTURE.md");
        expect(PRICES.asOf).to.match(/20\d\d/);
        expect(PRICES.hoursPerMonth).to.equal(730);
    });
});

describe("offline plan: critical path", () => {
    it("takes the longest chain of creation times through the dependency graph", () => {
        const vpc = res("aws:ec2/vpc:Vpc", "vpc");
        const subnet = res("aws:ec2/subnet:Subnet", "subnet", {}, [vpc]);
        const nat = res("aws:ec2/natGateway:NatGateway", "nat", {}, [subnet]);
        const group = res("aws:elasticache/subnetGroup:SubnetGroup", "cache-subnets", {}, [subnet]);
        const redis = res("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { numNodeGroups: 1 }, [group]);
        const vm = res("aws:ec2/instance:Instance", "vm", {}, [subnet]);
        const p = criticalPath([vpc, subnet, nat, group, redis, vm]);
        const t = (r: PlanResource) => creationTime(r).typical;
        expect(p.chain.map((s) => s.name)).to.deep.equal(["vpc", "subnet", "cache-subnets", "redis"]);
        expect(p.minutes).to.be.closeTo(t(vpc) + t(subnet) + t(group) + t(redis), 0.05);
        expect(t(redis)).to.equal(7.5);
        expect(p.range.low).to.be.lessThan(p.minutes);
        expect(p.range.high).to.be.greaterThan(p.minutes);
    });

    it("treats a dependency on a component as one on everything inside it, and a custom parent as a dependency", () => {
        const comp: PlanResource = { ...res("my:index:Cache", "cache"), custom: false, id: undefined };
        const redis = res("aws:elasticache/replicationGroup:ReplicationGroup", "redis", { clusterMode: "enabled", numNodeGroups: 3 }, [], { parent: comp.urn });
        const app = res("aws:ec2/instance:Instance", "app", {}, [comp]);
        const sg = res("aws:ec2/securityGroup:SecurityGroup", "sg");
        const rule = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "rule", {}, [], { parent: sg.urn });
        const p = criticalPath([comp, redis, app, sg, rule]);
        expect(p.chain.map((s) => s.name)).to.deep.equal(["redis", "app"]);
        expect(p.minutes).to.be.closeTo(15 + creationTime(app).typical, 0.05); // cluster mode: 10–20 min
        expect(criticalPath([sg, rule]).chain.map((s) => s.name)).to.deep.equal(["sg", "rule"]);
    });
});

describe("offline plan: helpers", () => {
    it("parses arguments and refuses what it does not know", () => {
        const base = process.env.INIT_CWD ?? process.cwd();
        expect(parseArgs(["prod", "--json", "--out", "x"])).to.deep.include({ stack: "prod", json: true, outDir: path.resolve(base, "x") });
        expect(parseArgs(["dev", "--config=f.yaml"]).configFile).to.equal(path.resolve(base, "f.yaml"));
        expect(parseArgs(["dev"]).outDir).to.equal(path.join(ROOT, "plan"));
        expect(() => parseArgs([])).to.throw(/missing the stack/);
        expect(() => parseArgs(["dev", "--frobnicate"])).to.throw(/unknown option --frobnicate/);
        expect(() => parseArgs(["dev", "--out"])).to.throw(/--out needs a value/);
    });

    it("tells which CIDRs lie inside a VPC", () => {
        expect(cidrWithin("10.1.16.0/20", "10.1.0.0/16")).to.equal(true);
        expect(cidrWithin("10.2.0.0/20", "10.1.0.0/16")).to.equal(false);
        expect(cidrWithin("0.0.0.0/0", "10.1.0.0/16")).to.equal(false);
    });

    it("relies on elkjs applying a nested box's minimum size transposed (direction DOWN, INCLUDE_CHILDREN)", async () => {
        // diagram.ts passes minimum sizes as (height, width) because of this; if an elkjs upgrade
        // fixes it, this test fails and the swap in diagram.ts must go.
        const g = await new ELK().layout({
            id: "root",
            layoutOptions: { "elk.algorithm": "layered", "elk.direction": "DOWN", "elk.hierarchyHandling": "INCLUDE_CHILDREN" },
            children: [
                {
                    id: "box",
                    layoutOptions: { "elk.nodeSize.constraints": "[MINIMUM_SIZE]", "elk.nodeSize.minimum": "(60, 400)" },
                    children: [{ id: "n", width: 50, height: 30 }],
                },
            ],
        });
        expect(g.children![0].width).to.be.at.least(400);
    });
});

interface Run {
    status: number;
    stdout: string;
    stderr: string;
}

function plan(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(ROOT, "scripts", "plan", "plan.ts"), ...args],
            { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
            (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
    });
}

describe("offline plan: waiting for the program, and the placeholder certificate", function () {
    this.timeout(120_000);

    it("settle() waits for a registration made after a timer, and gives up (bounded) on a program that never idles", async () => {
        const engine = new MockEngine("eu-central-1");
        await engine.install("test", "test", true);
        pulumi.runtime.setAllConfig({ "aws:region": "eu-central-1" });
        setTimeout(() => new aws.ec2.Vpc("late-vpc", { cidrBlock: "10.70.0.0/16" }), 200);
        await engine.settle();
        expect(engine.resources.map((r) => r.name)).to.include("late-vpc");
        const busy = setInterval(() => undefined, 50);
        try {
            let error: Error | undefined;
            await engine.settle(300).catch((e: Error) => (error = e));
            expect(error?.message).to.match(/still busy after 0\.3 s/);
        } finally {
            clearInterval(busy);
        }
    });

    for (const preview of [true, false]) {
        it(`the prod program ${preview ? "previews with" : "refuses at deployment, before creating anything,"} the placeholder certificate`, async () => {
            const engine = new MockEngine("eu-central-1");
            await engine.install(PROJECT, "prod", preview);
            pulumi.runtime.setAllConfig(stackConfig("prod"));
            let error: Error | undefined;
            await runProgram().catch((e: Error) => (error = e));
            await engine.settle();
            if (preview) {
                expect(error, error?.message).to.equal(undefined);
                expect(engine.resources.length).to.be.greaterThan(50);
            } else {
                expect(error?.message).to.match(/certificateArn is the placeholder .*pulumi config set certificateArn/);
                expect(engine.resources, "nothing registered").to.deep.equal([]);
            }
        });
    }
});

describe("offline plan: the CLI (npm run plan)", function () {
    this.timeout(240_000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"));
    const badConfig = path.join(out, "bad.yaml");
    const prodNoCert = path.join(out, "prod-no-cert.yaml");
    const runs: Record<string, Run> = {};

    before(async () => {
        fs.writeFileSync(
            prodNoCert,
            fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8").split("\n").filter((l) => !l.includes("owncloud-ha:certificateArn")).join("\n"),
        );
        fs.writeFileSync(
            badConfig,
            ["config:", "  aws:region: eu-central-1", "  owncloud-ha:adminCidrs:", "    - 203.0.113.10/32", "  owncloud-ha:natStrategy: sometimes", ""].join("\n"),
        );
        const cases: Record<string, string[]> = {
            dev: ["dev", "--out", path.join(out, "dev")],
            devJson: ["dev", "--json", "--out", path.join(out, "devjson")],
            openDb: ["dev", "--program", "test/fixtures/program-open-db.ts", "--out", path.join(out, "open")],
            clean: ["dev", "--program", "test/fixtures/program-clean.ts", "--out", path.join(out, "clean")],
            publicDb: ["dev", "--program", "test/fixtures/program-public-db.ts", "--out", path.join(out, "public")],
            web: ["dev", "--program", "test/fixtures/program-web.ts", "--json", "--out", path.join(out, "web")],
            invoke: ["dev", "--program", "test/fixtures/program-unsupported-invoke.ts", "--out", path.join(out, "invoke")],
            asyncOpenDb: ["dev", "--program", "test/fixtures/program-async-open-db.ts", "--out", path.join(out, "async")],
            asyncClean: ["dev", "--program", "test/fixtures/program-async-clean.ts", "--json", "--out", path.join(out, "async-clean")],
            delayed: ["dev", "--program", "test/fixtures/program-delayed.ts", "--out", path.join(out, "delayed")],
            empty: ["dev", "--program", "test/fixtures/program-empty.ts", "--out", path.join(out, "empty")],
            defaultTags: ["dev", "--program", "test/fixtures/program-default-tags.ts", "--json", "--out", path.join(out, "tags")],
            prod: ["prod", "--json", "--out", path.join(out, "prod")],
            prodNoCert: ["prod", "--config", prodNoCert, "--out", path.join(out, "bad")],
            badConfig: ["dev", "--config", badConfig, "--out", path.join(out, "bad")],
            unknownStack: ["staging", "--out", path.join(out, "bad")],
            missingFile: ["dev", "--config", path.join(out, "absent.yaml"), "--out", path.join(out, "bad")],
        };
        // Two at a time: each is a full Node process.
        const names = Object.keys(cases);
        for (let i = 0; i < names.length; i += 2) {
            await Promise.all(names.slice(i, i + 2).map(async (n) => (runs[n] = await plan(cases[n]))));
        }
    });
    after(() => fs.rmSync(out, { recursive: true, force: true }));

    it("exits 0 on the dev stack and prints tree, counts, verdicts, cost and critical path", () => {
        const r = runs.dev;
        const verdicts = r.stdout.slice(r.stdout.indexOf("== Policy verdicts"), r.stdout.indexOf("== Estimated monthly cost"));
        expect(r.status, `${r.stderr}\n${verdicts}`).to.equal(0);
        for (const section of ["== Resource tree", "== Resources by type", "== Policy verdicts", "== Estimated monthly cost", "nat-gateways", "by component", "== Estimated deployment critical path"]) {
            expect(r.stdout).to.include(section);
        }
        expect(r.stdout).to.include("▣ dev-web  owncloud-ha:network:PeeredVpc");
    });

    it("writes <stack>.json with the report's shape, and --json prints the same to stdout", () => {
        const file = JSON.parse(fs.readFileSync(path.join(out, "dev", "dev.json"), "utf8")) as PlanReport;
        const printed = JSON.parse(runs.devJson.stdout) as PlanReport;
        expect(runs.devJson.status).to.equal(0);
        for (const report of [file, printed]) {
            expect(report).to.include.keys("summary", "tree", "countsByType", "verdicts", "cost", "criticalPath", "network");
            expect(report.stack).to.equal("dev");
            expect(report.summary.mandatoryViolations, JSON.stringify(report.verdicts, null, 1)).to.equal(0);
            expect(Object.keys(report.cost.byDriver)).to.deep.equal([...DRIVERS]);
            expect(report.criticalPath.chain.length).to.be.greaterThan(0);
            expect(report.tree.map((n) => n.type)).to.include("owncloud-ha:network:PeeredVpc");
        }
        // The plan's arithmetic holds on the real stack: NAT gateways recorded × price × 730 h.
        const nats = file.countsByType["aws:ec2/natGateway:NatGateway"];
        expect(nats).to.equal(3); // dev: natStrategy single, one per VPC
        near(file.cost.byDriver["nat-gateways"], nats * PRICES.natGateway.hourly * H);
        expect(file.summary.monthlyCost).to.equal(file.cost.total);
    });

    it("draws <stack>.svg from the real network: every VPC CIDR, subnet tiers, peering and ports", () => {
        const svg = fs.readFileSync(path.join(out, "dev", "dev.svg"), "utf8");
        expect(svg.startsWith("<svg")).to.equal(true);
        expect(svg.trimEnd().endsWith("</svg>")).to.equal(true);
        for (const cidr of ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "10.0.48.0/24"]) expect(svg).to.include(cidr);
        expect(svg).to.include("private subnets");
        expect(svg).to.include("VPC peering");
        expect(svg).to.match(/>22</); // SSH from the admin CIDRs to the bastion
    });

    it("exits 1 when a program that uses our components breaks a mandatory policy, and marks it on the diagram", () => {
        const r = runs.openDb;
        expect(r.status, r.stderr).to.equal(1);
        expect(r.stdout).to.match(/\[MANDATORY\] ec2-high-risk-ports-restricted — example-db-sg/);
        expect(r.stdout).to.include("RESULT: 4 mandatory");
        const svg = fs.readFileSync(path.join(out, "open", "dev.svg"), "utf8");
        expect(svg).to.include("10.42.0.0/16");
        expect(svg).to.include("⚠ mandatory");
        expect(runs.clean.status, runs.clean.stdout + runs.clean.stderr).to.equal(0);
    });

    it("exits 1 when a program puts data nodes in public subnets or drops encryption", () => {
        const r = runs.publicDb;
        expect(r.status, r.stderr).to.equal(1);
        for (const n of [1, 2, 3]) expect(r.stdout).to.match(new RegExp(`\\[MANDATORY\\] nodes-in-private-subnets — example-db-node${n}`));
        expect(r.stdout).to.match(/\[MANDATORY\] ec2-ebs-encrypted — example-scratch/);
    });

    it("prices and draws a program's own ALB and auto-scaling group (launch template), exit 0 with advisories", () => {
        const r = runs.web;
        expect(r.status, r.stderr).to.equal(0);
        const report = JSON.parse(r.stdout) as PlanReport;
        expect(report.summary.mandatoryViolations).to.equal(0);
        expect(report.summary.advisoryViolations).to.be.greaterThan(0);
        near(report.cost.byDriver.alb, (PRICES.alb.hourly + PRICES.alb.assumedLcus * PRICES.alb.lcuHourly) * H);
        near(report.cost.byDriver.instances, 2 * PRICES.ec2OnDemandHourly["t3.small"] * H); // desired capacity 2
        const flows = report.network.flows.map((f) => `${f.from}→${f.to}:${f.ports.join(",")}`);
        expect(flows.some((f) => f.startsWith("internet→") && f.endsWith(":443"))).to.equal(true);
        const asg = report.network.workloads.find((w) => w.kind === "autoscaling");
        expect(asg?.tier).to.equal("private");
        expect(report.network.workloads.find((w) => w.kind === "loadbalancer")?.tier).to.equal("public");
        const svg = fs.readFileSync(path.join(out, "web", "dev.svg"), "utf8");
        expect(svg).to.include("ASG 2–4 × t3.small");
        expect(svg).to.include("10.50.0.0/16");
    });

    it("exits 2 with one clear message naming the key on an invalid config file, and no stack trace", () => {
        const r = runs.badConfig;
        expect(r.status).to.equal(2);
        expect(r.stderr).to.include("owncloud-ha:natStrategy");
        expect(r.stderr).to.include("none, single, onePerAz");
        expect(r.stderr).to.not.match(/\n\s+at /);
        expect(r.stdout).to.equal("");
    });

    it("exits 2 on an unknown stack or a missing config file, naming what is missing", () => {
        expect(runs.unknownStack.status).to.equal(2);
        expect(runs.unknownStack.stderr).to.match(/unknown stack "staging".*known stacks: dev, prod/);
        expect(runs.missingFile.status).to.equal(2);
        expect(runs.missingFile.stderr).to.include("absent.yaml does not exist");
    });

    it("runs a module that exports an async program the way Pulumi's runner does, and exits 1 when it opens 3306 to the world", () => {
        const r = runs.asyncOpenDb;
        expect(r.status, r.stderr).to.equal(1);
        expect(r.stdout).to.match(/\[MANDATORY\] ec2-high-risk-ports-restricted — async-db-sg/);
        // Its complying twin (export default async function) is seen too, and passes.
        expect(runs.asyncClean.status, runs.asyncClean.stderr).to.equal(0);
        const clean = JSON.parse(runs.asyncClean.stdout) as PlanReport;
        expect(clean.countsByType["aws:ec2/securityGroup:SecurityGroup"]).to.equal(2);
    });

    it("waits for resources a program registers after a timer (exit 1 on the late world-open database)", () => {
        const r = runs.delayed;
        expect(r.status, r.stderr).to.equal(1);
        expect(r.stdout).to.match(/\[MANDATORY\] ec2-high-risk-ports-restricted — late-db-sg/);
    });

    it("fails (exit 3) on a program that registers no resource instead of passing on nothing", () => {
        const r = runs.empty;
        expect(r.status).to.equal(3);
        expect(r.stderr).to.include("registered no cloud resource");
        expect(r.stdout).to.equal("");
    });

    it("sees provider defaultTags and answers getPolicyDocument, so the role's open trust policy is judged", () => {
        const r = runs.defaultTags;
        expect(r.status, r.stderr).to.equal(1);
        const report = JSON.parse(r.stdout) as PlanReport;
        expect(report.verdicts.filter((v) => v.policy === "required-tags"), "tags come from the provider").to.deep.equal([]);
        expect(report.verdicts.filter((v) => v.level === "mandatory").map((v) => `${v.policy} ${v.resource}`)).to.deep.equal([
            "iam-trust-policy-restricted open-role",
        ]);
    });

    it("plans prod (with its placeholder certificate) with exit 0 and HTTPS; dev reports its HTTP exemption", () => {
        expect(runs.prod.status, runs.prod.stderr).to.equal(0);
        const report = JSON.parse(runs.prod.stdout) as PlanReport;
        expect(report.countsByType["aws:lb/listener:Listener"]).to.equal(2);
        expect(runs.dev.stdout).to.match(/\[ADVISORY\] elb-http-exemption-reported — dev-owncloud-alb/);
    });

    it("refuses prod without a certificate (exit 2) and says how to give one", () => {
        const r = runs.prodNoCert;
        expect(r.status).to.equal(2);
        expect(r.stderr).to.include("owncloud-ha:certificateArn/owncloud-ha:hostedZoneId");
        expect(r.stderr).to.include("pulumi config set owncloud-ha:certificateArn arn:aws:acm:");
        expect(r.stderr).to.not.match(/\n\s+at /);
    });

    it("exits 3 naming the invoke when a program needs a value the offline engine cannot answer", () => {
        const r = runs.invoke;
        expect(r.status).to.equal(3);
        expect(r.stderr).to.include("aws:index/getCallerIdentity:getCallerIdentity");
        expect(r.stderr).to.not.match(/\n\s+at /);
    });
});
