import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";
import { lastJson, parseRestoreTime, restoreSteps, restoreToPointInTime } from "../scripts/ops/restore-procedure";
import { OpsNode } from "../scripts/ops/target";
import { NodeRunner, RunResult, ScriptRun } from "../scripts/ops/transport";

const lib = `. ${NODE_SCRIPTS}/lib/common.sh; . ${NODE_SCRIPTS}/lib/backup.sh`;

describe("backups: scripts/node/lib/backup.sh", () => {
    describe("backup_choose: exactly one member takes the scheduled backup", () => {
        const order = "node3,node2,node1";
        const addrs = "10.1.0.12,10.1.0.11,10.1.0.10";
        const choose = (members: string) => bash(`${lib}; backup_choose ${order} ${addrs} '${members}'`);
        const cases: [string, string, string][] = [
            ["every node is a member: the first in the order (never the writer, listed last)", "10.1.0.10:3306,10.1.0.11:3306,10.1.0.12:3306", "node3"],
            ["node3 is gone: node2", "10.1.0.10:3306,10.1.0.11:3306", "node2"],
            ["only the writer is left: it takes it rather than nobody", "10.1.0.10:3306", "node1"],
            ["members given without ports (Gluster peers)", "10.1.0.11 10.1.0.10", "node2"],
            ["an address that merely starts like a node's is not that node", "10.1.0.120:3306,10.1.0.1:3306", ""],
            ["no member at all: nobody", "", ""],
        ];
        for (const [what, members, want] of cases) {
            it(what, () => {
                const r = choose(members);
                expect(r.code, r.stderr).to.equal(0);
                expect(r.stdout.trim()).to.equal(want);
            });
        }
        it("refuses names and addresses of different lengths", () => {
            const r = bash(`${lib}; backup_choose node1,node2 10.1.0.10 10.1.0.10`);
            expect(r.code).to.not.equal(0);
            expect(r.stderr).to.include("BACKUP_NODE_ORDER has 2 names but BACKUP_NODE_ADDRESSES 1");
        });
    });

    it("time stamps in keys sort by time and read back to the same second", () => {
        const r = bash(`${lib}; s=$(backup_stamp 1764424800); echo $s; backup_stamp_epoch $s; backup_stamp_epoch 20261129T140000Z-node1 || echo refused`);
        expect(r.stdout.trim().split("\n")).to.deep.equal(["20251129T140000Z", String(Date.parse("2025-11-29T14:00:00Z") / 1000), "refused"]);
    });

    it("picks the newest backup at or before the limit, and none when all are later", () => {
        const names = "20261124T023000Z-node3 20261125T023000Z-node2 20261126T023000Z-node3";
        const pick = (limit: string) => bash(`${lib}; backup_pick_before $(date -u -d '${limit}' +%s) ${names}`).stdout.trim();
        expect(pick("2026-11-25 12:00:00")).to.equal("20261125T023000Z-node2");
        expect(pick("2026-11-26 02:30:00")).to.equal("20261126T023000Z-node3");
        expect(pick("2026-11-20 00:00:00")).to.equal("");
    });

    it("takes --to as UTC in either form and refuses anything else with the expected form", () => {
        expect(bash(`${lib}; backup_time_epoch '2026-11-24 14:05:00'; backup_time_epoch 2026-11-24T14:05:00Z`).stdout.trim().split("\n")).to.deep.equal([
            String(Date.parse("2026-11-24T14:05:00Z") / 1000), String(Date.parse("2026-11-24T14:05:00Z") / 1000),
        ]);
        const bad = bash(`${lib}; backup_time_epoch 'yesterday'`);
        expect(bad.code).to.not.equal(0);
        expect(bad.stderr).to.include("is not a UTC time like 2026-11-24 14:05:00");
    });

    it("installs the scripts and writes every BACKUP_ setting (digits included) for the timers and operators", () => {
        const t = tempDir("backup-install");
        try {
            const env = {
                OCHA_BACKUP_HOME: path.join(t.dir, "home"), OCHA_BACKUP_ENV_FILE: path.join(t.dir, "etc", "backup.env"), OCHA_BACKUP_STATE: path.join(t.dir, "state"),
                BACKUP_BUCKET: "bk", BACKUP_PREFIX: "galera", BACKUP_S3_ENDPOINT: "http://198.18.0.1:9000", UNRELATED: "x",
            };
            const r = bash(`${lib}; backup_install galera galera/backup.sh galera/restore.sh`, env);
            expect(r.code, r.stderr).to.equal(0);
            expect(fs.readFileSync(env.OCHA_BACKUP_ENV_FILE, "utf8").trim().split("\n")).to.deep.equal([
                "BACKUP_BUCKET=bk", "BACKUP_PREFIX=galera", "BACKUP_S3_ENDPOINT=http://198.18.0.1:9000",
            ]);
            for (const f of ["lib/common.sh", "lib/backup.sh", "galera/lib.sh", "galera/backup.sh", "galera/restore.sh"]) {
                expect(fs.existsSync(path.join(env.OCHA_BACKUP_HOME, f)), f).to.equal(true);
            }
        } finally {
            t.cleanup();
        }
    });

    describe("backup_choose_before: the restore starts from the newest COMPLETE backup finished before the time", () => {
        let t: ReturnType<typeof tempDir>;
        let bin: string;
        // stand-in aws: `s3 ls` lists the keys in $dir/listing; `s3 cp s3://b/KEY -` prints $dir/objects/<KEY with / as _>
        const at = (iso: string) => Date.parse(iso) / 1000;
        beforeEach(() => {
            t = tempDir("choose-before");
            bin = path.join(t.dir, "bin");
            fakeCommand(bin, "aws", [
                `for a in "$@"; do case "$a" in ls) cat ${t.dir}/listing; exit 0 ;; esac; done`,
                `src="$(for a in "$@"; do case "$a" in s3://*) echo "$a"; break ;; esac; done)"`,
                `f="${t.dir}/objects/$(echo "\${src#s3://bk/}" | tr / _)"; [ -f "$f" ] && cat "$f" || exit 1`,
            ].join("\n"));
            fs.mkdirSync(path.join(t.dir, "objects"));
            const backups: [string, number | undefined][] = [
                ["20261124T023000Z-node3", at("2026-11-24T02:41:00Z")],
                ["20261125T023000Z-node2", at("2026-11-25T02:44:00Z")],
                ["20261126T023000Z-node3", undefined], // no manifest: incomplete, never used
            ];
            const lines: string[] = [];
            for (const [name, finished] of backups) {
                lines.push(`2026-11-26 02:40:00 100 galera/full/${name}/backup.xbstream.zst`);
                if (finished !== undefined) {
                    lines.push(`2026-11-26 02:40:00 100 galera/full/${name}/manifest.json`);
                    fs.writeFileSync(path.join(t.dir, "objects", `galera_full_${name}_manifest.json`), `{"name": "${name}", "finishedAt": ${finished}}\n`);
                }
            }
            fs.writeFileSync(path.join(t.dir, "listing"), lines.join("\n") + "\n");
        });
        afterEach(() => t.cleanup());
        const choose = (args: string) =>
            bash(`${lib}; backup_restore_args ${args}; backup_choose_before "$restore_to" "$restore_pick"; echo "$chosen"`, {
                PATH: `${bin}:${process.env.PATH}`, BACKUP_BUCKET: "bk", BACKUP_PREFIX: "galera", BACKUP_REGION: "eu-central-1", BACKUP_NODE: "node1",
            });
        it("skips a backup without a manifest and one that finished after the time", () => {
            expect(choose("--to 2026-11-27T00:00:00Z").stdout.trim()).to.equal("20261125T023000Z-node2");
            // started before 02:43 but finished after it: its consistent point is later than the time
            expect(choose("--to 2026-11-25T02:43:00Z").stdout.trim()).to.equal("20261124T023000Z-node3");
        });
        it("refuses a time before every backup, and a named backup that finished after the time", () => {
            const none = choose("--to 2026-11-24T02:35:00Z");
            expect(none.code).to.not.equal(0);
            expect(none.stderr).to.include("no complete backup finished before 2026-11-24T02:35:00Z (backups: 20261124T023000Z-node3 20261125T023000Z-node2)");
            expect(choose("--to 2026-11-24T12:00:00Z --backup 20261125T023000Z-node2").code).to.not.equal(0);
            expect(choose("--to 2026-11-27T00:00:00Z --backup 20261124T023000Z-node3").stdout.trim()).to.equal("20261124T023000Z-node3");
        });
        it("needs --to and refuses other arguments with the expected form", () => {
            expect(choose("").stderr).to.include("give --to TIME (UTC, like 2026-11-24T14:05:00Z)");
            expect(choose("--since x").stderr).to.include("unexpected argument '--since'");
        });
    });

    it("reads unset settings from the env file, never overriding the environment", () => {
        const t = tempDir("backup-env");
        try {
            const f = path.join(t.dir, "backup.env");
            fs.writeFileSync(f, "BACKUP_BUCKET=from-file\nBACKUP_PREFIX=galera\nNOT_OURS=x\n");
            const r = bash(`${lib}; OCHA_BACKUP_ENV_FILE=${f}; BACKUP_PREFIX=from-env backup_load_env; echo "$BACKUP_BUCKET $BACKUP_PREFIX \${NOT_OURS:-unset}"`);
            expect(r.stdout.trim()).to.equal("from-file from-env unset");
        } finally {
            t.cleanup();
        }
    });
});

