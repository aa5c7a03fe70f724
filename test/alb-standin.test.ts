import { expect } from "chai";
import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { InvalidArgsError } from "../components/shared/errors";
import { HAPROXY_ADMIN_SOCKET, albStandin, expectRule, type AlbTarget } from "../scripts/lab/alb-standin";
import type { LabRecording } from "../scripts/lab/replay/record";
import { labRecording } from "./harness/labRecording";
import { bash, tempDir } from "./harness/shell";

/**
 * The ALB stand-in's haproxy.cfg, generated from the real recording of Pulumi.lab.yaml
 * (docs/verified-against.md, "ElastiCache and ALB stand-ins").
 */

const TARGETS: AlbTarget[] = [
    { name: "web1", address: "198.18.0.31" },
    { name: "web2", address: "198.18.0.32" },
];

/** The lines of one section (`frontend x`, `backend y`), trimmed. */
function section(cfg: string, header: string): string[] {
    const lines = cfg.split("\n");
    const start = lines.indexOf(header);
    expect(start, `no section "${header}" in\n${cfg}`).to.be.greaterThan(-1);
    const out: string[] = [];
    for (const l of lines.slice(start + 1)) {
        if (!l.startsWith("    ")) break;
        out.push(l.trim());
    }
    return out;
}

/** The HTTPS shape the program records with a certificate: 443 forwarding, 80 redirecting to it. */
function withHttps(rec: LabRecording): LabRecording {
    const r = structuredClone(rec);
    const lb = r.loadBalancers![0];
    const tg = lb.targetGroups[0].name;
    lb.listeners = [
        { name: "lab-owncloud-https", port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", certificateSet: true, defaultActions: [{ type: "forward", targetGroup: tg }] },
        { name: "lab-owncloud-http", port: 80, protocol: "HTTP", certificateSet: false, defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }] },
    ];
    return r;
}

