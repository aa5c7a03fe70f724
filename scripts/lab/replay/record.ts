/**
 * Records the lab stack (Pulumi.lab.yaml) the way `pulumi up` would see it: the platform program
 * under the offline mock engine, except that the values a real host must accept are real (the
 * bastion's SSH key pair, the random passwords), so the recorded command:remote resources can be
 * executed against the lab's hosts by execute.ts with the provider's semantics.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { build, REPO_ROOT, type PlanResource } from "../../plan/build";

/** Recorded inputs: the program's JSON values, shaped by each provider's schema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Inputs = Record<string, any>;

export const LAB_STACK = "lab";
export const LAB_CONFIG_FILE = path.join(REPO_ROOT, "Pulumi.lab.yaml");

export const COPY_TYPE = "command:remote:CopyToRemote";
export const COMMAND_TYPE = "command:remote:Command";

/** One hop of a recorded `connection` (@pulumi/command remote.Connection / ProxyConnection). */
export interface RecordedHop {
    host: string;
    port: number;
    user: string;
    privateKey?: string;
    privateKeyPassword?: string;
    password?: string;
    agentSocketPath?: string;
    hostKey?: string;
    /** -1 = unlimited; the provider's default is 10. */
    dialErrorLimit: number;
    /** Seconds; the provider's default is 15. */
    perDialTimeout: number;
}

export interface RecordedConnection extends RecordedHop {
    proxy?: RecordedHop;
}

interface ReplayBase {
    urn: string;
    name: string;
    connection: RecordedConnection;
    triggers: unknown[];
    /**
     * URNs of the recorded command resources this one waits for: its dependencies and its parent's,
     * followed transitively through every resource that is not a command resource (see
     * commandDependencies), stopping at command resources.
     */
    dependencies: string[];
}

export interface ReplayCommand extends ReplayBase {
    type: typeof COMMAND_TYPE;
    create: string;
    update?: string;
    delete?: string;
    stdin?: string;
    environment?: Record<string, string>;
    /** stdout, stderr, stdoutAndStderr or none; unset means stdoutAndStderr (the provider's default). */
    logging?: string;
    addPreviousOutputInEnv?: boolean;
}

export interface ReplayCopy extends ReplayBase {
    type: typeof COPY_TYPE;
    /** The local source: a FileArchive directory/file or a FileAsset file (the only kinds the provider's Check accepts as paths). */
    source: { kind: "archive" | "asset"; path: string };
    remotePath: string;
}

export type ReplayResource = ReplayCommand | ReplayCopy;

export interface LabInstance {
    name: string;
    /** galera, gluster, bastion, nat (from the component that owns it), else "other". */
    role: string;
    privateIp?: string;
    keyName?: string;
    /** As recorded (EC2 instances carry it base64 or plain as the program gave it). */
    userData?: string;
    /** Resource name of the instance profile it launches with (LabAws.instanceProfiles). */
    instanceProfile?: string;
}

export interface LabLaunchTemplate {
    name: string;
    role: string;
    keyName?: string;
    /** Base64, as recorded (EC2 decodes it before cloud-init sees it). */
    userDataBase64?: string;
    /** Resource name of the instance profile its instances get (LabAws.instanceProfiles). */
    instanceProfile?: string;
}

/** An IAM role as the program defines it: what the lab's AWS stand-in authorises its callers by. */
export interface LabIamRole {
    /** The Role resource's name. */
    resource: string;
    /** The role's IAM name (what IMDS lists under iam/security-credentials/). */
    name: string;
    /** Its identity policies as documents: inline (RolePolicy, inlinePolicies) and customer-managed ones attached to it. */
    policies: unknown[];
    /** Attached policies the program does not define (AWS managed ones): their documents are not in the recording. */
    externalPolicyArns: string[];
}

export interface LabInstanceProfile {
    /** The InstanceProfile resource's name. */
    resource: string;
    name: string;
    /** The Role resource it carries. */
    role: string;
}

/** The AWS identity and access side of the recording (the AWS API stand-ins' configuration). */
export interface LabAws {
    region: string;
    accountId: string;
    roles: LabIamRole[];
    instanceProfiles: LabInstanceProfile[];
}

