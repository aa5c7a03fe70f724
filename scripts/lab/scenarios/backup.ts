/**
 * Restore drill: point-in-time restore after an operator's mistake, by the procedure operators run
 * (scripts/ops/restore-procedure.ts, node scripts over SSH through the bastion).
 *
 *   1. backups installed on every node (galera/backup-install.sh, gluster/backup-install.sh: what the
 *      plans run in the cloud; no systemd here, so the timers' runs are made by the scenario);
 *   2. a client writes rows through web1's HAProxy (every acknowledged commit recorded) and files to
 *      the Gluster mount (every acknowledged file with its checksum);
 *   3. a full database backup and a file snapshot are taken (each tier's backup.sh on every node:
 *      exactly one takes it), binary logs are shipped as the timer does, writes go on;
 *   4. disaster at a whole second T: the table is dropped and the files are deleted;
 *   5. restore to T.
 *
 * Figures: RPO (T minus the newest restored acknowledged write), lost acknowledged writes committed
 * before T (must be 0), rows committed after T that came back (must be 0), restored files and
 * checksum mismatches (0), RTO (restore start to all nodes Synced and serving, and files back).
 */
import { BootstrapStep } from "../../../components/bootstrap/plan";
import { createTable, lostAcked, startWriter } from "../galera-client";
import { DB_NODES, dbQuery, galeraNodeStatus } from "../galera-lab";
import { MOUNT_POINT, VOLUME, fsHosts, startWriter as startFileWriter, verifyAcked, waitWriter } from "../gluster-lab";
import { LAB_BACKUP_BUCKET, Lab, REMOTE_SCRIPTS, S3_STANDIN_ENDPOINT, log, sleep } from "../lab-core";
import { NodeShell, restoreToPointInTime } from "../../ops/restore-procedure";
import { Scenario, ScenarioResult } from "../types";
import { allSynced, ensureHealthy, waitFor, writerIs } from "./galera";

const WEB = "web1";
const r2 = (x: number) => Math.round(x * 100) / 100;

/** The lab's backup settings, as the plans pass them (writer last in the database order). */
function installSteps(lab: Lab): BootstrapStep[] {
    const common = { BACKUP_BUCKET: LAB_BACKUP_BUCKET, BACKUP_REGION: "eu-central-1", BACKUP_S3_ENDPOINT: S3_STANDIN_ENDPOINT };
    const dbOrder = [...DB_NODES.slice(1).reverse(), DB_NODES[0]];
    const fs = fsHosts(lab);
    const step = (host: string, script: string, env: Record<string, string>): BootstrapStep => ({
        id: `drill-${script}-${host}`, host, script, env, secrets: [], dependsOn: [], description: "",
    });
    return [
        ...DB_NODES.map((n) =>
            step(n.name, "galera/backup-install.sh", {
                ...common, BACKUP_PREFIX: "galera", BACKUP_NODE: n.name,
                BACKUP_NODE_ORDER: dbOrder.map((x) => x.name).join(","), BACKUP_NODE_ADDRESSES: dbOrder.map((x) => x.address).join(","),
                BACKUP_ON_CALENDAR: "*-*-* 02:30:00", BACKUP_BINLOG_INTERVAL_S: "60",
            }),
        ),
        ...fs.map((h) =>
            step(h.name, "gluster/backup-install.sh", {
                ...common, BACKUP_PREFIX: "files", BACKUP_NODE: h.name, BACKUP_VOLUME: VOLUME,
                BACKUP_NODE_ORDER: fs.map((x) => x.name).join(","), BACKUP_NODE_ADDRESSES: fs.map((x) => x.ip).join(","),
                BACKUP_ON_CALENDAR: "hourly",
            }),
        ),
    ];
}

/** Root on a lab host over SSH through the bastion: the operators' path (they add sudo). */
function labShell(lab: Lab): NodeShell {
    return { run: (host, command, opts) => lab.ssh(host, command, { timeoutMs: opts?.timeoutMs ?? 600_000 }) };
}

