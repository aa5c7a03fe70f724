/**
 * AWS API stand-ins for the lab's hosts, the two a web node's user data needs to read its secrets
 * with its instance role, as small as that allows:
 *
 * - **IMDS** (plain HTTP; the lab DNATs each host's 169.254.169.254:80 here): IMDSv2 only, as with
 *   the launch template's `httpTokens: required`. `PUT /latest/api/token` with
 *   `X-aws-ec2-metadata-token-ttl-seconds` 1..21600 (else 400) answers a token; every GET needs a
 *   valid one (else 401). The caller is its SOURCE address: the config maps each lab host's address
 *   to its instance (ID, region, zone, instance profile's role). Serves what botocore's
 *   InstanceMetadataFetcher / InstanceMetadataRegionFetcher read (the role name, its credentials,
 *   the zone) and instance-id, placement/region, local-ipv4, the identity document. A host without
 *   an instance profile gets 404 for the credentials paths, as on EC2.
 * - **Secrets Manager** (HTTPS, a lab-CA certificate for `secretsmanager.<region>.amazonaws.com`,
 *   which the lab's DNS answers with this address): GetSecretValue in the JSON 1.1 protocol. The
 *   caller is the access key id in the SigV4 `Authorization` header's Credential: it must be one
 *   IMDS handed out and unexpired, with its session token; its role must be allowed
 *   `secretsmanager:GetSecretValue` on the secret's ARN by the role's policies AS THE PROGRAM
 *   RECORDED THEM (Allow/Deny, Action/NotAction, Resource/NotResource with wildcards; a statement
 *   with a Condition is not evaluated: an Allow with one never allows, a Deny with one always
 *   denies). The SIGNATURE IS NOT VERIFIED: the stand-in trusts that whoever names a key holds its
 *   secret; it pins who may read which secret, not SigV4.
 *
 * Usage: tsx scripts/lab/aws-standin.ts CONFIG_JSON   (the file awsStandinConfig makes; it holds
 * the secrets: keep it 600). Config: see AwsStandinConfig.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { issueCert } from "./lab-ca";
import type { LabRecording } from "./replay/record";
import type { LabHost } from "./lab-core";

/** Where botocore and the AWS docs say IMDS lives; the lab DNATs it to the stand-in. */
export const IMDS_ADDRESS = "169.254.169.254";
/** The IMDS stand-in's own port on the bridge (not 80: the hosts reach it through DNAT only). */
export const AWS_STANDIN_IMDS_PORT = 8169;
/** Secrets Manager's endpoint port (https://secretsmanager.<region>.amazonaws.com). */
export const AWS_STANDIN_HTTPS_PORT = 443;
/** The longest IMDSv2 session token lifetime (six hours). */
const MAX_TOKEN_TTL = 21600;
/** How long role credentials last; IMDS hands out new ones well before they expire. */
const CREDENTIALS_LIFETIME_S = 6 * 3600;
const CREDENTIALS_RENEW_BEFORE_S = 3600;

export interface StandinInstance {
    instanceId: string;
    region: string;
    availabilityZone: string;
    /** The role of its instance profile (a key of `roles`); absent: launched without a profile. */
    role?: string;
    instanceProfileArn?: string;
}

export interface StandinSecret {
    arn: string;
    name: string;
    secretString: string;
}

export interface AwsStandinConfig {
    /** The address both servers listen on (the lab bridge's). */
    address: string;
    imdsPort: number;
    httpsPort: number;
    /** The lab CA directory (lab-ca.ts): the Secrets Manager certificate is issued there. */
    caDir: string;
    accountId: string;
    /** By the lab host's address (what IMDS sees as the source). */
    instances: Record<string, StandinInstance>;
    /** IAM roles by name: their identity policy documents as recorded. */
    roles: Record<string, { policies: unknown[] }>;
    secrets: StandinSecret[];
}

/** The recorded role a lab host plays, by LabHost.role. */
const RECORDED_ROLE: Record<string, string> = { db: "galera", fs: "gluster", bastion: "bastion", web: "web" };

/**
 * The stand-ins' configuration from a recording of the program: each host gets the instance
 * profile the program gives its kind of instance (a recorded instance at the host's address, else
 * the one profile of the instances or launch template of its role), the roles with their recorded
 * policies, the secrets with their recorded ARNs and values.
 */
