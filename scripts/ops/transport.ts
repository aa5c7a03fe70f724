/**
 * How the operator tooling runs a node script: OpenSSH through the bastion (ProxyJump), the path
 * `@pulumi/command` takes for the program's bootstrap steps (components/access/bastion.ts
 * `connectionThrough`), the script run as root where the program staged it, non-secret settings in
 * the environment, secrets only on stdin. An interface, so tests use a fake and the lab real ssh.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellQuote } from "../../components/shared/remoteBootstrap";
import { OpsNode, OpsTarget } from "./target";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** One script run on one node. */
export interface ScriptRun {
    /** Relative to the staged scripts directory (`galera/report.sh`), or an absolute path on the node. */
    script: string;
    /** Non-secret settings (they appear on the remote command line). */
    env?: Record<string, string>;
    /** Non-secret arguments of the script (quoted on the remote command line), e.g. `datadir --to T`. */
    args?: string[];
    /** Written to the script's stdin: the only place a secret may go (`NAME=value` lines). */
    input?: string;
    /** Bound of the remote command (enforced on the node by `timeout`, and locally by killing ssh). */
    timeoutSeconds: number;
}

export interface NodeRunner {
    runScript(node: OpsNode, run: ScriptRun): Promise<RunResult>;
}

/** Seconds ssh may take to open the TCP connection, to the bastion and through it to a node. */
export const SSH_CONNECT_TIMEOUT_S = 10;
/** Extra seconds a remote command gets after its TERM before `timeout` kills it. */
export const REMOTE_KILL_AFTER_S = 10;
/** Extra seconds the local ssh process gets beyond the remote bound (connection set-up, output). */
const LOCAL_MARGIN_S = 2 * SSH_CONNECT_TIMEOUT_S + REMOTE_KILL_AFTER_S + 5;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** Alias of the jump host inside the generated ssh_config. */
const BASTION_ALIAS = "ops-bastion";

/**
 * The command the node's shell runs: bounded by `timeout`, as root (`sudo -n` unless the login
 * user is root), settings as `env` assignments, the script by its staged path. No secret ever
 * appears here (they travel on stdin).
 */
export function remoteCommandLine(target: Pick<OpsTarget, "scriptsDir" | "sshUser">, run: ScriptRun): string {
    if (!(Number.isInteger(run.timeoutSeconds) && run.timeoutSeconds > 0)) throw new Error(`${run.script}: timeoutSeconds must be a positive integer`);
    if (!/^[A-Za-z0-9_./-]+$/.test(run.script) || run.script.split("/").includes("..")) throw new Error(`bad script path ${run.script}`);
    const script = run.script.startsWith("/") ? run.script : `${target.scriptsDir}/${run.script}`;
    const env = run.env ?? {};
    const assignments = Object.keys(env)
        .sort()
        .map((k) => {
            if (!ENV_NAME.test(k)) throw new Error(`${run.script}: bad variable name ${k}`);
            return `${k}=${shellQuote(env[k])}`;
        });
    return [
        ...(target.sshUser === "root" ? [] : ["sudo", "-n"]),
        "timeout", `--kill-after=${REMOTE_KILL_AFTER_S}`, String(run.timeoutSeconds),
        "env", ...assignments, "bash", shellQuote(script), ...(run.args ?? []).map(shellQuote),
    ].join(" ");
}

/** The ssh_config of a session: every connection, to the bastion and through it, uses these. */
export function sshConfigText(target: Pick<OpsTarget, "bastion" | "sshUser">, keyFile: string, knownHostsFile: string): string {
    return [
        `Host ${BASTION_ALIAS}`,
        `  HostName ${target.bastion.host}`,
        `  Port ${target.bastion.port}`,
        "Host *",
        `  User ${target.sshUser}`,
        `  IdentityFile ${keyFile}`,
        "  IdentitiesOnly yes",
        "  IdentityAgent none",
        "  BatchMode yes",
        `  ConnectTimeout ${SSH_CONNECT_TIMEOUT_S}`,
        "  ServerAliveInterval 10",
        "  ServerAliveCountMax 3",
        // Trust on first use, per stack: the first connection records each host's key, a changed key
        // afterwards is refused (a replaced node: remove its line, see the README).
        "  StrictHostKeyChecking accept-new",
        `  UserKnownHostsFile ${knownHostsFile}`,
        "  GlobalKnownHostsFile /dev/null",
        "  ControlMaster no",
        "  ForwardAgent no",
        "  LogLevel ERROR",
        "",
    ].join("\n");
}

