import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_METRICS, NODE_METRICS_NAMESPACE, NODE_METRICS_PUBLISH_SECONDS } from "../components/shared/nodeMetrics";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";

/** Stand-in outputs of GlusterFS 10.3 in the CLI's shape: see test/fixtures/gluster/README.md. */
const FIXTURES = path.join(__dirname, "fixtures", "gluster");

/** `Name value` lines -> map. */
const parse = (out: string): Record<string, string> =>
    Object.fromEntries(out.trim().split("\n").filter(Boolean).map((l) => l.split(" ") as [string, string]));

/** A stand-in df that reports 250 KiB used and 750 KiB available for any path (and logs the path). */
function fakeDf(bin: string, log: string): void {
    fakeCommand(bin, "df", `echo "$@" >> ${log}\necho "Filesystem 1024-blocks Used Available Capacity Mounted on"\necho "/dev/x 1000 250 750 25% /x"`);
}

describe("node metrics: scripts/node/galera/metrics.sh --print (stand-in mariadb, df, date)", () => {
    let t: ReturnType<typeof tempDir>;
    let bin: string;
    const run = () => bash(`bash ${NODE_SCRIPTS}/galera/metrics.sh --print`, { PATH: `${bin}:${process.env.PATH}`, GALERA_METRICS_STATE_DIR: path.join(t.dir, "state") });
    const setStatus = (size: string, state: string, pausedNs: string, nowNs: string) => {
        fs.writeFileSync(path.join(t.dir, "status"), `${size}\t${state}\t${pausedNs}\t/var/lib/mysql/\n`);
        fs.writeFileSync(path.join(t.dir, "now"), nowNs);
    };
    beforeEach(() => {
        t = tempDir("galera-metrics");
        bin = path.join(t.dir, "bin");
        // mariadb: answers what the file says (absent file = server down), records its arguments and query.
        fakeCommand(bin, "mariadb", `printf '%s\\n' "$@" >> ${t.dir}/mariadb.args\n[ -f ${t.dir}/status ] || exit 1\ncat ${t.dir}/status`);
        fakeCommand(bin, "date", `if [ "\${1:-}" = "+%s%N" ]; then cat ${t.dir}/now; else exec /bin/date "$@"; fi`);
        fakeDf(bin, path.join(t.dir, "df.log"));
    });
    afterEach(() => t.cleanup());

    it("prints cluster size, local state and data free space with the health user's file, and no flow control on the first read", () => {
        setStatus("3", "4", "1000000000", "100000000000");
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        expect(parse(r.stdout)).to.deep.equal({ WsrepClusterSize: "3", WsrepLocalState: "4", DataFreePercent: "75.0" });
        const args = fs.readFileSync(path.join(t.dir, "mariadb.args"), "utf8");
        expect(args).to.include("--defaults-extra-file=/etc/mysql/galera-health.cnf");
        // The cumulative counter, never FLUSH STATUS (it would reset wsrep_flow_control_paused for every reader).
        expect(args).to.include("wsrep_flow_control_paused_ns");
        expect(args).to.not.match(/FLUSH/i);
        expect(fs.readFileSync(path.join(t.dir, "df.log"), "utf8")).to.include("/var/lib/mysql/");
    });

    it("adds the age of this node's last full backup, only on a node that took one", () => {
        setStatus("3", "4", "1000000000", "100000000000");
        const state = path.join(t.dir, "backup-state");
        const withState = () => bash(`bash ${NODE_SCRIPTS}/galera/metrics.sh --print`, {
            PATH: `${bin}:${process.env.PATH}`, GALERA_METRICS_STATE_DIR: path.join(t.dir, "state"), OCHA_BACKUP_STATE: state,
        });
        expect(parse(withState().stdout)).to.not.have.property("BackupAgeSeconds");
        fs.mkdirSync(state);
        fs.writeFileSync(path.join(state, "galera-last-success"), `${Math.floor(Date.now() / 1000) - 3600}\n`);
        const age = Number(parse(withState().stdout).BackupAgeSeconds);
        expect(age).to.be.within(3600, 3660);
    });

    it("publishes the share of time paused since the previous read, and starts over when the counter restarts", () => {
        setStatus("3", "4", "1000000000", "100000000000");
        run();
        // 6 s paused in 60 s.
        setStatus("3", "4", "7000000000", "160000000000");
        expect(parse(run().stdout).FlowControlPaused).to.equal("0.1000");
        // mariadbd restarted: the counter is smaller; this read only sets a new baseline.
        setStatus("2", "1", "500000000", "220000000000");
        const restarted = parse(run().stdout);
        expect(restarted).to.not.have.property("FlowControlPaused");
        expect(restarted).to.deep.include({ WsrepClusterSize: "2", WsrepLocalState: "1" });
        setStatus("3", "4", "500000000", "280000000000");
        expect(parse(run().stdout).FlowControlPaused).to.equal("0.0000");
    });

    it("reports size 0 and state 0 when mariadbd does not answer (so the cluster-size and not-synced alarms fire)", () => {
        fs.writeFileSync(path.join(t.dir, "now"), "1");
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        expect(parse(r.stdout)).to.deep.equal({ WsrepClusterSize: "0", WsrepLocalState: "0", DataFreePercent: "75.0" });
    });
});

