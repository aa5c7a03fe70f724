import { expect } from "chai";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/**
 * The Galera recovery rules (scripts/node/galera/decide.sh, report.sh, lib.sh): a table of reports →
 * decision, including the edge cases the peers handle (Pacemaker's galera agent, mariadb-operator),
 * and the report's own classification of a node, run against a fake datadir.
 */
const GALERA = path.join(__dirname, "..", "scripts", "node", "galera");
const U = "7d733754-e5a4-11f1-a554-3f3c39c8d2d0";
const OTHER = "11111111-e5a4-11f1-a554-3f3c39c8d2d0";
const ZERO = "00000000-0000-0000-0000-000000000000";

type Fields = Record<string, string | number>;
/** A stopped node that crashed, holds data of cluster U and recovered position 10. */
const rep = (node: string, o: Fields = {}) =>
    Object.entries({
        node, running: 0, status: "-", state: "-", uuid: U, seqno: -1, safe: 0, recovered: 10, gvwstate: 0,
        datadir: "data", recover: "ok", sst: 0, cluster: U, ...o,
    })
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
const empty = (node: string, o: Fields = {}) =>
    rep(node, { uuid: "-", seqno: -1, recovered: "-", datadir: "empty", recover: "none", cluster: "-", ...o });

function decide(lines: string[], env: Record<string, string> = {}) {
    const r = spawnSync("bash", [path.join(GALERA, "decide.sh")], {
        input: lines.join("\n") + "\n",
        env: { PATH: process.env.PATH, GALERA_NODES: "db1,db2,db3", GALERA_DESIGNATED: "db1", ...env },
        encoding: "utf8",
    });
    return { out: r.stdout.trim(), code: r.status, err: r.stderr };
}