export interface LabRecording {
    stack: string;
    /** Every CopyToRemote and Command, in registration order. */
    resources: ReplayResource[];
    instances: LabInstance[];
    launchTemplates: LabLaunchTemplate[];
    /** The bastion's recorded public address (the mock's EIP): map it to the lab bastion when executing. */
    bastionPublicIp: string;
    /** The bastion key pair's public key (OpenSSH format): the lab authorizes it on every host. */
    publicKey: string;
    /**
     * Each Secrets Manager secret the program stores, by the Secret resource's name: its ARN and
     * name as the recording answered them (labSecretIdentity) and the value of its SecretVersion.
     */
    secrets: Record<string, { namePrefix?: string; secretString: string; arn?: string; name?: string }>;
    /** IAM roles and instance profiles (recordings made by toRecording carry it). */
    aws?: LabAws;
    /** The ElastiCache replication groups as recorded (the lab's Redis stand-in is configured from them). */
    redisGroups?: LabRedisGroup[];
    /** The load balancers with their target groups and listeners as recorded (the lab's front door is configured from them). */
    loadBalancers?: LabLoadBalancer[];
}

/** An `aws:elasticache/replicationGroup:ReplicationGroup`'s inputs that decide how its nodes behave. */
export interface LabRedisGroup {
    name: string;
    engine?: string;
    engineVersion?: string;
    port?: number;
    transitEncryptionEnabled?: boolean;
    /** Whether the group has an AUTH token; the value is the recorded secret `authSecret` (never copied here). */
    authTokenSet: boolean;
    /** The recorded Secrets Manager secret (a key of `secrets`) whose JSON `authToken` is this group's token. */
    authSecret?: string;
    numCacheClusters?: number;
    numNodeGroups?: number;
    replicasPerNodeGroup?: number;
    automaticFailoverEnabled?: boolean;
    multiAzEnabled?: boolean;
    clusterMode?: string;
    parameterGroupName?: string;
    /** Parameters of the recorded custom parameter group of that name; absent for a `default.*` group. */
    parameters?: { name: string; value: string }[];
    /**
     * The primary endpoint address the clients are given: the mock engine's `primaryEndpointAddress`
     * (`master.<resource name>.mock.cache.amazonaws.com`), read back from the web launch template's
     * user data (`REDIS_HOST`), where the program hands it to the web nodes.
     */
    primaryEndpointAddress?: string;
}

/** An `aws:lb/targetGroup:TargetGroup`'s inputs. */
export interface LabTargetGroup {
    name: string;
    port?: number;
    protocol?: string;
    targetType?: string;
    deregistrationDelay?: number;
    healthCheck?: {
        port?: string;
        protocol?: string;
        path?: string;
        matcher?: string;
        interval?: number;
        timeout?: number;
        healthyThreshold?: number;
        unhealthyThreshold?: number;
    };
    stickiness?: { type?: string; enabled?: boolean; cookieDuration?: number; cookieName?: string };
}

/** An `aws:lb/listener:Listener`'s inputs; `defaultActions[].targetGroup` names the recorded target group it forwards to. */
export interface LabListener {
    name: string;
    port?: number;
    protocol?: string;
    sslPolicy?: string;
    certificateSet: boolean;
    defaultActions: {
        type: string;
        targetGroup?: string;
        redirect?: { protocol?: string; port?: string; host?: string; path?: string; query?: string; statusCode?: string };
    }[];
}

export interface LabLoadBalancer {
    name: string;
    loadBalancerType?: string;
    /** Seconds; unset means the ALB's default (60). */
    idleTimeout?: number;
    dropInvalidHeaderFields?: boolean;
    listeners: LabListener[];
    /** The target groups its listeners forward to. */
    targetGroups: LabTargetGroup[];
}

export interface RecordOptions {
    /** Where the real key pair and passwords live (created 0700; files 0600): stable across re-runs. */
    stateDir: string;
    /** Default: Pulumi.lab.yaml. */
    configFile?: string;
}

/** The account the mock engine's ARNs name. */
export const LAB_ACCOUNT_ID = "123456789012";

/**
 * The name and ARN AWS gives a secret, as the recording answers them (instead of the mock's
 * `arn:aws:mock:…`): the provider's name from `namePrefix` is the prefix plus a 26-character unique
 * suffix; Secrets Manager's ARN is `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6
 * random characters>`. Derived from the resource name, so re-recordings agree.
 */