describe("node metrics: scripts/node/gluster/metrics.sh --print (stand-in gluster with the CLI's output shapes, df)", () => {
    let t: ReturnType<typeof tempDir>;
    let bin: string;
    const run = (status: string | undefined, heal: string | undefined, exists = true) => {
        // gluster: `volume status VOL --xml` and `volume heal VOL info summary` from the recorded files; exit 1 when absent (glusterd down).
        fakeCommand(
            bin,
            "gluster",
            `args="$*"\necho "$args" >> ${path.join(t.dir, "calls")}\ncase "$args" in\n` +
                `  *"volume info gfs_v_r5"*) ${exists ? "echo 'Volume Name: gfs_v_r5'" : "echo 'Volume gfs_v_r5 does not exist' >&2; exit 1"} ;;\n` +
                `  *"volume status gfs_v_r5 --xml"*) ${status ? `cat ${path.join(FIXTURES, status)}` : "echo 'Connection failed' >&2; exit 1"} ;;\n` +
                `  *"volume heal gfs_v_r5 info summary"*) ${heal ? `cat ${path.join(FIXTURES, heal)}` : "exit 1"} ;;\n` +
                `  *) echo "unexpected: $args" >&2; exit 2 ;;\nesac`,
        );
        return bash(`bash ${NODE_SCRIPTS}/gluster/metrics.sh --print`, {
            PATH: `${bin}:${process.env.PATH}`,
            GLUSTER_METRICS_VOLUME: "gfs_v_r5",
            GLUSTER_METRICS_BRICK_MOUNT: "/srv/gluster/brick1",
        });
    };
    beforeEach(() => {
        t = tempDir("gluster-metrics");
        bin = path.join(t.dir, "bin");
        fakeDf(bin, path.join(t.dir, "df.log"));
    });
    afterEach(() => t.cleanup());

    it("counts the bricks online (not the self-heal daemons), sums pending heals and reads the brick's free space", () => {
        const r = run("status-all-online.xml", "heal-summary-clean.txt");
        expect(r.code, r.stderr).to.equal(0);
        expect(parse(r.stdout)).to.deep.equal({ BricksOnline: "3", PendingHeals: "0", BrickFreePercent: "75.0" });
        expect(fs.readFileSync(path.join(t.dir, "df.log"), "utf8")).to.include("/srv/gluster/brick1");
    });

    it("reports a killed brick, and omits pending heals while a brick cannot report them (never a false 0)", () => {
        const r = run("status-one-brick-down.xml", "heal-summary-one-brick-down.txt");
        expect(r.code, r.stderr).to.equal(0);
        expect(parse(r.stdout)).to.deep.equal({ BricksOnline: "2", BrickFreePercent: "75.0" });
    });

    it("sums entries pending heal over the bricks", () => {
        expect(parse(run("status-all-online.xml", "heal-summary-pending.txt").stdout).PendingHeals).to.equal("7");
    });

    it("before the volume exists: 0 bricks online, and no `volume status` or heal query (they take the volume's cluster-wide lock the first create needs)", () => {
        const r = run("status-all-online.xml", "heal-summary-clean.txt", false);
        expect(r.code, r.stderr).to.equal(0);
        expect(parse(r.stdout)).to.deep.equal({ BricksOnline: "0", BrickFreePercent: "75.0" });
        expect(fs.readFileSync(path.join(t.dir, "calls"), "utf8").trim().split("\n")).to.deep.equal(["--mode=script volume info gfs_v_r5"]);
    });

    it("reports 0 bricks online when glusterd does not answer", () => {
        const r = run(undefined, undefined);
        expect(r.code, r.stderr).to.equal(0);
        expect(parse(r.stdout)).to.deep.equal({ BricksOnline: "0", BrickFreePercent: "75.0" });
    });
});