describe("galera/decide.sh: recovery never picks a node that is behind", () => {
    const table: Array<[string, string[], RegExp | string, Record<string, string>?]> = [
        ["joins a running Primary Component of the recorded cluster",
            [rep("db1"), rep("db2", { running: 1, status: "Primary", state: 4 }), rep("db3")], "join db2"],
        ["refuses to join a Primary that is not the recorded cluster (a node started a new one)",
            [rep("db1", { running: 1, status: "Primary", state: 4, uuid: OTHER, cluster: "-" }), rep("db2"), rep("db3")],
            /^refuse db1 runs a Primary Component of cluster 1111.*recorded cluster 7d73/],
        ["fresh cluster: bootstraps the designated node", ["db1", "db2", "db3"].map((n) => empty(n)), "bootstrap db1 fresh"],
        ["every datadir empty but a cluster was recorded: the data is missing, never a new cluster",
            [empty("db1"), empty("db2"), empty("db3", { cluster: U })], /^refuse every datadir is empty but the nodes recorded cluster/],
        ["a replaced node with an empty datadir never makes the cluster fresh",
            [empty("db1"), rep("db2", { recovered: 7 }), rep("db3", { recovered: 9 })], "bootstrap-force db3 highest-seqno=9"],
        ["refuses without every node's report", [rep("db1"), rep("db2")], /^refuse no report from db3/],
        ["refuses while a node runs without a Primary Component",
            [rep("db1", { running: 1, status: "non-Primary" }), rep("db2"), rep("db3")], /^refuse node\(s\) db1 run without a Primary Component/],
        ["a node still activating (SST, SQL not answering yet) counts as running",
            [rep("db1", { running: 1, status: "-", state: "-" }), rep("db2", { recovered: 50 }), rep("db3")], /^refuse node\(s\) db1 run/],
        ["waits when every node runs without a Primary yet",
            ["db1", "db2", "db3"].map((n) => rep(n, { running: 1, status: "non-Primary" })), /^wait /],
        ["a failed --wsrep-recover is unknown, never absent (even when the others agree)",
            [rep("db1", { recover: "failed", recovered: "-" }), rep("db2", { recovered: 12 }), rep("db3", { recovered: 12 })],
            /^refuse db1: mariadbd --wsrep-recover failed or timed out/],
        ["an unmounted datadir is unknown, never empty",
            [rep("db1", { datadir: "unmounted", uuid: "-", recovered: "-", recover: "none", cluster: "-" }), rep("db2"), rep("db3")],
            /^refuse db1: its data volume is not mounted/],
        ["lets pc.recovery try first when every node kept a (non-empty) view",
            ["db1", "db2", "db3"].map((n) => rep(n, { gvwstate: 1 })), "pc-recovery"],
        ["after pc.recovery failed, decides by position",
            [rep("db1", { gvwstate: 1, recovered: 4 }), rep("db2", { gvwstate: 1, recovered: 6 }), rep("db3", { gvwstate: 1 })],
            "bootstrap-force db3 highest-seqno=10", { GALERA_TRY_PC_RECOVERY: "0" }],
        ["prefers safe_to_bootstrap: 1 with a real seqno",
            [rep("db1", { seqno: 5 }), rep("db2", { seqno: 9, safe: 1 }), rep("db3", { seqno: 5 })], "bootstrap-force db2 safe_to_bootstrap"],
        ["distrusts safe_to_bootstrap: 1 with seqno -1",
            [rep("db1", { recovered: 20 }), rep("db2", { safe: 1, recovered: 3 }), rep("db3", { recovered: 5 })], "bootstrap-force db1 highest-seqno=20"],
        ["distrusts safe_to_bootstrap: 1 on a node that is behind another",
            [rep("db1", { seqno: 30 }), rep("db2", { seqno: 9, safe: 1 }), rep("db3", { seqno: 5 })], "bootstrap-force db1 highest-seqno=30"],
        ["distrusts safe_to_bootstrap: 1 with the zero UUID (Galera's needs-SST marker)",
            [rep("db1", { recovered: 8 }), rep("db2", { uuid: ZERO, seqno: -1, safe: 1, sst: 1, recovered: 8 }), rep("db3", { recovered: 2 })],
            "bootstrap-force db1 highest-seqno=8"],
        ["picks the highest committed seqno; ties go to the designated node, then plan order",
            [rep("db1", { recovered: 10 }), rep("db2", { recovered: 12 }), rep("db3", { recovered: 11 })], "bootstrap-force db2 highest-seqno=12"],
        ["tie with the designated node", [rep("db1", { recovered: 12 }), rep("db2", { recovered: 12 }), rep("db3", { recovered: 3 })], "bootstrap-force db1 highest-seqno=12"],
        ["tie without the designated node", [rep("db1", { recovered: 3 }), rep("db2", { recovered: 12 }), rep("db3", { recovered: 12 })], "bootstrap-force db2 highest-seqno=12"],
        ["a node marked for SST is never the source",
            [rep("db1", { recovered: 4 }), rep("db2", { sst: 1, uuid: ZERO, recovered: 4 }), rep("db3", { recovered: 3 })], "bootstrap-force db1 highest-seqno=4"],
        ["a node marked for SST that is AHEAD of every clean node stops the decision",
            [rep("db1", { recovered: 4 }), rep("db2", { sst: 1, uuid: ZERO, recovered: 40 }), rep("db3", { recovered: 3 })],
            /^refuse db2 is marked for SST by Galera but its InnoDB position 40 is ahead/],
        ["every node with data marked for SST: no source",
            ["db1", "db2", "db3"].map((n) => rep(n, { sst: 1, uuid: ZERO })), /^refuse every node that holds data needs SST/],
        ["refuses when nodes disagree on the cluster UUID",
            [rep("db1"), rep("db2", { uuid: OTHER }), rep("db3")], /^refuse (nodes disagree|db2 holds data of cluster)/],
        ["refuses when nodes recorded different clusters",
            [rep("db1"), rep("db2", { cluster: OTHER, uuid: OTHER }), rep("db3")], /^refuse nodes recorded different cluster UUIDs/],
        ["refuses when a node with data has no known position",
            [rep("db1", { recovered: "-" }), rep("db2", { recovered: 5 }), rep("db3", { recovered: 5 })], /^refuse db1 holds data but reported no committed position/],
        ["refuses a report from an older report.sh (missing fields), naming the field",
            ["node=db1 running=0 status=- state=- uuid=" + U + " seqno=-1 safe=0 recovered=10 gvwstate=0", rep("db2"), rep("db3")],
            /^refuse the report of db1 has no 'datadir' field/],
    ];
    for (const [name, lines, want, env] of table) {
        it(name, () => {
            const r = decide(lines, env);
            if (typeof want === "string") expect(r.out, r.err).to.equal(want);
            else expect(r.out, r.err).to.match(want);
            expect(r.code).to.equal(r.out.startsWith("refuse") ? 3 : 0);
        });
    }
    it("names the missing variable", () => {
        const r = spawnSync("bash", [path.join(GALERA, "decide.sh")], { input: "", env: { PATH: process.env.PATH }, encoding: "utf8" });
        expect(r.status).to.equal(2);
        expect(r.stderr).to.match(/GALERA_NODES GALERA_DESIGNATED/);
    });
});

