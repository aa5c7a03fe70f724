import { expect } from "chai";
import * as path from "path";
import { parseArgs } from "../scripts/ops/args";
import { backup, BACKUP_SCRIPTS, replacePreconditions, restore, status } from "../scripts/ops/commands";
import { OpsNode, OpsTarget, OpsUsageError } from "../scripts/ops/target";
import { NodeRunner, RunResult, ScriptRun } from "../scripts/ops/transport";
import { GALERA_PORTS } from "../components/database/ports";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";

const mk = (tier: "galera" | "gluster", i: number): OpsNode => ({
    tier, name: `node${i}`, address: `10.${tier === "galera" ? 1 : 2}.${(i - 1) * 16}.10`, urn: `urn:pulumi:dev::owncloud-ha::x$aws:ec2/instance:Instance::dev-${tier}-node${i}`,
});
const T: OpsTarget = {
    stack: "dev",
    bastion: { host: "192.0.2.20", port: 22 },
    sshUser: "admin",
    privateKey: "k",
    scriptsDir: "/home/admin/owncloud-ha/scripts",
    galera: { nodes: [1, 2, 3].map((i) => mk("galera", i)), bootstrapNode: "node1", syncTimeoutSeconds: 900 },
    gluster: { volume: "gfs_v_r5", nodes: [1, 2, 3].map((i) => mk("gluster", i)) },
    backupBuckets: {},
};

const SYNCED = "running=1 cluster_status=Primary state=4 state_comment=Synced cluster_size=3 ready=ON health=200";
const HEALTHY_FS = "volume=gfs_v_r5\ntype=Disperse\nstatus=Started\nbricks_online=3\nbricks_total=3\npending_heals=0";
const ok = (stdout: string): RunResult => ({ code: 0, stdout: stdout + "\n", stderr: "" });

/** Answers each node's script from a table keyed `tier-node script`; records what ran. */
class TableRunner implements NodeRunner {
    calls: string[] = [];
    constructor(private readonly table: Record<string, RunResult>, private readonly fallback: (n: OpsNode, r: ScriptRun) => RunResult) {}
    async runScript(n: OpsNode, r: ScriptRun): Promise<RunResult> {
        this.calls.push(`${n.tier}-${n.name} ${r.script}`);
        return this.table[`${n.tier}-${n.name} ${r.script}`] ?? this.fallback(n, r);
    }
}
const healthy = (n: OpsNode, r: ScriptRun) => {
    if (r.script === "galera/status.sh") return ok(SYNCED);
    if (r.script === "gluster/status.sh") {
        expect(r.env?.GLUSTER_VOLUME).to.equal("gfs_v_r5");
        return ok(HEALTHY_FS);
    }
    throw new Error(`unexpected ${r.script} on ${n.name}`);
};