export function labSecretIdentity(region: string, resource: string, inputs: Inputs): { name: string; arn: string } {
    const hash = crypto.createHash("sha256").update(`secret/${resource}`).digest();
    const digits = [...hash.subarray(0, 26)].map((b) => String(b % 10)).join("");
    const name: string = inputs.name ?? `${inputs.namePrefix ?? ""}${digits}`;
    const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const suffix = [...hash.subarray(26, 32)].map((b) => alnum[b % alnum.length]).join("");
    return { name, arn: `arn:aws:secretsmanager:${region}:${LAB_ACCOUNT_ID}:secret:${name}-${suffix}` };
}

/** The resources of `type` whose outputs flowed into `r`'s input `prop` (Pulumi's property dependencies). */
function inputFrom(r: PlanResource, prop: string, type: string, byUrn: Map<string, PlanResource>): PlanResource[] {
    return (r.propertyDependencies?.[prop] ?? []).map((u) => byUrn.get(u)).filter((d): d is PlanResource => d?.type === type);
}

const PROFILE_TYPE = "aws:iam/instanceProfile:InstanceProfile";
const ROLE_TYPE = "aws:iam/role:Role";

/** The instance profile a launch template or instance names, by resource name; undefined without one. */
function profileOf(r: PlanResource, byUrn: Map<string, PlanResource>): string | undefined {
    if (r.inputs.iamInstanceProfile === undefined) return undefined;
    const found = inputFrom(r, "iamInstanceProfile", PROFILE_TYPE, byUrn);
    if (found.length !== 1) throw new Error(`${r.type} ${r.name}: its iamInstanceProfile comes from ${found.length} recorded instance profiles; expected one`);
    return found[0].name;
}

function policyDocument(raw: unknown, what: string): unknown {
    try {
        return typeof raw === "string" ? JSON.parse(raw) : raw;
    } catch {
        throw new Error(`${what}: the policy is not JSON`);
    }
}

