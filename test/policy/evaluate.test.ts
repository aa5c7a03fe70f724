/**
 * The offline evaluator behaves like @pulumi/policy's analyzer server: enforcement levels and
 * config, the argument shapes handed to policies, unknown values, and the per-stack config files.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import {
    validateResourceOfType,
    validateStackResourcesOfType,
    type PolicyResource,
    type ResourceValidationArgs,
    type ResourceValidationPolicy,
    type StackValidationPolicy,
} from "@pulumi/policy";
import * as componentConventions from "../../components/shared/conventions";
import * as conventions from "../../policy/conventions";
import { T } from "../../policy/conventions";
import { evaluate, mandatory, resolveConfig, UNKNOWN, type EvalResource } from "../../policy/evaluate";
import { allPolicies } from "../../policy/policies";
import { STACK_POLICY_CONFIG } from "../../policy/stack-config";
import { baseline, clone, props, type Stack } from "./fixtures";

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");
const list = (s: Stack): EvalResource[] => [...s.values()];

describe("policy evaluator", () => {
    describe("enforcement levels and config", () => {
        const broken = (): Stack => {
            const s = clone(baseline());
            props(s, "web-public-a").mapPublicIpOnLaunch = true; // EC2.15, mandatory by default
            delete (props(s, "redis").tags as Record<string, string>).Project; // tags, advisory by default
            return s;
        };

        it("uses each policy's default level", async () => {
            const v = await evaluate(list(broken()));
            expect(v.map((x) => `${x.policyName}:${x.enforcementLevel}`)).to.have.members([
                "ec2-subnet-no-auto-public-ip:mandatory",
                "required-tags:advisory",
            ]);
            expect(mandatory(v)).to.have.length(1);
        });

        it("overrides a level by policy name (string or object form), disables, and maps remediate to mandatory", async () => {
            let v = await evaluate(list(broken()), { policyConfig: { "ec2-subnet-no-auto-public-ip": "advisory", "required-tags": { enforcementLevel: "remediate" } } });
            expect(v.map((x) => `${x.policyName}:${x.enforcementLevel}`)).to.have.members([
                "ec2-subnet-no-auto-public-ip:advisory",
                "required-tags:mandatory",
            ]);
            v = await evaluate(list(broken()), { policyConfig: { "ec2-subnet-no-auto-public-ip": { enforcementLevel: "disabled" } } });
            expect(v.map((x) => x.policyName)).to.deep.equal(["required-tags"]);
        });

        it("applies \"all\" to every policy, below per-policy settings", async () => {
            const v = await evaluate(list(broken()), { policyConfig: { all: "mandatory", "ec2-subnet-no-auto-public-ip": "advisory" } });
            expect(v.map((x) => `${x.policyName}:${x.enforcementLevel}`)).to.have.members([
                "ec2-subnet-no-auto-public-ip:advisory",
                "required-tags:mandatory",
            ]);
        });

        it("refuses config for unknown policies or properties, and fills schema defaults", () => {
            expect(() => resolveConfig(allPolicies, { policyConfig: { "no-such-policy": "mandatory" } })).to.throw(/unknown policy/);
            expect(() => resolveConfig(allPolicies, { policyConfig: { "ec2-imdsv2-required": { hopLimit: 2 } } })).to.throw(/no config property/);
            const c = resolveConfig(allPolicies, {});
            expect(c.get("ec2-imdsv2-required")?.props).to.deep.equal({ maxHopLimit: 1 });
            expect(c.get("elb-deletion-protection")?.props).to.deep.equal({ requiredForEnvironments: ["prod"] });
        });

        it("ELB.6 follows the stack: prod config requires deletion protection even on a dev-tagged ALB; dev does not", async () => {
            const s = clone(baseline()); // enableDeletionProtection false, Environment dev
            const prod = (await evaluate(list(s), { stack: "prod" })).filter((v) => v.policyName === "elb-deletion-protection");
            expect(prod).to.have.length(1);
            expect(prod[0].enforcementLevel).to.equal("mandatory");
            expect(prod[0].urn).to.equal(s.get("alb")!.urn);
            (props(s, "alb").tags as Record<string, string>).Environment = "prod";
            const dev = (await evaluate(list(s), { stack: "dev" })).filter((v) => v.policyName === "elb-deletion-protection");
            expect(dev, "dev config says required: false, which wins over the tag").to.deep.equal([]);
        });

        it("explicit policyConfig wins over the stack's config", async () => {
            const v = await evaluate(list(baseline()), { stack: "prod", policyConfig: { "elb-deletion-protection": { required: false } } });
            expect(v.filter((x) => x.policyName === "elb-deletion-protection")).to.deep.equal([]);
        });

        it("policy/config/<stack>.json equal policy/stack-config.ts (the CLI reads the files)", () => {
            for (const [stack, cfg] of Object.entries(STACK_POLICY_CONFIG)) {
                const file = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "config", `${stack}.json`), "utf8"));
                expect(file, stack).to.deep.equal(cfg);
                expect(() => resolveConfig(allPolicies, { policyConfig: file }), stack).to.not.throw();
            }
            const files = fs.readdirSync(path.join(POLICY_DIR, "config")).map((f) => f.replace(/\.json$/, ""));
            expect(files.sort()).to.deep.equal(Object.keys(STACK_POLICY_CONFIG).sort());
        });
    });

    describe("unknown values (IDs during preview)", () => {
        it("no policy objects when every ID-like value is unknown and only propertyDependencies remain", async () => {
            const s = clone(baseline());
            const idLike = /^(vpc-|sg-|subnet-|rtb-|pcx|i-|lt-|arn:)/;
            for (const r of s.values()) {
                for (const [k, v] of Object.entries(r.props)) {
                    if (typeof v === "string" && idLike.test(v) && k !== "policy") r.props[k] = UNKNOWN;
                    if (Array.isArray(v) && v.every((x) => typeof x === "string" && idLike.test(x))) r.props[k] = UNKNOWN;
                }
            }
            const v = await evaluate(list(s));
            expect(v).to.deep.equal([]);
        });

        it("pack policies never trip the unknown-value proxy, whatever is unknown", async () => {
            const s = clone(baseline());
            for (const r of s.values()) for (const k of Object.keys(r.props)) r.props[k] = UNKNOWN;
            const v = await evaluate(list(s));
            expect(v.filter((x) => x.unknownValue), JSON.stringify(v, null, 1)).to.deep.equal([]);
        });

        it("a policy that reads an unknown value gets the server's advisory \"can't run\" verdict", async () => {
            const reader: ResourceValidationPolicy = {
                name: "reads-cidr",
                description: "reads cidrBlock",
                enforcementLevel: "mandatory",
                validateResource: (args, report) => {
                    if ((args.props as { cidrBlock?: string }).cidrBlock === "0.0.0.0/0") report("world");
                },
            };
            const r: EvalResource = { type: T.subnet, name: "s", urn: "urn:s", props: { cidrBlock: UNKNOWN } };
            const v = await evaluate([r], { policies: [reader] });
            expect(v).to.have.length(1);
            expect(v[0]).to.include({ policyName: "reads-cidr", enforcementLevel: "advisory", unknownValue: true, urn: "urn:s" });
            expect(v[0].message).to.match(/can't run policy 'reads-cidr' during preview/);
        });
    });

    describe("argument shapes, as @pulumi/policy passes them", () => {
        const provider = { type: "pulumi:providers:aws", name: "p", urn: "urn:p", props: { region: "eu-west-1" } };
        const resources: EvalResource[] = [
            { type: "pkg:index:Component", name: "c", urn: "urn:c", props: {} },
            { type: T.vpc, name: "v", urn: "urn:v", props: { cidrBlock: "10.0.0.0/16" }, parent: "urn:c", provider },
            {
                type: T.subnet, name: "sn", urn: "urn:sn", props: { vpcId: UNKNOWN, mapPublicIpOnLaunch: false },
                parent: "urn:c", dependencies: ["urn:v", "urn:missing"], propertyDependencies: { vpcId: ["urn:v", "urn:missing"] },
            },
        ];

        it("validateResourceOfType and validateStackResourcesOfType work against real @pulumi/aws classes", async () => {
            const seen: string[] = [];
            const typed: ResourceValidationPolicy = {
                name: "typed", description: "typed", enforcementLevel: "mandatory",
                validateResource: validateResourceOfType(aws.ec2.Subnet, (subnet, args, report) => {
                    seen.push(args.name);
                    if (subnet.mapPublicIpOnLaunch === false) report("typed access works");
                }),
            };
            const stackTyped: StackValidationPolicy = {
                name: "stack-typed", description: "stack typed", enforcementLevel: "advisory",
                validateStack: validateStackResourcesOfType(aws.ec2.Vpc, (vpcs, _args, report) => {
                    report(`vpcs: ${vpcs.map((x) => x.cidrBlock).join(",")}`, "urn:v");
                }),
            };
            const v = await evaluate(resources, { policies: [typed, stackTyped] });
            expect(seen).to.deep.equal(["sn"]);
            expect(v).to.deep.equal([
                { policyName: "typed", enforcementLevel: "mandatory", urn: "urn:sn", message: "typed access works", description: "typed" },
                { policyName: "stack-typed", enforcementLevel: "advisory", urn: "urn:v", message: "vpcs: 10.0.0.0/16", description: "stack typed" },
            ]);
        });

        it("resource args carry type, name, urn, opts.parent, provider, stackTags, config and isType/asType", async () => {
            const got: ResourceValidationArgs[] = [];
            const p: ResourceValidationPolicy = {
                name: "probe", description: "probe", enforcementLevel: "advisory",
                configSchema: { properties: { level: { type: "integer", default: 3 } } },
                validateResource: (args) => { got.push(args); },
            };
            await evaluate(resources, { policies: [p], stackTags: { team: "platform" } });
            const vpc = got.find((a) => a.name === "v")!;
            expect(vpc.type).to.equal(T.vpc);
            expect(vpc.urn).to.equal("urn:v");
            expect(vpc.opts.parent).to.equal("urn:c");
            expect(vpc.opts.protect).to.equal(false);
            expect(vpc.provider?.props.region).to.equal("eu-west-1");
            expect(vpc.stackTags.get("team")).to.equal("platform");
            expect(vpc.getConfig()).to.deep.equal({ level: 3 });
            expect(vpc.isType(aws.ec2.Vpc)).to.equal(true);
            expect(vpc.isType(aws.ec2.Subnet)).to.equal(false);
            expect(vpc.asType(aws.ec2.Vpc)?.cidrBlock).to.equal("10.0.0.0/16");
        });

        it("stack args resolve parent, dependencies and propertyDependencies to resources, dropping unknown URNs", async () => {
            let sn: PolicyResource | undefined;
            const p: StackValidationPolicy = {
                name: "probe-stack", description: "probe", enforcementLevel: "advisory",
                validateStack: (args) => { sn = args.resources.find((r) => r.name === "sn"); },
            };
            await evaluate(resources, { policies: [p] });
            expect(sn?.parent?.urn).to.equal("urn:c");
            expect(sn?.dependencies.map((d) => d.urn)).to.deep.equal(["urn:v"]);
            expect(sn?.propertyDependencies.vpcId.map((d) => d.name)).to.deep.equal(["v"]);
            expect(sn?.isType(aws.ec2.Subnet)).to.equal(true);
        });

        it("notApplicable is silent; other exceptions surface with the policy name; duplicate URNs are refused", async () => {
            const na: ResourceValidationPolicy = {
                name: "na", description: "na", validateResource: (args) => args.notApplicable("nope"),
            };
            expect(await evaluate(resources, { policies: [na] })).to.deep.equal([]);
            const boom: ResourceValidationPolicy = {
                name: "boom", description: "boom", validateResource: () => { throw new Error("kaput"); },
            };
            let err: Error | undefined;
            try { await evaluate(resources, { policies: [boom] }); } catch (e) { err = e as Error; }
            expect(err?.message).to.match(/policy 'boom'.*kaput/);
            let dup: Error | undefined;
            try { await evaluate([resources[0], resources[0]], { policies: [] }); } catch (e) { dup = e as Error; }
            expect(dup?.message).to.match(/duplicate URN/);
        });
    });

    describe("the pack as a CrossGuard pack", () => {
        it("has PulumiPolicy.yaml (nodejs), its own package.json with a version and deps, and tsconfig.json", () => {
            expect(fs.readFileSync(path.join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8")).to.match(/^runtime: nodejs$/m);
            const pkg = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
            expect(pkg.version).to.match(/^\d+\.\d+\.\d+$/);
            expect(pkg.dependencies).to.have.keys("@pulumi/policy", "@pulumi/pulumi");
            expect(fs.existsSync(path.join(POLICY_DIR, "tsconfig.json"))).to.equal(true);
        });

        it("only index.ts constructs the PolicyPack, and it serves allPolicies", () => {
            const files: string[] = [];
            const walk = (d: string): void => {
                for (const f of fs.readdirSync(d)) {
                    const p = path.join(d, f);
                    if (f === "node_modules") continue;
                    if (fs.statSync(p).isDirectory()) walk(p);
                    else if (p.endsWith(".ts")) files.push(p);
                }
            };
            walk(POLICY_DIR);
            const constructing = files.filter((f) => /new\s+PolicyPack\s*\(/.test(fs.readFileSync(f, "utf8")));
            expect(constructing.map((f) => path.relative(POLICY_DIR, f))).to.deep.equal(["index.ts"]);
            expect(fs.readFileSync(path.join(POLICY_DIR, "index.ts"), "utf8")).to.match(/policies:\s*allPolicies/);
        });

        it("README lists every policy with its default level", () => {
            const readme = fs.readFileSync(path.join(POLICY_DIR, "README.md"), "utf8");
            for (const p of allPolicies) expect(readme, p.name).to.contain(`| \`${p.name}\` | ${p.enforcementLevel} |`);
        });

        it("README's FSBP coverage table: at least 44 controls, each covered by policies that exist and name it", () => {
            const readme = fs.readFileSync(path.join(POLICY_DIR, "README.md"), "utf8");
            const section = readme.slice(readme.indexOf("## AWS FSBP coverage"));
            const rows = section.split("\n").filter((l) => /^\| [A-Za-z0-9]+\.\d+ \|/.test(l));
            expect(rows.length).to.be.at.least(44);
            const byName = new Map(allPolicies.map((p) => [p.name, p]));
            for (const row of rows) {
                const [control, , policyCell] = row.split("|").slice(1).map((c) => c.trim());
                const named = [...policyCell.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]);
                expect(named.length, control).to.be.greaterThan(0);
                for (const n of named) expect(byName.has(n), `${control}: ${n}`).to.equal(true);
                const tagged = named.some((n) => (byName.get(n)!.description.match(/^\[([^\]]+)\]/)?.[1] ?? "").split(/[,;]\s*|\s+/).some((t) => t === control));
                expect(tagged, `${control}: none of ${named.join(", ")} names it in its description`).to.equal(true);
            }
            expect(new Set(rows.map((r) => r.split("|")[1].trim())).size, "no control twice").to.equal(rows.length);
        });

        it("tag conventions are the same strings the components write", () => {
            expect(conventions.TAG_TIER).to.equal(componentConventions.TAG_TIER);
            expect(conventions.TAG_SUBNET_TIER).to.equal(componentConventions.TAG_SUBNET_TIER);
            expect(conventions.TAG_PUBLIC_EXEMPTION).to.equal(componentConventions.TAG_PUBLIC_EXEMPTION);
        });

        it("type tokens match the @pulumi/aws classes", () => {
            const pairs: [string, unknown][] = [
                [T.vpc, aws.ec2.Vpc], [T.subnet, aws.ec2.Subnet], [T.route, aws.ec2.Route], [T.routeTable, aws.ec2.RouteTable],
                [T.flowLog, aws.ec2.FlowLog], [T.peering, aws.ec2.VpcPeeringConnection], [T.securityGroup, aws.ec2.SecurityGroup],
                [T.defaultSecurityGroup, aws.ec2.DefaultSecurityGroup], [T.securityGroupRule, aws.ec2.SecurityGroupRule],
                [T.sgIngressRule, aws.vpc.SecurityGroupIngressRule], [T.instance, aws.ec2.Instance], [T.launchTemplate, aws.ec2.LaunchTemplate],
                [T.launchConfiguration, aws.ec2.LaunchConfiguration], [T.eip, aws.ec2.Eip], [T.eipAssociation, aws.ec2.EipAssociation],
                [T.ebsVolume, aws.ebs.Volume], [T.lbLoadBalancer, aws.lb.LoadBalancer], [T.albLoadBalancer, aws.alb.LoadBalancer],
                [T.lbListener, aws.lb.Listener], [T.albListener, aws.alb.Listener], [T.asg, aws.autoscaling.Group],
                [T.replicationGroup, aws.elasticache.ReplicationGroup], [T.cacheCluster, aws.elasticache.Cluster], [T.iamPolicy, aws.iam.Policy], [T.iamRolePolicy, aws.iam.RolePolicy],
                [T.iamUserPolicy, aws.iam.UserPolicy], [T.iamGroupPolicy, aws.iam.GroupPolicy], [T.iamRole, aws.iam.Role],
                [T.iamRolePolicyAttachment, aws.iam.RolePolicyAttachment], [T.iamUserPolicyAttachment, aws.iam.UserPolicyAttachment],
                [T.iamGroupPolicyAttachment, aws.iam.GroupPolicyAttachment], [T.iamPolicyAttachment, aws.iam.PolicyAttachment],
                [T.logGroup, aws.cloudwatch.LogGroup],
            ];
            for (const [token, cls] of pairs) expect((cls as { __pulumiType?: string }).__pulumiType, token).to.equal(token);
            for (const token of conventions.TAGGABLE_TYPES) expect(token, token).to.match(/^aws:[a-zA-Z0-9]+\/[a-zA-Z0-9]+:[A-Za-z0-9]+$/);
        });
    });
});