describe("backups: gluster/lib.sh online_brick_hosts (stand-in gluster with recorded 10.3 output)", () => {
    it("lists the address of every brick whose process is online, not the self-heal daemons", () => {
        const t = tempDir("online-bricks");
        try {
            const bin = path.join(t.dir, "bin");
            const fixtures = path.join(__dirname, "fixtures", "gluster");
            fakeCommand(bin, "gluster", `cat "${fixtures}/$(cat ${t.dir}/which)"`);
            const hosts = (which: string) => {
                fs.writeFileSync(path.join(t.dir, "which"), which);
                return bash(`. ${NODE_SCRIPTS}/lib/common.sh; . ${NODE_SCRIPTS}/gluster/lib.sh; online_brick_hosts gfs_v_r5`, { PATH: `${bin}:${process.env.PATH}` }).stdout.trim().split("\n");
            };
            const all = hosts("status-all-online.xml");
            expect(all).to.have.length(3);
            const down = hosts("status-one-brick-down.xml");
            expect(down).to.have.length(2);
            expect(all).to.include.members(down);
            expect(all.every((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h))).to.equal(true);
        } finally {
            t.cleanup();
        }
    });
});

describe("backups: galera/lib.sh gtid_seq", () => {
    it("finds the cluster domain's sequence number in a GTID list", () => {
        const g = (list: string, d: string) => bash(`. ${NODE_SCRIPTS}/lib/common.sh; . ${NODE_SCRIPTS}/galera/lib.sh; gtid_seq '${list}' ${d}`).stdout.trim();
        expect(g("1-1-42,101-1-3", "1")).to.equal("42");
        expect(g("101-1-3, 1-1-7", "1")).to.equal("7");
        expect(g("101-1-3", "1")).to.equal("0");
    });
});

