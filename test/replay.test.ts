import { expect } from "chai";
import { ChildProcess, execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { cidrContains } from "../components/shared/cidr";
import type { PlanResource } from "../scripts/plan/build";
import { dialWithRetry, executeRecording, goQuote, planAction, ReplayError, type ExecuteOptions, type ResourceResult } from "../scripts/lab/replay/execute";
import { commandDependencies, COMMAND_TYPE, COPY_TYPE, randomPassword, type LabRecording, type RecordedConnection, type ReplayCommand, type ReplayCopy, type ReplayResource } from "../scripts/lab/replay/record";

/**
 * The lab's replay of the recorded command:remote resources (scripts/lab/replay) against a real
 * OpenSSH sshd on 127.0.0.1 that this test starts (it is both the bastion and the target: the
 * target is reached through a direct-tcpip channel of the bastion connection, as the provider's
 * proxy does). Each case pins one behaviour of @pulumi/command v1.2.1 the lab relies on
 * (docs/verified-against.md "Deploy rehearsal replay").
 */

const ROOT = path.resolve(__dirname, "..");
const SSHD = "/usr/sbin/sshd";
const haveSshd = typeof process.getuid === "function" && process.getuid() === 0 && fs.existsSync(SSHD) && spawnSync("bash", ["-c", "command -v ssh && command -v sftp"]).status === 0;

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

async function waitForPort(port: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
        const ok = await new Promise<boolean>((resolve) => {
            const c = net.connect(port, "127.0.0.1", () => {
                c.destroy();
                resolve(true);
            });
            c.on("error", () => resolve(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sshd on port ${port} never accepted a connection`);
}

interface Sshd {
    port: number;
    child: ChildProcess;
}

describe("deploy rehearsal replay (pulumi-command v1.2.1 semantics over OpenSSH)", function () {
    this.timeout(120_000);
    let dir: string;
    let privateKey: string;
    let sshd: Sshd;
    const started: ChildProcess[] = [];

    async function startSshd(port?: number): Promise<Sshd> {
        const p = port ?? (await freePort());
        const cfg = path.join(dir, `sshd-${p}.conf`);
        fs.writeFileSync(
            cfg,
            [
                `Port ${p}`,
                "ListenAddress 127.0.0.1",
                `HostKey ${path.join(dir, "hostkey")}`,
                `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
                `PidFile ${path.join(dir, `sshd-${p}.pid`)}`,
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                // Debian 12's stock sshd_config: only these env requests are accepted.
                "AcceptEnv LANG LC_*",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
                "AllowTcpForwarding yes",
                "",
            ].join("\n"),
        );
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        const child = spawn(SSHD, ["-D", "-f", cfg, "-E", path.join(dir, `sshd-${p}.log`)], { stdio: "ignore" });
        started.push(child);
        return { port: p, child };
    }

    before(async function () {
        if (!haveSshd) {
            console.log("    (skipped: needs root and OpenSSH's sshd/ssh/sftp; npm test as root on Debian installs them)");
            this.skip();
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-test-"));
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "hostkey")]);
        spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(dir, "userkey")]);
        fs.copyFileSync(path.join(dir, "userkey.pub"), path.join(dir, "authorized_keys"));
        privateKey = fs.readFileSync(path.join(dir, "userkey"), "utf8");
        sshd = await startSshd();
        await waitForPort(sshd.port);
    });

    after(() => {
        for (const c of started) if (c.exitCode === null && c.pid) process.kill(c.pid, "SIGTERM");
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    // The recorded addresses are lab addresses; the test's address map sends them to the local sshd.
    const TARGET = "198.18.64.10";
    const BASTION = "192.0.2.20";
    const addressMap = { [TARGET]: "127.0.0.1", [BASTION]: "127.0.0.1" };

    function connection(over: Partial<RecordedConnection> = {}, proxy: Partial<RecordedConnection> = {}): RecordedConnection {
        return {
            host: TARGET,
            port: sshd.port,
            user: "root",
            privateKey,
            dialErrorLimit: 2,
            perDialTimeout: 15,
            proxy: { host: BASTION, port: sshd.port, user: "root", privateKey, dialErrorLimit: 2, perDialTimeout: 15, ...proxy },
            ...over,
        };
    }

    let n = 0;
    function command(create: string, over: Partial<ReplayCommand> = {}): ReplayCommand {
        const name = over.name ?? `cmd${++n}`;
        return { type: COMMAND_TYPE, urn: `urn:pulumi:lab::p::command:remote:Command::${name}`, name, connection: connection(), triggers: ["t1"], dependencies: [], create, addPreviousOutputInEnv: false, ...over };
    }

    function copy(src: string, remotePath: string, over: Partial<ReplayCopy> = {}): ReplayCopy {
        const name = over.name ?? `copy${++n}`;
        return { type: COPY_TYPE, urn: `urn:pulumi:lab::p::command:remote:CopyToRemote::${name}`, name, connection: connection(), triggers: ["t1"], dependencies: [], source: { kind: "archive", path: src }, remotePath, ...over };
    }

    function recording(resources: ReplayResource[]): LabRecording {
        return { stack: "lab", resources, instances: [], launchTemplates: [], bastionPublicIp: BASTION, publicKey: "", secrets: {} };
    }

    const lines: string[] = [];
    function options(stateDir: string, over: Partial<ExecuteOptions> = {}): ExecuteOptions {
        return { stateDir, addressMap, log: (l) => lines.push(l), ...over };
    }

    async function exec(resources: ReplayResource[], stateDir = fs.mkdtempSync(path.join(dir, "state-")), over: Partial<ExecuteOptions> = {}): Promise<ResourceResult[]> {
        return executeRecording(recording(resources), options(stateDir, over));
    }

    async function failure(p: Promise<unknown>): Promise<ReplayError> {
        try {
            await p;
        } catch (e) {
            expect(e).to.be.instanceOf(ReplayError);
            return e as ReplayError;
        }
        throw new Error("expected a failure");
    }

    describe("CopyToRemote (copy.go sftpCopy)", () => {
        it("a directory without trailing slash lands at remotePath/<basename>, missing parents created, no mode kept, existing files overwritten in place, stale files kept", async () => {
            const src = path.join(dir, "copy-src", "scripts");
            fs.mkdirSync(path.join(src, "sub"), { recursive: true });
            fs.writeFileSync(path.join(src, "run.sh"), "#!/bin/bash\necho one\n", { mode: 0o755 });
            fs.chmodSync(path.join(src, "run.sh"), 0o755);
            fs.writeFileSync(path.join(src, "sub", "a.cfg"), "a=1\n");
            const remote = path.join(dir, "remote", "not", "yet", "there");
            const state = fs.mkdtempSync(path.join(dir, "state-"));
            const res = copy(src, remote);
            const [r1] = await exec([res], state);
            expect(r1.action).to.equal("create");
            const landed = path.join(remote, "scripts");
            expect(fs.readFileSync(path.join(landed, "run.sh"), "utf8")).to.equal("#!/bin/bash\necho one\n");
            expect(fs.readFileSync(path.join(landed, "sub", "a.cfg"), "utf8")).to.equal("a=1\n");
            // pkg/sftp Create sends no mode: sftp-server opens with 0666 and the umask decides (no x bit).
            expect(fs.statSync(path.join(landed, "run.sh")).mode & 0o777).to.equal(0o666 & ~process.umask());

            // A stale remote file stays; an existing one is truncated in place (its mode kept).
            fs.writeFileSync(path.join(landed, "stale.txt"), "old\n");
            fs.chmodSync(path.join(landed, "sub", "a.cfg"), 0o600);
            fs.writeFileSync(path.join(src, "sub", "a.cfg"), "a=2\n");
            const [r2] = await exec([res], state);
            expect(r2.action).to.equal("update");
            expect(r2.copied).to.equal(true);
            expect(fs.readFileSync(path.join(landed, "sub", "a.cfg"), "utf8")).to.equal("a=2\n");
            expect(fs.statSync(path.join(landed, "sub", "a.cfg")).mode & 0o777).to.equal(0o600);
            expect(fs.readFileSync(path.join(landed, "stale.txt"), "utf8")).to.equal("old\n");
        });

        it("a file source: written at a missing remotePath (parents created), into an existing directory as <basename>; a directory onto a file fails creating its directory", async () => {
            const src = path.join(dir, "copy-src3");
            fs.mkdirSync(src, { recursive: true });
            fs.writeFileSync(path.join(src, "one.conf"), "k=v\n");
            const base = path.join(dir, "remote3");
            const file = { kind: "asset" as const, path: path.join(src, "one.conf") };
            await exec([copy(file.path, path.join(base, "a", "b", "target.conf"), { source: file })]);
            expect(fs.readFileSync(path.join(base, "a", "b", "target.conf"), "utf8")).to.equal("k=v\n");
            await exec([copy(file.path, path.join(base, "a"), { source: file })]);
            expect(fs.readFileSync(path.join(base, "a", "one.conf"), "utf8")).to.equal("k=v\n");
            const e = await failure(exec([copy(src, path.join(base, "a", "one.conf"))]));
            expect(e.providerMessage).to.match(new RegExp(`^failed to create remote directory ${path.join(base, "a", "one.conf", "copy-src3")}: `));
        });

        it("a change of the connection alone copies nothing; a trigger change copies again", async () => {
            const src = path.join(dir, "copy-src2", "scripts");
            fs.mkdirSync(src, { recursive: true });
            fs.writeFileSync(path.join(src, "f.sh"), "v1\n");
            const remote = path.join(dir, "remote2");
            const state = fs.mkdtempSync(path.join(dir, "state-"));
            const res = copy(src, remote);
            await exec([res], state);
            const landed = path.join(remote, "scripts", "f.sh");
            fs.writeFileSync(landed, "changed on the host\n");
            const [same] = await exec([res], state);
            expect(same.action).to.equal("same");
            const [moved] = await exec([{ ...res, connection: connection({ dialErrorLimit: 59 }) }], state);
            expect(moved.action).to.equal("update");
            expect(moved.copied).to.equal(false);
            expect(fs.readFileSync(landed, "utf8")).to.equal("changed on the host\n");
            const [replaced] = await exec([{ ...res, connection: connection({ dialErrorLimit: 59 }), triggers: ["t2"] }], state);
            expect(replaced.action).to.equal("replace");
            expect(fs.readFileSync(landed, "utf8")).to.equal("v1\n");
        });
    });

    describe("Command (commandOutputs.go run)", () => {
        it("sends the create string verbatim as one exec request and trims one trailing newline", async () => {
            const create = `printf '%s\\n' "a  b" 'c$HOME' "d'e"; printf 'x\\n\\n'`;
            const [r] = await exec([command(create)]);
            // bash -c of the exact string: the double space and the quotes survive (no re-splitting).
            expect(r.stdout).to.equal("a  b\nc$HOME\nd'e\nx\n");
            expect(r.stderr).to.equal("");
        });

        it("writes stdin then EOF (cat ends), and with no stdin the command sees EOF at once", async () => {
            const out = path.join(dir, "stdin.out");
            const secret = "GALERA_ROOT_PASSWORD=s3cr3t\nOTHER=x\n";
            const [r] = await exec([command(`cat > '${out}'; echo done`, { stdin: secret, logging: "none" })]);
            expect(fs.readFileSync(out, "utf8")).to.equal(secret);
            expect(r.stdout).to.equal("done");
            const [r2] = await exec([command("cat; echo end")]);
            expect(r2.stdout).to.equal("end");
            expect(lines.join("\n")).to.not.include("s3cr3t");
        });

        it("a non-zero exit is the provider's error: status, the Go-quoted command and the combined output (logging none included)", async () => {
            const create = `echo out; sleep 0.2; echo "err \\"q\\"" >&2; exit 3`;
            const e = await failure(exec([command(create, { name: "fails", logging: "none" })]));
            expect(e.resource).to.equal("fails");
            expect(e.providerMessage).to.equal(`Process exited with status 3: running ${goQuote(create)}:\nout\nerr "q"\n`);
            expect(goQuote(create)).to.equal(`"echo out; sleep 0.2; echo \\"err \\\\\\"q\\\\\\"\\" >&2; exit 3"`);
        });

        it("tells a remote exit status 255 and a signal from a lost connection", async () => {
            const e255 = await failure(exec([command("exit 255")]));
            expect(e255.providerMessage).to.equal(`Process exited with status 255: running "exit 255":\n`);
            const sig = await failure(exec([command("kill -TERM $$")]));
            expect(sig.providerMessage).to.match(/^Process exited with status -1 from signal \S+: running "kill -TERM \$\$":\n$/);
        });

        it("an environment variable the sshd refuses (not LANG/LC_*) fails like the provider, before the command runs; LC_* arrives", async () => {
            const marker = path.join(dir, "env-ran");
            const e = await failure(exec([command(`touch '${marker}'`, { environment: { FOO: "bar" } })]));
            expect(e.providerMessage).to.equal(`could not set environment variable "FOO": ssh: setenv failed`);
            expect(fs.existsSync(marker)).to.equal(false);
            const [ok] = await exec([command(`echo "$LC_LAB"`, { environment: { LC_LAB: "a b" } })]);
            expect(ok.stdout).to.equal("a b");
        });
    });

    describe("dial retry (connection.go dialWithRetry + retry.Until)", () => {
        it("limit L gives L+1 attempts with waits of 100 ms growing x1.5 up to 5 s, then 'after L failed attempts'", async () => {
            const waits: number[] = [];
            let attempts = 0;
            const err = await dialWithRetry("Dial", 12, async () => {
                attempts++;
                throw new Error("refused");
            }, { sleep: async (ms) => void waits.push(ms) }).catch((e: Error) => e);
            expect(attempts).to.equal(13);
            expect((err as Error).message).to.equal("after 12 failed attempts: refused");
            expect(waits.slice(0, 3)).to.deep.equal([100, 150, 225]);
            expect(waits).to.have.length(12);
            expect(Math.max(...waits)).to.equal(5000);
        });

        it("through a bastion that starts accepting late: counts the failed dials and succeeds", async () => {
            const latePort = await freePort();
            let sleeps = 0;
            const sleep = async (ms: number) => {
                sleeps++;
                // The bastion's sshd comes up after the second failed dial.
                if (sleeps === 2) {
                    await startSshd(latePort);
                    await waitForPort(latePort);
                }
                await new Promise((r) => setTimeout(r, Math.min(ms, 50)));
            };
            const before = lines.length;
            const [r] = await exec([command("echo up", { connection: connection({ dialErrorLimit: 5 }, { port: latePort, dialErrorLimit: 5 }) })], undefined, { sleep });
            expect(r.stdout).to.equal("up");
            const retries = lines.slice(before).filter((l) => /Dial proxy \d+\/5 failed: retrying/.test(l));
            expect(retries).to.have.length(2);
        });

        it("fails after L+1 attempts against a closed bastion port, with the proxy: prefix", async () => {
            const closed = await freePort();
            let sleeps = 0;
            const e = await failure(
                exec([command("true", { connection: connection({}, { port: closed, dialErrorLimit: 3 }) })], undefined, {
                    sleep: async () => void sleeps++,
                }),
            );
            expect(sleeps).to.equal(3);
            expect(e.providerMessage).to.match(/^proxy: after 3 failed attempts: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused$/);
        });

        it("a target the bastion cannot reach: the 'Dial from proxy' loop with the target's limit", async () => {
            const closed = await freePort();
            let sleeps = 0;
            const e = await failure(exec([command("true", { connection: connection({ port: closed, dialErrorLimit: 1 }) })], undefined, { sleep: async () => void sleeps++ }));
            expect(sleeps).to.equal(1);
            expect(e.providerMessage).to.match(/^proxy: after 1 failed attempts: .*forwarding request failed/i);
        });
    });

    describe("re-runs (infer Diff, commandController.go Update)", () => {
        it("skips unchanged, re-creates on a trigger change, runs create again on a stdin change, update when set", async () => {
            const count = path.join(dir, "count");
            const state = fs.mkdtempSync(path.join(dir, "state-"));
            const res = command(`echo c >> '${count}'`, { name: "counted", stdin: "A=1\n" });
            const runs = () => fs.readFileSync(count, "utf8");
            expect((await exec([res], state))[0].action).to.equal("create");
            expect((await exec([res], state))[0].action).to.equal("same");
            expect(runs()).to.equal("c\n");
            expect((await exec([{ ...res, triggers: ["t2"] }], state))[0].action).to.equal("replace");
            expect(runs()).to.equal("c\nc\n");
            expect((await exec([{ ...res, triggers: ["t2"], stdin: "A=2\n" }], state))[0].action).to.equal("update");
            expect(runs()).to.equal("c\nc\nc\n");
            expect((await exec([{ ...res, triggers: ["t2"], stdin: "A=3\n", update: `echo u >> '${count}'` }], state))[0].action).to.equal("update");
            expect(runs()).to.equal("c\nc\nc\nu\n");
            const saved = fs.readFileSync(path.join(state, "replay-state.json"), "utf8");
            expect(saved).to.not.include("A=3");
        });

        it("a failed create leaves no state (the next run creates); a failed update keeps the old state (the next run updates)", async () => {
            const state = fs.mkdtempSync(path.join(dir, "state-"));
            const bad = command("exit 1", { name: "flaky" });
            await failure(exec([bad], state));
            const fixed = { ...bad, create: "true" };
            expect((await exec([fixed], state))[0].action).to.equal("create");
            const failingUpdate = { ...fixed, create: "exit 2" };
            await failure(exec([failingUpdate], state));
            expect(planAction(JSON.parse(fs.readFileSync(path.join(state, "replay-state.json"), "utf8")).resources[fixed.urn], fixed)).to.equal("same");
            expect((await exec([{ ...fixed, create: "true; true" }], state))[0].action).to.equal("update");
        });
    });

    describe("order", () => {
        it("runs a resource only after what it depends on; a failure starts nothing new, running ones finish", async () => {
            const order = path.join(dir, "order");
            const a = command(`sleep 0.5; echo A >> '${order}'`, { name: "A" });
            const b = command(`echo B >> '${order}'`, { name: "B", dependencies: [a.urn] });
            const c = command(`echo C >> '${order}'`, { name: "C" });
            await exec([b, a, c]);
            const seen = fs.readFileSync(order, "utf8").trim().split("\n");
            expect(seen.indexOf("A")).to.be.lessThan(seen.indexOf("B"));
            expect(seen).to.have.members(["A", "B", "C"]);

            const order2 = path.join(dir, "order2");
            const fa = command(`sleep 0.3; echo A >> '${order2}'; exit 1`, { name: "FA" });
            const fb = command(`echo B >> '${order2}'`, { name: "FB", dependencies: [fa.urn] });
            const fc = command(`sleep 0.6; echo C >> '${order2}'`, { name: "FC" });
            const e = await failure(exec([fa, fb, fc]));
            expect(e.resource).to.equal("FA");
            expect(fs.readFileSync(order2, "utf8").trim().split("\n").sort()).to.deep.equal(["A", "C"]);
        });
    });
});