export function awsStandinConfig(
    rec: LabRecording,
    hosts: Pick<LabHost, "name" | "ip" | "role" | "instanceId">[],
    listen: { address: string; caDir: string; imdsPort?: number; httpsPort?: number },
): AwsStandinConfig {
    const aws = rec.aws;
    if (!aws) throw new Error("the recording carries no IAM roles (rec.aws): record it again with this version of replay/record.ts");
    const profiles = new Map(aws.instanceProfiles.map((p) => [p.resource, p]));
    const roles = new Map(aws.roles.map((r) => [r.resource, r]));
    const instances: Record<string, StandinInstance> = {};
    for (const h of hosts) {
        const atAddress = rec.instances.find((i) => i.privateIp === h.ip);
        const candidates = atAddress
            ? [atAddress.instanceProfile]
            : [...rec.instances, ...rec.launchTemplates].filter((x) => x.role === RECORDED_ROLE[h.role]).map((x) => x.instanceProfile);
        const distinct = [...new Set(candidates)];
        if (distinct.length > 1) throw new Error(`host ${h.name}: the recorded ${h.role} instances use different instance profiles (${distinct.join(", ")})`);
        const profile = distinct[0] ? profiles.get(distinct[0]) : undefined;
        if (distinct[0] && !profile) throw new Error(`host ${h.name}: instance profile ${distinct[0]} is not in the recording`);
        const role = profile ? roles.get(profile.role) : undefined;
        if (profile && !role) throw new Error(`host ${h.name}: role ${profile.role} of instance profile ${profile.resource} is not in the recording`);
        instances[h.ip] = {
            instanceId: h.instanceId,
            region: aws.region,
            // The lab is one segment; every host is in the region's first zone.
            availabilityZone: `${aws.region}a`,
            ...(role && profile ? { role: role.name, instanceProfileArn: `arn:aws:iam::${aws.accountId}:instance-profile/${profile.name}` } : {}),
        };
    }
    const secrets = Object.entries(rec.secrets).map(([resource, s]) => {
        if (!s.arn || !s.name) throw new Error(`secret ${resource}: the recording has no ARN for it: record it again with this version of replay/record.ts`);
        return { arn: s.arn, name: s.name, secretString: s.secretString };
    });
    return {
        address: listen.address,
        imdsPort: listen.imdsPort ?? AWS_STANDIN_IMDS_PORT,
        httpsPort: listen.httpsPort ?? AWS_STANDIN_HTTPS_PORT,
        caDir: listen.caDir,
        accountId: aws.accountId,
        instances,
        roles: Object.fromEntries(aws.roles.map((r) => [r.name, { policies: r.policies }])),
        secrets,
    };
}

/** The DNS names the Secrets Manager stand-in answers for (the lab's DNS resolves them to `address`). */
export function secretsManagerHostnames(config: Pick<AwsStandinConfig, "instances" | "secrets">): string[] {
    const regions = new Set([...Object.values(config.instances).map((i) => i.region), ...config.secrets.map((s) => s.arn.split(":")[3])]);
    return [...regions].sort().map((r) => `secretsmanager.${r}.amazonaws.com`);
}

// ---------------------------------------------------------------------------------------------
// IAM policy evaluation (identity policies only: what decides here)

type Statement = { Effect?: string; Action?: string | string[]; NotAction?: string | string[]; Resource?: string | string[]; NotResource?: string | string[]; Condition?: unknown };

/** IAM's wildcards: `*` any run of characters, `?` one; actions compare case-insensitively. */
function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, ignoreCase ? "i" : "");
    return re.test(value);
}

const list = (x: string | string[] | undefined): string[] | undefined => (x === undefined ? undefined : Array.isArray(x) ? x : [x]);

function statementApplies(st: Statement, action: string, resource: string): boolean {
    const actions = list(st.Action);
    const notActions = list(st.NotAction);
    const resources = list(st.Resource);
    const notResources = list(st.NotResource);
    const actionOk = actions ? actions.some((a) => globMatch(a, action, true)) : notActions ? !notActions.some((a) => globMatch(a, action, true)) : false;
    const resourceOk = resources ? resources.some((r) => globMatch(r, resource, false)) : notResources ? !notResources.some((r) => globMatch(r, resource, false)) : false;
    return actionOk && resourceOk;
}

