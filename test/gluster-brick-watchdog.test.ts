import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { BRICK_WATCHDOG_SERVICE } from "../components/storage/plan";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";

/**
 * A stand-in brick: a process whose argv[0] is glusterfsd and whose arguments carry --brick-name and
 * --brick-port as glusterd passes them (glusterd-utils.c glusterd_volume_start_glusterfs), answering
 * every ONC RPC call on that port with an accepted reply carrying the call's xid, as rpcsvc does.
 */
const FAKE_BRICK = `
const net = require("net");
const arg = (k) => process.argv[process.argv.indexOf(k) + 1];
net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on("error", () => {});
    s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4) {
            const len = buf.readUInt32BE(0) & 0x7fffffff;
            if (buf.length < 4 + len) break;
            const body = Buffer.alloc(32);
            buf.copy(body, 0, 4, 8);
            body.writeUInt32BE(1, 4);
            const mark = Buffer.alloc(4);
            mark.writeUInt32BE((0x80000000 | body.length) >>> 0);
            s.write(Buffer.concat([mark, body]));
            buf = buf.subarray(4 + len);
        }
    });
}).listen(Number(arg("--brick-port")), "127.0.0.1", () => console.log("listening"));
`;

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

const alive = (pid: number) => {
    try {
        const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[0];
        return state !== undefined && state !== "Z";
    } catch {
        return false;
    }
};

