import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { resolveBastionSettings } from "../components/access/bastion";
import { backupOnCalendar } from "../components/shared/backupPlan";
import { InvalidArgsError } from "../components/shared/errors";
import { glusterPlan } from "../components/storage/plan";
import { galeraCloudPlan, resolveGaleraClusterSettings } from "../components/database/galeraCluster";
import { resolveGlusterSettings } from "../components/storage/glusterDisperseVolume";
import { resolveWebTierSettings } from "../components/web/ownCloudWebTier";
import { resolvePeeredVpcArgs } from "../components/network/peeredVpc";
import { resolveRedisClusterSettings } from "../components/cache/redisCluster";
import { ComponentRole, CONFIG_SCHEMA, ConfigKey, loadPlatformConfig, PlatformSettings } from "../stacks/config";
import { platformSettings } from "../stacks/platform";

const ZONES = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
const cfg = loadPlatformConfig("dev", { adminCidrs: ["198.51.100.7/32"], domain: "cloud.example.com" });
const settings = platformSettings(cfg, ZONES);

/** Each role's settings resolved the way the preflight does (the clusters' subnets from their VPC's). */
function resolveRole(role: ComponentRole, s: PlatformSettings): unknown {
    const subnets = (vpc: "dbVpc" | "fsVpc") => resolvePeeredVpcArgs(vpc, s[vpc]).subnets.privateCidrs;
    switch (role) {
        case "webVpc":
        case "dbVpc":
        case "fsVpc":
            return resolvePeeredVpcArgs(role, s[role]);
        case "bastion":
            return resolveBastionSettings("b", s.bastion);
        case "galera": {
            const r = resolveGaleraClusterSettings("g", { ...s.galera, subnetCidrs: subnets("dbVpc") }, 3);
            // The plan's own default schedule when none is passed: compare the schedule that runs.
            return { ...r, backup: { ...r.backup, settings: { ...r.backup.settings, onCalendar: backupOnCalendar(r.backup.settings, "galera") } } };
        }
        case "gluster": {
            const r = resolveGlusterSettings("fs", { ...s.gluster, subnetCidrs: subnets("fsVpc") }, 3);
            const backup = { ...r.backup.settings, onCalendar: backupOnCalendar(r.backup.settings, "files") };
            return { ...r, backup: { ...r.backup, settings: backup }, settings: { ...r.settings, backup } };
        }
        case "redis":
            return resolveRedisClusterSettings("r", s.redis, 3);
        case "web":
            return resolveWebTierSettings("w", s.web);
    }
}

describe("stack settings feed component settings", () => {
    const feeds = (Object.entries(CONFIG_SCHEMA) as [string, ConfigKey][]).flatMap(([key, entry]) => (entry.feeds ?? []).map((f) => ({ key, ...f })));

    it("a stack that sets nothing gets exactly the components' own defaults (no default is declared twice)", () => {
        const checked: string[] = [];
        for (const f of feeds.filter((x) => !x.derived && (CONFIG_SCHEMA as Record<string, ConfigKey>)[x.key].default !== undefined)) {
            const fed = settings[f.role] as unknown as Record<string, unknown>;
            if (!(f.setting in fed)) continue; // e.g. "" or 0 meaning "the component decides": nothing is passed
            const without = { ...settings, [f.role]: Object.fromEntries(Object.entries(fed).filter(([k]) => k !== f.setting)) } as PlatformSettings;
            let resolvedWithout: unknown;
            try {
                resolvedWithout = resolveRole(f.role, without);
            } catch (e) {
                // The component has no default for it (a VPC's CIDR): the stack's default is the only one.
                expect((e as InvalidArgsError).issues.map((i) => i.args.join("/")), f.key).to.deep.equal([f.setting]);
                continue;
            }
            expect(resolvedWithout, `${f.key} → ${f.role}.${f.setting}`).to.deep.equal(resolveRole(f.role, settings));
            checked.push(f.key);
        }
        // Every kind of component is covered, and the counts that shape the clusters among them.
        expect(new Set(feeds.filter((f) => checked.includes(f.key)).map((f) => f.role))).to.have.all.keys("webVpc", "dbVpc", "fsVpc", "bastion", "galera", "gluster", "redis", "web");
        expect(checked).to.include.members(["galeraNodeCount", "glusterNodeCount", "glusterRedundancy", "redisShards", "webMinSize", "natStrategy"]);
    });

    it("every feed lands: the platform's settings carry each key's parsed value under the component's argument name", () => {
        const withValues = loadPlatformConfig("dev", { adminCidrs: ["198.51.100.7/32"], domain: "cloud.example.com", galeraNodeCount: 5, redisEngine: "valkey", webMaxSize: 6 });
        const s = platformSettings(withValues, ZONES);
        expect([s.galera.nodeCount, s.redis.engine, s.web.maxSize]).to.deep.equal([5, "valkey", 6]);
        expect([s.webVpc.natStrategy, s.dbVpc.natStrategy, s.fsVpc.natStrategy]).to.deep.equal(["single", "single", "single"]);
    });
});

