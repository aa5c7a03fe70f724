/**
 * Offline Pulumi engine for the tests and the offline plan: `pulumi.runtime.setMocks` plus a recorder
 * that sees every registration the way the engine would — URN, parent, dependencies and
 * property dependencies, and the inputs with secret markers intact — so tests can assert what our
 * code decided rather than what a mock echoes back.
 */
import * as pulumi from "@pulumi/pulumi";
// The settings module is where setMocks installs its monitor; wrapping that monitor is how the
// recorder sees parent/dependency information that MockResourceArgs does not carry.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings");

/** How the SDK marks a secret value on the wire: `{ [SIG_KEY]: SECRET_SIG, value }`. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent, or undefined for resources without a parent. */
    parent?: string;
    custom: boolean;
    /** Inputs as plain values (secrets unwrapped). */
    inputs: Record<string, any>;
    /** Inputs as sent to the engine: secrets are `{ [SIG_KEY]: SECRET_SIG, value }` objects. */
    rawInputs: Record<string, any>;
    /** URNs this resource depends on (explicit dependsOn and through inputs). */
    dependencies: string[];
    /** For each input property, the URNs whose outputs flowed into it. */
    propertyDependencies: Record<string, string[]>;
    /** Names of outputs the SDK asked the engine to treat as secret. */
    additionalSecretOutputs: string[];
    /** Input properties whose changes the engine is told to ignore (resource option `ignoreChanges`). */
    ignoreChanges?: string[];
    /** Resource option `deleteBeforeReplace`. */
    deleteBeforeReplace?: boolean;
    /** URNs of the resource option `aliases`: earlier identities the engine adopts instead of replacing. */
    aliases?: string[];
    /**
     * The provider the engine would use for this resource (what CrossGuard hands policies as
     * `args.provider`): an explicit provider resource, or for `aws:` resources without one, the
     * default provider configured from stack config (`aws:defaultTags`, `aws:region`).
     */
    provider?: RecordedProvider;
}

/** A provider as policies see it: its inputs as the engine records them (nested objects as JSON strings). */
export interface RecordedProvider {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
}

export interface InvokeRecord {
    token: string;
    args: Record<string, any>;
}

/** Availability zones the mock region offers (enough for every tier of both stacks). */
export function mockZones(region: string): string[] {
    return ["a", "b", "c"].map((l) => `${region}${l}`);
}

/** Deterministic AMI IDs per architecture, so tests can tell which lookup a component made. */
export const MOCK_AMIS: Record<string, string> = { x86_64: "ami-0d3b1a6e0000x8664", arm64: "ami-0d3b1a6e00000arm" };

function computedState(type: string, name: string, inputs: Record<string, any>, region: string): Record<string, any> {
    const state: Record<string, any> = { ...inputs, arn: `arn:aws:mock:${region}:123456789012:${type}/${name}` };
    switch (type) {
        case "aws:ec2/instance:Instance":
            state.privateIp = inputs.privateIp ?? "10.0.48.10";
            state.availabilityZone = inputs.availabilityZone ?? `${region}a`;
            if (inputs.associatePublicIpAddress) state.publicIp = "192.0.2.10";
            break;
        case "aws:ec2/eip:Eip":
            state.publicIp = "192.0.2.20";
            break;
        case "tls:index/privateKey:PrivateKey":
            state.privateKeyOpenssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n-----END OPENSSH PRIVATE KEY-----\n";
            state.publicKeyOpenssh = "ssh-ed25519 AAAAmock";
            break;
        case "aws:ec2/keyPair:KeyPair":
            state.keyName = `${inputs.keyNamePrefix ?? ""}mock`;
            break;
        case "aws:cloudwatch/logGroup:LogGroup":
            state.name = `${inputs.namePrefix ?? name}mock`;
            break;
        case "random:index/randomPassword:RandomPassword":
            // Recognisable in any string it leaks into, so tests can search for it.
            state.result = `MOCKSECRET-${name}`;
            break;
        case "aws:elasticache/replicationGroup:ReplicationGroup":
            state.primaryEndpointAddress = `master.${name}.mock.cache.amazonaws.com`;
            state.readerEndpointAddress = `replica.${name}.mock.cache.amazonaws.com`;
            state.configurationEndpointAddress = `clustercfg.${name}.mock.cache.amazonaws.com`;
            break;
        case "aws:elasticache/subnetGroup:SubnetGroup":
            state.name = inputs.name ?? `${name}-mock`;
            break;
        case "awsx:ec2:Vpc": {
            // awsx v3 is a remote component: under mocks it is one resource whose outputs we invent,
            // the way a user's awsx VPC looks to our components (plain IDs, nothing else).
            const azs = inputs.availabilityZoneNames ?? mockZones(region);
            state.vpcId = `${name}-vpc-id`;
            state.privateSubnetIds = azs.map((_: string, i: number) => `${name}-private-${i}`);
            state.publicSubnetIds = azs.map((_: string, i: number) => `${name}-public-${i}`);
            state.isolatedSubnetIds = [];
            break;
        }
        case "aws:lb/loadBalancer:LoadBalancer":
            state.arnSuffix = `app/${name}/0123456789abcdef`;
            state.dnsName = `${name}-123456.${region}.elb.amazonaws.com`;
            state.zoneId = "Z215JYRZR1TBD5";
            break;
        case "aws:lb/targetGroup:TargetGroup":
            state.arnSuffix = `targetgroup/${name}/0123456789abcdef`;
            break;
        case "aws:ec2/launchTemplate:LaunchTemplate":
            state.latestVersion = 1;
            break;
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            state.name = inputs.name ?? `${name}-mock`;
            break;
        case "aws:autoscaling/group:Group":
            state.name = `${name}-mock`;
            break;
        case "aws:acm/certificate:Certificate":
            state.domainValidationOptions = [
                { domainName: inputs.domainName, resourceRecordName: `_x.${inputs.domainName}.`, resourceRecordType: "CNAME", resourceRecordValue: "_y.acm-validations.aws." },
            ];
            break;
        case "aws:acm/certificateValidation:CertificateValidation":
            state.certificateArn = inputs.certificateArn;
            break;
        case "aws:route53/record:Record":
            state.fqdn = inputs.name;
            break;
        case "aws:s3/bucket:Bucket":
            state.bucket = `${inputs.bucketPrefix ?? name}mock`;
            break;
        case "aws:iam/role:Role":
        case "aws:iam/instanceProfile:InstanceProfile":
            state.name = inputs.name ?? `${name}-mock`;
            break;
    }
    return state;
}