describe("node metrics: --publish (stand-in aws)", () => {
    it("sends one bounded put-metric-data call in our namespace with the Cluster and Node dimensions, and refuses a bad value", () => {
        const t = tempDir("metrics-publish");
        try {
            const bin = path.join(t.dir, "bin");
            fakeCommand(bin, "aws", `printf '%s\\n' "$@" > ${t.dir}/aws.args`);
            const env = { PATH: `${bin}:${process.env.PATH}`, OCHA_METRICS_NAMESPACE: NODE_METRICS_NAMESPACE, OCHA_METRICS_CLUSTER: "dev-db", OCHA_METRICS_NODE: "node2", OCHA_METRICS_REGION: "eu-central-1" };
            const lib = `. ${NODE_SCRIPTS}/lib/common.sh; . ${NODE_SCRIPTS}/lib/metrics.sh`;
            const r = bash(`${lib}; printf 'WsrepClusterSize 3\\nFlowControlPaused 0.0125\\nDataFreePercent 80.5\\n' | metrics_publish`, env);
            expect(r.code, r.stderr).to.equal(0);
            const args = fs.readFileSync(path.join(t.dir, "aws.args"), "utf8").trim().split("\n");
            expect(args.slice(0, 6)).to.deep.equal(["cloudwatch", "put-metric-data", "--region", "eu-central-1", "--namespace", NODE_METRICS_NAMESPACE]);
            const data = JSON.parse(args[args.indexOf("--metric-data") + 1]);
            const dims = [{ Name: "Cluster", Value: "dev-db" }, { Name: "Node", Value: "node2" }];
            expect(data).to.deep.equal([
                { MetricName: "WsrepClusterSize", Value: 3, Unit: "Count", Dimensions: dims },
                { MetricName: "FlowControlPaused", Value: 0.0125, Unit: "None", Dimensions: dims },
                { MetricName: "DataFreePercent", Value: 80.5, Unit: "Percent", Dimensions: dims },
            ]);
            // A backup's age is the cluster's (whichever node took it): Cluster only, the dimension set the alarm reads.
            bash(`${lib}; printf 'BackupAgeSeconds 120\\n' | metrics_publish`, env);
            const ageArgs = fs.readFileSync(path.join(t.dir, "aws.args"), "utf8").trim().split("\n");
            expect(JSON.parse(ageArgs[ageArgs.indexOf("--metric-data") + 1])).to.deep.equal([
                { MetricName: BACKUP_METRICS.galera, Value: 120, Unit: "Seconds", Dimensions: [{ Name: "Cluster", Value: "dev-db" }] },
            ]);
            const bad = bash(`${lib}; printf 'WsrepClusterSize 3;rm\\n' | metrics_publish`, env);
            expect(bad.code).to.not.equal(0);
            expect(bad.stderr).to.match(/bad metric line/);
            // The call is bounded, so a hung endpoint never overlaps the next run of the timer.
            expect(fs.readFileSync(path.join(NODE_SCRIPTS, "lib", "metrics.sh"), "utf8")).to.match(/timeout "\$OCHA_METRICS_PUT_TIMEOUT_S" aws cloudwatch put-metric-data/);
        } finally {
            t.cleanup();
        }
    });

    it("runs every NODE_METRICS_PUBLISH_SECONDS (the cost model's request count and the alarms' period)", () => {
        const lib = fs.readFileSync(path.join(NODE_SCRIPTS, "lib", "metrics.sh"), "utf8");
        expect(/OnUnitActiveSec=(\d+)/.exec(lib)?.[1]).to.equal(String(NODE_METRICS_PUBLISH_SECONDS));
    });
});