describe("ops commands", () => {
    describe("status", () => {
        it("one line per node, exit 0 when every node is healthy", async () => {
            const lines: string[] = [];
            expect(await status(T, new TableRunner({}, healthy), (l) => lines.push(l))).to.equal(0);
            expect(lines).to.have.length(6);
            expect(lines[0]).to.match(/^galera\s+node1\s+10\.1\.0\.10\s+Synced Primary size=3\/3 health=200\s+ok$/);
            expect(lines[5]).to.match(/^gluster\s+node3\s+10\.2\.32\.10\s+Started bricks=3\/3 heals=0\s+ok$/);
        });
        const degraded: Array<[string, Record<string, RunResult>, RegExp]> = [
            ["a stopped mariadbd", { "galera-node2 galera/status.sh": ok("running=0 cluster_status=- state=- state_comment=- cluster_size=- ready=- health=-") }, /node2.*mariadbd stopped\s+DEGRADED: mariadbd is not running/],
            ["a Donor (health 503)", { "galera-node3 galera/status.sh": ok(SYNCED.replace("state=4 state_comment=Synced", "state=2 state_comment=Donor/Desynced").replace("health=200", "health=503")) }, /node3.*DEGRADED: local state Donor\/Desynced \(2\), not Synced; health check answers 503/],
            ["a node that sees 2 of 3", { "galera-node1 galera/status.sh": ok(SYNCED.replace("cluster_size=3", "cluster_size=2")) }, /node1.*DEGRADED: cluster size 2 of 3/],
            ["an unreachable node", { "galera-node1 galera/status.sh": { code: 255, stdout: "", stderr: "ssh: connect to host 10.1.0.10 port 22: Connection timed out" } }, /node1.*unreachable\s+DEGRADED: status.sh failed \(exit 255\): ssh: connect/],
            ["a brick down", { "gluster-node2 gluster/status.sh": ok(HEALTHY_FS.replace("bricks_online=3", "bricks_online=2")) }, /gluster\s+node2.*DEGRADED: bricks online 2\/3/],
            ["heals pending", { "gluster-node1 gluster/status.sh": ok(HEALTHY_FS.replace("pending_heals=0", "pending_heals=17")) }, /gluster\s+node1.*DEGRADED: pending heals 17/],
            ["heal count unknown", { "gluster-node1 gluster/status.sh": ok(HEALTHY_FS.replace("pending_heals=0", "pending_heals=?")) }, /DEGRADED: pending heals \?/],
            ["glusterd down", { "gluster-node3 gluster/status.sh": { code: 1, stdout: "volume=gfs_v_r5\nerror=glusterd not answering\n", stderr: "" } }, /gluster\s+node3.*glusterd not answering\s+DEGRADED: glusterd not answering/],
        ];
        for (const [what, table, line] of degraded) {
            it(`exit 1 and says so on the node's line: ${what}`, async () => {
                const lines: string[] = [];
                expect(await status(T, new TableRunner(table, healthy), (l) => lines.push(l))).to.equal(1);
                expect(lines.filter((l) => l.includes("DEGRADED"))).to.have.length(1);
                expect(lines.join("\n")).to.match(line);
            });
        }
    });

    describe("replace-node preconditions", () => {
        it("Galera: the others Synced (even seeing 2 of 3): no blocker; prints the exact replace line with the engine's URN", async () => {
            const r = new TableRunner(
                { "galera-node2 galera/status.sh": ok(SYNCED.replace("cluster_size=3", "cluster_size=2")), "galera-node3 galera/status.sh": ok(SYNCED.replace("cluster_size=3", "cluster_size=2")) },
                healthy,
            );
            const plan = await replacePreconditions(T, r, T.galera.nodes[0]);
            expect(plan.blockers).to.deep.equal([]);
            expect(plan.command).to.equal(`pulumi up --stack dev --replace '${T.galera.nodes[0].urn}'`);
            expect(r.calls).to.deep.equal(["galera-node2 galera/status.sh", "galera-node3 galera/status.sh"]);
        });
        it("Galera: another node not Synced, or a node outside the Primary, blocks", async () => {
            const plan = await replacePreconditions(T, new TableRunner({ "galera-node3 galera/status.sh": ok(SYNCED.replace("state=4 state_comment=Synced", "state=1 state_comment=Joining")) }, healthy), T.galera.nodes[0]);
            expect(plan.blockers.join()).to.match(/^node3: local state Joining/);
            const split = await replacePreconditions(T, new TableRunner({ "galera-node2 galera/status.sh": ok(SYNCED.replace("cluster_size=3", "cluster_size=1")) }, healthy), T.galera.nodes[0]);
            expect(split.blockers.join()).to.match(/node2 sees cluster size 1/);
        });
        it("GlusterFS: one brick missing (the node's) is fine; two missing, or heals pending with every brick up, block", async () => {
            const down = ok(HEALTHY_FS.replace("bricks_online=3", "bricks_online=2").replace("pending_heals=0", "pending_heals=?"));
            expect((await replacePreconditions(T, new TableRunner({ "gluster-node2 gluster/status.sh": down, "gluster-node3 gluster/status.sh": down }, healthy), T.gluster.nodes[0])).blockers).to.deep.equal([]);
            const two = ok(HEALTHY_FS.replace("bricks_online=3", "bricks_online=1"));
            expect((await replacePreconditions(T, new TableRunner({ "gluster-node2 gluster/status.sh": two }, healthy), T.gluster.nodes[0])).blockers.join()).to.match(/node2 sees 1\/3 bricks online/);
            const heals = ok(HEALTHY_FS.replace("pending_heals=0", "pending_heals=4"));
            expect((await replacePreconditions(T, new TableRunner({ "gluster-node3 gluster/status.sh": heals }, healthy), T.gluster.nodes[0])).blockers.join()).to.match(/node3: 4 entries pending heal/);
        });
    });

    describe("backup", () => {
        // what galera/backup.sh and gluster/backup.sh print on a node that is not the chosen one
        const none = ok('{"skipped": true, "chosen": "node2"}');
        it("database first, then files; every node runs the installed script one at a time; reports who took it and the keys", async () => {
            const r = new TableRunner(
                {
                    [`galera-node2 ${BACKUP_SCRIPTS.galeraBackup}`]: ok('log line\n{"backup": "20261129T140000Z-node2", "url": "s3://b/galera/full/20261129T140000Z-node2"}'),
                    [`gluster-node1 ${BACKUP_SCRIPTS.glusterBackup}`]: ok('{"backup": "20261129T140100Z-node1", "url": "s3://b/files/full/20261129T140100Z-node1", "files": 3}'),
                },
                () => none,
            );
            const lines: string[] = [];
            const taken = await backup(T, r, (l) => lines.push(l));
            expect(taken).to.deep.equal([
                { tier: "galera", node: "node2", keys: '{"backup": "20261129T140000Z-node2", "url": "s3://b/galera/full/20261129T140000Z-node2"}' },
                { tier: "gluster", node: "node1", keys: '{"backup": "20261129T140100Z-node1", "url": "s3://b/files/full/20261129T140100Z-node1", "files": 3}' },
            ]);
            expect(r.calls).to.deep.equal([
                ...[1, 2, 3].map((i) => `galera-node${i} /opt/owncloud-ha/backup/galera/backup.sh`),
                ...[1, 2, 3].map((i) => `gluster-node${i} /opt/owncloud-ha/backup/gluster/backup.sh`),
            ]);
            expect(lines[3]).to.match(/gluster\s+node1\s+took the backup: .*s3:\/\/b\/files\/full/);
        });
        it("fails naming the node when a script fails, and never goes on to the files", async () => {
            const r = new TableRunner({ [`galera-node1 ${BACKUP_SCRIPTS.galeraBackup}`]: { code: 1, stdout: "", stderr: "mariabackup: cannot connect" } }, () => none);
            let err: Error | undefined;
            await backup(T, r, () => undefined).catch((e) => (err = e));
            expect(err?.message).to.match(/backup.sh on galera-node1 failed \(exit 1\)/).and.match(/mariabackup: cannot connect/);
            expect(r.calls.some((c) => c.startsWith("gluster"))).to.equal(false);
        });
        it("fails when no node took a backup (nothing was saved)", async () => {
            let err: Error | undefined;
            await backup(T, new TableRunner({}, () => none), () => undefined).catch((e) => (err = e));
            expect(err?.message).to.match(/no galera node took a backup/);
        });
    });

    describe("restore (the procedure of scripts/ops/restore-procedure.ts)", () => {
        const at = (n: string, r: ScriptRun) => `${n} ${r.script}${r.args ? " " + r.args.join(" ") : ""}`;
        class ArgsRunner implements NodeRunner {
            calls: string[] = [];
            constructor(private readonly fail: (call: string) => RunResult | undefined = () => undefined) {}
            async runScript(n: OpsNode, r: ScriptRun): Promise<RunResult> {
                const call = at(`${n.tier}-${n.name}`, r);
                this.calls.push(call);
                return this.fail(call) ?? ok("{}");
            }
        }
        it("checks first (restore.sh check on the bootstrap node and a Gluster node); without --yes changes nothing", async () => {
            const r = new ArgsRunner();
            const lines: string[] = [];
            expect(await restore(T, r, (l) => lines.push(l), { to: "2026-11-29T14:05:00Z", execute: false })).to.equal(0);
            expect(r.calls).to.deep.equal([
                "galera-node1 galera/restore.sh check --to 2026-11-29T14:05:00Z",
                "gluster-node1 gluster/restore.sh check --to 2026-11-29T14:05:00Z",
            ]);
            expect(lines.join("\n")).to.match(/run again with --yes/).and.match(/galera-node1: restore the datadir/);
        });
        it("a failing check stops everything before any node is stopped (exit 3)", async () => {
            const r = new ArgsRunner((c) => (c.startsWith("gluster-node1 gluster/restore.sh check") ? { code: 1, stdout: "", stderr: "no complete snapshot finished before 2026-11-29T14:05:00Z" } : undefined));
            const lines: string[] = [];
            expect(await restore(T, r, (l) => lines.push(l), { to: "2026-11-29T14:05:00Z", execute: true })).to.equal(3);
            expect(r.calls.some((c) => c.includes("stop.sh") || c.includes("start.sh") || c.includes("datadir"))).to.equal(false);
            expect(lines.join("\n")).to.match(/no complete snapshot/).and.match(/Nothing was stopped or changed/);
        });
        it("--yes: ship, stop all, restore and bootstrap node1, wipe and join the others one at a time, then the files", async () => {
            const r = new ArgsRunner();
            expect(await restore(T, r, () => undefined, { to: "2026-11-29T14:05:00Z", execute: true })).to.equal(0);
            const calls = r.calls.slice(2);
            expect(calls.slice(0, 3).sort()).to.deep.equal([1, 2, 3].map((i) => `galera-node${i} galera/binlog-ship.sh`));
            expect(calls.slice(3, 6).sort()).to.deep.equal([1, 2, 3].map((i) => `galera-node${i} galera/stop.sh`));
            expect(calls.slice(6)).to.deep.equal([
                "galera-node1 galera/restore.sh datadir --to 2026-11-29T14:05:00Z",
                "galera-node1 galera/start.sh",
                "galera-node2 galera/restore.sh wipe",
                "galera-node2 galera/start.sh",
                "galera-node3 galera/restore.sh wipe",
                "galera-node3 galera/start.sh",
                "gluster-node1 gluster/restore.sh files --to 2026-11-29T14:05:00Z",
            ]);
        });
        it("a failed join stops the procedure and says the data directories were changed", async () => {
            const r = new ArgsRunner((c) => (c === "galera-node2 galera/start.sh" ? { code: 1, stdout: "", stderr: "SST failed" } : undefined));
            let err: Error | undefined;
            await restore(T, r, () => undefined, { to: "2026-11-29T14:05:00Z", execute: true }).catch((e) => (err = e));
            expect(err?.message).to.match(/galera-node2: join by SST .*failed \(exit 1\)/).and.match(/SST failed/).and.match(/data directories were changed/);
            expect(r.calls.at(-1)).to.equal("galera-node2 galera/start.sh");
        });
    });

    describe("arguments", () => {
        it("parses each command and option", () => {
            expect(parseArgs(["dev", "status"])).to.deep.equal({ stack: "dev", command: { kind: "status" }, outputsFile: undefined, knownHostsFile: undefined });
            expect(parseArgs(["prod", "replace-node", "gluster-node2", "--verify", "--outputs", "o.json", "--known-hosts", "kh"])).to.deep.equal({
                stack: "prod", command: { kind: "replace-node", node: "gluster-node2", verify: true }, outputsFile: "o.json", knownHostsFile: "kh",
            });
            expect(parseArgs(["dev", "restore", "--to", "2026-11-29T14:05:00Z", "--yes"])).to.deep.include({ command: { kind: "restore", to: "2026-11-29T14:05:00Z", execute: true } });
            // no --to: now, to the second, in the form the node scripts take
            const now = parseArgs(["dev", "restore"]);
            expect(now).to.have.nested.property("command.kind", "restore");
            expect((now as { command: { to: string } }).command.to).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
            expect(parseArgs([])).to.equal("help");
            expect(parseArgs(["dev", "--help"])).to.equal("help");
        });
        const bad: Array<[string[], RegExp]> = [
            [["dev"], /give a command/],
            [["dev", "stat"], /unknown command stat/],
            [["dev", "status", "extra"], /status takes no argument/],
            [["dev", "replace-node"], /replace-node takes one node/],
            [["dev", "status", "--verify"], /--verify belongs to replace-node/],
            [["dev", "status", "--outputs"], /--outputs needs a value/],
            [["dev", "status", "--force"], /unknown option --force/],
            [["dev;rm", "status"], /give the stack name first/],
            [["dev", "restore", "--to", "yesterday"], /--to "yesterday": give a UTC time like/],
            [["dev", "status", "--yes"], /--yes belongs to restore/],
        ];
        for (const [argv, msg] of bad) {
            it(`refuses ${argv.join(" ")}`, () => {
                expect(() => parseArgs(argv)).to.throw(OpsUsageError, msg);
            });
        }
    });
});