describe("backups: galera/binlog-ship.sh (stand-in mariadb and aws)", () => {
    let t: ReturnType<typeof tempDir>;
    let bin: string;
    let datadir: string;
    const run = () =>
        bash(`bash ${NODE_SCRIPTS}/galera/binlog-ship.sh`, {
            PATH: `${bin}:${process.env.PATH}`,
            GALERA_DATADIR: datadir,
            OCHA_BACKUP_STATE: path.join(t.dir, "state"),
            OCHA_BACKUP_ENV_FILE: path.join(t.dir, "none.env"),
            BACKUP_BUCKET: "bk",
            BACKUP_PREFIX: "galera",
            BACKUP_NODE: "node2",
            BACKUP_REGION: "eu-central-1",
        });
    const uploads = () => (fs.existsSync(path.join(t.dir, "aws.log")) ? fs.readFileSync(path.join(t.dir, "aws.log"), "utf8").trim().split("\n") : []);
    const write = (name: string, bytes: number) => fs.writeFileSync(path.join(datadir, name), Buffer.alloc(bytes));
    beforeEach(() => {
        t = tempDir("binlog-ship");
        bin = path.join(t.dir, "bin");
        datadir = path.join(t.dir, "mysql");
        fs.mkdirSync(datadir);
        // mariadb: SHOW MASTER STATUS prints the file named in $dir/current and its size; FLUSH starts the next file.
        fakeCommand(bin, "mariadb", [
            `q="$(cat)"; d=${datadir}; cur="$(cat ${t.dir}/current)"`,
            `case "$q" in`,
            `  *FLUSH*) n=$((10#\${cur##*.} + 1)); next="mariadb-bin.$(printf %06d $n)"; : > "$d/$next"; echo "$d/$next" >> "$d/mariadb-bin.index"; echo "$next" > ${t.dir}/current; echo FLUSH >> ${t.dir}/flushes ;;`,
            `  *SHOW\\ MASTER*) printf '%s\\t%s\\n' "$cur" "$(stat -c %s "$d/$cur")" ;;`,
            `esac`,
        ].join("\n"));
        fakeCommand(bin, "aws", `echo "$*" >> ${t.dir}/aws.log`);
        fakeCommand(bin, "timeout", `shift; exec "$@"`);
        write("mariadb-bin.000001", 500);
        fs.writeFileSync(path.join(datadir, "mariadb-bin.index"), `${datadir}/mariadb-bin.000001\n`);
        fs.writeFileSync(path.join(t.dir, "current"), "mariadb-bin.000001");
    });
    afterEach(() => t.cleanup());

    it("rotates a log that grew, ships every closed file once, never the open one", () => {
        const r1 = run();
        expect(r1.code, r1.stderr).to.equal(0);
        const chain = fs.readFileSync(path.join(datadir, "owncloud-ha-binlog-chain"), "utf8").trim();
        expect(chain).to.match(/^\d{8}T\d{6}Z$/);
        expect(uploads()).to.have.length(1);
        expect(uploads()[0]).to.include(`s3 cp --only-show-errors ${datadir}/mariadb-bin.000001 s3://bk/galera/binlog/node2/${chain}/mariadb-bin.000001`);
        expect(lastJson(r1.stdout)).to.deep.equal({ shipped: 1, chain });
        // nothing written since the rotation: no new rotation, nothing shipped twice
        const r2 = run();
        expect(r2.code, r2.stderr).to.equal(0);
        expect(uploads()).to.have.length(1);
        expect(fs.readFileSync(path.join(t.dir, "flushes"), "utf8").trim().split("\n")).to.have.length(1);
        // the open file grows: rotated and shipped
        write("mariadb-bin.000002", 900);
        run();
        expect(uploads()).to.have.length(2);
        expect(uploads()[1]).to.include("mariadb-bin.000002");
    });

    it("starts a new chain for a replaced datadir instead of overwriting the old chain's files", () => {
        run();
        const first = fs.readFileSync(path.join(datadir, "owncloud-ha-binlog-chain"), "utf8").trim();
        fs.rmSync(path.join(datadir, "owncloud-ha-binlog-chain"));
        fs.writeFileSync(path.join(datadir, "owncloud-ha-binlog-chain"), "20300101T000000Z\n");
        write("mariadb-bin.000002", 900);
        run();
        expect(uploads()[1]).to.include("/binlog/node2/20300101T000000Z/");
        expect(first).to.not.equal("20300101T000000Z");
    });
});