/** Runs a function of scripts/node/galera/lib.sh (after common.sh) in bash. */
function libCall(snippet: string, env: Record<string, string> = {}) {
    const script = `set -euo pipefail; . ${JSON.stringify(path.join(GALERA, "..", "lib", "common.sh"))}; . ${JSON.stringify(path.join(GALERA, "lib.sh"))}; ${snippet}`;
    return spawnSync("bash", ["-c", script], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
}

describe("galera/lib.sh: the facts a report is built from", () => {
    it("parses the positions --wsrep-recover prints: uuid:seqno and uuid:seqno,gtid", () => {
        expect(libCall(`parse_recovered_position ${U}:12`).stdout.trim()).to.equal(`${U} 12`);
        expect(libCall(`parse_recovered_position ${U}:12,0-1-34`).stdout.trim()).to.equal(`${U} 12`);
        expect(libCall(`parse_recovered_position ${U}:-1`).stdout.trim()).to.equal(`${U} -1`);
        expect(libCall(`parse_recovered_position garbage`).status).to.not.equal(0);
        expect(libCall(`parse_recovered_position ${U}:`).status).to.not.equal(0);
    });
    it("tells a provably absent peer (TCP reset) from one that cannot be reached", async () => {
        const server = net.createServer((s) => s.end());
        await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
        const open = (server.address() as net.AddressInfo).port;
        const closed = await new Promise<number>((res) => {
            const s = net.createServer();
            s.listen(0, "127.0.0.1", () => { const p = (s.address() as net.AddressInfo).port; s.close(() => res(p)); });
        });
        // A peer that never answers (a frozen or partitioned host), made locally: a listener whose
        // accept queue is full drops new SYNs, so the connect times out as it would across a cut.
        const silent = spawn("python3", ["-c", [
            "import socket, sys, time",
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0); p = s.getsockname()[1]; cs = []",
            "for _ in range(3):\n    c = socket.socket(); c.setblocking(False)\n    try: c.connect(('127.0.0.1', p))\n    except BlockingIOError: pass\n    cs.append(c)",
            "time.sleep(0.3); print(p, flush=True); time.sleep(20)",
        ].join("\n")]);
        try {
            const silentPort = await new Promise<number>((res, rej) => {
                silent.stdout.once("data", (d: Buffer) => res(Number(d.toString().trim())));
                silent.once("error", rej);
            });
            expect(libCall(`GALERA_REPLICATION_PORT=${open} peer_probe 127.0.0.1 2`).stdout.trim()).to.equal("accept");
            expect(libCall(`GALERA_REPLICATION_PORT=${closed} peer_probe 127.0.0.1 2`).stdout.trim()).to.equal("refused");
            expect(libCall(`GALERA_REPLICATION_PORT=${silentPort} peer_probe 127.0.0.1 1`).stdout.trim()).to.equal("unknown");
        } finally {
            server.close();
            silent.kill();
        }
    });
});