/** Roles with their policies, and instance profiles, as the program defines them. */
function awsIdentity(region: string, resources: PlanResource[], byUrn: Map<string, PlanResource>): LabAws {
    const roles = resources
        .filter((r) => r.type === ROLE_TYPE)
        .map((role): LabIamRole => {
            const mine = (type: string) => resources.filter((x) => x.type === type && inputFrom(x, "role", ROLE_TYPE, byUrn).some((d) => d.urn === role.urn));
            const policies: unknown[] = [
                ...(role.inputs.inlinePolicies ?? []).map((p: Inputs) => policyDocument(p.policy, `${role.name} inline policy ${p.name}`)),
                ...mine("aws:iam/rolePolicy:RolePolicy").map((p) => policyDocument(p.inputs.policy, p.name)),
            ];
            const externalPolicyArns: string[] = [...(role.inputs.managedPolicyArns ?? [])];
            for (const a of mine("aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
                const own = inputFrom(a, "policyArn", "aws:iam/policy:Policy", byUrn);
                if (own.length > 0) policies.push(...own.map((p) => policyDocument(p.inputs.policy, p.name)));
                else externalPolicyArns.push(a.inputs.policyArn);
            }
            return { resource: role.name, name: role.inputs.name ?? role.name, policies, externalPolicyArns };
        });
    const instanceProfiles = resources
        .filter((r) => r.type === PROFILE_TYPE)
        .map((p): LabInstanceProfile => {
            const role = inputFrom(p, "role", ROLE_TYPE, byUrn);
            if (role.length !== 1) throw new Error(`instance profile ${p.name}: its role comes from ${role.length} recorded roles; expected one`);
            return { resource: p.name, name: p.inputs.name ?? p.name, role: role[0].name };
        });
    return { region, accountId: LAB_ACCOUNT_ID, roles, instanceProfiles };
}

function writePrivate(file: string, content: string): void {
    fs.writeFileSync(file, content, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
}

/** A real ed25519 key pair in OpenSSH formats (what tls.PrivateKey ED25519 answers), kept in the state dir. */
function keyPair(stateDir: string, name: string): { privateKeyOpenssh: string; publicKeyOpenssh: string } {
    const file = path.join(stateDir, `${name}.ed25519`);
    if (!fs.existsSync(file)) {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
        fs.chmodSync(file, 0o600);
    }
    const pub = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    // The tls provider's publicKeyOpenssh: "<type> <base64>\n", no comment.
    return { privateKeyOpenssh: fs.readFileSync(file, "utf8"), publicKeyOpenssh: `${pub}\n` };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
/** The random provider's default special characters. */
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** A password honouring RandomPassword's length, character classes and minimums. */
export function randomPassword(inputs: Inputs): string {
    const length = Number(inputs.length);
    if (!Number.isInteger(length) || length < 1) throw new Error(`RandomPassword length ${inputs.length} is not a positive integer`);
    const classes: { chars: string; min: number }[] = [];
    if (inputs.lower !== false) classes.push({ chars: LOWER, min: Number(inputs.minLower ?? 0) });
    if (inputs.upper !== false) classes.push({ chars: UPPER, min: Number(inputs.minUpper ?? 0) });
    if (inputs.numeric !== false && inputs.number !== false) classes.push({ chars: NUMERIC, min: Number(inputs.minNumeric ?? 0) });
    if (inputs.special !== false) classes.push({ chars: inputs.overrideSpecial ?? SPECIAL, min: Number(inputs.minSpecial ?? 0) });
    const all = classes.map((c) => c.chars).join("");
    if (all === "") throw new Error("RandomPassword with every character class off");
    const pick = (chars: string) => chars[crypto.randomInt(chars.length)];
    const out = classes.flatMap((c) => Array.from({ length: c.min }, () => pick(c.chars)));
    while (out.length < length) out.push(pick(all));
    for (let i = out.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out.join("");
}

/** Passwords by resource name, regenerated only when the resource's settings change (the provider replaces it then). */
function passwords(stateDir: string): (name: string, inputs: Inputs) => string {
    const file = path.join(stateDir, "passwords.json");
    const saved: Record<string, { settings: string; result: string }> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    return (name, inputs) => {
        const settings = JSON.stringify(Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b))));
        if (saved[name]?.settings !== settings) {
            saved[name] = { settings, result: randomPassword(inputs) };
            writePrivate(file, JSON.stringify(saved, null, 1));
        }
        return saved[name].result;
    };
}

function hop(raw: Inputs, what: string): RecordedHop {
    if (typeof raw?.host !== "string") throw new Error(`${what}: connection without host`);
    return {
        host: raw.host,
        port: Number(raw.port ?? 22),
        user: raw.user ?? "root",
        privateKey: raw.privateKey,
        privateKeyPassword: raw.privateKeyPassword,
        password: raw.password,
        agentSocketPath: raw.agentSocketPath,
        hostKey: raw.hostKey,
        dialErrorLimit: Number(raw.dialErrorLimit ?? 10),
        perDialTimeout: Number(raw.perDialTimeout ?? 15),
    };
}

function connection(raw: Inputs, what: string): RecordedConnection {
    return { ...hop(raw, what), ...(raw.proxy ? { proxy: hop(raw.proxy, `${what} (proxy)`) } : {}) };
}

/**
 * The command resources each command resource waits for. The engine creates a resource only after
 * the SDK has sent its registration, and the SDK sends it only after every resource in its
 * dependencies (explicit dependsOn, expanded through components, and the resources whose outputs
 * flow into its inputs) has been created and after its parent's registration, which in turn waited
 * for the parent's own dependencies. In the lab every other resource already "exists" (it is only
 * recorded), so what orders execution is the command resources reachable through those edges: a
 * non-command resource passes its own waits on, a command resource ends the path (it waited for
 * its own in turn).
 */
export function commandDependencies(resources: PlanResource[]): Map<string, string[]> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const isCommand = (r: PlanResource) => r.type === COPY_TYPE || r.type === COMMAND_TYPE;
    const out = new Map<string, string[]>();
    for (const r of resources.filter(isCommand)) {
        const found = new Set<string>();
        const seen = new Set<string>([r.urn]);
        const pending = [...r.dependencies, ...(r.parent ? [r.parent] : [])];
        while (pending.length > 0) {
            const urn = pending.pop()!;
            if (seen.has(urn)) continue;
            seen.add(urn);
            const d = byUrn.get(urn);
            if (!d) continue; // the stack resource, or nothing recorded: waits for nothing
            if (isCommand(d)) {
                found.add(urn);
                continue;
            }
            pending.push(...d.dependencies, ...(d.parent ? [d.parent] : []));
        }
        out.set(r.urn, [...found].sort());
    }
    return out;
}

const ROLE_BY_PARENT_TYPE: Record<string, string> = {
    "owncloud-ha:database:GaleraCluster": "galera",
    "owncloud-ha:storage:GlusterDisperseVolume": "gluster",
    "owncloud-ha:access:Bastion": "bastion",
    "owncloud-ha:network:PeeredVpc": "nat",
    "owncloud-ha:web:OwnCloudWebTier": "web",
};