/** IAM's decision for one principal's identity policies: an explicit Deny wins, else an Allow allows, else denied. */
export function iamAllows(policies: unknown[], action: string, resource: string): boolean {
    let allowed = false;
    for (const doc of policies) {
        const stmts = (doc as { Statement?: Statement | Statement[] } | undefined)?.Statement;
        for (const st of stmts === undefined ? [] : Array.isArray(stmts) ? stmts : [stmts]) {
            if (!statementApplies(st, action, resource)) continue;
            if (st.Effect === "Deny") return false;
            // Conditions are not evaluated: an Allow that carries one is not taken.
            if (st.Effect === "Allow" && st.Condition === undefined) allowed = true;
        }
    }
    return allowed;
}

// ---------------------------------------------------------------------------------------------
// The servers

interface IssuedCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    token: string;
    role: string;
    instanceId: string;
    lastUpdated: Date;
    expiration: Date;
}

/** `2026-01-01T00:00:00Z`: the format botocore's InstanceMetadataFetcher parses (no fraction). */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function randomString(n: number, alphabet: string): string {
    return Array.from({ length: n }, () => alphabet[crypto.randomInt(alphabet.length)]).join("");
}
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64ISH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The source address of a request, IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4. */
const sourceAddress = (req: http.IncomingMessage) => (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");

function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > limit) reject(new Error("request body too large"));
            else chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

export class AwsStandin {
    /** IMDSv2 session tokens: the instance address each was issued to and when it expires. */
    private readonly tokens = new Map<string, { address: string; expires: number }>();
    /** Role credentials handed out, by access key id. */
    private readonly credentials = new Map<string, IssuedCredentials>();
    /** The current credentials of each instance address (renewed before they expire). */
    private readonly current = new Map<string, IssuedCredentials>();
    /** The secrets' version IDs and creation dates: fixed for this process, as one recorded version is. */
    private readonly versions = new Map<string, { versionId: string; created: Date }>();

    constructor(
        private readonly config: AwsStandinConfig,
        private readonly now: () => Date = () => new Date(),
    ) {
        for (const s of config.secrets) this.versions.set(s.arn, { versionId: crypto.randomUUID(), created: this.now() });
    }

    // IMDS ------------------------------------------------------------------------------------