describe("galera/report.sh: how a stopped node is classified", () => {
    let dir: string;
    let fstab: string;
    let fakeMariadbd: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "galera-report-"));
        fstab = path.join(dir, "fstab");
        fs.writeFileSync(fstab, "");
        fs.mkdirSync(path.join(dir, "data"));
        fakeMariadbd = path.join(dir, "mariadbd");
        // The no-systemd service seam answers "not running" (as the lab launcher does for a stopped daemon).
        fs.writeFileSync(path.join(dir, "svc-stopped.sh"), "#!/usr/bin/env bash\nexit 3\n", { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const datadir = () => path.join(dir, "data");
    /**
     * A stand-in for `mariadbd --wsrep-recover` that writes LINE to --log-error and exits CODE. Like
     * mariadbd it writes as its --user when started as root and that user exists (report.sh hands the
     * log file to mysql; root may not write another user's file in sticky /tmp under
     * fs.protected_regular).
     */
    const recoverPrints = (line: string, code = 0) =>
        fs.writeFileSync(
            fakeMariadbd,
            [
                "#!/usr/bin/env bash",
                'user=""; log=""',
                'for a in "$@"; do case "$a" in --user=*) user="${a#--user=}";; --log-error=*) log="${a#--log-error=}";; esac; done',
                '[ -n "$log" ] || exit ' + code,
                'if [ "$(id -u)" = 0 ] && [ -n "$user" ] && id "$user" >/dev/null 2>&1; then',
                `    printf '%s\\n' ${JSON.stringify(line)} | setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups tee "$log" >/dev/null`,
                "else",
                `    printf '%s\\n' ${JSON.stringify(line)} > "$log"`,
                "fi",
                `exit ${code}`,
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
    const grastate = (uuid: string, seqno: number, safe = 0) =>
        fs.writeFileSync(path.join(datadir(), "grastate.dat"), `# GALERA saved state\nversion: 2.1\nuuid:    ${uuid}\nseqno:   ${seqno}\nsafe_to_bootstrap: ${safe}\n`);
    const report = (extra: Record<string, string> = {}) => {
        const r = spawnSync("bash", [path.join(GALERA, "report.sh")], {
            env: {
                PATH: process.env.PATH, GALERA_NODE_NAME: "db1", GALERA_DATADIR: datadir(), OCHA_FSTAB: fstab,
                GALERA_MARIADBD: fakeMariadbd, OCLAB_SVC: path.join(dir, "svc-stopped.sh"), GALERA_RECOVER_TIMEOUT: "5", ...extra,
            },
            encoding: "utf8",
        });
        const kv = Object.fromEntries(r.stdout.trim().split(" ").map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
        return { kv, code: r.status, err: r.stderr };
    };
    const withData = () => fs.mkdirSync(path.join(datadir(), "mysql"));

    it("an empty datadir is empty, with no position to recover", () => {
        recoverPrints("", 1);
        const { kv } = report();
        expect(kv).to.include({ datadir: "empty", recover: "none", sst: "0", cluster: "-", running: "0" });
    });
    it("a datadir declared in fstab but not mounted is 'unmounted', not empty", () => {
        fs.writeFileSync(fstab, `UUID=abc ${datadir()} xfs defaults,nofail 0 0\n`);
        recoverPrints("", 1);
        expect(report().kv).to.include({ datadir: "unmounted", recovered: "-" });
    });
    it("a crash (seqno -1) recovers the committed position from InnoDB, gtid form included", () => {
        withData();
        grastate(U, -1);
        recoverPrints(`2026-11-29 12:00:00 0 [Note] WSREP: Recovered position: ${U}:42,0-1-77`);
        expect(report().kv).to.include({ datadir: "data", uuid: U, seqno: "-1", recovered: "42", recover: "ok", sst: "0" });
    });
    it("a failed or hung recovery is reported as failed with no position", () => {
        withData();
        grastate(U, -1);
        recoverPrints("", 1);
        expect(report().kv).to.include({ recover: "failed", recovered: "-" });
        fs.writeFileSync(fakeMariadbd, "#!/usr/bin/env bash\nsleep 30\n", { mode: 0o755 });
        expect(report({ GALERA_RECOVER_TIMEOUT: "1" }).kv).to.include({ recover: "failed", recovered: "-" });
    });
    it("keeps Galera's needs-SST marker (zero UUID beside data), and still reports the InnoDB position", () => {
        withData();
        grastate(ZERO, -1);
        recoverPrints(`WSREP: Recovered position: ${U}:9`);
        expect(report().kv).to.include({ sst: "1", recovered: "9", uuid: U });
    });
    it("a clean shutdown keeps its grastate position and flag, an empty gvwstate.dat counts as absent", () => {
        withData();
        grastate(U, 77, 1);
        fs.writeFileSync(path.join(datadir(), "gvwstate.dat"), "");
        recoverPrints("", 1);
        expect(report().kv).to.include({ seqno: "77", recovered: "77", safe: "1", recover: "none", gvwstate: "0" });
        fs.writeFileSync(path.join(datadir(), "gvwstate.dat"), "my_uuid: x\n");
        expect(report().kv).to.include({ gvwstate: "1" });
    });
    it("reports the cluster UUID recorded on the data volume", () => {
        withData();
        grastate(U, 5);
        fs.writeFileSync(path.join(datadir(), "owncloud-ha-cluster-uuid"), `${U}\n`);
        recoverPrints("", 1);
        expect(report().kv).to.include({ cluster: U });
    });
});

describe("galera/health-check.sh: 200 only for a node that can take writes", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "galera-health-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(path.join(dir, "datadir"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    /** A stand-in `mariadb` client: the status query answers STATUS; the heartbeat INSERT runs HEARTBEAT (bash). */
    const client = (status: string, heartbeat: string) =>
        fs.writeFileSync(
            path.join(dir, "bin", "mariadb"),
            `#!/usr/bin/env bash\nq="$*"\nif [[ "$q" == *"INSERT INTO owncloud_ha.heartbeat"* ]]; then ${heartbeat}\nelse printf '%b\\n' ${JSON.stringify(status)}; fi\n`,
            { mode: 0o755 },
        );
    const healthEnv = (env: Record<string, string> = {}) => ({
        PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
        GALERA_HEALTH_STATE_DIR: path.join(dir, "state"),
        GALERA_HEALTH_ENV: path.join(dir, "health.env"),
        ...env,
    });
    /** One evaluation (what the evaluator loop runs), writing the verdict. */
    const evaluate = (env: Record<string, string> = {}) => {
        fs.writeFileSync(path.join(dir, "health.env"), "GALERA_WRITER_ORDER=db1,db2,db3\n");
        const r = spawnSync("bash", [path.join(GALERA, "health-check.sh"), "evaluate"], { env: healthEnv(env), encoding: "utf8", timeout: 20_000 });
        expect(r.status, r.stderr).to.equal(0);
    };
    /** One check as HAProxy sends it: the answer from the latest verdict. */
    const check = (question?: string, env: Record<string, string> = {}) => {
        const r = spawnSync("bash", [path.join(GALERA, "health-check.sh"), ...(question ? [question] : [])], {
            input: "GET / HTTP/1.0\r\n\r\n",
            env: healthEnv(env),
            encoding: "utf8",
            timeout: 20_000,
        });
        return { code: Number(r.stdout.split(" ")[1]), body: r.stdout.split("\r\n\r\n")[1] ?? "" };
    };
    const ask = (env: Record<string, string> = {}, question?: string) => {
        evaluate(env);
        return check(question, env);
    };
    /** wsrep_local_state, wsrep_ready, wsrep_cluster_status, read_only, wsrep_node_name, datadir */
    const node = (state: number, me = "db1", cluster = "Primary", ro = 0) => `${state}\tON\t${cluster}\t${ro}\t${me}\t${path.join(dir, "datadir")}`;
    const synced = () => node(4);

    it("Synced, writable, space left and the heartbeat commits: 200", () => {
        client(synced(), "exit 0");
        expect(ask().code).to.equal(200);
    });
    it("a node that is Synced but cannot commit (lock wait timeout) is 503", () => {
        client(synced(), "echo 'ERROR 1205 (HY000): Lock wait timeout exceeded' >&2; exit 1");
        const r = ask();
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/heartbeat commit failed/);
    });
    it("a commit that hangs (frozen disk) is 503 within the evaluation's own bound", () => {
        client(synced(), "sleep 10");
        expect(ask().code).to.equal(503);
    });
    it("a data volume below the free-space floor is 503", () => {
        client(synced(), "exit 0");
        const r = ask({ GALERA_HEALTH_MIN_FREE_MB: String(1024 * 1024 * 1024) });
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/MiB free/);
    });
    it("before users.sh created the heartbeat table (first deploy, upgrade), the status alone decides", () => {
        client(synced(), "echo \"ERROR 1146 (42S02): Table 'owncloud_ha.heartbeat' doesn't exist\" >&2; exit 1");
        expect(ask().code).to.equal(200);
    });
    it("a Donor or a read-only node is 503 without writing", () => {
        client(node(2), "exit 0");
        expect(ask().code).to.equal(503);
        client(node(4, "db1", "Primary", 1), "exit 0");
        expect(ask().code).to.equal(503);
    });
    it("a node outside the Primary Component is 503 for every question", () => {
        client(node(4, "db1", "non-Primary"), "exit 0");
        for (const q of [undefined, "donor", "writer"]) {
            const r = ask({}, q);
            expect(r.code, q).to.equal(503);
            expect(r.body).to.match(/cluster_status=non-Primary/);
        }
    });
    it("the donor question: a Donor/Desynced node answers 200 (the last resort), a Joiner does not", () => {
        client(node(2), "exit 0");
        const r = ask({}, "donor");
        expect(r.code).to.equal(200);
        expect(r.body).to.match(/Donor/);
        expect(ask({}, "synced").code).to.equal(503);
        client(node(1), "exit 0");
        expect(ask({}, "donor").code).to.equal(503);
    });
    it("the donor question still requires space on the data volume and a commit", () => {
        client(node(2), "echo 'ERROR 1205 (HY000): Lock wait timeout exceeded' >&2; exit 1");
        expect(ask({}, "donor").code).to.equal(503);
        client(node(2), "exit 0");
        expect(ask({ GALERA_HEALTH_MIN_FREE_MB: String(1024 * 1024 * 1024) }, "donor").code).to.equal(503);
    });
    it("an unknown question is 503, naming it", () => {
        client(synced(), "exit 0");
        expect(ask({}, "bogus").body).to.match(/unknown health question 'bogus'/);
    });
    it("a check answers from the latest verdict and never talks to MariaDB itself", () => {
        client(synced(), "exit 0");
        evaluate();
        const calls = path.join(dir, "calls");
        fs.writeFileSync(path.join(dir, "bin", "mariadb"), `#!/usr/bin/env bash\necho "$*" >> ${JSON.stringify(calls)}\nexit 1\n`, { mode: 0o755 });
        for (const q of ["synced", "donor", "writer"]) expect(check(q).code, q).to.be.oneOf([200, 503]);
        expect(check("synced").code).to.equal(200);
        expect(fs.existsSync(calls)).to.equal(false);
    });
    it("no verdict yet is 503, naming the evaluator's unit", () => {
        const r = check("synced");
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/no health verdict yet .*galera-health-eval\.service/);
    });
    it("a verdict older than the bound is 503: the evaluation hangs (mariadbd frozen, disk hung)", () => {
        client(synced(), "exit 0");
        evaluate();
        const v = path.join(dir, "state", "verdict");
        const old = BigInt(Date.now() - 5000) * 1000n;
        fs.writeFileSync(v, fs.readFileSync(v, "utf8").replace(/^at \d+$/m, `at ${old}`));
        const r = check("synced");
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/latest health verdict is \d+ ms old \(over 2 s\)/);
        expect(check("synced", { GALERA_HEALTH_STALE_S: "10" }).code).to.equal(200);
    });
    it("the evaluator loop keeps the verdict current: a node leaving the Primary Component turns 503", async () => {
        client(synced(), "exit 0");
        fs.writeFileSync(path.join(dir, "health.env"), "GALERA_WRITER_ORDER=db1,db2,db3\n");
        const loop = spawn("bash", [path.join(GALERA, "health-check.sh"), "evaluator"], { env: healthEnv({ GALERA_HEALTH_EVAL_MS: "100" }), stdio: "ignore" });
        try {
            const until = async (what: string, ok: () => boolean) => {
                for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
                expect(ok(), what).to.equal(true);
            };
            await until("200 from the loop's verdict", () => check("synced").code === 200);
            client(node(4, "db1", "non-Primary"), "exit 0");
            await until("503 once the loop saw non-Primary", () => check("synced").code === 503);
            expect(check("synced").body).to.match(/cluster_status=non-Primary/);
        } finally {
            loop.kill("SIGTERM");
        }
    });
    it("the evaluator refuses an interval below 100 ms, naming the setting", () => {
        const r = spawnSync("bash", [path.join(GALERA, "health-check.sh"), "evaluator"], { env: healthEnv({ GALERA_HEALTH_EVAL_MS: "5" }), encoding: "utf8", timeout: 5000 });
        expect(r.status).to.equal(2);
        expect(r.stderr).to.match(/GALERA_HEALTH_EVAL_MS must be a number of ms >= 100 \(got '5'\)/);
    });
    it("writes the heartbeat at most once a second, whoever asks", () => {
        const counter = path.join(dir, "writes");
        client(synced(), `echo x >> ${JSON.stringify(counter)}; exit 0`);
        for (let i = 0; i < 5; i++) expect(ask().code).to.equal(200);
        expect(fs.readFileSync(counter, "utf8").trim().split("\n").length).to.be.at.most(2);
    });
});