describe("replay recording: which command resources wait for which", () => {
    const res = (name: string, type: string, dependencies: string[] = [], parent?: string): PlanResource =>
        ({ urn: `u:${name}`, name, type, custom: true, inputs: {}, rawInputs: {}, dependencies, propertyDependencies: {}, additionalSecretOutputs: [], parent }) as PlanResource;

    it("follows non-command resources and parents transitively and stops at command resources", () => {
        const resources = [
            res("y", COMMAND_TYPE),
            res("r", "aws:ec2/instance:Instance", ["u:y"]),
            res("x", COMMAND_TYPE, ["u:r"]),
            res("c", COMMAND_TYPE, ["u:y"]),
            res("z", COMMAND_TYPE, ["u:c"]),
            res("comp", "owncloud-ha:x:Comp", ["u:c"]),
            res("child", COPY_TYPE, [], "u:comp"),
        ];
        const deps = commandDependencies(resources);
        expect(deps.get("u:x")).to.deep.equal(["u:y"]);
        expect(deps.get("u:z")).to.deep.equal(["u:c"]);
        expect(deps.get("u:child")).to.deep.equal(["u:c"]);
        expect(deps.get("u:y")).to.deep.equal([]);
    });

    it("random passwords honour length and the special setting", () => {
        const p = randomPassword({ length: 40, special: false });
        expect(p).to.have.length(40);
        expect(p).to.match(/^[A-Za-z0-9]+$/);
        expect(randomPassword({ length: 64, special: true, minSpecial: 5 }).replace(/[A-Za-z0-9]/g, "").length).to.be.at.least(5);
    });
});