/** The role of a resource: the type of the nearest component ancestor that names one. */
function roleOf(r: PlanResource, byUrn: Map<string, PlanResource>): string {
    for (let p = r.parent; p; p = byUrn.get(p)?.parent) {
        const role = ROLE_BY_PARENT_TYPE[p.split("::")[2]?.split("$").pop() ?? ""];
        if (role) return role;
    }
    return "other";
}

function source(raw: Inputs | undefined, what: string): ReplayCopy["source"] {
    if (raw && typeof raw === "object" && typeof raw.path === "string") {
        if (raw.__pulumiArchive) return { kind: "archive", path: raw.path };
        if (raw.__pulumiAsset) return { kind: "asset", path: raw.path };
    }
    // The provider's Check: an archive must be path-backed, an asset a path or text; the replay takes paths only.
    throw new Error(`${what}: source must be a FileArchive or FileAsset (a path); got ${JSON.stringify(raw).slice(0, 120)}`);
}

/**
 * `export NAME=<value>` from user data as cloud-init sees it, in the program's quoting
 * (components/shared/userData.ts: shellQuote, single quotes with `'\''` for a quote).
 */
export function userDataSetting(userData: string, name: string): string | undefined {
    const m = new RegExp(`^export ${name}=((?:'[^']*'|\\\\')+)$`, "m").exec(userData);
    return m ? m[1].replace(/'([^']*)'|\\'/g, (_all, quoted: string | undefined) => quoted ?? "'") : undefined;
}

/** The recorded web launch template's user data, as EC2 hands it to cloud-init (decoded). */
export function webUserData(rec: LabRecording): string {
    const lts = rec.launchTemplates.filter((lt) => lt.role === "web" && lt.userDataBase64);
    if (lts.length !== 1) throw new Error(`the recording has ${lts.length} web launch templates with user data; the lab boots web hosts from exactly one`);
    return Buffer.from(lts[0].userDataBase64!, "base64").toString("utf8");
}

function userDataExport(userDataBase64: string | undefined, name: string): string | undefined {
    return userDataBase64 ? userDataSetting(Buffer.from(userDataBase64, "base64").toString("utf8"), name) : undefined;
}

const numberOrUndefined = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Number(v));

/** The replication groups, as the lab's Redis stand-in needs them (see LabRedisGroup). */
export function recordedRedisGroups(resources: PlanResource[], secrets: LabRecording["secrets"], launchTemplates: LabLaunchTemplate[]): LabRedisGroup[] {
    return resources
        .filter((r) => r.type === "aws:elasticache/replicationGroup:ReplicationGroup")
        .map((r) => {
            const i = r.inputs;
            const token: unknown = i.authToken;
            const authSecret = typeof token === "string" && token !== ""
                ? Object.keys(secrets).find((k) => {
                    try {
                        return JSON.parse(secrets[k].secretString)?.authToken === token;
                    } catch {
                        return false;
                    }
                })
                : undefined;
            const custom = resources.find((p) => p.type === "aws:elasticache/parameterGroup:ParameterGroup" && (p.inputs.name ?? p.id) === i.parameterGroupName);
            const hosts = [...new Set(launchTemplates.map((lt) => userDataExport(lt.userDataBase64, "REDIS_HOST")).filter((h): h is string => !!h))];
            if (hosts.length > 1) throw new Error(`the launch templates name ${hosts.join(", ")} as REDIS_HOST; expected one endpoint`);
            return {
                name: r.name,
                engine: i.engine,
                engineVersion: i.engineVersion,
                port: numberOrUndefined(i.port),
                transitEncryptionEnabled: i.transitEncryptionEnabled,
                authTokenSet: typeof token === "string" && token !== "",
                ...(authSecret ? { authSecret } : {}),
                numCacheClusters: numberOrUndefined(i.numCacheClusters),
                numNodeGroups: numberOrUndefined(i.numNodeGroups),
                replicasPerNodeGroup: numberOrUndefined(i.replicasPerNodeGroup),
                automaticFailoverEnabled: i.automaticFailoverEnabled,
                multiAzEnabled: i.multiAzEnabled,
                clusterMode: i.clusterMode,
                parameterGroupName: i.parameterGroupName,
                ...(custom ? { parameters: (custom.inputs.parameters ?? []).map((p: Inputs) => ({ name: String(p.name), value: String(p.value) })) } : {}),
                ...(hosts[0] ? { primaryEndpointAddress: hosts[0] } : {}),
            };
        });
}