/**
 * Answers that replace the mock's invented outputs of some resources (keyed by output name),
 * e.g. a real key pair where a recording is executed against real hosts; undefined: the mock's.
 */
export type ResourceAnswers = (type: string, name: string, inputs: Record<string, any>) => Record<string, any> | undefined;

export class MockEngine {
    readonly resources: RecordedResource[] = [];
    readonly invokes: InvokeRecord[] = [];
    private inFlight = 0;
    /** Timers and handles alive before the program ran (mocha's, the REPL's): not the program's. */
    private baselineHandles = 0;
    /** Counts registrations ever started, so settle() notices activity between two looks. */
    private started = 0;

    constructor(
        private readonly region: string,
        private readonly answers?: ResourceAnswers,
    ) {}

    /** pulumi.runtime.Mocks implementation: deterministic answers, and no answer for what we don't expect. */
    mocks(): pulumi.runtime.Mocks {
        return {
            newResource: (args) => ({
                id: args.inputs.name ?? `${args.name}-id`,
                state: { ...computedState(args.type, args.name, args.inputs, this.region), ...(this.answers?.(args.type, args.name, args.inputs) ?? {}) },
            }),
            call: (args) => {
                this.invokes.push({ token: args.token, args: args.inputs });
                switch (args.token) {
                    case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                        const names = mockZones(this.region);
                        return { names, zoneIds: names.map((_, i) => `euc1-az${i + 1}`), id: this.region };
                    }
                    case "aws:ec2/getAmi:getAmi": {
                        const arch = (args.inputs.filters ?? []).find((f: any) => f.name === "architecture")?.values?.[0];
                        if (!MOCK_AMIS[arch]) throw new Error(`mock getAmi: no architecture filter in ${JSON.stringify(args.inputs)}`);
                        return { id: MOCK_AMIS[arch], architecture: arch, name: `debian-12-${arch}-mock` };
                    }
                    case "aws:index/getRegion:getRegion":
                        return { region: this.region, name: this.region, id: this.region };
                    case "aws:ec2/getSubnet:getSubnet":
                        return { id: args.inputs.id, availabilityZone: this.subnetZone(args.inputs.id) };
                    case "aws:elb/getServiceAccount:getServiceAccount":
                        return { id: "054676820928", arn: "arn:aws:iam::054676820928:root" };
                    case "aws:iam/getPolicyDocument:getPolicyDocument":
                        // Computed locally by the provider (no AWS call): the same JSON it would render.
                        return { id: "mock-policy-document", json: policyDocumentJson(args.inputs), minifiedJson: JSON.stringify(JSON.parse(policyDocumentJson(args.inputs))) };
                    case "aws:index/getPartition:getPartition":
                        return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
                    default:
                        // A new invoke must be added here deliberately, with a deterministic answer.
                        throw new Error(`unexpected invoke ${args.token}: add a deterministic answer to scripts/plan/mockEngine.ts`);
                }
            },
        };
    }

    /** Installs the mocks and the recorder. Call before any resource is constructed. */
    async install(project: string, stack: string, preview = false): Promise<void> {
        await pulumi.runtime.setMocks(this.mocks(), project, stack, preview);
        const monitor = settings.getMonitor();
        const original = monitor.registerResource.bind(monitor);
        this.baselineHandles = pendingHandles();
        monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
            this.inFlight++;
            this.started++;
            original(req, (err: any, resp: any) => {
                if (!err) this.record(req, resp.getUrn());
                this.inFlight--;
                callback(err, resp);
            });
        };
    }

    private record(req: any, urn: string): void {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            propertyDependencies[key] = deps.getUrnsList();
        });
        const rawInputs = req.getObject()?.toJavaScript() ?? {};
        this.resources.push({
            urn,
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent() || undefined,
            custom: req.getCustom(),
            inputs: unwrapSecrets(rawInputs),
            rawInputs,
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            ignoreChanges: req.getIgnorechangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            aliases: this.aliasUrns(req, urn),
            provider: this.providerOf(req.getType(), req.getProvider?.() ?? ""),
        });
    }

    /**
     * The URNs a registration's aliases stand for, built the way the engine builds URNs: a child's
     * type is qualified by its parent's (`Parent$Child`) unless the parent is the stack.
     */
    private aliasUrns(req: any, urn: string): string[] | undefined {
        const list: any[] = req.getAliasesList?.() ?? [];
        if (list.length === 0) return undefined;
        const prefix = urn.split("::").slice(0, 2).join("::");
        return list.map((alias) => {
            if (alias.hasUrn()) return alias.getUrn();
            const spec = alias.getSpec();
            const type = spec.getType() || req.getType();
            const parentUrn: string = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent() || "";
            const parentType = parentUrn ? parentUrn.split("::")[2] : "";
            const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
            return `${prefix}::${qualified}::${spec.getName() || req.getName()}`;
        });
    }

    /**
     * The provider a registration names (`<urn>::<id>`), or the default provider the engine would
     * create from stack config for `aws:` resources. Providers register before the resources that
     * use them, so an explicit one is already recorded.
     */
    private providerOf(type: string, ref: string): RecordedProvider | undefined {
        if (type.startsWith("pulumi:providers:")) return undefined;
        if (ref) {
            const urn = ref.split("::").slice(0, -1).join("::");
            const p = this.byUrn(urn);
            if (p) return { type: p.type, name: p.name, urn: p.urn, props: p.inputs };
        }
        const pkg = type.split(":")[0];
        if (pkg !== "aws") return undefined;
        const config = pulumi.runtime.allConfig();
        const props: Record<string, any> = {};
        for (const [k, v] of Object.entries(config)) {
            if (k.startsWith(`${pkg}:`)) props[k.slice(pkg.length + 1)] = v;
        }
        return { type: `pulumi:providers:${pkg}`, name: `default`, urn: `urn:pulumi:default::${pkg}::pulumi:providers:${pkg}::default`, props };
    }

    /**
     * Resolves once the program is done the way the Pulumi engine judges it: Pulumi's runner waits
     * for Node's event loop to empty (`beforeExit`, @pulumi/pulumi cmd/run/index.js) and then for the
     * RPC queue to drain (runtime/settings.js waitForRPCs). Here: no registration in flight, the SDK's
     * RPC queue drained, no timer or handle beyond those alive before the program, and nothing new
     * started across `quietTurns` consecutive looks. A program still busy after `timeoutMs` is an
     * error (never a silent pass on what was seen so far).
     */
    async settle(timeoutMs = 30_000, quietTurns = 5): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let quiet = 0;
        let seen = this.started;
        while (Date.now() < deadline) {
            await settings.waitForRPCs();
            const busyTimers = pendingHandles() > this.baselineHandles;
            // While the program has timers pending, sleep a little instead of spinning.
            await new Promise((r) => (busyTimers ? setTimeout(r, 5) : setImmediate(r)));
            const idle = this.inFlight === 0 && !busyTimers && this.started === seen;
            seen = this.started;
            quiet = idle ? quiet + 1 : 0;
            if (quiet >= quietTurns) return;
        }
        throw new Error(
            `the program was still busy after ${timeoutMs / 1000} s (${this.inFlight} registrations in flight, ` +
                `${Math.max(0, pendingHandles() - this.baselineHandles)} timers or handles pending); it never became idle`,
        );
    }

    /**
     * The AZ of a subnet by ID: a subnet registered here answers with its own `availabilityZone`; a
     * subnet made elsewhere (a mocked awsx VPC's `<vpc>-private-<i>`, a test's `subnet-b`) with the
     * mock zone its last digit or letter numbers.
     */
    private subnetZone(id: string): string {
        const own = this.resources.find((r) => r.type === "aws:ec2/subnet:Subnet" && `${r.name}-id` === id);
        if (own) return own.inputs.availabilityZone;
        const zones = mockZones(this.region);
        const last = /[0-9a-z]$/.exec(id)?.[0];
        if (last !== undefined) return zones[(/[0-9]/.test(last) ? Number(last) : last.charCodeAt(0) - 97) % zones.length];
        throw new Error(`mock getSubnet: unknown subnet ${id}`);
    }

    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource with this logical name (names are unique across types in this project). */
    byName(name: string): RecordedResource {
        const found = this.resources.filter((r) => r.name === name);
        if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
        return found[0];
    }

    byUrn(urn: string): RecordedResource | undefined {
        return this.resources.find((r) => r.urn === urn);
    }

    /** URNs registered more than once (the engine would reject these; mocks don't). */
    duplicateUrns(): string[] {
        return duplicates(this.resources.map((r) => r.urn));
    }

    /**
     * Logical names used by more than one resource. Pulumi allows this across types, but this
     * project keeps names unique so every resource is addressable by name alone (targets, imports).
     */
    duplicateNames(): string[] {
        return duplicates(this.resources.map((r) => r.name));
    }

    /** Children of a resource (direct). */
    childrenOf(urn: string): RecordedResource[] {
        return this.resources.filter((r) => r.parent === urn);
    }
}