describe("ALB stand-in (from the recording of Pulumi.lab.yaml)", function () {
    this.timeout(180_000);
    let rec: LabRecording;

    before(async () => {
        rec = await labRecording();
    });

    it("records the load balancer's idle timeout, its listener and the target group it forwards to", () => {
        const lb = rec.loadBalancers![0];
        expect(lb.idleTimeout).to.equal(300);
        expect(lb.listeners.map((l) => [l.port, l.protocol, l.defaultActions[0].type])).to.deep.equal([[80, "HTTP", "forward"]]);
        expect(lb.targetGroups[0]).to.deep.include({ port: 8080, protocol: "HTTP", deregistrationDelay: 60 });
        expect(lb.targetGroups[0].healthCheck).to.deep.include({ port: "8081", path: "/healthz", matcher: "200", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 });
        expect(lb.targetGroups[0].stickiness).to.deep.include({ type: "lb_cookie", enabled: true, cookieDuration: 3600 });
    });

    it("tries a target once per request within the ALB's 10 s connect timeout (no retries: the ALB answers 504)", () => {
        const d = section(albStandin(rec, TARGETS).haproxyCfg, "defaults alb");
        expect(d).to.include.members(["timeout connect 10s", "retries 0"]);
    });

    it("listens on the recorded port, adds the X-Forwarded headers and forwards to the target group", () => {
        const cfg = albStandin(rec, TARGETS).haproxyCfg;
        const fe = section(cfg, "frontend lab-owncloud-http");
        expect(fe).to.include("bind :80");
        expect(fe).to.include("option forwardfor");
        expect(fe).to.include("http-request set-header X-Forwarded-Proto http");
        expect(fe).to.include("http-request set-header X-Forwarded-Port 80");
        expect(fe).to.include("default_backend lab-owncloud-tg");
        // Idle timeout on both sides.
        expect(section(cfg, "defaults alb")).to.include.members(["timeout client 300s", "timeout server 300s"]);
    });

    it("checks each target as the target group does, with the ALB's Host header for checks", () => {
        const cfg = albStandin(rec, TARGETS).haproxyCfg;
        for (const t of TARGETS) {
            const chk = section(cfg, `backend lab-owncloud-tg-check-${t.name}`);
            expect(chk).to.include(`http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host ${t.address}:8081`);
            expect(chk).to.include("http-check expect status 200");
            expect(chk).to.include("timeout check 5s");
            expect(chk).to.include(`server ${t.name} ${t.address}:8080 check port 8081 inter 10s rise 2 fall 3`);
        }
        const be = section(cfg, "backend lab-owncloud-tg");
        expect(be).to.include("server web1 198.18.0.31:8080 track lab-owncloud-tg-check-web1/web1 cookie web1");
    });

    it("fails open: every target is also an unchecked backup, all used when no target is healthy", () => {
        const be = section(albStandin(rec, TARGETS).haproxyCfg, "backend lab-owncloud-tg");
        expect(be).to.include("option allbackups");
        // Without a cookie: one naming a backup (never checked, so always up) would pin a client to a target that turned unhealthy.
        for (const t of TARGETS) expect(be).to.include(`server ${t.name}-failopen ${t.address}:8080 backup`);
        expect(be.filter((l) => l.includes(" backup")).every((l) => !l.includes(" check"))).to.equal(true);
    });

    it("sticks with the AWSALB cookie for the recorded duration; drains for the recorded deregistration delay", () => {
        const s = albStandin(rec, TARGETS);
        expect(section(s.haproxyCfg, "backend lab-owncloud-tg")).to.include("cookie AWSALB insert indirect nocache maxlife 3600s");
        expect(s.deregistrationDelaySeconds).to.equal(60);
        expect(s.deregistration("web2")).to.deep.include({ afterSeconds: 0, command: "set server lab-owncloud-tg/web2 state maint" });
        expect(s.deregistration("web2")).to.deep.include({ afterSeconds: 60, command: "shutdown sessions server lab-owncloud-tg/web2" });
        expect(s.deregistration("web2").map((c) => c.command)).to.include("set server lab-owncloud-tg/web2-failopen state maint");
        expect(() => s.deregistration("web9")).to.throw(InvalidArgsError, /web9/);
    });

    it("keeps a target launched later (scale-out) in maintenance until its registration makes it ready", () => {
        const s = albStandin(rec, [...TARGETS, { name: "web3", address: "198.18.0.33", registered: false }]);
        const be = section(s.haproxyCfg, "backend lab-owncloud-tg");
        expect(be).to.include("server web3 198.18.0.33:8080 track lab-owncloud-tg-check-web3/web3 cookie web3 disabled");
        expect(be).to.include("server web3-failopen 198.18.0.33:8080 backup disabled");
        expect(section(s.haproxyCfg, "backend lab-owncloud-tg-check-web3")).to.include("server web3 198.18.0.33:8080 check port 8081 inter 10s rise 2 fall 3 disabled");
        // the registered ones are untouched
        expect(be).to.include("server web1 198.18.0.31:8080 track lab-owncloud-tg-check-web1/web1 cookie web1");
        // the checked server first, its health down, so the serving one leaves maintenance as DOWN, not UP
        expect(s.registration("web3")).to.deep.equal([
            "set server lab-owncloud-tg-check-web3/web3 state ready",
            "set server lab-owncloud-tg-check-web3/web3 health down",
            "set server lab-owncloud-tg/web3 state ready",
            "set server lab-owncloud-tg/web3-failopen state ready",
        ]);
        expect(() => s.registration("web9")).to.throw(InvalidArgsError, /web9/);
    });

    it("follows the recording: other ports, thresholds, matcher, duration and idle timeout change the file", () => {
        const r = structuredClone(rec);
        const lb = r.loadBalancers![0];
        const tg = lb.targetGroups[0];
        lb.idleTimeout = 120;
        lb.listeners[0].port = 8000;
        tg.port = 9090;
        tg.healthCheck = { ...tg.healthCheck, port: "9091", path: "/status", matcher: "200-202", interval: 15, timeout: 4, healthyThreshold: 4, unhealthyThreshold: 5 };
        tg.stickiness = { ...tg.stickiness, cookieDuration: 600 };
        tg.deregistrationDelay = 30;
        const s = albStandin(r, TARGETS);
        const fe = section(s.haproxyCfg, "frontend lab-owncloud-http");
        expect(fe).to.include("bind :8000");
        expect(fe).to.include("http-request set-header X-Forwarded-Port 8000");
        // Not a default port: the ALB appends the listener's port to the Host header.
        expect(fe).to.include("http-request replace-header Host ^([^:]+)$ \\1:8000");
        const chk = section(s.haproxyCfg, "backend lab-owncloud-tg-check-web1");
        expect(chk).to.include("http-check send meth GET uri /status ver HTTP/1.1 hdr Host 198.18.0.31:9091");
        expect(chk).to.include("http-check expect rstatus ^(200|201|202)$");
        expect(chk).to.include("timeout check 4s");
        expect(chk).to.include("server web1 198.18.0.31:9090 check port 9091 inter 15s rise 4 fall 5");
        expect(section(s.haproxyCfg, "backend lab-owncloud-tg")).to.include("cookie AWSALB insert indirect nocache maxlife 600s");
        expect(section(s.haproxyCfg, "defaults alb")).to.include("timeout client 120s");
        expect(s.deregistrationDelaySeconds).to.equal(30);
        expect(s.deregistration("web1").filter((c) => c.command.startsWith("shutdown")).map((c) => c.afterSeconds)).to.deep.equal([30, 30]);

        tg.stickiness = { ...tg.stickiness, enabled: false };
        expect(albStandin(r, TARGETS).haproxyCfg).not.to.match(/cookie AWSALB/);
    });

    it("with an HTTPS listener terminates TLS with the lab certificate and redirects 80 to 443 as recorded", () => {
        const https = withHttps(rec);
        expect(() => albStandin(https, TARGETS)).to.throw(InvalidArgsError, /tls/);
        const s = albStandin(https, TARGETS, { tls: { pemPath: "/etc/haproxy/alb.pem", domain: "cloud.lab.test" } });
        expect(section(s.haproxyCfg, "frontend lab-owncloud-https")).to.include("bind :443 ssl crt /etc/haproxy/alb.pem ssl-min-ver TLSv1.2 alpn http/1.1");
        expect(section(s.haproxyCfg, "frontend lab-owncloud-https")).to.include("http-request set-header X-Forwarded-Proto https");
        expect(section(s.haproxyCfg, "frontend lab-owncloud-http")).to.deep.equal(["bind :80", "http-request redirect location https://%[req.hdr(host),field(1,:)]%[capture.req.uri] code 301"]);
        expect(s.cert).to.deep.include({ dnsNames: ["cloud.lab.test"] });
    });

    it("refuses what it cannot model, naming the setting", () => {
        const r = structuredClone(rec);
        r.loadBalancers![0].listeners[0].defaultActions = [{ type: "fixed-response" }];
        expect(() => albStandin(r, TARGETS)).to.throw(InvalidArgsError, /defaultActions/);
        expect(() => albStandin(rec, [])).to.throw(InvalidArgsError, /targets/);
        expect(() => albStandin(rec, [{ name: "web 1", address: "198.18.0.31" }])).to.throw(InvalidArgsError, /targets/);
        const none = structuredClone(rec);
        delete none.loadBalancers;
        expect(() => albStandin(none, TARGETS)).to.throw(InvalidArgsError, /loadBalancers/);
    });

    it("haproxy -c accepts the generated files (when HAProxy is installed here)", function () {
        if (bash("command -v haproxy && command -v openssl").code !== 0) this.skip();
        const t = tempDir("alb-standin");
        try {
            const plain = path.join(t.dir, "plain.cfg");
            fs.writeFileSync(plain, albStandin(rec, TARGETS).haproxyCfg);
            const pem = path.join(t.dir, "alb.pem");
            const mk = bash(`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=cloud.lab.test -keyout "${t.dir}/k" -out "${t.dir}/c" 2>&1 && cat "${t.dir}/c" "${t.dir}/k" > "${pem}"`);
            expect(mk.code, mk.stdout).to.equal(0);
            const tls = path.join(t.dir, "tls.cfg");
            fs.writeFileSync(tls, albStandin(withHttps(rec), TARGETS, { tls: { pemPath: pem, domain: "cloud.lab.test" } }).haproxyCfg);
            for (const f of [plain, tls]) {
                // -dW: warnings are errors.
                const r = bash(`haproxy -c -dW -f "${f}"`);
                expect(r.code, `${r.stdout}${r.stderr}`).to.equal(0);
            }
        } finally {
            t.cleanup();
        }
    });
});

