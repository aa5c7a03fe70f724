/**
 * Web hosts in the lab boot from the recorded launch template's user data (scripts/lab/web-boot.ts):
 * the program's scripts are where the user data unpacked them, with the settings it exported. When a
 * scenario runs one of them again (a web node mounting while a storage node is down), it runs it the
 * way node-init.sh does: as root, with the user data's exports, from the unpacked bundle.
 */
import { HOSTS, Lab, RunResult, launchedAtUp } from "./lab-core";

/** The web nodes `up` launches (the Auto Scaling group's desired count). */
export const WEB_HOSTS = HOSTS.filter((h) => h.role === "web" && launchedAtUp(h)).map((h) => h.name);

/** Where the user data unpacks the program's scripts (components/shared/userData.ts `bootScript`). */
export const USER_DATA_SCRIPTS = "/opt/owncloud-ha/scripts";
/** Where cloud-init keeps the instance's user data as given (root only). */
export const USER_DATA_FILE = "/var/lib/cloud/instance/user-data.txt";

/**
 * The bash that runs `script` (relative to scripts/) as the host's user data would: its `export`
 * lines (components/shared/userData.ts `bootScript`: one line each, shell-quoted), then the script
 * from the unpacked bundle.
 */
export function asUserDataScript(script: string, userDataFile = USER_DATA_FILE, scriptsDir = USER_DATA_SCRIPTS): string {
    if (!/^[a-z0-9/_.-]+\.sh$/.test(script) || script.includes("..")) throw new Error(`not a bundled script path: ${script}`);
    return [
        "set -euo pipefail",
        `exports="$(grep -E '^export [A-Z_][A-Z0-9_]*=' ${userDataFile})"`,
        'eval "$exports"',
        `exec bash ${scriptsDir}/${script}`,
    ].join("\n");
}

/** Runs one of the program's web node scripts on `host` as its user data does (as root, its exports). */
export function runAsUserData(lab: Lab, host: string, script: string, timeoutMs = 600_000): Promise<RunResult> {
    return lab.sh(host, asUserDataScript(script), { timeoutMs });
}