describe("the point-in-time restore procedure (scripts/ops/restore-procedure.ts)", () => {
    const node = (tier: "galera" | "gluster", name: string, address: string): OpsNode => ({ tier, name, address, urn: `urn:x::${name}` });
    const target = {
        galera: { nodes: [node("galera", "node1", "10.1.0.10"), node("galera", "node2", "10.1.0.11"), node("galera", "node3", "10.1.0.12")], bootstrapNode: "node1", syncTimeoutSeconds: 600 },
        gluster: { nodes: [node("gluster", "node1", "10.2.0.10"), node("gluster", "node2", "10.2.0.11")] },
    };
    class Recorder implements NodeRunner {
        calls: { node: string; run: ScriptRun }[] = [];
        constructor(private readonly fail: (node: string, r: ScriptRun) => boolean = () => false) {}
        async runScript(n: OpsNode, r: ScriptRun): Promise<RunResult> {
            this.calls.push({ node: `${n.tier}-${n.name}`, run: r });
            if (this.fail(`${n.tier}-${n.name}`, r)) return { code: 1, stdout: "", stderr: "boom" };
            const out = r.args?.[0] === "datadir" ? '{"backup": "b1", "transactions": 3}' : r.args?.[0] === "files" ? '{"files": 9}' : "{}";
            return { code: 0, stdout: `${out}\n`, stderr: "" };
        }
    }

    it("starts the restored node as a new cluster with every other node as a peer, and joins each with the others as peers", () => {
        const s = restoreSteps(target, "2026-11-24T14:05:00Z");
        const starts = s.database.filter((x) => x.run.script === "galera/start.sh").map((x) => [x.node.name, x.run.env]);
        expect(starts).to.deep.equal([
            ["node1", { GALERA_MODE: "bootstrap", GALERA_PEERS: "10.1.0.11,10.1.0.12", GALERA_SYNC_TIMEOUT: "600" }],
            ["node2", { GALERA_MODE: "join", GALERA_PEERS: "10.1.0.10,10.1.0.12", GALERA_SYNC_TIMEOUT: "600" }],
            ["node3", { GALERA_MODE: "join", GALERA_PEERS: "10.1.0.10,10.1.0.11", GALERA_SYNC_TIMEOUT: "600" }],
        ]);
        // every step is bounded; the ones that move a whole backup get the most
        expect([...s.checks, ...s.ship, ...s.stop, ...s.database, ...s.files].every((x) => Number.isInteger(x.run.timeoutSeconds) && x.run.timeoutSeconds > 0)).to.equal(true);
        expect(() => restoreSteps({ ...target, galera: { ...target.galera, bootstrapNode: "node9" } }, "2026-11-24T14:05:00Z")).to.throw("bootstrap node node9 is not one of the Galera nodes");
    });

    it("stops before starting anything when a node cannot be stopped", async () => {
        const r = new Recorder((n, x) => n === "galera-node3" && x.script === "galera/stop.sh");
        let err = "";
        await restoreToPointInTime(r, target, "2026-11-24T14:05:00Z", { execute: true }).catch((e) => (err = (e as Error).message));
        expect(err).to.include("galera-node3: stop mariadb (galera/stop.sh) failed");
        expect(r.calls.some((c) => c.run.args?.[0] === "datadir" || c.run.script === "galera/start.sh")).to.equal(false);
    });

    it("goes on when a node cannot ship its last logs (it is gone), and tries the next Gluster node for the files", async () => {
        const r = new Recorder((n, x) => (n === "galera-node3" && x.script === "galera/binlog-ship.sh") || (n === "gluster-node1" && x.args?.[0] === "files"));
        const rep = await restoreToPointInTime(r, target, "2026-11-24T14:05:00Z", { execute: true });
        expect(rep!.shipped.node3).to.match(/^failed/);
        expect(rep!.database).to.deep.equal({ backup: "b1", transactions: 3 });
        expect(rep!.files).to.deep.include({ node: "node2", files: 9 });
    });

    it("refuses a time that is not UTC in the expected form before touching a node", async () => {
        expect(parseRestoreTime("2026-11-24 14:05:00")).to.equal("2026-11-24T14:05:00Z");
        expect(() => parseRestoreTime("2026-11-24T14:05:00+01:00")).to.throw("give a UTC time like 2026-11-24T14:05:00Z");
        const r = new Recorder();
        await restoreToPointInTime(r, target, "tuesday", { execute: true }).catch(() => undefined);
        expect(r.calls).to.have.length(0);
    });
});