describe("gluster brick watchdog: scripts/node/gluster/brick-watchdog.sh (stand-in brick and gluster CLI)", function () {
    this.timeout(60_000);
    let t: ReturnType<typeof tempDir>;
    let bin: string;
    const bricks: ChildProcess[] = [];

    /** Starts a stand-in brick for `brickDir` and resolves once it listens. */
    async function startBrick(brickDir: string): Promise<{ pid: number; port: number }> {
        const port = await freePort();
        const js = path.join(t.dir, "fake-brick.js");
        fs.writeFileSync(js, FAKE_BRICK);
        const p = spawn("bash", ["-c", `exec -a glusterfsd node ${js} -s 127.0.0.1 --brick-name ${brickDir} --brick-port ${port}`], { stdio: ["ignore", "pipe", "ignore"] });
        bricks.push(p);
        await new Promise<void>((resolve, reject) => {
            p.stdout!.once("data", () => resolve());
            p.once("exit", (code) => reject(new Error(`stand-in brick exited ${code}`)));
        });
        return { pid: p.pid!, port };
    }

    /** Runs the watchdog for a bounded number of probes, with a short cadence. */
    const watchdog = (brickDir: string, turns: number, extra: Record<string, string> = {}) =>
        bash(`bash ${NODE_SCRIPTS}/gluster/brick-watchdog.sh`, {
            PATH: `${bin}:${process.env.PATH}`,
            GLUSTER_VOLUME: "gfs_v_r5",
            GLUSTER_BRICK_DIR: brickDir,
            GLUSTER_WATCHDOG_KILL_AFTER_S: "1",
            GLUSTER_WATCHDOG_INTERVAL_S: "0.2",
            GLUSTER_WATCHDOG_DEADLINE_S: "0.5",
            GLUSTER_WATCHDOG_STATE_DIR: path.join(t.dir, "state"),
            GLUSTER_WATCHDOG_ITERATIONS: String(turns),
            GLUSTER_WATCHDOG_RESTART_WAIT_S: "5",
            ...extra,
        }, 45_000);
    const glusterCalls = () => (fs.existsSync(path.join(t.dir, "gluster.args")) ? fs.readFileSync(path.join(t.dir, "gluster.args"), "utf8").trim().split("\n") : []);

    beforeEach(() => {
        t = tempDir("brick-watchdog");
        bin = path.join(t.dir, "bin");
        // glusterd stand-in: reports the brick offline; `volume start … force` starts a new stand-in brick
        // for the directory the status asked about (port 0: it need not answer, only exist)
        fakeCommand(bin, "gluster", `echo "$*" >> ${t.dir}/gluster.args
case "$*" in
    *"volume status "*) echo "<node><path>$5</path><status>0</status></node>" > ${t.dir}/last-status; cat ${t.dir}/last-status ;;
    *"volume start "*) dir=$(sed -n 's|.*<path>[^:]*:\\(.*\\)</path>.*|\\1|p' ${t.dir}/last-status)
        setsid bash -c "exec -a glusterfsd bash -c 'sleep 300; exit 0' brick -s 127.0.0.1 --brick-name $dir --brick-port 1" >/dev/null 2>&1 < /dev/null &
        echo $! >> ${t.dir}/restarted.pids ;;
esac`);
    });
    afterEach(() => {
        const restarted = fs.existsSync(path.join(t.dir, "restarted.pids")) ? fs.readFileSync(path.join(t.dir, "restarted.pids"), "utf8").trim().split("\n").map(Number) : [];
        for (const pid of [...bricks.splice(0).map((p) => p.pid!), ...restarted]) {
            try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
        }
        t.cleanup();
    });

    it("leaves a brick that answers its pings alone", async () => {
        const brickDir = path.join(t.dir, "brick_a", "brick");
        const b = await startBrick(brickDir);
        const r = watchdog(brickDir, 8);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.include(`brick process PID ${b.pid}, port ${b.port}`);
        expect(r.stderr).to.not.match(/did not answer|SIGKILL/);
        expect(alive(b.pid)).to.equal(true);
        expect(glusterCalls()).to.deep.equal([]);
    });

    it("kills a stopped brick that keeps its socket open, then restarts it through glusterd once glusterd saw it go", async () => {
        const brickDir = path.join(t.dir, "brick_b", "brick");
        const b = await startBrick(brickDir);
        process.kill(b.pid, "SIGSTOP");
        const r = watchdog(brickDir, 12);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.match(new RegExp(`brick PID ${b.pid} \\(port ${b.port}, state T\\) answered no ping .*SIGKILL`));
        expect(alive(b.pid)).to.equal(false);
        // the brick's address as glusterd names it is the brick process's -s argument
        expect(glusterCalls()).to.deep.equal([`--mode=script volume status gfs_v_r5 127.0.0.1:${brickDir} --xml`, "--mode=script volume start gfs_v_r5 force"]);
        expect(r.stderr).to.match(/brick restarted through glusterd \(volume start gfs_v_r5 force\): PID \d+/);
        expect(fs.existsSync(path.join(t.dir, "state", "brick-watchdog.last-restart"))).to.equal(true);
    });

    it("does not restart a brick it restarted less than the hold-off ago: one that keeps freezing stays down", async () => {
        const brickDir = path.join(t.dir, "brick_c", "brick");
        fs.mkdirSync(path.join(t.dir, "state"));
        fs.writeFileSync(path.join(t.dir, "state", "brick-watchdog.last-restart"), `${Math.floor(Date.now() / 1000) - 60}\n`);
        const b = await startBrick(brickDir);
        process.kill(b.pid, "SIGSTOP");
        const r = watchdog(brickDir, 12);
        expect(r.code, r.stderr).to.equal(0);
        expect(alive(b.pid)).to.equal(false);
        expect(r.stderr).to.match(/already restarted the brick \d+ s ago: leaving it down/);
        expect(glusterCalls()).to.deep.equal([]);
    });

    it("never touches another brick's process, and does nothing while its own brick is not running", async () => {
        const other = await startBrick(path.join(t.dir, "other", "brick"));
        process.kill(other.pid, "SIGSTOP");
        const r = watchdog(path.join(t.dir, "brick_a", "brick"), 8);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.not.match(/brick process PID|SIGKILL/);
        expect(alive(other.pid)).to.equal(true);
        expect(glusterCalls()).to.deep.equal([]);
    });

    it("kills no brick before it missed the required probes in a row", async () => {
        const brickDir = path.join(t.dir, "brick_d", "brick");
        const b = await startBrick(brickDir);
        process.kill(b.pid, "SIGSTOP");
        // two turns: the first finds the brick and misses once; kill-after is long
        const r = watchdog(brickDir, 2, { GLUSTER_WATCHDOG_KILL_AFTER_S: "30", GLUSTER_WATCHDOG_MIN_MISSES: "2" });
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.match(/did not answer a ping within 0.5 s \(state T\)/);
        expect(alive(b.pid)).to.equal(true);
    });

    it("refuses to start without its settings, naming them", () => {
        const r = bash(`bash ${NODE_SCRIPTS}/gluster/brick-watchdog.sh`, { GLUSTER_VOLUME: "", GLUSTER_BRICK_DIR: "", GLUSTER_WATCHDOG_KILL_AFTER_S: "" });
        expect(r.code).to.equal(2);
        expect(r.stderr).to.match(/missing required variable\(s\): GLUSTER_VOLUME GLUSTER_BRICK_DIR GLUSTER_WATCHDOG_KILL_AFTER_S/);
        const bad = bash(`bash ${NODE_SCRIPTS}/gluster/brick-watchdog.sh`, { GLUSTER_VOLUME: "v", GLUSTER_BRICK_DIR: "/b", GLUSTER_WATCHDOG_KILL_AFTER_S: "7", GLUSTER_WATCHDOG_DEADLINE_S: "two" });
        expect(bad.code).to.equal(1);
        expect(bad.stderr).to.match(/deadline=two must be a number of seconds/);
    });
});

