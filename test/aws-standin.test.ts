/**
 * The AWS API stand-ins (scripts/lab/aws-standin.ts): IMDSv2 and Secrets Manager's GetSecretValue,
 * configured from a recording of the lab stack (Pulumi.lab.yaml), served in-process on loopback
 * addresses (each 127.0.0.x a lab host, as the bridge addresses are in the lab).
 */
import { expect } from "chai";
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { awsStandinConfig, iamAllows, startAwsStandin, type AwsStandinConfig, type RunningStandin } from "../scripts/lab/aws-standin";
import { issueCert } from "../scripts/lab/lab-ca";
import type { LabRecording } from "../scripts/lab/replay/record";

const ROOT = path.resolve(__dirname, "..");
const REGION = "eu-central-1";
const SM_HOST = `secretsmanager.${REGION}.amazonaws.com`;

interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

function send(opts: https.RequestOptions & { tls?: boolean; body?: string }): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = (opts.tls ? https : http).request(opts, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on("error", reject);
        req.end(opts.body);
    });
}

/** The web user data's secret ARNs (what node-init.sh asks Secrets Manager for). */
function userDataSecretArns(rec: LabRecording): Record<string, string> {
    const lt = rec.launchTemplates.find((t) => t.role === "web")!;
    const text = Buffer.from(lt.userDataBase64!, "base64").toString("utf8");
    const out: Record<string, string> = {};
    for (const k of ["DB_SECRET_ARN", "REDIS_SECRET_ARN", "ADMIN_SECRET_ARN"]) {
        const m = new RegExp(`${k}=['"]?(arn:aws:secretsmanager:[^'"\\s]+)`).exec(text);
        if (!m) throw new Error(`no ${k} in the web user data`);
        out[k] = m[1];
    }
    return out;
}