/** The load balancers with the listeners on them and the target groups those forward to (see LabLoadBalancer). */
export function recordedLoadBalancers(resources: PlanResource[]): LabLoadBalancer[] {
    const targetGroups = resources.filter((r) => r.type === "aws:lb/targetGroup:TargetGroup");
    // Outputs (ARNs) are not recorded; the mock's ARN of a resource ends in `:<type>/<name>`, so a recorded ARN input names its resource.
    const named = (arn: unknown, among: PlanResource[]) => among.find((r) => typeof arn === "string" && arn.endsWith(`:${r.type}/${r.name}`));
    return resources
        .filter((r) => r.type === "aws:lb/loadBalancer:LoadBalancer")
        .map((lb) => {
            const listeners: LabListener[] = resources
                .filter((l) => l.type === "aws:lb/listener:Listener" && named(l.inputs.loadBalancerArn, [lb]))
                .map((l) => ({
                    name: l.name,
                    port: numberOrUndefined(l.inputs.port),
                    protocol: l.inputs.protocol,
                    sslPolicy: l.inputs.sslPolicy,
                    certificateSet: !!l.inputs.certificateArn,
                    defaultActions: (l.inputs.defaultActions ?? []).map((a: Inputs) => ({
                        type: a.type,
                        ...(a.targetGroupArn ? { targetGroup: named(a.targetGroupArn, targetGroups)?.name ?? String(a.targetGroupArn) } : {}),
                        ...(a.redirect ? { redirect: a.redirect } : {}),
                    })),
                }));
            const used = new Set(listeners.flatMap((l) => l.defaultActions.map((a) => a.targetGroup).filter((n): n is string => !!n)));
            return {
                name: lb.name,
                loadBalancerType: lb.inputs.loadBalancerType,
                idleTimeout: numberOrUndefined(lb.inputs.idleTimeout),
                dropInvalidHeaderFields: lb.inputs.dropInvalidHeaderFields,
                listeners,
                targetGroups: targetGroups
                    .filter((t) => used.has(t.name))
                    .map((t) => ({
                        name: t.name,
                        port: numberOrUndefined(t.inputs.port),
                        protocol: t.inputs.protocol,
                        targetType: t.inputs.targetType,
                        deregistrationDelay: numberOrUndefined(t.inputs.deregistrationDelay),
                        healthCheck: t.inputs.healthCheck,
                        stickiness: t.inputs.stickiness,
                    })),
            };
        });
}