/**
 * argv of one ssh invocation to `node` through the bastion. `-F` makes the jump connection read the
 * same file (ssh passes `-F` on to the ProxyJump child; `-o` options it does not).
 */
export function sshArgv(configFile: string, node: Pick<OpsNode, "address">, remoteCommand: string): string[] {
    if (!/^[0-9.]+$/.test(node.address)) throw new Error(`bad node address ${node.address}`);
    return ["ssh", "-F", configFile, "-J", BASTION_ALIAS, node.address, remoteCommand];
}

/** Default per-stack known_hosts: `$XDG_STATE_HOME/owncloud-ha/<stack>/known_hosts`. */
export function defaultKnownHostsFile(stack: string, env: NodeJS.ProcessEnv = process.env): string {
    const base = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), ".local", "state");
    return path.join(base, "owncloud-ha", stack, "known_hosts");
}

/**
 * Real ssh. Holds a private temporary directory (0700) with the key (0600) and the ssh_config;
 * `close()` removes it, and so does process exit.
 */
export class SshRunner implements NodeRunner {
    private readonly dir: string;
    readonly configFile: string;
    private closed = false;
    private readonly onExit = () => this.close();

    constructor(private readonly target: OpsTarget, knownHostsFile: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "owncloud-ha-ops-"));
        fs.chmodSync(this.dir, 0o700);
        const keyFile = path.join(this.dir, "key");
        fs.writeFileSync(keyFile, target.privateKey, { mode: 0o600 });
        fs.mkdirSync(path.dirname(knownHostsFile), { recursive: true, mode: 0o700 });
        this.configFile = path.join(this.dir, "ssh_config");
        fs.writeFileSync(this.configFile, sshConfigText(target, keyFile, knownHostsFile), { mode: 0o600 });
        process.once("exit", this.onExit);
    }

    runScript(node: OpsNode, run: ScriptRun): Promise<RunResult> {
        if (this.closed) throw new Error("ssh runner already closed");
        const argv = sshArgv(this.configFile, node, remoteCommandLine(this.target, run));
        return spawnBounded(argv, run.input ?? "", (run.timeoutSeconds + LOCAL_MARGIN_S) * 1000);
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        fs.rmSync(this.dir, { recursive: true, force: true });
        process.removeListener("exit", this.onExit);
    }
}

/**
 * Runs argv (no shell), stdin from `input`, killed after `timeoutMs` with `killedNote(timeoutMs)`
 * appended to stderr (the lab's `run` uses it too).
 */
export function spawnBounded(
    argv: string[],
    input: string,
    timeoutMs: number,
    env: NodeJS.ProcessEnv = process.env,
    killedNote = (ms: number) => `[ops: no answer within ${Math.round(ms / 1000)} s, killed]`,
): Promise<RunResult> {
    return new Promise((resolve) => {
        const p = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        const t = setTimeout(() => {
            stderr += `\n${killedNote(timeoutMs)}`;
            p.kill("SIGKILL");
        }, timeoutMs);
        p.on("error", (e) => {
            clearTimeout(t);
            resolve({ code: 127, stdout, stderr: stderr + String(e) });
        });
        p.on("close", (code, sig) => {
            clearTimeout(t);
            resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
        });
        p.stdin.on("error", () => undefined);
        p.stdin.end(input);
    });
}

/** Last lines of a command's output, for error messages. */
export function tail(r: RunResult, lines = 6): string {
    return (r.stderr + "\n" + r.stdout).trim().split("\n").slice(-lines).join("\n");
}