describe("Galera sync timeout: one default (the component's), carried to the node", () => {
    const script = (name: string) => path.join(__dirname, "..", "scripts", "node", "galera", name);

    it("every plan step that starts MariaDB passes GALERA_SYNC_TIMEOUT = the component's syncTimeoutSeconds", () => {
        const resolved = resolveGaleraClusterSettings("g", { ...settings.galera, subnetCidrs: resolvePeeredVpcArgs("db", settings.dbVpc).subnets.privateCidrs }, 3);
        const starts = galeraCloudPlan({ ...resolved, sshUser: "admin" }).steps.filter((s) => s.script === "galera/start.sh");
        expect(starts).to.have.length(3);
        for (const s of starts) expect(s.env.GALERA_SYNC_TIMEOUT).to.equal(String(resolved.syncTimeoutSeconds));
    });

    it("start.sh and restart.sh require it instead of keeping a second default (they had 600 s against the component's 900 s)", () => {
        for (const name of ["start.sh", "restart.sh"]) {
            const text = fs.readFileSync(script(name), "utf8");
            expect(text, name).to.not.match(/GALERA_SYNC_TIMEOUT:-/);
            expect(text, name).to.match(/^require_env .*\bGALERA_SYNC_TIMEOUT\b/m);
        }
        // Safe to run only now that it is required: it stops before touching any service.
        const r = spawnSync("bash", [script("start.sh")], { env: { PATH: process.env.PATH, GALERA_MODE: "join", GALERA_PEERS: "10.1.16.10" }, encoding: "utf8", timeout: 20000 });
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.match(/missing required variable\(s\): GALERA_SYNC_TIMEOUT/);
    });
});

describe("a cluster plan names the steps after which it serves (readyAfter), so clients need not guess step ids", () => {
    it("Galera: every node's verify step, also after the cloud plan adds the datadir steps; GlusterFS: the volume's verify", () => {
        const resolved = resolveGaleraClusterSettings("g", { ...settings.galera, subnetCidrs: resolvePeeredVpcArgs("db", settings.dbVpc).subnets.privateCidrs }, 3);
        const plan = galeraCloudPlan({ ...resolved, sshUser: "admin" });
        expect(plan.readyAfter).to.deep.equal(["galera-verify-node1", "galera-verify-node2", "galera-verify-node3"]);
        for (const id of plan.readyAfter ?? []) expect(plan.steps.find((s) => s.id === id)?.script).to.equal("galera/verify.sh");
        const gluster = resolveGlusterSettings("fs", { ...settings.gluster, subnetCidrs: resolvePeeredVpcArgs("fs", settings.fsVpc).subnets.privateCidrs }, 3);
        const glusterSteps = glusterPlan(gluster.settings);
        expect(glusterSteps.readyAfter).to.deep.equal(["gluster-verify-volume"]);
        expect(glusterSteps.steps.map((s) => s.id)).to.include("gluster-verify-volume");
    });
});