    imds(req: http.IncomingMessage, res: http.ServerResponse): void {
        const text = (status: number, body: string, headers: Record<string, string> = {}) => {
            res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": String(Buffer.byteLength(body)), ...headers });
            res.end(body);
        };
        const address = sourceAddress(req);
        const instance = this.config.instances[address];
        // Not a lab instance: as an instance whose metadata endpoint is disabled.
        if (!instance) return text(403, "Forbidden");
        const url = new URL(req.url ?? "/", "http://imds");
        // botocore asks for some leaves with a trailing slash (placement/availability-zone/).
        const p = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
        if (p === "/latest/api/token") {
            if (req.method !== "PUT") return text(405, "Method Not Allowed");
            // IMDS refuses token requests that went through a proxy.
            if (req.headers["x-forwarded-for"] !== undefined) return text(403, "Forbidden");
            const raw = String(req.headers["x-aws-ec2-metadata-token-ttl-seconds"] ?? "");
            const ttl = /^\d+$/.test(raw) ? Number(raw) : NaN;
            if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL)) return text(400, "Bad Request");
            const token = crypto.randomBytes(42).toString("base64");
            this.tokens.set(token, { address, expires: this.now().getTime() + ttl * 1000 });
            return text(200, token, { "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": String(ttl) });
        }
        if (req.method !== "GET" && req.method !== "HEAD") return text(405, "Method Not Allowed");
        const token = this.tokens.get(String(req.headers["x-aws-ec2-metadata-token"] ?? ""));
        // httpTokens required: no IMDSv1; a token is good only on the instance it was issued to.
        if (!token || token.address !== address || token.expires <= this.now().getTime()) return text(401, "Unauthorized");

        const credsPath = "/latest/meta-data/iam/security-credentials";
        if (p === credsPath) return instance.role ? text(200, instance.role) : text(404, "Not Found");
        if (p.startsWith(`${credsPath}/`)) {
            if (!instance.role || p !== `${credsPath}/${instance.role}`) return text(404, "Not Found");
            const c = this.credentialsFor(address, instance);
            return text(
                200,
                JSON.stringify({
                    Code: "Success",
                    LastUpdated: isoSeconds(c.lastUpdated),
                    Type: "AWS-HMAC",
                    AccessKeyId: c.accessKeyId,
                    SecretAccessKey: c.secretAccessKey,
                    Token: c.token,
                    Expiration: isoSeconds(c.expiration),
                }),
            );
        }
        const leaves: Record<string, string> = {
            "/latest/meta-data/instance-id": instance.instanceId,
            "/latest/meta-data/placement/region": instance.region,
            "/latest/meta-data/placement/availability-zone": instance.availabilityZone,
            "/latest/meta-data/local-ipv4": address,
            "/latest/dynamic/instance-identity/document": JSON.stringify(
                {
                    accountId: this.config.accountId,
                    availabilityZone: instance.availabilityZone,
                    instanceId: instance.instanceId,
                    privateIp: address,
                    region: instance.region,
                    version: "2017-09-30",
                },
                null,
                2,
            ),
        };
        if (instance.instanceProfileArn) {
            leaves["/latest/meta-data/iam/info"] = JSON.stringify({ Code: "Success", LastUpdated: isoSeconds(this.now()), InstanceProfileArn: instance.instanceProfileArn }, null, 2);
        }
        const value = leaves[p];
        return value === undefined ? text(404, "Not Found") : text(200, value);
    }

    private credentialsFor(address: string, instance: StandinInstance): IssuedCredentials {
        const now = this.now();
        const have = this.current.get(address);
        if (have && have.expiration.getTime() - now.getTime() > CREDENTIALS_RENEW_BEFORE_S * 1000) return have;
        const c: IssuedCredentials = {
            // Temporary credentials' key ids start ASIA; the session token goes with them.
            accessKeyId: `ASIA${randomString(16, UPPER_DIGITS)}`,
            secretAccessKey: randomString(40, BASE64ISH),
            token: crypto.randomBytes(96).toString("base64"),
            role: instance.role!,
            instanceId: instance.instanceId,
            lastUpdated: now,
            expiration: new Date(now.getTime() + CREDENTIALS_LIFETIME_S * 1000),
        };
        this.credentials.set(c.accessKeyId, c);
        this.current.set(address, c);
        return c;
    }

    // Secrets Manager -------------------------------------------------------------------------

    async secretsManager(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const requestId = crypto.randomUUID();
        const reply = (status: number, body: unknown) => {
            const text = JSON.stringify(body);
            res.writeHead(status, { "Content-Type": "application/x-amz-json-1.1", "Content-Length": String(Buffer.byteLength(text)), "x-amzn-RequestId": requestId });
            res.end(text);
        };
        // The JSON 1.1 protocol's error shape (botocore's BaseJSONParser._do_error_parse reads __type and message).
        const fail = (status: number, type: string, message: string) => reply(status, { __type: type, message });

        const body = await readBody(req);
        if (req.method !== "POST" || (req.url ?? "/").split("?")[0] !== "/") return fail(404, "UnknownOperationException", "");
        const target = String(req.headers["x-amz-target"] ?? "");
        const auth = String(req.headers.authorization ?? "");
        const credential = /^AWS4-HMAC-SHA256 .*Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
        if (!credential) return fail(400, "MissingAuthenticationTokenException", "Missing Authentication Token");
        const [, accessKeyId, , region, service] = credential;
        if (service !== "secretsmanager") return fail(400, "InvalidSignatureException", `Credential should be scoped to correct service: 'secretsmanager'.`);
        const creds = this.credentials.get(accessKeyId);
        // What Secrets Manager answers a key (or session token) it does not know.
        if (!creds || req.headers["x-amz-security-token"] !== creds.token) return fail(400, "UnrecognizedClientException", "The security token included in the request is invalid.");
        if (creds.expiration.getTime() <= this.now().getTime()) return fail(400, "ExpiredTokenException", "The security token included in the request is expired");
        if (target !== "secretsmanager.GetSecretValue") return fail(400, "UnknownOperationException", "");
        if (!String(req.headers["content-type"] ?? "").startsWith("application/x-amz-json-1.1")) return fail(400, "SerializationException", "");

        let input: { SecretId?: unknown; VersionId?: unknown; VersionStage?: unknown };
        try {
            input = JSON.parse(body || "{}");
        } catch {
            return fail(400, "SerializationException", "");
        }
        if (typeof input.SecretId !== "string" || input.SecretId.length < 1 || input.SecretId.length > 2048) {
            return fail(400, "ValidationException", "1 validation error detected: Value at 'secretId' failed to satisfy constraint: Member must not be null");
        }
        const secretId = input.SecretId;
        const secret = this.config.secrets.find(
            (s) => s.arn.split(":")[3] === region && (s.arn === secretId || s.name === secretId || s.arn.replace(/-[A-Za-z0-9]{6}$/, "") === secretId),
        );
        // IAM decides on the secret's ARN; for one that does not exist, on the ARN the request names.
        const resource = secret?.arn ?? (secretId.startsWith("arn:") ? secretId : `arn:aws:secretsmanager:${region}:${this.config.accountId}:secret:${secretId}`);
        const action = "secretsmanager:GetSecretValue";
        if (!iamAllows(this.config.roles[creds.role]?.policies ?? [], action, resource)) {
            return fail(
                400,
                "AccessDeniedException",
                `User: arn:aws:sts::${this.config.accountId}:assumed-role/${creds.role}/${creds.instanceId} is not authorized to perform: ${action} ` +
                    `on resource: ${secretId} because no identity-based policy allows the ${action} action`,
            );
        }
        if (!secret) return fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
        const version = this.versions.get(secret.arn)!;
        if (input.VersionStage !== undefined && input.VersionStage !== "AWSCURRENT") {
            return fail(400, "ResourceNotFoundException", `Secrets Manager can't find the specified secret value for staging label: ${String(input.VersionStage)}`);
        }
        if (input.VersionId !== undefined && input.VersionId !== version.versionId) {
            return fail(400, "ResourceNotFoundException", `Secrets Manager can't find the specified secret value for VersionId: ${String(input.VersionId)}`);
        }
        return reply(200, {
            ARN: secret.arn,
            Name: secret.name,
            VersionId: version.versionId,
            SecretString: secret.secretString,
            VersionStages: ["AWSCURRENT"],
            // A JSON-protocol timestamp: epoch seconds.
            CreatedDate: version.created.getTime() / 1000,
        });
    }
}