/** Timers and handles keeping Node's event loop alive (what `beforeExit` waits for). */
function pendingHandles(): number {
    return process.getActiveResourcesInfo().filter((t) => t !== "TTYWrap" && t !== "FSReqCallback").length;
}

/**
 * What aws.iam.getPolicyDocument renders for its arguments (statements → IAM JSON), enough for
 * policies to judge actions, resources and principals.
 */
export function policyDocumentJson(inputs: Record<string, any>): string {
    const one = (xs: string[] | undefined) => (xs === undefined ? undefined : xs.length === 1 ? xs[0] : xs);
    const principals = (ps: any[] | undefined) => {
        if (!ps || ps.length === 0) return undefined;
        const out: Record<string, any> = {};
        for (const p of ps) {
            if (p.type === "*" && (p.identifiers ?? []).includes("*")) return "*";
            out[p.type] = one([...(out[p.type] ? [].concat(out[p.type]) : []), ...(p.identifiers ?? [])]);
        }
        return out;
    };
    const statements = (inputs.statements ?? []).map((st: any) => {
        const o: Record<string, any> = {};
        if (st.sid) o.Sid = st.sid;
        o.Effect = st.effect ?? "Allow";
        if (st.actions) o.Action = one(st.actions);
        if (st.notActions) o.NotAction = one(st.notActions);
        if (st.resources) o.Resource = one(st.resources);
        if (st.notResources) o.NotResource = one(st.notResources);
        const pr = principals(st.principals);
        if (pr !== undefined) o.Principal = pr;
        const npr = principals(st.notPrincipals);
        if (npr !== undefined) o.NotPrincipal = npr;
        if (st.conditions && st.conditions.length > 0) {
            const c: Record<string, Record<string, any>> = {};
            for (const x of st.conditions) (c[x.test] ??= {})[x.variable] = one(x.values);
            o.Condition = c;
        }
        return o;
    });
    return JSON.stringify({ Version: inputs.version ?? "2012-10-17", ...(inputs.policyId ? { Id: inputs.policyId } : {}), Statement: statements }, null, 2);
}