/**
 * HAProxy itself (2.6, as on the `alb` host) running the generated file on loopback addresses, with
 * fast checks: what a registration does to a target launched later. The machine-specific global
 * lines (chroot, user, daemon, the socket's path) are swapped for a temporary directory's.
 */
describe("ALB stand-in under HAProxy: a target registered while traffic flows", function () {
    this.timeout(60_000);
    const FRONT = 18480, TRAFFIC = 18481, HEALTH = 18482;
    const T: AlbTarget[] = [
        { name: "web1", address: "127.0.0.2" },
        { name: "web3", address: "127.0.0.3", registered: false },
    ];
    let t: ReturnType<typeof tempDir>;
    let haproxy: ChildProcess | undefined;
    const servers: http.Server[] = [];
    let sock: string;

    const listen = (address: string, port: number, answer: (req: http.IncomingMessage) => [number, string]) =>
        new Promise<void>((resolve, reject) => {
            const srv = http.createServer((req, res) => {
                const [code, body] = answer(req);
                res.writeHead(code, { "Content-Type": "text/plain" }).end(body);
            });
            servers.push(srv);
            srv.once("error", reject).listen(port, address, () => resolve());
        });
    const admin = (command: string) =>
        new Promise<string>((resolve, reject) => {
            let out = "";
            const c = net.createConnection(sock, () => c.end(`${command}\n`));
            c.on("data", (d) => (out += d)).on("end", () => resolve(out)).on("error", reject);
        });
    /** The serving backend's row for a server: its status (UP, DOWN, MAINT) and total sessions. */
    const row = async (server: string) => {
        const c = (await admin("show stat")).split("\n").map((l) => l.split(",")).find((f) => f[0] === "lab-owncloud-tg" && f[1] === server);
        return { status: c?.[17] ?? "?", sessions: Number(c?.[7] ?? -1) };
    };
    const get = () =>
        new Promise<string>((resolve, reject) => {
            http.get({ host: "127.0.0.1", port: FRONT, path: "/x", headers: { Host: "cloud.lab.test" }, agent: false }, (res) => {
                let b = "";
                res.on("data", (d) => (b += d)).on("end", () => resolve(`${res.statusCode} ${b}`));
            }).on("error", reject);
        });
    const until = async (what: string, ok: () => Promise<boolean>) => {
        for (let i = 0; i < 100; i++) {
            if (await ok()) return;
            await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error(`not within 20 s: ${what}`);
    };

    before(async function () {
        if (bash("command -v haproxy").code !== 0) this.skip();
        const rec = structuredClone(await labRecording());
        const lb = rec.loadBalancers![0];
        lb.listeners[0].port = FRONT;
        const tg = lb.targetGroups[0];
        tg.port = TRAFFIC;
        tg.healthCheck = { ...tg.healthCheck, port: String(HEALTH), interval: 1, timeout: 1 };
        t = tempDir("alb-live");
        sock = path.join(t.dir, "admin.sock");
        const cfg = albStandin(rec, T, { bindAddress: "127.0.0.1" })
            .haproxyCfg.split("\n")
            .filter((l) => !/^\s+(chroot|user|group|daemon|log \/dev\/log)\b/.test(l))
            .map((l) => l.replace(HAPROXY_ADMIN_SOCKET, sock))
            .join("\n");
        fs.writeFileSync(path.join(t.dir, "haproxy.cfg"), cfg);
        for (const x of T) {
            await listen(x.address, TRAFFIC, () => [200, x.name]);
            await listen(x.address, HEALTH, () => [200, "ok"]);
        }
        haproxy = spawn("haproxy", ["-db", "-f", path.join(t.dir, "haproxy.cfg")], { stdio: "ignore" });
        await until("HAProxy's admin socket answers", async () => fs.existsSync(sock) && (await admin("show info").catch(() => "")).includes("Name: HAProxy"));
    });
    after(async () => {
        haproxy?.kill("SIGTERM");
        for (const s of servers) s.close();
        t?.cleanup();
    });

    it("sends it nothing before the registration, nor after it until its checks pass; then round robin includes it", async () => {
        await until("web1 UP", async () => (await row("web1")).status === "UP");
        expect((await row("web3")).status).to.match(/^MAINT/);
        for (let i = 0; i < 6; i++) expect(await get()).to.equal("200 web1");
        const s = albStandin(structuredClone(await labRecording()), T);
        for (const c of s.registration("web3")) expect((await admin(c)).trim()).to.equal("");
        // the ALB's "initial" state: registered, not healthy yet, no traffic
        expect((await row("web3")).status).to.match(/^DOWN/);
        expect((await row("web3")).sessions).to.equal(0);
        await until("web3 UP after 2 passing checks", async () => (await row("web3")).status === "UP");
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add(await get());
        expect([...seen].sort()).to.deep.equal(["200 web1", "200 web3"]);
    });
});

describe("expectRule (target group matcher → http-check expect)", () => {
    it("turns a code, a list and a range into one rule and refuses anything else", () => {
        expect(expectRule("200")).to.equal("http-check expect status 200");
        expect(expectRule("200,302")).to.equal("http-check expect rstatus ^(200|302)$");
        expect(expectRule("200-203,404")).to.equal("http-check expect rstatus ^(200|201|202|203|404)$");
        expect(() => expectRule("2xx")).to.throw(InvalidArgsError, /matcher/);
    });
});