describe("replay recording of Pulumi.lab.yaml", function () {
    this.timeout(180_000);
    let rec: LabRecording;
    let again: LabRecording;
    let stateDir: string;
    const record = async () => {
        // Pulumi's runtime is global: the recording runs in its own process, as `lab up` will.
        const { stdout } = await promisify(execFile)("npx", ["--no-install", "tsx", "scripts/lab/replay/record.ts", stateDir], { cwd: ROOT, maxBuffer: 64 << 20 });
        return JSON.parse(stdout) as LabRecording;
    };

    before(async () => {
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-rec-"));
        rec = await record();
        again = await record();
    });
    after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

    it("records one copy per Galera and Gluster node and every step waits for its host's copy", () => {
        const copies = rec.resources.filter((r) => r.type === COPY_TYPE);
        const nodes = rec.instances.filter((i) => i.role === "galera" || i.role === "gluster");
        expect(nodes).to.have.length(6);
        expect(copies.map((c) => c.connection.host).sort()).to.deep.equal(nodes.map((i) => i.privateIp).sort());
        const copyOf = new Map(copies.map((c) => [c.connection.host, c.urn]));
        const steps = rec.resources.filter((r) => r.type === COMMAND_TYPE);
        expect(steps.length).to.be.greaterThan(20);
        for (const s of steps) expect(s.dependencies, s.name).to.include(copyOf.get(s.connection.host));
        const byName = (suffix: string) => rec.resources.find((r) => r.name.endsWith(suffix))!;
        expect(byName("galera-join-node2").dependencies).to.include.members([byName("galera-configure-node2").urn, byName("galera-users").urn]);
        expect(byName("gluster-create-volume").dependencies).to.include(byName("gluster-glusterd-node3").urn);
    });

    it("every connection targets a lab address (198.18.0.0/15) through the bastion's recorded address", () => {
        for (const r of rec.resources) {
            expect(cidrContains("198.18.0.0/15", `${r.connection.host}/32`), r.name).to.equal(true);
            expect(r.connection.proxy?.host, r.name).to.equal(rec.bastionPublicIp);
        }
        for (const i of rec.instances.filter((x) => x.privateIp)) expect(cidrContains("198.18.0.0/15", `${i.privateIp}/32`), i.name).to.equal(true);
    });

    it("carries a real key pair and real passwords, stable across recordings of the same state dir", () => {
        const key = rec.resources[0].connection.privateKey!;
        const file = path.join(stateDir, "check.key");
        fs.writeFileSync(file, key, { mode: 0o600 });
        const derived = spawnSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).stdout.trim();
        expect(derived).to.equal(rec.publicKey.trim());
        expect(JSON.stringify(rec)).to.not.include("MOCKSECRET");
        expect(JSON.parse(rec.secrets["lab-galera-credentials"].secretString).rootPassword).to.match(/^[A-Za-z0-9]{40}$/);
        expect(again.secrets).to.deep.equal(rec.secrets);
        expect(again.publicKey).to.equal(rec.publicKey);
        expect(fs.statSync(path.join(stateDir, "passwords.json")).mode & 0o777).to.equal(0o600);
        const step = rec.resources.find((r) => r.type === COMMAND_TYPE && r.stdin) as ReplayCommand;
        expect(step.create).to.not.include(JSON.parse(rec.secrets["lab-galera-credentials"].secretString).rootPassword);
    });
});