describe("gluster brick watchdog: scripts/node/gluster/brick-watchdog-install.sh (lab launcher stand-in)", () => {
    let t: ReturnType<typeof tempDir>;
    const install = (killAfter = "7") =>
        bash(`bash ${NODE_SCRIPTS}/gluster/brick-watchdog-install.sh`, {
            GLUSTER_VOLUME: "gfs_v_r5",
            GLUSTER_BRICK_DIR: "/data/glusterfs/gfs_v_r5/brick_b/brick",
            GLUSTER_WATCHDOG_SERVICE: BRICK_WATCHDOG_SERVICE,
            GLUSTER_WATCHDOG_KILL_AFTER_S: killAfter,
            GLUSTER_WATCHDOG_INTERVAL_S: "1",
            GLUSTER_WATCHDOG_DEADLINE_S: "2",
            GLUSTER_WATCHDOG_MIN_MISSES: "2",
            OCHA_WATCHDOG_HOME: path.join(t.dir, "home"),
            OCHA_WATCHDOG_ENV_FILE: path.join(t.dir, "etc", "brick-watchdog.env"),
            OCLAB_SVC: path.join(t.dir, "svc.sh"),
        });
    const svcCalls = () => fs.readFileSync(path.join(t.dir, "svc.log"), "utf8").trim().split("\n");
    beforeEach(() => {
        t = tempDir("brick-watchdog-install");
        // launcher stand-in: records the call; status answers from a "running" marker start/restart set
        fs.writeFileSync(path.join(t.dir, "svc.sh"), `echo "$1 $2" >> ${t.dir}/svc.log
case "$1" in start|restart) touch ${t.dir}/running ;; status) [ -f ${t.dir}/running ] || exit 3 ;; esac\n`);
    });
    afterEach(() => t.cleanup());

    it("installs its own copy of the script and the settings, starts the service; a re-run changes nothing; a new setting restarts it", () => {
        const first = install();
        expect(first.code, first.stderr).to.equal(0);
        expect(fs.readFileSync(path.join(t.dir, "home", "gluster", "brick-watchdog.sh"), "utf8")).to.equal(fs.readFileSync(path.join(NODE_SCRIPTS, "gluster", "brick-watchdog.sh"), "utf8"));
        expect(fs.existsSync(path.join(t.dir, "home", "lib", "common.sh"))).to.equal(true);
        const env = fs.readFileSync(path.join(t.dir, "etc", "brick-watchdog.env"), "utf8");
        expect(env).to.include("GLUSTER_BRICK_DIR=/data/glusterfs/gfs_v_r5/brick_b/brick\n").and.include("GLUSTER_WATCHDOG_KILL_AFTER_S=7\n");
        expect(svcCalls()).to.deep.equal([`status ${BRICK_WATCHDOG_SERVICE}`, `start ${BRICK_WATCHDOG_SERVICE}`, `status ${BRICK_WATCHDOG_SERVICE}`]);

        fs.rmSync(path.join(t.dir, "svc.log"));
        const again = install();
        expect(again.code, again.stderr).to.equal(0);
        expect(again.stderr).to.not.include("wrote ");
        expect(svcCalls()).to.not.include(`restart ${BRICK_WATCHDOG_SERVICE}`);

        fs.rmSync(path.join(t.dir, "svc.log"));
        const changed = install("17");
        expect(changed.code, changed.stderr).to.equal(0);
        expect(svcCalls()).to.include(`restart ${BRICK_WATCHDOG_SERVICE}`);
        expect(fs.readFileSync(path.join(t.dir, "etc", "brick-watchdog.env"), "utf8")).to.include("GLUSTER_WATCHDOG_KILL_AFTER_S=17\n");
    });
});