async function must(lab: Lab, host: string, command: string, what: string, timeoutMs = 600_000): Promise<string> {
    const r = await lab.ssh(host, command, { timeoutMs });
    if (r.code !== 0) throw new Error(`${what} on ${host} failed (exit ${r.code}): ${(r.stderr + r.stdout).trim().split("\n").slice(-8).join(" | ")}`);
    return r.stdout.trim().split("\n").pop() ?? "";
}

/** Every node runs the tier's backup.sh (as the timer would); returns the one that took it. */
async function backupTier(lab: Lab, hosts: string[], script: string): Promise<{ taker: string; name: string }> {
    const outs = await Promise.all(hosts.map(async (h) => ({ h, out: JSON.parse(await must(lab, h, `cd ${REMOTE_SCRIPTS} && bash ${script}`, script, 900_000)) as Record<string, unknown> })));
    const takers = outs.filter((o) => typeof o.out.backup === "string");
    if (takers.length !== 1) throw new Error(`${script}: ${takers.length} nodes took the backup (want exactly 1): ${JSON.stringify(outs)}`);
    return { taker: takers[0].h, name: String(takers[0].out.backup) };
}

async function drill(lab: Lab): Promise<ScenarioResult> {
    const name = "backup-restore-drill";
    const t0 = Date.now();
    const notes: string[] = [];
    const figures: ScenarioResult["figures"] = {};
    let ok = false;
    let stopWriter: (() => Promise<void>) | undefined;
    try {
        await ensureHealthy(lab, notes);
        for (const s of installSteps(lab)) {
            const r = await lab.runStep(s, {});
            if (r.code !== 0) throw new Error(`${s.script} on ${s.host}: ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
        }
        const table = "w_backup_drill";
        await createTable(lab, table);
        const w = await startWriter(lab, WEB, table);
        stopWriter = () => w.stop();
        const dir = `${MOUNT_POINT}/drill`;
        const before = "/root/drill-before.log";
        const after = "/root/drill-after.log";
        await lab.sh(WEB, `rm -rf ${dir}`);
        await startFileWriter(lab, WEB, dir, before, 200, 60, 32);
        const fb = await waitWriter(lab, WEB, before, 180);

        const db = await backupTier(lab, DB_NODES.map((n) => n.name), "galera/backup.sh");
        notes.push(`database backup ${db.name} taken by ${db.taker} (order puts the writer ${DB_NODES[0].name} last)`);
        figures.databaseBackupBy = db.taker;
        const files = await backupTier(lab, fsHosts(lab).map((h) => h.name), "gluster/backup.sh");
        notes.push(`file snapshot ${files.name} taken by ${files.taker}`);
        // binary logs go on being shipped while the application writes (the timer's work)
        for (let i = 0; i < 3; i++) {
            await sleep(5000);
            await Promise.all(DB_NODES.map((n) => must(lab, n.name, `cd ${REMOTE_SCRIPTS} && bash galera/binlog-ship.sh`, "binlog-ship.sh")));
        }
        // files written after the last snapshot: beyond a file restore by design (snapshot interval)
        await startFileWriter(lab, WEB, `${dir}-late`, after, 20, 30, 32);
        const fa = await waitWriter(lab, WEB, after, 120);
        await sleep(3000);

        // Disaster at a whole second T: everything acknowledged before T must come back, nothing after it.
        const T = Math.ceil(Date.now() / 1000) + 1;
        while (Date.now() < T * 1000 + 300) await sleep(50);
        const drop = await dbQuery(lab, DB_NODES[0].name, `DROP TABLE owncloud.\`${table}\`;`);
        if (drop.code !== 0) throw new Error(`DROP TABLE failed: ${drop.stderr}`);
        await lab.sh(WEB, `rm -rf ${dir} ${dir}-late`);
        await sleep(1000);
        await w.stop();
        stopWriter = undefined;
        const to = new Date(T * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        notes.push(`disaster: table dropped and files deleted just after ${to}; restoring to ${to}`);

        const tr = Date.now();
        const report = await restoreToPointInTime(
            labShell(lab),
            { dbNodes: DB_NODES, fsNodes: fsHosts(lab).map((h) => h.name), scriptsDir: () => REMOTE_SCRIPTS, syncTimeoutSeconds: 300 },
            to,
            (m) => log(`restore: ${m}`),
        );
        notes.push(`restore: ${JSON.stringify(report.database)}; files ${JSON.stringify(report.files)}`);
        await waitFor("all nodes Synced after the restore", 300_000, () => allSynced(lab));
        await waitFor(`${WEB} HAProxy writing to ${DB_NODES[0].name}`, 60_000, () => writerIs(lab, DB_NODES[0].name));
        figures.rtoDatabaseSeconds = r2((Date.now() - tr) / 1000);
        figures.rtoFilesSeconds = r2(report.seconds.files);
        figures.rtoTotalSeconds = r2((Date.now() - tr) / 1000);

        // Database: every acknowledged commit before T on every node; nothing started after T.
        const beforeT = w.acks.filter((a) => a.t < T * 1000);
        const lost = await lostAcked(lab, table, beforeT);
        figures.ackedWritesBeforeTarget = beforeT.length;
        figures.lostAckedWrites = Math.max(...Object.values(lost));
        const ids = await dbQuery(lab, DB_NODES[0].name, `SELECT id FROM owncloud.\`${table}\`;`);
        const present = new Set(ids.stdout.split("\n").filter(Boolean).map(Number));
        const restoredAcks = w.acks.filter((a) => present.has(a.id));
        const newest = Math.max(...restoredAcks.map((a) => a.t));
        figures.rpoSeconds = r2(T - newest / 1000);
        figures.rowsAfterTarget = w.acks.filter((a) => a.t >= (T + 2) * 1000 && present.has(a.id)).length;
        const st = await Promise.all(DB_NODES.map((n) => galeraNodeStatus(lab, n.name)));
        figures.clusterAfterRestore = st.map((s) => `${s.node}:${s.state}/${s.clusterSize}`).join(" ");

        // Files: every file acknowledged before the snapshot, byte for byte.
        const v = await verifyAcked(lab, WEB, dir, before);
        figures.filesBeforeSnapshot = fb.acked;
        figures.filesRestored = v.ok;
        figures.fileChecksumMismatches = v.corrupt;
        figures.filesMissing = v.missing;
        const late = await lab.sh(WEB, `ls ${dir}-late 2>/dev/null | wc -l`);
        figures.filesAfterSnapshotNotRestorable = fa.acked;
        figures.filesAfterSnapshotBack = Number(late.stdout.trim());
        // the swapped-out content (what the disaster left) is the operator's to delete once checked
        await lab.sh(WEB, `rm -rf ${MOUNT_POINT}/.owncloud-ha-pre-restore-*`, { timeoutMs: 300_000 });

        ok =
            figures.lostAckedWrites === 0 &&
            figures.rowsAfterTarget === 0 &&
            beforeT.length > 0 &&
            v.ok === fb.acked && v.corrupt === 0 && v.missing === 0 &&
            (figures.rpoSeconds as number) <= 60;
        if (!ok) notes.push("FAILED: see the figures (lost or extra rows, file mismatches, or an RPO above 60 s)");
    } catch (e) {
        notes.push(`ERROR: ${(e as Error).message}`);
        if (stopWriter) await stopWriter();
    }
    const res = { name, ok, figures, notes, durationSeconds: Math.round((Date.now() - t0) / 1000) };
    log(`scenario ${name}: ${ok ? "PASS" : "FAIL"} ${JSON.stringify(figures)}`);
    return res;
}

export const scenarios: Scenario[] = [
    {
        name: "backup-restore-drill",
        description: "full backup + binary logs + file snapshot to the S3 stand-in; drop a table and delete files; restore to the second before",
        run: drill,
    },
];