describe("galera/status.sh: one line of the node's wsrep state and health code", () => {
    function run(opts: { running: boolean; health: string }) {
        const t = tempDir("galera-status");
        try {
            const bin = path.join(t.dir, "bin");
            // mariadb answers the variable named in the query; socat plays the 9200 check.
            fakeCommand(bin, "mariadb", [
                `q="$*"`,
                `case "$q" in *wsrep_cluster_status*) echo Primary;; *wsrep_local_state_comment*) echo "Donor/Desynced";; *wsrep_local_state\\'*) echo 2;; *wsrep_cluster_size*) echo 3;; *wsrep_ready*) echo ON;; esac`,
            ].join("\n"));
            fakeCommand(bin, "socat", `cat >/dev/null; printf 'HTTP/1.1 ${opts.health} x\\r\\n'`);
            fakeCommand(t.dir, "svc.sh", `[ "$1" = status ] && exit ${opts.running ? 0 : 3}; exit 0`);
            // The health port as galera/configure.sh records it from the plan (components/database/ports.ts).
            return bash(`bash ${path.join(NODE_SCRIPTS, "galera/status.sh")}`, { PATH: `${bin}:${process.env.PATH}`, OCLAB_SVC: path.join(t.dir, "svc.sh"), GALERA_HEALTH_PORT: String(GALERA_PORTS.health) });
        } finally {
            t.cleanup();
        }
    }
    it("a running node: status, state, comment (no spaces), size, ready, health", () => {
        const r = run({ running: true, health: "503" });
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.equal("running=1 cluster_status=Primary state=2 state_comment=Donor/Desynced cluster_size=3 ready=ON health=503\n");
    });
    it("a stopped node: running=0, nothing else known, exit 0", () => {
        const r = run({ running: false, health: "" });
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/^running=0 cluster_status=- state=- state_comment=- cluster_size=- ready=- health=/);
    });
});
