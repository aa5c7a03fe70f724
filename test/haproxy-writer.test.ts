import { expect } from "chai";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { galeraPortsEnv, haproxyPlan } from "../components/database/plan";
import { GALERA_PORTS } from "../components/database/ports";
import { NODE_SCRIPTS } from "./harness/shell";

/**
 * The web hosts' node-local HAProxy (scripts/web/haproxy.sh + haproxy.cfg.tmpl): the rendered
 * configuration, and — when HAProxy is installed (Debian 12's 2.6 here) — the real HAProxy routing
 * to stand-in Galera nodes on loopback addresses whose three health answers the test sets.
 */
const SCRIPT = path.join(NODE_SCRIPTS, "web", "haproxy.sh");
const NODES = [
    { name: "db1", address: "127.0.0.21" },
    { name: "db2", address: "127.0.0.22" },
    { name: "db3", address: "127.0.0.23" },
];

function render(env: Record<string, string>): { code: number; out: string; err: string } {
    const r = spawnSync("bash", [SCRIPT, "--render"], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The HAProxy step's environment, exactly as the plan gives it to every web host. */
const stepEnv = (nodes = NODES) => haproxyPlan({ webHosts: ["web1"], galeraNodes: nodes }).steps[0].env;

/** `server` lines of the Galera proxy: name, address:port, check port, backup flag. */
function servers(cfg: string) {
    return cfg
        .split("\n")
        .map((l) => /^\s+server (\S+) (\S+) port (\d+)( backup)?/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ name: m[1], addr: m[2], checkPort: Number(m[3]), backup: m[4] !== undefined }));
}

