import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The node scripts (scripts/node), the tree a node is shipped from. */
export const NODE_SCRIPTS = path.join(__dirname, "..", "..", "scripts", "node");

export interface BashResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs `script` in `bash -c` with `env` added to this process's environment (PATH may be replaced). */
export function bash(script: string, env: Record<string, string> = {}, timeoutMs = 30_000): BashResult {
    const r = spawnSync("bash", ["-c", script], { env: { ...process.env, ...env }, encoding: "utf8", timeout: timeoutMs });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes an executable stand-in for a command into `bin`. */
export function fakeCommand(bin: string, name: string, body: string): void {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
}

/** Parses a systemd unit file: section -> key -> values (in order). */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
    const out: Record<string, Record<string, string[]>> = {};
    let section = "";
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (!line || line.startsWith("#") || line.startsWith(";")) continue;
        const m = /^\[(.+)\]$/.exec(line);
        if (m) {
            section = m[1];
            out[section] ??= {};
            continue;
        }
        const eq = line.indexOf("=");
        (out[section][line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
    }
    return out;
}

/**
 * `systemd-analyze verify` of `units` (name -> text) with stub units for what they reference, all
 * from one directory on SYSTEMD_UNIT_PATH. Returns its complaints (empty = clean), or undefined
 * when systemd-analyze is not installed.
 */
export function systemdVerify(dir: string, units: Record<string, string>, stubs: string[] = []): string | undefined {
    if (bash("command -v systemd-analyze").code !== 0) return undefined;
    for (const stub of stubs) fs.writeFileSync(path.join(dir, stub), "[Service]\nExecStart=/bin/true\n");
    for (const [name, text] of Object.entries(units)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
    }
    const names = Object.keys(units).filter((n) => !n.includes("/"));
    const r = bash(`systemd-analyze verify --man=no ${names.join(" ")}`, { SYSTEMD_UNIT_PATH: `${dir}:` }, 60_000);
    return (r.stdout + r.stderr).trim();
}
