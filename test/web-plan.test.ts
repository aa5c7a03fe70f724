import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { expect } from "chai";
import { OwnCloudWebTier, OwnCloudWebTierArgs } from "../components/web/ownCloudWebTier";
import { WEB_NODE_ENTRY, WEB_NODE_FILES, WebNodeSettings, webNodePlan } from "../components/web/plan";
import { underMocks } from "./harness/mocks";
import { NODE_SCRIPTS } from "./harness/shell";
import { WEB_NODE_SETTINGS } from "./fixtures/web-node";


const settings: WebNodeSettings = WEB_NODE_SETTINGS;

/** The variables a script refuses to run without: every name on its `require_env` lines (continuations included). */
function requiredEnv(script: string): string[] {
    const text = fs.readFileSync(path.join(NODE_SCRIPTS, script), "utf8").replace(/\\\n/g, " ");
    return [...text.matchAll(/^\s*require_env ([A-Z0-9_ ]+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
}

/** The unpacked user data: `export` lines and the files of its bundle. */
function unpack(userData: string): { env: Record<string, string>; files: string[]; entry: string } {
    const env = Object.fromEntries([...userData.matchAll(/^export ([A-Z_0-9]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
    const b64 = /^base64 -d <<'BUNDLE'.*\n([\s\S]*?)\nBUNDLE$/m.exec(userData)![1].replace(/\n/g, "");
    const tar = zlib.gunzipSync(Buffer.from(b64, "base64"));
    const files: string[] = [];
    for (let off = 0; off + 512 <= tar.length; ) {
        const name = tar.subarray(off, off + 100).toString("utf8").replace(/\0.*$/s, "");
        if (!name) break;
        const size = parseInt(tar.subarray(off + 124, off + 136).toString("ascii").replace(/\0.*$/s, "").trim(), 8);
        files.push(name.replace(/^scripts\//, ""));
        off += 512 + Math.ceil(size / 512) * 512;
    }
    const entry = /^exec bash '\/opt\/owncloud-ha\/scripts\/(.*)'$/m.exec(userData)![1];
    return { env, files, entry };
}

describe("the web node's boot as a plan (components/web/plan.ts)", () => {
    const plan = webNodePlan(settings);

    it("gives the files, the entry and an environment that covers every variable the entry and its parts require", () => {
        expect(plan.entry).to.equal("web/node-init.sh");
        expect(plan.files).to.include.members([plan.entry, plan.parts.haproxy.script, plan.parts.glusterMount.script]);
        for (const f of plan.files) expect(fs.existsSync(path.join(NODE_SCRIPTS, f)), f).to.equal(true);
        const missing = (script: string, env: Record<string, string>) => requiredEnv(script).filter((v) => !(v in env));
        expect(missing(plan.entry, plan.env)).to.deep.equal([]);
        expect(missing(plan.parts.haproxy.script, plan.parts.haproxy.env)).to.deep.equal([]);
        expect(missing(plan.parts.glusterMount.script, plan.parts.glusterMount.env)).to.deep.equal([]);
    });

    it("each part gets the entry's own values (node-init.sh passes its environment on, overriding nothing)", () => {
        for (const part of Object.values(plan.parts)) {
            for (const [k, v] of Object.entries(part.env)) expect(plan.env[k], `${part.script} ${k}`).to.equal(v);
        }
        const init = fs.readFileSync(path.join(NODE_SCRIPTS, plan.entry), "utf8");
        for (const part of Object.values(plan.parts)) {
            const base = path.basename(part.script);
            const calls = init.split("\n").filter((l) => l.includes(`/${base}"`) && !l.trim().startsWith("#"));
            expect(calls, base).to.deep.equal([`    bash "$here/${base}"`]);
        }
    });

    it("writes GALERA_BACKENDS once, in writer order, and the ports from the tiers' declarations", () => {
        expect(plan.env.GALERA_BACKENDS).to.equal("galera1=10.1.0.10,galera2=10.1.16.10,galera3=10.1.32.10");
        expect(plan.env).to.deep.include({ GALERA_SQL_PORT: "3306", GALERA_HEALTH_PORT: "9200", HAPROXY_LISTEN: "127.0.0.1:3306", OWNCLOUD_PORT: "8080", OWNCLOUD_HEALTH_PORT: "8081", GLUSTERD_PORT: "24007" });
        expect(plan.env.OWNCLOUD_HEALTH_HOST).to.equal(settings.domain);
    });

    it("is what the web tier's user data carries: the same files, entry and environment", async () => {
        const args: OwnCloudWebTierArgs = {
            vpcId: "vpc-web",
            publicSubnetIds: ["pub-a", "pub-b"],
            privateSubnetIds: ["priv-a", "priv-b"],
            nodeSecurityGroupId: "sg-nodes",
            domain: settings.domain,
            certificateArn: "arn:aws:acm:eu-central-1:123456789012:certificate/abc",
            owncloudImage: settings.owncloudImage,
            galeraWriterOrder: settings.galeraNodes.map((n) => n.address),
            galeraSecretArn: settings.secrets.dbSecretArn,
            glusterServers: settings.glusterServers,
            glusterVolume: settings.glusterVolume,
            redisEndpoint: settings.redis.host,
            redisSecretArn: settings.secrets.redisSecretArn,
        };
        const engine = await underMocks(() => new OwnCloudWebTier("web", args));
        const boot = unpack(Buffer.from(engine.byName("web-lt").inputs.userData, "base64").toString());
        const expected = webNodePlan({ ...settings, secrets: { ...settings.secrets, region: boot.env.AWS_REGION, adminSecretArn: boot.env.ADMIN_SECRET_ARN } });
        expect(boot.env).to.deep.equal(expected.env);
        expect(boot.files.sort()).to.deep.equal([...WEB_NODE_FILES].sort());
        expect(boot.entry).to.equal(WEB_NODE_ENTRY);
    });

});