function duplicates(values: string[]): string[] {
    const seen = new Map<string, number>();
    for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
    return [...seen.entries()].filter(([, n]) => n > 1).map(([v]) => v);
}

function unwrapSecrets(v: any): any {
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (v && typeof v === "object") {
        if (v[SIG_KEY] === SECRET_SIG && "value" in v) return unwrapSecrets(v.value);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

/** True when the raw input value at `path` was sent as a secret. */
export function isSecretInput(r: RecordedResource, prop: string): boolean {
    const v = r.rawInputs[prop];
    return !!v && typeof v === "object" && v[SIG_KEY] === SECRET_SIG;
}

/** Resolves an Output's value (and whether it is secret) under mocks. */
export async function resolveOutput<T>(o: pulumi.Input<T>): Promise<{ value: T; secret: boolean }> {
    const out = pulumi.output(o);
    const value = await new Promise<T>((resolve) => out.apply((v) => resolve(v as T)));
    return { value, secret: await pulumi.isSecret(out) };
}

export async function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
    return (await resolveOutput(o)).value;
}

/** Runs `build` against a fresh mock engine and returns the engine once every registration is answered. */
export async function underMocks(build: () => unknown, region = "eu-central-1"): Promise<MockEngine> {
    const engine = new MockEngine(region);
    await engine.install("test", "test");
    pulumi.runtime.setAllConfig({ "aws:region": region });
    await build();
    await engine.settle();
    return engine;
}