/** Turns a build's registrations into a LabRecording. */
export function toRecording(stack: string, resources: PlanResource[], region: string): LabRecording {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const deps = commandDependencies(resources);
    const replay: ReplayResource[] = [];
    for (const r of resources) {
        const what = `${r.type} ${r.name}`;
        if (r.type === COPY_TYPE) {
            replay.push({
                type: COPY_TYPE,
                urn: r.urn,
                name: r.name,
                connection: connection(r.inputs.connection, what),
                triggers: r.inputs.triggers ?? [],
                dependencies: deps.get(r.urn)!,
                source: source(r.inputs.source ?? r.inputs.asset ?? r.inputs.archive, what),
                remotePath: r.inputs.remotePath,
            });
        } else if (r.type === COMMAND_TYPE) {
            const i = r.inputs;
            replay.push({
                type: COMMAND_TYPE,
                urn: r.urn,
                name: r.name,
                connection: connection(i.connection, what),
                triggers: i.triggers ?? [],
                dependencies: deps.get(r.urn)!,
                create: i.create,
                ...(i.update !== undefined ? { update: i.update } : {}),
                ...(i.delete !== undefined ? { delete: i.delete } : {}),
                ...(i.stdin !== undefined ? { stdin: i.stdin } : {}),
                ...(i.environment !== undefined ? { environment: i.environment } : {}),
                ...(i.logging !== undefined ? { logging: i.logging } : {}),
                ...(i.addPreviousOutputInEnv !== undefined ? { addPreviousOutputInEnv: i.addPreviousOutputInEnv } : {}),
            });
        }
    }
    const instances = resources
        .filter((r) => r.type === "aws:ec2/instance:Instance")
        .map((r) => ({
            name: r.name,
            role: roleOf(r, byUrn),
            privateIp: r.inputs.privateIp,
            keyName: r.inputs.keyName,
            userData: r.inputs.userData,
            ...(profileOf(r, byUrn) ? { instanceProfile: profileOf(r, byUrn) } : {}),
        }));
    const launchTemplates = resources
        .filter((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")
        .map((r) => ({
            name: r.name,
            role: roleOf(r, byUrn),
            keyName: r.inputs.keyName,
            userDataBase64: r.inputs.userData,
            ...(profileOf(r, byUrn) ? { instanceProfile: profileOf(r, byUrn) } : {}),
        }));
    const eips = resources.filter((r) => r.type === "aws:ec2/eip:Eip" && roleOf(r, byUrn) === "bastion");
    const keyPairs = resources.filter((r) => r.type === "aws:ec2/keyPair:KeyPair");
    if (eips.length !== 1 || keyPairs.length !== 1) throw new Error(`the recording has ${eips.length} bastion EIPs and ${keyPairs.length} key pairs; expected one of each`);
    // The EIP's address is an output (the mock's answer), not an input: the connections name it as the proxy.
    const proxyHosts = [...new Set(replay.map((r) => r.connection.proxy?.host).filter((h): h is string => !!h))];
    if (proxyHosts.length > 1) throw new Error(`command resources jump through ${proxyHosts.join(", ")}; expected one bastion`);
    const secrets: LabRecording["secrets"] = {};
    for (const v of resources.filter((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion")) {
        const secret = resources.find((s) => s.type === "aws:secretsmanager/secret:Secret" && s.id === v.inputs.secretId);
        const name = secret?.name ?? v.name;
        secrets[name] = {
            ...(secret?.inputs.namePrefix ? { namePrefix: secret.inputs.namePrefix } : {}),
            secretString: v.inputs.secretString,
            ...(secret ? labSecretIdentity(region, secret.name, secret.inputs) : {}),
        };
    }
    return {
        stack,
        resources: replay,
        instances,
        launchTemplates,
        bastionPublicIp: proxyHosts[0] ?? "",
        publicKey: keyPairs[0].inputs.publicKey,
        secrets,
        aws: awsIdentity(region, resources, byUrn),
        redisGroups: recordedRedisGroups(resources, secrets, launchTemplates),
        loadBalancers: recordedLoadBalancers(resources),
    };
}

/**
 * Builds the lab stack under the mock engine with real key material and passwords (from/into
 * `stateDir`) and returns what the lab executes. Runs once per process (Pulumi's runtime is global).
 */
export async function recordLabStack(opts: RecordOptions): Promise<LabRecording> {
    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(opts.stateDir, 0o700);
    const password = passwords(opts.stateDir);
    const built = await build({
        stack: LAB_STACK,
        configFile: opts.configFile ?? LAB_CONFIG_FILE,
        answers: (type, name, inputs) => {
            if (type === "tls:index/privateKey:PrivateKey") {
                if (inputs.algorithm !== "ED25519") throw new Error(`${name}: the lab makes ED25519 keys only, the program asks for ${inputs.algorithm}`);
                return keyPair(opts.stateDir, name);
            }
            if (type === "random:index/randomPassword:RandomPassword") return { result: password(name, inputs) };
            if (type === "aws:secretsmanager/secret:Secret") {
                // The ARN node-init.sh asks the AWS stand-in for and the roles' policies name: AWS's shape, not the mock's.
                const region = pulumi.runtime.allConfig()["aws:region"];
                if (!region) throw new Error(`${name}: the lab stack sets no aws:region`);
                return labSecretIdentity(region, name, inputs);
            }
            return undefined;
        },
    });
    return toRecording(built.stack, built.resources, built.region);
}

// `tsx scripts/lab/replay/record.ts STATE_DIR`: prints the recording as JSON (secrets included: keep it private).
if (require.main === module) {
    const stateDir = process.argv[2];
    if (!stateDir) {
        process.stderr.write("usage: record.ts STATE_DIR\n");
        process.exit(2);
    }
    recordLabStack({ stateDir: path.resolve(stateDir) }).then(
        (rec) => process.stdout.write(JSON.stringify(rec) + "\n"),
        (e) => {
            process.stderr.write(`${(e as Error).message}\n`);
            process.exit(1);
        },
    );
}
