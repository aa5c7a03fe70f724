import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";

/**
 * galera/restart.sh and galera/verify.sh after a (re)start: the health answer lags the Synced state
 * for a moment (the socket is being started, the first heartbeat commit waits), so both wait for
 * 200 with a bounded retry, and every failure says its cause. Stand-ins: `mariadb` answers a Synced
 * Primary node of 3; `socat` plays the health endpoint from a script of answers, one per probe.
 */
function run(script: "restart.sh" | "verify.sh", answers: string[], env: Record<string, string> = {}) {
    const t = tempDir("galera-restart");
    try {
        const bin = path.join(t.dir, "bin");
        fakeCommand(bin, "mariadb", [
            `q="$*"`,
            `case "$q" in *wsrep_cluster_status*) echo Primary;; *wsrep_local_state_comment*) echo Synced;; *wsrep_local_state\\'*) echo 4;; *wsrep_cluster_size*) echo 3;; *wsrep_ready*) echo ON;; esac`,
        ].join("\n"));
        // each probe takes the next answer; the last one repeats. "nothing" = no HTTP answer at all.
        fs.writeFileSync(path.join(t.dir, "answers"), answers.join("\n") + "\n");
        fakeCommand(bin, "socat", [
            `cat >/dev/null`,
            `n=$(cat ${t.dir}/probes 2>/dev/null || echo 0); echo $((n + 1)) > ${t.dir}/probes`,
            `a=$(sed -n "$((n + 1))p" ${t.dir}/answers); [ -n "$a" ] || a=$(tail -n1 ${t.dir}/answers)`,
            `[ "$a" = nothing ] && exit 1`,
            `printf 'HTTP/1.1 %s\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s\\n' "\${a%% *}" "\${a#* }"`,
        ].join("\n"));
        // What configure.sh records for the scripts that run without the plan's environment.
        fs.writeFileSync(path.join(t.dir, "galera-ports.env"), "GALERA_HEALTH_PORT=9200\nGALERA_REPLICATION_PORT=4567\n");
        fakeCommand(t.dir, "svc.sh", `echo "svc $*" >> ${t.dir}/svc.log; exit 0`);
        const r = bash(`bash ${path.join(NODE_SCRIPTS, "galera", script)}`, {
            PATH: `${bin}:${process.env.PATH}`,
            OCLAB_SVC: path.join(t.dir, "svc.sh"),
            GALERA_DATADIR: t.dir,
            GALERA_HEALTH_ENV: path.join(t.dir, "none.env"),
            GALERA_PORTS_FILE: path.join(t.dir, "galera-ports.env"),
            GALERA_EXPECTED_SIZE: "3",
            GALERA_SYNC_TIMEOUT: "5",
            GALERA_PEERS: "10.1.0.11,10.1.0.12",
            ...env,
        }, 60_000);
        const probes = Number(fs.existsSync(path.join(t.dir, "probes")) ? fs.readFileSync(path.join(t.dir, "probes"), "utf8") : 0);
        const svc = fs.existsSync(path.join(t.dir, "svc.log")) ? fs.readFileSync(path.join(t.dir, "svc.log"), "utf8") : "";
        return { ...r, probes, svc };
    } finally {
        t.cleanup();
    }
}

describe("galera/verify.sh: the health answer after Synced, with a bounded retry", () => {
    it("nothing, then 503, then 200 (a node just started): passes once it answers 200", () => {
        const r = run("verify.sh", ["nothing", "503 Galera node not ready: local_state=1", "200 Galera node is Synced"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.probes).to.equal(3);
    });
    it("never 200: fails after its bound with the last answer, which names the cause", () => {
        const r = run("verify.sh", ["503 Galera node not ready: heartbeat commit failed or took over 2 s (exit 1)"], { GALERA_HEALTH_TIMEOUT: "2" });
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.match(/health endpoint on 9200 did not answer 200 within 2s; last answer: 503 Galera node not ready: heartbeat commit failed/);
    });
    it("nothing answers at all: says so, and where to look", () => {
        const r = run("verify.sh", ["nothing"], { GALERA_HEALTH_TIMEOUT: "2" });
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.match(/health endpoint on 9200 answered nothing for 2s \(is the galera-health socket listening/);
    });
    it("probes the port configure.sh recorded", () => {
        const t = tempDir("galera-health-env");
        try {
            fs.writeFileSync(path.join(t.dir, "ports.env"), "GALERA_HEALTH_PORT=9300\nGALERA_REPLICATION_PORT=4567\n");
            const r = run("verify.sh", ["nothing"], { GALERA_HEALTH_TIMEOUT: "1", GALERA_PORTS_FILE: path.join(t.dir, "ports.env") });
            expect(r.stderr).to.match(/health endpoint on 9300 answered nothing/);
        } finally {
            t.cleanup();
        }
    });
});

describe("galera/restart.sh: done only when the node is Synced and its health answers 200", () => {
    it("stops, starts as a joiner, then waits through a health answer that lags (the writer's restart)", () => {
        const r = run("restart.sh", ["nothing", "nothing", "200 Galera node is Synced"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.svc).to.match(/svc stop mariadb/);
        expect(r.probes).to.equal(3);
        expect(r.stderr).to.match(/restarted: Synced in a cluster of 3, health 200/);
    });
    it("a health answer that never comes: fails with the cause, not a bare 'answered nothing'", () => {
        const r = run("restart.sh", ["503 Galera node not ready: data volume has 100 MiB free (< 1024 MiB)"], { GALERA_HEALTH_TIMEOUT: "2" });
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.match(/last answer: 503 Galera node not ready: data volume has 100 MiB free/);
    });
});
