/**
 * The point-in-time restore procedure, one home for the operators' `restore` command and the lab's
 * drill: every step is a node script (scripts/galera/restore.sh, binlog-ship.sh, start.sh;
 * scripts/gluster/restore.sh) run as root on the node through an injected shell, so the lab proves
 * exactly what an operator runs.
 *
 *   1. ship the last binary logs from every database node that answers (best effort: a node that is
 *      gone has shipped up to its last minute);
 *   2. stop mariadb on every database node (a restore replaces the cluster's data; no node may keep
 *      serving the old state);
 *   3. on the first node: replace the datadir with the newest backup before TIME and replay the
 *      binary logs up to TIME (restore.sh datadir);
 *   4. start it as a new cluster (start.sh bootstrap: it refuses unless every peer is provably down);
 *   5. on every other node, one at a time: empty the datadir and join by SST;
 *   6. files: unpack the newest snapshot before TIME into the Gluster volume (gluster/restore.sh).
 *
 * ownCloud must be in maintenance mode meanwhile (`occ maintenance:mode --on` on one web node), and
 * `occ files:scan --all` afterwards reconciles files written after the file snapshot.
 */

export interface ShellResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a bash command as root on a node (by its plan name); the transport is the caller's. */
export interface NodeShell {
    run(host: string, command: string, opts?: { timeoutMs?: number }): Promise<ShellResult>;
}

export interface RestoreTarget {
    /** Database nodes in writer order; the first is restored and bootstraps the new cluster. */
    dbNodes: { name: string; address: string }[];
    /** Gluster nodes; the first reachable one restores the files. Empty: no file restore. */
    fsNodes: string[];
    /** Directory holding the node's shipped scripts (what the program staged on it). */
    scriptsDir(host: string): string;
    /** Seconds a joiner may take to reach Synced (SST of the restored data). */
    syncTimeoutSeconds: number;
}

export interface RestoreReport {
    to: string;
    shipped: Record<string, string>;
    database: Record<string, unknown>;
    files?: Record<string, unknown>;
    seconds: { database: number; files: number; total: number };
}

/** A UTC time as the node scripts take it (`YYYY-MM-DDTHH:MM:SSZ`); throws naming the fix. */
export function parseRestoreTime(input: string): string {
    const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:Z|\+00:00)?$/.exec(input.trim());
    if (!m || Number.isNaN(Date.parse(`${m[1]}T${m[2]}Z`))) {
        throw new Error(`--to "${input}": give a UTC time like 2026-11-24T14:05:00Z (the restore keeps what was committed before it)`);
    }
    return `${m[1]}T${m[2]}Z`;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The JSON object a node script prints on its last stdout line. */
export function lastJson(stdout: string): Record<string, unknown> {
    const line = stdout.trim().split("\n").pop() ?? "";
    try {
        return JSON.parse(line) as Record<string, unknown>;
    } catch {
        return {};
    }
}

async function must(shell: NodeShell, host: string, command: string, what: string, timeoutMs: number): Promise<ShellResult> {
    const r = await shell.run(host, command, { timeoutMs });
    if (r.code !== 0) {
        const tail = (r.stderr + r.stdout).trim().split("\n").slice(-12).join("\n");
        throw new Error(`${what} on ${host} failed (exit ${r.code}):\n${tail}`);
    }
    return r;
}

export async function restoreToPointInTime(shell: NodeShell, t: RestoreTarget, toInput: string, log: (m: string) => void = () => undefined): Promise<RestoreReport> {
    const to = parseRestoreTime(toInput);
    if (t.dbNodes.length === 0) throw new Error("no database nodes in the target");
    const t0 = Date.now();
    const at = (h: string, script: string, args = "", env: Record<string, string> = {}) => {
        const assignments = Object.entries(env).map(([k, v]) => `${k}=${q(v)} `).join("");
        return `cd ${q(t.scriptsDir(h))} && ${assignments}bash ${script}${args ? ` ${args}` : ""}`;
    };

    log(`restore to ${to}: shipping the last binary logs`);
    const shipped: Record<string, string> = {};
    await Promise.all(
        t.dbNodes.map(async (n) => {
            const r = await shell.run(n.name, at(n.name, "galera/binlog-ship.sh"), { timeoutMs: 300_000 });
            shipped[n.name] = r.code === 0 ? JSON.stringify(lastJson(r.stdout)) : `failed (exit ${r.code}): ${r.stderr.trim().split("\n").pop() ?? ""}`;
        }),
    );

    log("stopping mariadb on every database node");
    await Promise.all(t.dbNodes.map((n) => must(shell, n.name, at(n.name, "galera/restore.sh", "stop"), "stopping mariadb", 330_000)));

    const [first, ...others] = t.dbNodes;
    log(`restoring ${first.name}'s datadir`);
    const restored = await must(shell, first.name, at(first.name, "galera/restore.sh", `datadir --to ${q(to)}`), "restore.sh datadir", 6 * 3600_000);
    const database: Record<string, unknown> = lastJson(restored.stdout);

    const peersOf = (name: string) => t.dbNodes.filter((n) => n.name !== name).map((n) => n.address).join(",");
    const sync = String(t.syncTimeoutSeconds);
    log(`starting ${first.name} as a new cluster`);
    await must(shell, first.name, at(first.name, "galera/start.sh", "", { GALERA_MODE: "bootstrap", GALERA_PEERS: peersOf(first.name), GALERA_SYNC_TIMEOUT: sync }), "bootstrap", (t.syncTimeoutSeconds + 180) * 1000);
    for (const n of others) {
        log(`${n.name}: emptying the datadir, joining by SST`);
        await must(shell, n.name, at(n.name, "galera/restore.sh", "wipe"), "restore.sh wipe", 300_000);
        await must(shell, n.name, at(n.name, "galera/start.sh", "", { GALERA_MODE: "join", GALERA_PEERS: peersOf(n.name), GALERA_SYNC_TIMEOUT: sync }), "join", (t.syncTimeoutSeconds + 60) * 1000);
    }
    const tDb = Date.now();

    let files: Record<string, unknown> | undefined;
    if (t.fsNodes.length > 0) {
        const errors: string[] = [];
        for (const h of t.fsNodes) {
            log(`restoring the files from ${h}`);
            const r = await shell.run(h, at(h, "gluster/restore.sh", `files --to ${q(to)}`), { timeoutMs: 6 * 3600_000 });
            if (r.code === 0) {
                files = { node: h, ...lastJson(r.stdout) };
                break;
            }
            errors.push(`${h}: ${(r.stderr + r.stdout).trim().split("\n").slice(-3).join(" ")}`);
        }
        if (!files) throw new Error(`file restore failed on every Gluster node:\n${errors.join("\n")}`);
    }
    const tEnd = Date.now();
    return {
        to,
        shipped,
        database,
        files,
        seconds: { database: (tDb - t0) / 1000, files: (tEnd - tDb) / 1000, total: (tEnd - t0) / 1000 },
    };
}