describe("web/haproxy.sh: the rendered Galera proxy", () => {
    const cfg = render(stepEnv()).out;

    it("takes every Galera port from components/ports.ts through the plan's environment", () => {
        expect(stepEnv()).to.include(galeraPortsEnv());
        expect(galeraPortsEnv()).to.deep.equal({
            GALERA_SQL_PORT: String(GALERA_PORTS.mysql),
            GALERA_HEALTH_PORT: String(GALERA_PORTS.health),
            GALERA_HEALTH_DONOR_PORT: String(GALERA_PORTS.healthDonor),
            GALERA_WRITER_PORT: String(GALERA_PORTS.writer),
        });
    });

    it("lists each node three times, in the plan's order: designated writer, then Synced backups, then Donor backups last", () => {
        const p = GALERA_PORTS;
        expect(servers(cfg)).to.deep.equal([
            ...NODES.map((n) => ({ name: n.name, addr: `${n.address}:${p.mysql}`, checkPort: p.writer, backup: false })),
            ...NODES.map((n) => ({ name: `${n.name}-synced`, addr: `${n.address}:${p.mysql}`, checkPort: p.health, backup: true })),
            ...NODES.map((n) => ({ name: `${n.name}-donor`, addr: `${n.address}:${p.mysql}`, checkPort: p.healthDonor, backup: true })),
        ]);
    });

    it("never shares traffic: no allbackups, balance first, and a connection waits while more than one node looks designated", () => {
        expect(cfg).to.not.match(/^\s*option allbackups/m);
        expect(cfg).to.match(/^\s+balance first$/m);
        expect(cfg).to.match(/^\s+tcp-request inspect-delay \d+s$/m);
        expect(cfg).to.match(/^\s+tcp-request content accept if \{ nbsrv le 1 \}\n\s+tcp-request content accept if WAIT_END$/m);
        // a designated writer coming up closes the sessions a fallback still holds; a node going down closes its own
        for (const l of cfg.split("\n").filter((x) => /^\s+server db\d /.test(x))) expect(l).to.match(/on-marked-up shutdown-backup-sessions/);
        expect(cfg).to.match(/default-server check .*on-marked-down shutdown-sessions/);
    });

    it("HAProxy accepts the configuration (when installed)", function () {
        if (spawnSync("bash", ["-c", "command -v haproxy"]).status !== 0) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-cfg-"));
        try {
            fs.writeFileSync(path.join(dir, "h.cfg"), cfg);
            const r = spawnSync("haproxy", ["-c", "-f", path.join(dir, "h.cfg")], { encoding: "utf8" });
            expect(r.status, r.stdout + r.stderr).to.equal(0);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses a missing port with one message naming it", () => {
        const env = { ...stepEnv() };
        delete (env as Record<string, string>).GALERA_WRITER_PORT;
        const r = render(env);
        expect(r.code).to.not.equal(0);
        expect(r.err).to.match(/GALERA_WRITER_PORT/);
    });
});

type Answer = 200 | 503;
/** What each stand-in node answers on each health port. */
type Health = Record<string, { writer: Answer; synced: Answer; donor: Answer }>;

describe("web/haproxy.sh: real HAProxy 2.6 routing to stand-in Galera nodes", function () {
    this.timeout(60_000);
    const haveHaproxy = spawnSync("bash", ["-c", "command -v haproxy"]).status === 0;
    const base = 20_000 + (process.pid % 20_000);
    const ports = { mysql: base, health: base + 1, donor: base + 2, writer: base + 3, listen: base + 4 };
    let dir: string;
    let health: Health;
    const listeners: (net.Server | http.Server)[] = [];
    let proxy: ChildProcess | undefined;

    before(async function () {
        if (!haveHaproxy) this.skip();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-route-"));
        for (const n of NODES) {
            // "SQL": the node's name, then close (MySQL's server speaks first, as here)
            const sql = net.createServer((c) => {
                c.on("error", () => undefined); // HAProxy's own connects, reset at once
                c.end(`${n.name}\n`);
            });
            await new Promise<void>((ok) => sql.listen(ports.mysql, n.address, ok));
            listeners.push(sql);
            for (const [q, port] of [["synced", ports.health], ["donor", ports.donor], ["writer", ports.writer]] as const) {
                const srv = http.createServer((_req, res) => {
                    const code = health[n.name][q];
                    res.writeHead(code, { "Content-Type": "text/plain", Connection: "close" }).end(`${n.name} ${q} ${code}\n`);
                });
                await new Promise<void>((ok) => srv.listen(port, n.address, ok));
                listeners.push(srv);
            }
        }
    });
    after(async () => {
        proxy?.kill("SIGKILL");
        for (const l of listeners) await new Promise((ok) => l.close(() => ok(undefined)));
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });
    afterEach(async () => {
        if (proxy) {
            const p = proxy;
            proxy = undefined;
            await new Promise((ok) => {
                p.once("exit", ok);
                p.kill("SIGKILL");
            });
        }
    });

    /** Render with the plan's layout but the stand-ins' ports, start HAProxy, wait until it listens. */
    async function startProxy(): Promise<void> {
        const r = render({
            GALERA_BACKENDS: NODES.map((n) => `${n.name}=${n.address}`).join(","),
            GALERA_SQL_PORT: String(ports.mysql),
            GALERA_HEALTH_PORT: String(ports.health),
            GALERA_HEALTH_DONOR_PORT: String(ports.donor),
            GALERA_WRITER_PORT: String(ports.writer),
            HAPROXY_LISTEN: `127.0.0.1:${ports.listen}`,
        });
        expect(r.code, r.err).to.equal(0);
        const cfgPath = path.join(dir, "haproxy.cfg");
        fs.writeFileSync(cfgPath, r.out.replace(/stats socket \S+/, `stats socket ${path.join(dir, "admin.sock")}`));
        proxy = spawn("haproxy", ["-db", "-f", cfgPath], { stdio: "ignore" });
        for (let i = 0; i < 100; i++) {
            if (await canConnect()) return;
            await new Promise((ok) => setTimeout(ok, 50));
        }
        throw new Error("HAProxy did not listen");
    }
    const canConnect = () =>
        new Promise<boolean>((ok) => {
            const s = net.connect(ports.listen, "127.0.0.1", () => {
                s.destroy();
                ok(true);
            });
            s.on("error", () => ok(false));
            s.on("error", () => ok(false));
        });
    /** The node a new client connection reaches ("" when HAProxy closes it without a server). */
    const route = () =>
        new Promise<string>((ok) => {
            let data = "";
            const s = net.connect(ports.listen, "127.0.0.1");
            s.on("data", (d) => (data += d.toString()));
            s.on("close", () => ok(data.trim()));
            s.on("error", () => ok(""));
            s.setTimeout(10_000, () => s.destroy());
        });
    /**
     * Poll (bounded) until five connections in a row reach `node`. Right after a start HAProxy
     * presumes unchecked servers UP, so the first connections may see a server before its first check.
     */
    async function settlesOn(node: string): Promise<void> {
        let last = "";
        let run = 0;
        for (let i = 0; i < 80 && run < 5; i++) {
            last = await route();
            run = last === node ? run + 1 : 0;
            if (run === 0) await new Promise((ok) => setTimeout(ok, 250));
        }
        expect(last, `connections reach ${last || "no server"}, expected ${node}`).to.equal(node);
        expect(run).to.equal(5);
    }
    const all = (writer: Answer, synced: Answer, donor: Answer): Health =>
        Object.fromEntries(NODES.map((n) => [n.name, { writer, synced, donor }]));

    it("sends every connection to the designated writer (db2), not to the first Synced node (db1)", async () => {
        health = all(503, 200, 200);
        health.db2.writer = 200;
        await startProxy();
        await settlesOn("db2");
    });

    it("right after a (re)start, the very first connection already reaches the designated writer", async () => {
        // HAProxy 2.6 presumes every server UP at start: without the wait, db1 (first) would take it.
        health = all(503, 200, 200);
        health.db3.writer = 200;
        await startProxy();
        const first = await route();
        expect(first).to.equal("db3");
    });

    it("with no designated writer, the first Synced node in order serves (db1 down: db2)", async () => {
        health = all(503, 200, 200);
        health.db1 = { writer: 503, synced: 503, donor: 503 };
        await startProxy();
        await settlesOn("db2");
    });

    it("a Donor serves only when no node is Synced: the first Donor in order", async () => {
        health = all(503, 503, 503);
        health.db2.donor = 200;
        health.db3.donor = 200;
        await startProxy();
        await settlesOn("db2");
        // a Synced node later in the order wins over an earlier Donor
        health.db3.synced = 200;
        await settlesOn("db3");
    });

    it("stays on the designated writer when the first node comes back Synced (no failback)", async () => {
        health = all(503, 200, 200);
        health.db1 = { writer: 503, synced: 503, donor: 503 };
        health.db2.writer = 200;
        await startProxy();
        await settlesOn("db2");
        health.db1 = { writer: 503, synced: 200, donor: 200 };
        // db1's Synced server rises after `rise` checks; give it that long, then db2 must still serve
        await new Promise((ok) => setTimeout(ok, 4000));
        for (let i = 0; i < 10; i++) expect(await route()).to.equal("db2");
    });
});