export interface RunningStandin {
    standin: AwsStandin;
    imds: http.Server;
    secretsManager: https.Server;
    close(): Promise<void>;
}

function listen(server: http.Server, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, address, () => {
            server.off("error", reject);
            resolve();
        });
    });
}

/** Starts both servers (IMDS on imdsPort, Secrets Manager on httpsPort with `tls`), resolved once both listen. */
export async function startAwsStandin(config: AwsStandinConfig, tls: { cert: string; key: string }, now?: () => Date): Promise<RunningStandin> {
    const standin = new AwsStandin(config, now);
    const guard = (what: string, fn: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>) => (req: http.IncomingMessage, res: http.ServerResponse) => {
        Promise.resolve()
            .then(() => fn(req, res))
            .catch((e) => {
                // Never the request body or a secret in the log: only what failed.
                console.error(`aws-standin ${what}: ${req.method} ${req.url}: ${(e as Error).message}`);
                if (!res.headersSent) {
                    res.writeHead(500, { "Content-Type": "application/x-amz-json-1.1" });
                    res.end(JSON.stringify({ __type: "InternalServiceError", message: "internal error" }));
                } else res.destroy();
            });
    };
    const imds = http.createServer(guard("imds", (req, res) => standin.imds(req, res)));
    const secretsManager = https.createServer({ cert: tls.cert, key: tls.key }, guard("secretsmanager", (req, res) => standin.secretsManager(req, res)));
    await listen(imds, config.imdsPort, config.address);
    await listen(secretsManager, config.httpsPort, config.address);
    const close = async () => {
        await Promise.all([imds, secretsManager].map((s) => new Promise<void>((r) => s.close(() => r()))));
    };
    return { standin, imds, secretsManager, close };
}

if (require.main === module) {
    const file = process.argv[2];
    if (!file) {
        console.error("usage: aws-standin CONFIG_JSON");
        process.exit(2);
    }
    const config = JSON.parse(fs.readFileSync(file, "utf8")) as AwsStandinConfig;
    const names = secretsManagerHostnames(config);
    const cert = issueCert(config.caDir, "aws-secretsmanager", { dnsNames: names });
    startAwsStandin(config, { cert: fs.readFileSync(cert.certPath, "utf8"), key: fs.readFileSync(cert.keyPath, "utf8") }).then(
        () =>
            console.error(
                `aws-standin: IMDS on ${config.address}:${config.imdsPort} for ${Object.keys(config.instances).length} hosts; ` +
                    `Secrets Manager (${names.join(", ")}) on ${config.address}:${config.httpsPort}, ${config.secrets.length} secrets`,
            ),
        (e) => {
            console.error(`aws-standin: ${(e as Error).message}`);
            process.exit(1);
        },
    );
}
