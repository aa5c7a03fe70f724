import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { webNodePlan } from "../components/web/plan";
import { WEB_NODE_SETTINGS } from "./fixtures/web-node";
import { bash, fakeCommand, parseUnit, NODE_SCRIPTS, systemdVerify, tempDir } from "./harness/shell";

/**
 * scripts/node/web/node-init.sh, function by function: sourced (its main only runs when executed), with
 * its paths pointed at temporary directories.
 */
const NODE_INIT = path.join(NODE_SCRIPTS, "web", "node-init.sh");
const SECRETS = `db='{"appDatabase":"owncloud","appUser":"oc","appPassword":"db-pw"}'; redis='{"authToken":"redis-token"}'; admin='{"username":"admin","password":"admin-pw"}'`;
/** The environment the web node plan gives node-init.sh (the one user data exports). */
const SETTINGS = webNodePlan(WEB_NODE_SETTINGS).env;

function nodeInit(body: string, env: Record<string, string> = {}) {
    return bash(`. "${NODE_INIT}"\n${body}`, { ...SETTINGS, ...env });
}
function envFile(env: Record<string, string>): Record<string, string> {
    const r = nodeInit(`${SECRETS}; owncloud_env`, env);
    expect(r.code, r.stderr).to.equal(0);
    return Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

describe("web node (scripts/node/web/node-init.sh)", () => {
    let t: ReturnType<typeof tempDir>;
    beforeEach(() => (t = tempDir("web")));
    afterEach(() => t.cleanup());

    describe("ownCloud's directories on the shared volume", () => {
        it("exist and belong to the image's www-data (uid 33, group root) before the first start; no crawl; idempotent", function () {
            if (process.getuid?.() !== 0) this.skip();
            fs.mkdirSync(path.join(t.dir, "config"));
            fs.writeFileSync(path.join(t.dir, "config", "root-file"), "");
            for (let i = 0; i < 2; i++) {
                const r = nodeInit(`owncloud_dirs "${t.dir}"`);
                expect(r.code, r.stderr).to.equal(0);
                for (const d of ["config", "files", "apps", "sessions"]) {
                    const st = fs.statSync(path.join(t.dir, d));
                    expect([st.isDirectory(), st.uid, st.gid], d).to.deep.equal([true, 33, 0]);
                }
            }
            expect(fs.statSync(path.join(t.dir, "config", "root-file")).uid, "only the directories themselves").to.equal(0);
        });
    });

    describe("container networking and start order (owncloud.service)", () => {
        const unit = () => {
            const r = nodeInit(`DATA="${t.dir}/data"; owncloud_unit`);
            expect(r.code, r.stderr).to.equal(0);
            return parseUnit(r.stdout);
        };
        const words = (cmd: string) => cmd.replace(/^-/, "").split(/\s+/);

        it("runs on the host network: 127.0.0.1:3306 is the node's HAProxy and 8080 is on the instance address; nothing published on loopback", () => {
            const run = words(unit().Service.ExecStart[0]);
            expect(run.slice(1, 3)).to.deep.equal(["run", "--rm"]);
            expect(run[run.indexOf("--network") + 1]).to.equal("host");
            expect(run.filter((w) => w === "-p" || w.startsWith("--publish"))).to.deep.equal([]);
            expect(envFile({ OWNCLOUD_PROTOCOL: "https", REDIS_CLUSTER_MODE: "disabled" }).OWNCLOUD_DB_HOST).to.equal("127.0.0.1:3306");
            expect(unit().Unit.After.join(" ").split(" ")).to.include("haproxy.service");
        });

        it("starts only with the shared volume mounted: RequiresMountsFor, and a guard that refuses an unmounted path", () => {
            const u = unit();
            expect(u.Unit.RequiresMountsFor).to.deep.equal([`${t.dir}/data`]);
            expect(u.Unit.Requires).to.deep.equal(["docker.service"]);
            fs.mkdirSync(path.join(t.dir, "data"));
            const guard = u.Service.ExecStartPre[0];
            expect(bash(guard).code, "empty directory on the root fs").to.not.equal(0);
            expect(bash(guard.replace(`${t.dir}/data`, "/")).code, "a mount point").to.equal(0);
            expect(u.Service.ExecStart[0]).to.contain(`-v ${t.dir}/data:/mnt/data `);
            expect(u.Install.WantedBy).to.deep.equal(["multi-user.target"]);
        });

        it("stops Apache gracefully first: the image's PID 1 (apachectl, a shell) never passes SIGTERM on, so docker stop alone would wait 60 s and SIGKILL", () => {
            const stops = unit().Service.ExecStop;
            expect(stops.length).to.equal(2);
            // "-": a container that is already gone is no failure of the stop
            const exec = /^-(\S*docker) exec owncloud sh -c '(.*)'$/.exec(stops[0]);
            expect(exec, stops[0]).to.not.equal(null);
            expect(words(stops[1]).slice(1)).to.deep.equal(["stop", "-t", "60", "owncloud"]);
        });

        it("the graceful stop sends SIGWINCH to Apache's parent only (the apache2 whose parent is the container's PID 1), as systemd unescapes it", function () {
            if (process.getuid?.() !== 0 || bash("command -v unshare").code !== 0) this.skip();
            const inner = /^-\S*docker exec owncloud sh -c '(.*)'$/.exec(unit().Service.ExecStop[0])![1].replace(/\$\$/g, "$");
            // A PID namespace like the container's: PID 1 a shell, under it "apache2" (a copy of bash, so
            // its comm is apache2) that reports the signal it gets, and its child "apache2" worker.
            const fakeApache = path.join(t.dir, "apache2");
            fs.copyFileSync("/bin/bash", fakeApache);
            fs.chmodSync(fakeApache, 0o755);
            const script = (name: string, body: string) => {
                fs.writeFileSync(path.join(t.dir, name), body);
                return path.join(t.dir, name);
            };
            const worker = script("worker.sh", "trap 'echo worker-got-WINCH' WINCH\nfor i in $(seq 50); do sleep 0.1; done\n");
            const parent = script("parent.sh", `trap 'echo parent-got-WINCH; exit 0' WINCH\n${fakeApache} ${worker} &\nfor i in $(seq 50); do sleep 0.1; done\n`);
            const stop = script("stop.sh", inner);
            const init = script("init.sh", `${fakeApache} ${parent} &\nsleep 0.5\nsh ${stop}\nwait\n`);
            const r = bash(`unshare --pid --fork --mount-proc sh ${init}`);
            expect(r.stdout.trim().split("\n").filter((l) => l.includes("got")), r.stderr).to.deep.equal(["parent-got-WINCH"]);
        });

        it("keeps www-data (Apache/PHP/occ) away from the instance metadata service, root not, before the container starts", function () {
            const pres = unit().Service.ExecStartPre;
            const guard = pres.findIndex((c) => c.includes("169.254.169.254"));
            expect(guard, "before the container is (re)created").to.be.within(0, pres.findIndex((c) => c.includes("rm -f owncloud")) - 1);
            // Run the unit's own command twice in a private network namespace with a stand-in IMDS.
            const tools = bash("command -v iptables unshare setpriv python3").stdout.trim().split("\n").length === 4;
            if (process.getuid?.() !== 0 || !tools) this.skip();
            const script = path.join(t.dir, "imds.sh");
            const probe = "timeout 3 bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>/dev/null && echo open || echo refused";
            fs.writeFileSync(
                script,
                [
                    "ip link set lo up && ip addr add 169.254.169.254/32 dev lo",
                    `python3 -c 'import socket; s = socket.create_server(("169.254.169.254", 80)); [s.accept()[0].close() for _ in iter(int, 1)]' >/dev/null 2>&1 & imds=$!`,
                    "for _ in $(seq 50); do bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>/dev/null && break; sleep 0.1; done",
                    pres[guard],
                    pres[guard],
                    'echo "rules $(iptables -w -S OUTPUT | grep -c 169.254.169.254)"',
                    `echo "root $(${probe})"`,
                    `echo "www-data $(setpriv --reuid=33 --regid=33 --clear-groups ${probe})"`,
                    "kill $imds",
                ].join("\n"),
            );
            const r = bash(`unshare --net bash ${script}`);
            expect(r.stdout.trim().split("\n"), r.stderr).to.deep.equal(["rules 1", "root open", "www-data refused"]);
        });
    });

    it("writes units systemd accepts without a complaint (systemd-analyze verify)", function () {
        const r = nodeInit(`DOCKER=/bin/true; printf '%s\\0' "$(owncloud_unit)" "$(cron_service_unit)" "$(cron_timer_unit)"`);
        const [service, cronService, cronTimer] = r.stdout.split("\0");
        const units = path.join(t.dir, "units");
        fs.mkdirSync(units);
        const complaints = systemdVerify(units, { "owncloud.service": service, "owncloud-cron.service": cronService, "owncloud-cron.timer": cronTimer }, ["docker.service", "haproxy.service"]);
        if (complaints === undefined) this.skip();
        expect(complaints).to.equal("");
    });

    describe("container environment", () => {
        it("uses the protocol the load balancer serves (http without a certificate, https with one)", () => {
            for (const p of ["http", "https"]) {
                const e = envFile({ OWNCLOUD_PROTOCOL: p, REDIS_CLUSTER_MODE: "disabled" });
                expect([e.OWNCLOUD_PROTOCOL, e.OWNCLOUD_OVERWRITE_PROTOCOL]).to.deep.equal([p, p]);
            }
        });

        it("Redis cluster mode: OWNCLOUD_REDIS_SEEDS = the configuration endpoint, TLS through a stream context, the AUTH token", () => {
            const e = envFile({ OWNCLOUD_PROTOCOL: "https", REDIS_CLUSTER_MODE: "enabled", REDIS_HOST: "clustercfg.r.abc.euc1.cache.amazonaws.com" });
            expect(e.OWNCLOUD_REDIS_SEEDS).to.equal("clustercfg.r.abc.euc1.cache.amazonaws.com:6379");
            expect(e).to.not.have.property("OWNCLOUD_REDIS_HOST");
            expect([e.OWNCLOUD_REDIS_TLS_VERIFY_PEER, e.OWNCLOUD_REDIS_TLS_PEER_NAME]).to.deep.equal(["true", "clustercfg.r.abc.euc1.cache.amazonaws.com"]);
            expect(e.OWNCLOUD_REDIS_PASSWORD).to.equal("redis-token");
        });

        it("Redis cluster mode disabled: a single TLS host, no seeds", () => {
            const e = envFile({ OWNCLOUD_PROTOCOL: "https", REDIS_CLUSTER_MODE: "disabled" });
            expect([e.OWNCLOUD_REDIS_HOST, e.OWNCLOUD_REDIS_PORT]).to.deep.equal([`tls://${SETTINGS.REDIS_HOST}`, "6379"]);
            expect(e).to.not.have.property("OWNCLOUD_REDIS_SEEDS");
        });
    });

    describe("background jobs (owncloud-cron.service)", () => {
        function cron(holdLock: boolean) {
            const bin = path.join(t.dir, "bin");
            fakeCommand(bin, "docker", `echo "$*" >> "${t.dir}/docker.log"`);
            const gen = nodeInit(`STATE_DIR="${t.dir}"; DOCKER="${bin}/docker"; cron_service_unit`);
            expect(gen.code, gen.stderr).to.equal(0);
            const u = parseUnit(gen.stdout);
            expect(u.Service.Type).to.deep.equal(["oneshot"]);
            const hold = holdLock ? `exec 9>"${t.dir}/cron.lock"; flock 9; ` : "";
            const r = bash(`${hold}${u.Service.ExecStart[0]}`);
            const calls = fs.existsSync(path.join(t.dir, "docker.log")) ? fs.readFileSync(path.join(t.dir, "docker.log"), "utf8").trim() : "";
            return { code: r.code, calls };
        }
        it("succeeds without running anything on a node whose lock is held elsewhere", () => {
            expect(cron(true)).to.deep.equal({ code: 0, calls: "" });
        });
        it("runs the image's own cron job (occ system:cron + dav:cleanup-chunks) as www-data when the lock is free", () => {
            expect(cron(false)).to.deep.equal({ code: 0, calls: "exec -u www-data owncloud /usr/bin/cronjob" });
        });
    });

    it("refuses to run without the settings that decide protocol and Redis mode", () => {
        const without = Object.fromEntries(Object.entries(SETTINGS).filter(([k]) => k !== "REDIS_CLUSTER_MODE" && k !== "OWNCLOUD_PROTOCOL"));
        const r = bash(`bash "${NODE_INIT}"`, without);
        expect(r.code).to.equal(2);
        expect(r.stderr).to.match(/missing required variable\(s\):.*REDIS_CLUSTER_MODE.*OWNCLOUD_PROTOCOL/);
    });
});