describe("galera/health-check.sh writer: the cluster designates exactly one writer, and it stays", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "galera-writer-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(path.join(dir, "datadir"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const status = (me: string) => `4\tON\tPrimary\t0\t${me}\t${path.join(dir, "datadir")}`;
    /** Stand-in client: status of node `me`; the read answers the designated writer and heartbeat ages (ms). */
    const cluster = (me: string, writer: string | undefined, ages: Record<string, number>, claim = "exit 1") => {
        const rows = (writer === undefined ? "" : `writer\t${writer}\n`) + Object.entries(ages).map(([n, a]) => `beat\t${n}\t${a}\n`).join("");
        fs.writeFileSync(
            path.join(dir, "bin", "mariadb"),
            [
                "#!/usr/bin/env bash",
                'q="$*"',
                'if [[ "$q" == *"INSERT INTO owncloud_ha.heartbeat"* ]]; then exit 0',
                `elif [[ "$q" == *"INSERT INTO owncloud_ha.writer"* ]]; then printf '%s\\n' "$q" >> ${JSON.stringify(path.join(dir, "claims"))}; ${claim}`,
                `elif [[ "$q" == *"FROM owncloud_ha.heartbeat"* ]]; then printf '%b' ${JSON.stringify(rows)}`,
                `else printf '%b\\n' ${JSON.stringify(status(me))}; fi`,
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
    };
    /** One evaluation, then the writer question's answer from it. */
    const ask = () => {
        fs.writeFileSync(path.join(dir, "health.env"), "GALERA_WRITER_ORDER=db1,db2,db3\n");
        const env = { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, GALERA_HEALTH_STATE_DIR: path.join(dir, "state"), GALERA_HEALTH_ENV: path.join(dir, "health.env") };
        const e = spawnSync("bash", [path.join(GALERA, "health-check.sh"), "evaluate"], { env, encoding: "utf8", timeout: 20_000 });
        expect(e.status, e.stderr).to.equal(0);
        const r = spawnSync("bash", [path.join(GALERA, "health-check.sh"), "writer"], { input: "GET / HTTP/1.0\r\n\r\n", env, encoding: "utf8", timeout: 20_000 });
        return { code: Number(r.stdout.split(" ")[1]), body: r.stdout.split("\r\n\r\n")[1] ?? "" };
    };
    const claims = () => (fs.existsSync(path.join(dir, "claims")) ? fs.readFileSync(path.join(dir, "claims"), "utf8") : "");

    it("the designated node answers 200, without claiming", () => {
        cluster("db2", "db2", { db1: 100, db2: 100, db3: 100 });
        expect(ask().code).to.equal(200);
        expect(claims()).to.equal("");
    });
    it("sticky: the first node of the order, Synced and committing, is 503 while the designated db2 is alive", () => {
        cluster("db1", "db2", { db1: 100, db2: 2500, db3: 100 });
        const r = ask();
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/the designated writer is db2/);
        expect(claims()).to.equal("");
    });
    it("a stale designated writer: the first node of the order with a fresh heartbeat takes over (conditionally on the old one)", () => {
        cluster("db2", "db1", { db1: 4000, db2: 100, db3: 100 }, "echo db2");
        const r = ask();
        expect(r.code, r.body).to.equal(200);
        expect(r.body).to.match(/db2 took over as the designated writer from db1/);
        expect(claims()).to.match(/VALUES \(1, 'db2', NOW\(6\)\)/);
        expect(claims()).to.match(/IF\(node <=> 'db1', VALUES\(node\), node\)/);
    });
    it("a stale designated writer: a later node waits for the first fresh one, and says which", () => {
        cluster("db3", "db1", { db1: 4000, db2: 100, db3: 100 }, "echo db3");
        const r = ask();
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/db1 has no heartbeat .* db2 takes over/);
        expect(claims()).to.equal("");
    });
    it("a designated writer with no heartbeat row at all is stale (it never passed a check)", () => {
        cluster("db1", "db3", { db1: 100, db2: 100 }, "echo db1");
        expect(ask().code).to.equal(200);
    });
    it("no designated writer yet (fresh cluster): the first fresh node of the order claims", () => {
        cluster("db1", undefined, { db1: 100, db2: 100, db3: 100 }, "echo db1");
        expect(ask().code).to.equal(200);
        expect(claims()).to.match(/IF\(node <=> '', VALUES\(node\), node\)/);
    });
    it("a claim that loses (another node's claim certified first) is 503, naming the winner", () => {
        cluster("db2", "db1", { db1: 4000, db2: 100, db3: 100 }, "echo db3");
        const r = ask();
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/taking over the writer role from db1: db3/);
    });
    it("before users.sh created the writer table: 503 with the cause (HAProxy serves the Synced fallback)", () => {
        fs.writeFileSync(
            path.join(dir, "bin", "mariadb"),
            `#!/usr/bin/env bash\nq="$*"\nif [[ "$q" == *"FROM owncloud_ha.heartbeat"* ]]; then echo "ERROR 1146 (42S02): Table 'owncloud_ha.writer' doesn't exist" >&2; exit 1\nelif [[ "$q" == *INSERT* ]]; then exit 0\nelse printf '%b\\n' ${JSON.stringify(status("db1"))}; fi\n`,
            { mode: 0o755 },
        );
        const r = ask();
        expect(r.code).to.equal(503);
        expect(r.body).to.match(/cannot read the designated writer .*1146/);
    });
});