describe("backups: gluster/backup.sh (stand-in gluster, mount, tar and aws)", () => {
    let t: ReturnType<typeof tempDir>;
    let bin: string;
    const run = (tarExit: number, tarStderr: string) => {
        fs.writeFileSync(path.join(t.dir, "tar-stderr"), tarStderr);
        return bash(`bash ${NODE_SCRIPTS}/gluster/backup.sh`, {
            PATH: `${bin}:${process.env.PATH}`,
            TAR_EXIT: String(tarExit),
            OCHA_BACKUP_STATE: path.join(t.dir, "state"),
            OCHA_BACKUP_ENV_FILE: path.join(t.dir, "none.env"),
            BACKUP_BUCKET: "bk",
            BACKUP_PREFIX: "files",
            BACKUP_NODE: "node1",
            BACKUP_NODE_ORDER: "node1,node2,node3",
            BACKUP_NODE_ADDRESSES: "10.0.1.10,10.0.2.10,10.0.3.10",
            BACKUP_VOLUME: "gfs_v_r5",
            BACKUP_REGION: "eu-central-1",
        });
    };
    /** The objects the stand-in `aws s3 cp - URL` stored, by the key after the snapshot's name. */
    const stored = () => {
        const dir = path.join(t.dir, "s3");
        return fs.existsSync(dir) ? Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")])) : {};
    };
    beforeEach(() => {
        t = tempDir("files-backup");
        bin = path.join(t.dir, "bin");
        fakeCommand(bin, "gluster", `cat "${path.join(__dirname, "fixtures", "gluster", "status-all-online.xml")}"`);
        for (const c of ["mount", "umount"]) fakeCommand(bin, c, "exit 0");
        fakeCommand(bin, "mountpoint", "exit 1");
        fakeCommand(bin, "timeout", `shift; exec "$@"`);
        fakeCommand(bin, "zstd", "cat");
        // GNU tar's create: the archive on stdout, the warnings on stderr, exit 1 = "some files differ".
        fakeCommand(bin, "tar", `echo archive; cat "${t.dir}/tar-stderr" >&2; exit "$TAR_EXIT"`);
        fakeCommand(bin, "aws", `mkdir -p "${t.dir}/s3"; for a; do u="$a"; done; cat > "${t.dir}/s3/\${u##*/}"`);
    });
    afterEach(() => t.cleanup());

    it("keeps a snapshot during which files changed (tar exit 1), listing them beside it and counting them in the manifest", () => {
        const warnings = "tar: ./u1/files/a.bin: file changed as we read it\ntar: ./u1/files/b.bin: File removed before we read it\n";
        const r = run(1, warnings);
        expect(r.code, r.stderr).to.equal(0);
        expect(stored()["files.tar.zst"]).to.equal("archive\n");
        expect(stored()["changed-while-read.txt"]).to.equal(warnings);
        expect(JSON.parse(stored()["manifest.json"])).to.include({ node: "node1", changedWhileRead: 2 });
        expect(r.stderr).to.include("tar read 2 file(s) while they changed");
        expect(fs.existsSync(path.join(t.dir, "state", "files-last-success"))).to.equal(true);
    });

    it("writes no manifest when tar fails (exit 2), so the snapshot never counts as complete", () => {
        const r = run(2, "tar: ./u1: Cannot open: Input/output error\n");
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.include("tar exit 2").and.include("Input/output error");
        expect(stored()).to.not.have.property("manifest.json");
        expect(fs.existsSync(path.join(t.dir, "state", "files-last-success"))).to.equal(false);
    });

    it("a quiet snapshot has changedWhileRead 0 and no list", () => {
        const r = run(0, "");
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(stored()["manifest.json"])).to.include({ changedWhileRead: 0, files: 0 });
        expect(stored()).to.not.have.property("changed-while-read.txt");
    });
});