describe("AWS API stand-ins (IMDS, Secrets Manager) for the recorded lab stack", function () {
    this.timeout(240_000);
    let rec: LabRecording;
    let config: AwsStandinConfig;
    let running: RunningStandin;
    let tmp: string;
    let ca: string;
    let imdsPort: number;
    let smPort: number;
    const WEB = "127.0.0.1";
    const DB = "127.0.0.2";
    const NO_PROFILE = "127.0.0.3";
    const BROAD = "127.0.0.4";

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aws-standin-"));
        // Pulumi's runtime is global: the recording runs in its own process, as `lab up` runs it.
        const { stdout } = await promisify(execFile)("npx", ["--no-install", "tsx", "scripts/lab/replay/record.ts", path.join(tmp, "state")], { cwd: ROOT, maxBuffer: 64 << 20 });
        rec = JSON.parse(stdout) as LabRecording;
        const caDir = path.join(tmp, "ca");
        config = awsStandinConfig(
            rec,
            [
                { name: "web1", ip: WEB, role: "web", instanceId: "i-0web1" },
                { name: "db1", ip: DB, role: "db", instanceId: "i-0db1" },
            ],
            { address: "127.0.0.1", caDir, imdsPort: 0, httpsPort: 0 },
        );
        // Hosts the recording has no counterpart for: one without an instance profile, one whose
        // role may read any secret (so a missing secret is judged on existence, not on permission).
        config.instances[NO_PROFILE] = { instanceId: "i-0noprofile", region: REGION, availabilityZone: `${REGION}a` };
        config.instances[BROAD] = { instanceId: "i-0broad", region: REGION, availabilityZone: `${REGION}a`, role: "broad" };
        config.roles.broad = { policies: [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:*", Resource: "*" }] }] };
        const cert = issueCert(caDir, "aws-secretsmanager", { dnsNames: [SM_HOST], ips: ["127.0.0.1"] });
        ca = fs.readFileSync(path.join(caDir, "ca.crt"), "utf8");
        running = await startAwsStandin(config, { cert: fs.readFileSync(cert.certPath, "utf8"), key: fs.readFileSync(cert.keyPath, "utf8") });
        imdsPort = (running.imds.address() as AddressInfo).port;
        smPort = (running.secretsManager.address() as AddressInfo).port;
    });
    after(async () => {
        await running?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    const imds = (from: string, method: string, p: string, headers: Record<string, string> = {}) =>
        send({ host: "127.0.0.1", port: imdsPort, localAddress: from, method, path: p, headers });
    const token = async (from: string, ttl = "21600") => {
        const r = await imds(from, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": ttl });
        expect(r.status, r.body).to.equal(200);
        return r.body;
    };
    const get = async (from: string, p: string) => imds(from, "GET", p, { "X-aws-ec2-metadata-token": await token(from) });
    const credentials = async (from: string) => {
        const role = (await get(from, "/latest/meta-data/iam/security-credentials/")).body;
        return JSON.parse((await get(from, `/latest/meta-data/iam/security-credentials/${role}`)).body);
    };
    /** GetSecretValue as the AWS CLI sends it (JSON 1.1, SigV4 header; the signature is not checked). */
    const getSecretValue = (creds: { AccessKeyId: string; Token: string }, input: object, target = "secretsmanager.GetSecretValue") =>
        send({
            tls: true,
            host: "127.0.0.1",
            port: smPort,
            servername: SM_HOST,
            ca,
            method: "POST",
            path: "/",
            headers: {
                Host: SM_HOST,
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": target,
                "X-Amz-Date": "20261130T000000Z",
                "X-Amz-Security-Token": creds.Token,
                Authorization: `AWS4-HMAC-SHA256 Credential=${creds.AccessKeyId}/20261130/${REGION}/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=${"0".repeat(64)}`,
            },
            body: JSON.stringify(input),
        });

    describe("IMDSv2", () => {
        it("answers a token to PUT with a TTL and the instance's metadata to a GET carrying it", async () => {
            const t = await token(WEB);
            expect(t).to.have.length.greaterThan(20);
            const r = await imds(WEB, "GET", "/latest/meta-data/instance-id", { "X-aws-ec2-metadata-token": t });
            expect(r.status).to.equal(200);
            expect(r.body).to.equal("i-0web1");
            expect((await get(DB, "/latest/meta-data/instance-id")).body).to.equal("i-0db1");
        });

        it("refuses a GET without a token, with an unknown one or with another instance's (401)", async () => {
            expect((await imds(WEB, "GET", "/latest/meta-data/instance-id")).status).to.equal(401);
            expect((await imds(WEB, "GET", "/latest/meta-data/instance-id", { "X-aws-ec2-metadata-token": "forged" })).status).to.equal(401);
            const dbToken = await token(DB);
            expect((await imds(WEB, "GET", "/latest/meta-data/instance-id", { "X-aws-ec2-metadata-token": dbToken })).status).to.equal(401);
        });

        it("refuses a token PUT whose TTL is missing or outside 1..21600 (400)", async () => {
            for (const ttl of ["0", "21601", "-1", "abc", ""]) {
                const r = await imds(WEB, "PUT", "/latest/api/token", ttl === "" ? {} : { "X-aws-ec2-metadata-token-ttl-seconds": ttl });
                expect(r.status, `ttl ${JSON.stringify(ttl)}`).to.equal(400);
            }
            expect((await imds(WEB, "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "1" })).status).to.equal(200);
        });

        it("answers what botocore and cloud tools read: zone (with botocore's trailing slash), region, address, identity document", async () => {
            expect((await get(WEB, "/latest/meta-data/placement/availability-zone/")).body).to.equal(`${REGION}a`);
            expect((await get(WEB, "/latest/meta-data/placement/region")).body).to.equal(REGION);
            expect((await get(DB, "/latest/meta-data/local-ipv4")).body).to.equal(DB);
            const doc = JSON.parse((await get(WEB, "/latest/dynamic/instance-identity/document")).body);
            expect(doc).to.include({ instanceId: "i-0web1", region: REGION, availabilityZone: `${REGION}a`, privateIp: WEB, accountId: rec.aws!.accountId });
            expect((await get(WEB, "/latest/meta-data/no-such-thing")).status).to.equal(404);
        });

        it("lists each host's recorded instance-profile role and hands each address its own credentials", async () => {
            const webProfile = rec.aws!.instanceProfiles.find((p) => p.resource === rec.launchTemplates.find((t) => t.role === "web")!.instanceProfile)!;
            expect((await get(WEB, "/latest/meta-data/iam/security-credentials/")).body).to.equal(webProfile.role);
            expect((await get(DB, "/latest/meta-data/iam/security-credentials/")).body).to.equal("lab-galera-role");
            const web = await credentials(WEB);
            const db = await credentials(DB);
            expect(web).to.include({ Code: "Success", Type: "AWS-HMAC" });
            for (const k of ["AccessKeyId", "SecretAccessKey", "Token"]) expect(web[k], k).to.be.a("string").with.length.greaterThan(15);
            expect(web.AccessKeyId).to.match(/^ASIA[A-Z2-7]{16}$/);
            // botocore's InstanceMetadataFetcher parses Expiration with "%Y-%m-%dT%H:%M:%SZ".
            expect(web.Expiration).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
            expect(Date.parse(web.Expiration)).to.be.greaterThan(Date.parse(web.LastUpdated));
            expect(db.AccessKeyId).to.not.equal(web.AccessKeyId);
            expect((await credentials(WEB)).AccessKeyId, "the same credentials until they near expiry").to.equal(web.AccessKeyId);
            expect((await get(WEB, "/latest/meta-data/iam/security-credentials/lab-galera-role")).status, "another role's path").to.equal(404);
        });

        it("answers 404 for the credentials of a host without an instance profile, 403 to an address that is no lab host", async () => {
            expect((await get(NO_PROFILE, "/latest/meta-data/iam/security-credentials/")).status).to.equal(404);
            expect((await get(NO_PROFILE, "/latest/meta-data/instance-id")).body).to.equal("i-0noprofile");
            expect((await imds("127.0.0.9", "PUT", "/latest/api/token", { "X-aws-ec2-metadata-token-ttl-seconds": "60" })).status).to.equal(403);
        });
    });

    describe("Secrets Manager GetSecretValue", () => {
        it("gives the web role the three secrets its user data names, by ARN and by name, in the JSON 1.1 response shape", async () => {
            const creds = await credentials(WEB);
            const arns = userDataSecretArns(rec);
            for (const [k, arn] of Object.entries(arns)) {
                const secret = Object.values(rec.secrets).find((s) => s.arn === arn);
                expect(secret, `${k} names a recorded secret`).to.not.equal(undefined);
                const r = await getSecretValue(creds, { SecretId: arn });
                expect(r.status, r.body).to.equal(200);
                expect(r.headers["content-type"]).to.equal("application/x-amz-json-1.1");
                const out = JSON.parse(r.body);
                expect(out).to.include({ ARN: arn, Name: secret!.name, SecretString: secret!.secretString });
                expect(out.VersionStages).to.deep.equal(["AWSCURRENT"]);
                expect(out.CreatedDate).to.be.a("number");
                expect(out.VersionId).to.match(/^[0-9a-f-]{36}$/);
                const byName = await getSecretValue(creds, { SecretId: secret!.name, VersionStage: "AWSCURRENT" });
                expect(JSON.parse(byName.body).SecretString).to.equal(secret!.secretString);
            }
        });

        it("denies the web role the Galera root secret (AccessDeniedException, 400); the Galera role may read it", async () => {
            const root = rec.secrets["lab-galera-credentials"];
            expect(Object.values(userDataSecretArns(rec))).to.not.include(root.arn);
            const r = await getSecretValue(await credentials(WEB), { SecretId: root.arn });
            expect(r.status).to.equal(400);
            const err = JSON.parse(r.body);
            expect(err.__type).to.equal("AccessDeniedException");
            expect(err.message).to.match(/assumed-role\/lab-owncloud-role\/i-0web1 is not authorized to perform: secretsmanager:GetSecretValue on resource/);
            expect(err.message).to.not.include(root.secretString);
            const asDb = await getSecretValue(await credentials(DB), { SecretId: root.arn });
            expect(asDb.status, asDb.body).to.equal(200);
            expect(JSON.parse(asDb.body).SecretString).to.equal(root.secretString);
        });

        it("refuses an access key IMDS never handed out, or one without its session token (UnrecognizedClientException)", async () => {
            const creds = await credentials(WEB);
            const arn = userDataSecretArns(rec).DB_SECRET_ARN;
            for (const c of [{ AccessKeyId: "ASIAUNKNOWNUNKNOWN12", Token: creds.Token }, { AccessKeyId: creds.AccessKeyId, Token: "other" }]) {
                const r = await getSecretValue(c, { SecretId: arn });
                expect(r.status).to.equal(400);
                expect(JSON.parse(r.body)).to.deep.equal({ __type: "UnrecognizedClientException", message: "The security token included in the request is invalid." });
            }
        });

        it("answers ResourceNotFoundException for a missing secret the caller may read, AccessDenied where it may not", async () => {
            const missing = `arn:aws:secretsmanager:${REGION}:${rec.aws!.accountId}:secret:no-such-secret-AbCdEf`;
            const broad = await getSecretValue(await credentials(BROAD), { SecretId: missing });
            expect(broad.status).to.equal(400);
            expect(JSON.parse(broad.body).__type).to.equal("ResourceNotFoundException");
            const web = await getSecretValue(await credentials(WEB), { SecretId: missing });
            expect(JSON.parse(web.body).__type).to.equal("AccessDeniedException");
            const stage = await getSecretValue(await credentials(WEB), { SecretId: userDataSecretArns(rec).DB_SECRET_ARN, VersionStage: "AWSPREVIOUS" });
            expect(JSON.parse(stage.body).__type).to.equal("ResourceNotFoundException");
        });

        it("serves only GetSecretValue", async () => {
            const r = await getSecretValue(await credentials(BROAD), {}, "secretsmanager.ListSecrets");
            expect(JSON.parse(r.body).__type).to.equal("UnknownOperationException");
        });

        it("the real AWS CLI reads a web secret through both stand-ins (when an `aws` CLI is installed)", async function () {
            if (spawnSync("aws", ["--version"]).status !== 0) this.skip();
            const arn = userDataSecretArns(rec).REDIS_SECRET_ARN;
            const env: NodeJS.ProcessEnv = {
                ...process.env,
                AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${imdsPort}/`,
                AWS_CA_BUNDLE: path.join(tmp, "ca", "ca.crt"),
                AWS_CONFIG_FILE: "/dev/null",
                AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
                // botocore gives IMDS 1 s and one attempt by default: too little on a loaded test machine.
                AWS_METADATA_SERVICE_TIMEOUT: "10",
                AWS_METADATA_SERVICE_NUM_ATTEMPTS: "3",
            };
            for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete env[k];
            const args = ["secretsmanager", "get-secret-value", "--region", REGION, "--endpoint-url", `https://127.0.0.1:${smPort}`, "--query", "SecretString", "--output", "text"];
            const ok = await promisify(execFile)("aws", [...args, "--secret-id", arn], { env });
            expect(ok.stdout.trim()).to.equal(Object.values(rec.secrets).find((s) => s.arn === arn)!.secretString);
            // Asynchronously: the stand-in answers from this process's event loop.
            const denied = await promisify(execFile)("aws", [...args, "--secret-id", rec.secrets["lab-galera-credentials"].arn!], { env }).then(
                () => ({ code: 0, stderr: "" }),
                (e: { code: number; stderr: string }) => e,
            );
            expect(denied.code).to.not.equal(0);
            expect(denied.stderr).to.match(/AccessDeniedException.*GetSecretValue operation: User: .*assumed-role\/lab-owncloud-role\//);
        });
    });

    it("the recorded web role may read exactly the secrets its user data names", () => {
        const webRole = config.instances[WEB].role!;
        const readable = Object.values(rec.secrets)
            .filter((s) => iamAllows(config.roles[webRole].policies, "secretsmanager:GetSecretValue", s.arn!))
            .map((s) => s.arn)
            .sort();
        expect(readable).to.deep.equal(Object.values(userDataSecretArns(rec)).sort());
    });
});

describe("iamAllows", () => {
    const doc = (...Statement: object[]) => ({ Version: "2012-10-17", Statement });
    const A = "secretsmanager:GetSecretValue";
    const R = "arn:aws:secretsmanager:eu-central-1:1:secret:a-AbCdEf";
    it("allows by action and resource, with IAM wildcards and case-insensitive actions", () => {
        expect(iamAllows([doc({ Effect: "Allow", Action: A, Resource: R })], A, R)).to.equal(true);
        expect(iamAllows([doc({ Effect: "Allow", Action: "SecretsManager:Get*", Resource: "arn:aws:secretsmanager:*:1:secret:a-??????" })], A, R)).to.equal(true);
        expect(iamAllows([doc({ Effect: "Allow", Action: A, Resource: "arn:aws:secretsmanager:eu-central-1:1:secret:b-*" })], A, R)).to.equal(false);
        expect(iamAllows([doc({ Effect: "Allow", Action: "secretsmanager:ListSecrets", Resource: "*" })], A, R)).to.equal(false);
        expect(iamAllows([], A, R)).to.equal(false);
    });
    it("an explicit Deny wins; NotAction and NotResource exclude", () => {
        expect(iamAllows([doc({ Effect: "Allow", Action: "*", Resource: "*" }), doc({ Effect: "Deny", Action: A, Resource: R })], A, R)).to.equal(false);
        expect(iamAllows([doc({ Effect: "Allow", NotAction: A, Resource: "*" })], A, R)).to.equal(false);
        expect(iamAllows([doc({ Effect: "Allow", Action: "*", NotResource: R })], A, R)).to.equal(false);
        expect(iamAllows([doc({ Effect: "Allow", NotAction: "s3:*", Resource: "*" })], A, R)).to.equal(true);
    });
    it("does not take an Allow whose Condition it cannot evaluate", () => {
        expect(iamAllows([doc({ Effect: "Allow", Action: A, Resource: R, Condition: { StringEquals: { "aws:SourceVpc": "vpc-1" } } })], A, R)).to.equal(false);
    });
});