describe("backups: galera/lib.sh binlog_replay_start (stand-in mariadb-binlog)", () => {
    // Decoded logs as mariadb-binlog prints them: "# at N" before each event; the second file holds a
    // stretch of domain-0 transactions BEFORE the backup's 1-1-12, as MariaDB 10.11 logged after a
    // full-cluster crash recovered by pc.recovery.
    const decoded: Record<string, string[]> = {
        f1: ["# at 256", "#x server id 1  end_log_pos 299 CRC32 0x0 \tGtid list [1-1-9]", "# at 300", "#x server id 1  end_log_pos 342 CRC32 0x0 \tGTID 1-1-10 trans", "# at 500", "#x server id 1  end_log_pos 531 CRC32 0x0 \tXid = 7"],
        f2: [
            "# at 256", "#x server id 1  end_log_pos 315 CRC32 0x0 \tGtid list [1-1-10]",
            "# at 315", "#x server id 1  end_log_pos 357 CRC32 0x0 \tGTID 0-1-1 trans",
            "# at 600", "#x server id 1  end_log_pos 642 CRC32 0x0 \tGTID 0-1-2 trans",
            "# at 900", "#x server id 1  end_log_pos 942 CRC32 0x0 \tGTID 1-1-11 trans",
            "# at 1200", "#x server id 1  end_log_pos 1242 CRC32 0x0 \tGTID 1-1-12 trans",
            "# at 1300", "#x server id 1  end_log_pos 1331 CRC32 0x0 \tXid = 9",
            "# at 1331", "#x server id 1  end_log_pos 1373 CRC32 0x0 \tGTID 0-1-3 trans",
            "# at 1500", "#x server id 1  end_log_pos 1542 CRC32 0x0 \tGTID 1-1-120 trans",
        ],
        f3: ["# at 256", "#x server id 1  end_log_pos 299 CRC32 0x0 \tGtid list [1-1-120]", "# at 300", "#x server id 1  end_log_pos 342 CRC32 0x0 \tGTID 1-1-121 trans"],
    };
    const start = (gtids: string, files = ["f1", "f2", "f3"]) => {
        const t = tempDir("replay-start");
        try {
            const bin = path.join(t.dir, "bin");
            for (const [f, lines] of Object.entries(decoded)) fs.writeFileSync(path.join(t.dir, f), lines.join("\n") + "\n");
            fakeCommand(bin, "mariadb-binlog", `cat "$1"`);
            return bash(`set -euo pipefail; cd ${t.dir}; . ${NODE_SCRIPTS}/lib/common.sh; . ${NODE_SCRIPTS}/galera/lib.sh; binlog_replay_start ${gtids} ${files.join(" ")}`, { PATH: `${bin}:${process.env.PATH}` }).stdout.trim();
        } finally {
            t.cleanup();
        }
    };
    it("continues at the next transaction's position in the log, whatever its domain (the domain-0 one after 1-1-12, not the earlier ones)", () => {
        expect(start("1-1-12")).to.equal("1 1331");
        expect(start("1-1-11")).to.equal("1 1200");
    });
    it("cuts after whichever of the backup's GTIDs comes last in the log (a backup taken during a domain-0 stretch), ignoring a node's local domain", () => {
        expect(start("0-1-3,1-1-12")).to.equal("1 1500");
        expect(start("0-1-2,1-1-12")).to.equal("1 1331");
        expect(start("1-1-12,101-1-7")).to.equal("1 1331");
        expect(start("0-1-99,1-1-12")).to.equal("");
    });
    it("continues with the next file, whole, after a file's last transaction; past the last file there is nothing", () => {
        expect(start("1-1-10")).to.equal("1 0");
        expect(start("1-1-121")).to.equal("3 0");
    });
    it("finds a transaction near the start of a long decoded log (a reader that quits early must not turn it into a miss)", () => {
        const t = tempDir("replay-start-long");
        try {
            const bin = path.join(t.dir, "bin");
            // the wanted GTID first, then far more output than a pipe buffer holds
            fakeCommand(bin, "mariadb-binlog", `echo "# at 300"; echo "#x server id 1  end_log_pos 342 CRC32 0x0 \tGTID 1-1-4572 trans"\nfor i in $(seq 1 20000); do echo "# at $((400 + i))"; echo "#x server id 1  end_log_pos $i CRC32 0x0 \tGTID 1-1-$((4572 + i)) trans"; done`);
            const at = (seq: string) => bash(`set -euo pipefail; . ${NODE_SCRIPTS}/lib/common.sh; . ${NODE_SCRIPTS}/galera/lib.sh; binlog_replay_start 1-1-${seq} f1`, { PATH: `${bin}:${process.env.PATH}` }).stdout.trim();
            expect(at("4572")).to.equal("0 401");
            expect(at("457")).to.equal("");
            expect(at("999999")).to.equal("");
        } finally {
            t.cleanup();
        }
    });
    it("matches the sequence number exactly and prints nothing when no file holds it", () => {
        expect(start("1-1-1")).to.equal("");
        expect(start("1-1-12", ["f1"])).to.equal("");
    });
});
