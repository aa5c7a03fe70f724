/**
 * Executes a LabRecording's command:remote resources against real hosts with the semantics of
 * @pulumi/command v1.2.1 (pulumi/pulumi-command provider/pkg/provider/remote: commandController.go,
 * commandOutputs.go, copyController.go, copy.go, connection.go), using the OpenSSH client, so the
 * lab runs exactly what `pulumi up` runs: the recorded create strings, stdin, connections and copies.
 *
 * What the provider does and how it is reproduced here (docs/verified-against.md pins each row):
 * - Dial (connection.go dialWithRetry + retry.Until): limit L gives L+1 attempts, waits 100 ms
 *   growing x1.5 up to 5 s, error "after L failed attempts: <err>", "proxy: " before it on the
 *   proxied path. Proxied: dial the bastion (its own limit), open a direct-tcpip channel through it
 *   (the target's limit), SSH handshake over that channel. Here: an OpenSSH ControlMaster to the
 *   bastion, then a ControlMaster to the target whose ProxyCommand is `ssh -W` over the bastion's
 *   master (the same direct-tcpip channel). Each resource dials its own connections, like the
 *   provider; the session then runs over the target's master. The inner error texts are OpenSSH's.
 * - Host keys: the provider checks none without `connection.hostKey` (ssh.InsecureIgnoreHostKey),
 *   so StrictHostKeyChecking=no and UserKnownHostsFile=/dev/null. `-F /dev/null`: the system
 *   ssh_config's `SendEnv LANG LC_*` would send environment the provider never sends.
 * - Command: the create string as ONE exec request, verbatim, no PTY (`ssh -T … -- <create>`: one
 *   argument is sent as it is), stdin written then EOF (none: EOF at once), `environment` as SSH env
 *   requests that must all be accepted, else the provider's hard error.
 * - CopyToRemote: SFTP as the login user; placement, MkdirAll of missing parents, no modes kept,
 *   overwrite in place, nothing removed (copy.go sftpCopy/copyDir).
 * - Re-runs (infer Diff + Create/Update, copyController Update): see planAction.
 * - Delete never runs: the program sets no `delete`, CopyToRemote has none, and the lab never
 *   destroys through the replay; a recorded `delete` is refused up front.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMMAND_TYPE, COPY_TYPE, type LabRecording, type RecordedConnection, type RecordedHop, type ReplayCommand, type ReplayCopy, type ReplayResource } from "./record";

export interface ExecuteOptions {
    /** Holds replay-state.json (each resource's last successful inputs/outputs) and the key files; 0700. */
    stateDir: string;
    /** Recorded connection/proxy host → address to dial; hosts not listed are dialled as recorded (lab addresses). */
    addressMap: Record<string, string>;
    /** Progress lines (never stdin; streamed output only as each resource's `logging` allows). */
    log: (line: string) => void;
    /** Only these resources run; dependencies outside the selection count as done. */
    only?: (res: ReplayResource) => boolean;
    /** Waits between dial attempts (tests shorten nothing by default; injectable for counting). */
    sleep?: (ms: number) => Promise<void>;
}

/** What the engine would do with a resource on this run. */
export type Action = "create" | "replace" | "update" | "same";

export interface ResourceResult {
    urn: string;
    name: string;
    type: string;
    action: Action;
    /** CopyToRemote: whether files were copied (an update of the connection alone copies nothing). */
    copied?: boolean;
    /** Command outputs (one trailing newline trimmed), as the provider stores them. */
    stdout?: string;
    stderr?: string;
    seconds: number;
}

/** A failed resource: `message` is the provider's error text. */
export class ReplayError extends Error {
    constructor(
        readonly resource: string,
        readonly providerMessage: string,
        readonly results: ResourceResult[],
    ) {
        super(`${resource}: ${providerMessage}`);
        this.name = "ReplayError";
    }
}

// ---------------------------------------------------------------- state

interface SavedResource {
    type: string;
    triggers: string;
    /** Every other input, stable JSON, secrets (stdin, keys) as digests. */
    inputs: string;
    /** CopyToRemote: the archive content hash and remotePath of the last copy. */
    hash?: string;
    remotePath?: string;
    stdout?: string;
    stderr?: string;
}

interface SavedState {
    resources: Record<string, SavedResource>;
}

const STATE_FILE = "replay-state.json";

function readState(stateDir: string): SavedState {
    const file = path.join(stateDir, STATE_FILE);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as SavedState) : { resources: {} };
}

function writeState(stateDir: string, state: SavedState): void {
    const file = path.join(stateDir, STATE_FILE);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
    fs.renameSync(tmp, file);
}

function stable(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
    if (v && typeof v === "object") {
        return `{${Object.keys(v)
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(v);
}

const digest = (s: string | undefined) => (s === undefined ? undefined : `sha256:${crypto.createHash("sha256").update(s).digest("hex")}`);

function hopDigest(h: RecordedHop): Record<string, unknown> {
    return { ...h, privateKey: digest(h.privateKey), privateKeyPassword: digest(h.privateKeyPassword), password: digest(h.password) };
}

function connectionDigest(c: RecordedConnection): Record<string, unknown> {
    return { ...hopDigest(c), proxy: c.proxy ? hopDigest(c.proxy) : undefined };
}

/** The inputs other than triggers, as compared between runs (any difference is an Update). */
export function comparableInputs(r: ReplayResource): string {
    if (r.type === COMMAND_TYPE) {
        return stable({
            connection: connectionDigest(r.connection),
            create: r.create,
            update: r.update,
            delete: r.delete,
            stdin: digest(r.stdin),
            environment: r.environment,
            logging: r.logging,
            addPreviousOutputInEnv: r.addPreviousOutputInEnv,
        });
    }
    // The engine diffs an archive by its content hash too: a changed file is a changed input.
    return stable({ connection: connectionDigest(r.connection), source: { ...r.source, hash: sourceHash(r.source.path) }, remotePath: r.remotePath });
}

/**
 * The engine's decision (pulumi-go-provider infer Diff; `triggers` is replaceOnChanges in
 * common/inputs.go and copy.go): nothing saved → create; triggers changed → replace (create the new
 * one first; the old one's delete is nothing here); any other input changed → update; else same.
 */
export function planAction(saved: SavedResource | undefined, r: ReplayResource): Action {
    if (!saved || saved.type !== r.type) return "create";
    if (saved.triggers !== stable(r.triggers)) return "replace";
    if (saved.inputs !== comparableInputs(r)) return "update";
    return "same";
}

// ---------------------------------------------------------------- dialing

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An attempt that must not be retried (the provider's later attempts could only fail the same way). */
class FinalDialError extends Error {}

/**
 * connection.go dialWithRetry over retry.Until: attempt n (from 0) fails → stop once n+1 > limit
 * (limit -1: never), error "after n failed attempts: <err>"; else wait (100 ms, x1.5, at most 5 s).
 */
export async function dialWithRetry<T>(
    what: string,
    limit: number,
    attempt: () => Promise<T>,
    opts: { sleep?: (ms: number) => Promise<void>; log?: (line: string) => void } = {},
): Promise<T> {
    const sleep = opts.sleep ?? defaultSleep;
    let delay = 100;
    for (let tried = 0; ; tried++) {
        try {
            return await attempt();
        } catch (e) {
            const message = (e as Error).message;
            const dials = tried + 1;
            if (e instanceof FinalDialError || (limit > -1 && dials > limit)) throw new Error(`after ${e instanceof FinalDialError ? limit : tried} failed attempts: ${message}`);
            opts.log?.(`${what} ${dials}/${limit === -1 ? "inf" : limit} failed: retrying`);
            await sleep(delay);
            delay = Math.min(delay * 1.5, 5000);
        }
    }
}

interface Run {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    combined: string;
}

function run(cmd: string, args: string[], opts: { stdin?: string; onOut?: (chunk: string, stream: "stdout" | "stderr") => void } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: [opts.stdin !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let combined = "";
        child.stdout!.setEncoding("utf8").on("data", (c: string) => {
            stdout += c;
            combined += c;
            opts.onOut?.(c, "stdout");
        });
        child.stderr!.setEncoding("utf8").on("data", (c: string) => {
            stderr += c;
            combined += c;
            opts.onOut?.(c, "stderr");
        });
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, combined }));
        if (opts.stdin !== undefined) {
            // The provider writes stdin, then EOF (x/crypto closes the channel's write side).
            child.stdin!.on("error", () => undefined);
            child.stdin!.end(opts.stdin);
        }
    });
}

/** Starts a background ssh (ControlMaster, -f) and resolves on its first process's exit (the master keeps running). */
function startDetached(args: string[]): Promise<number | null> {
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", args, { stdio: "ignore" });
        child.on("error", reject);
        child.on("exit", (code) => resolve(code));
    });
}

/** Problems the OpenSSH client logged (-E file), without its debug lines. */
function logged(file: string, from = 0): string {
    if (!fs.existsSync(file)) return "";
    return fs
        .readFileSync(file, "utf8")
        .slice(from)
        .split(/\r?\n/)
        .map((l) => l.replace(/\r/g, "").trim())
        .filter((l) => l !== "" && !/^debug\d?:/.test(l) && !/^Warning: Permanently added/.test(l) && !/^Authenticated to /.test(l))
        .join("; ");
}

/** One resource's SSH connection: ControlMasters (bastion, target) in a private temp dir. */
export class Dialed {
    readonly masters: string[] = [];
    constructor(
        readonly dir: string,
        readonly keyOf: (hop: RecordedHop) => string,
        readonly target: { address: string; hop: RecordedHop },
        readonly bastion?: { address: string; hop: RecordedHop },
    ) {}

    get targetSocket(): string {
        return path.join(this.dir, "t");
    }
    get targetLog(): string {
        return path.join(this.dir, "t.log");
    }

    /** Options every ssh here shares. */
    base(hop: RecordedHop): string[] {
        return [
            "-F", "/dev/null",
            // The provider ignores host keys when connection.hostKey is unset (connection.go SSHConfig).
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-i", this.keyOf(hop),
        ];
    }

    /** ssh's own: port and login user of a hop (sftp takes -P and user@host instead). */
    ssh(hop: RecordedHop): string[] {
        return [...this.base(hop), "-p", String(hop.port), "-l", hop.user];
    }

    /** ssh arguments for a session (or sftp) over the target's master. */
    sessionArgs(): string[] {
        return [...this.ssh(this.target.hop), ...this.overMaster()];
    }

    overMaster(): string[] {
        return ["-o", "LogLevel=ERROR", "-o", `ControlPath=${this.targetSocket}`, "-o", "ControlMaster=no"];
    }

    /** ssh arguments for a separate connection to the target (env requests cannot go through a master). */
    separateArgs(): string[] {
        return [...this.ssh(this.target.hop), "-o", "LogLevel=ERROR", ...(this.bastion ? ["-o", `ProxyCommand=${this.proxyCommand()}`] : [])];
    }

    proxyCommand(): string {
        const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
        const b = this.bastion!;
        return ["ssh", ...this.ssh(b.hop), "-o", "LogLevel=ERROR", "-E", path.join(this.dir, "p.log"), "-o", `ControlPath=${path.join(this.dir, "b")}`, "-o", "ControlMaster=no", "-W", "%h:%p", b.address]
            .map((a) => (a === "%h:%p" ? a : q(a)))
            .join(" ");
    }

    async close(): Promise<void> {
        for (const sock of this.masters.reverse()) {
            if (fs.existsSync(sock)) await run("ssh", ["-F", "/dev/null", "-o", `ControlPath=${sock}`, "-O", "exit", "x"]).catch(() => undefined);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

function keyFile(stateDir: string, privateKey: string): string {
    const dir = path.join(stateDir, "keys");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${digest(privateKey)!.slice(7, 23)}.key`);
    if (!fs.existsSync(file)) fs.writeFileSync(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
    return file;
}

function checkSupported(c: RecordedConnection, what: string): void {
    for (const h of [c, ...(c.proxy ? [c.proxy] : [])]) {
        // Our program authenticates with privateKey only; anything else would need what the lab does not have.
        if (!h.privateKey) throw new Error(`${what}: the replay authenticates with connection.privateKey only (password/agent auth is not reproduced)`);
        if (h.privateKeyPassword) throw new Error(`${what}: a passphrase-protected privateKey is not reproduced by the replay`);
        if (h.hostKey) throw new Error(`${what}: connection.hostKey (host key pinning) is not reproduced by the replay`);
    }
}

/** Connection.Dial: direct, or bastion then target through it, each stage with the provider's retry loop. */
async function dial(c: RecordedConnection, opts: ExecuteOptions, log: (l: string) => void): Promise<Dialed> {
    const mapAddr = (h: string) => opts.addressMap[h] ?? h;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rp-"));
    const d = new Dialed(dir, (h) => keyFile(opts.stateDir, h.privateKey!), { address: mapAddr(c.host), hop: c }, c.proxy ? { address: mapAddr(c.proxy.host), hop: c.proxy } : undefined);
    const retry = { sleep: opts.sleep, log };
    try {
        const master = async (sock: string, hop: RecordedHop, address: string, logFile: string, extra: string[], connectTimeout: boolean) => {
            fs.writeFileSync(logFile, "");
            const code = await startDetached([
                ...d.ssh(hop),
                // DEBUG1: the master's log is where the session's exit-status / exit-signal shows.
                "-o", "LogLevel=DEBUG1",
                "-E", logFile,
                "-M", "-o", `ControlPath=${sock}`,
                // A safety net only: every master is closed with -O exit when its resource is done.
                "-o", "ControlPersist=600",
                // ssh.Dial's net.DialTimeout(perDialTimeout); the proxied target has no timeout in the provider.
                ...(connectTimeout ? ["-o", `ConnectTimeout=${hop.perDialTimeout}`] : []),
                ...extra,
                "-f", "-N", address,
            ]);
            if (code === 0) {
                d.masters.push(sock);
                return;
            }
            throw new Error(logged(logFile) || `ssh exited with status ${code}`);
        };
        if (!c.proxy) {
            await dialWithRetry("Dial", c.dialErrorLimit, () => master(d.targetSocket, c, d.target.address, d.targetLog, [], true), retry);
            return d;
        }
        try {
            await dialWithRetry("Dial proxy", c.proxy.dialErrorLimit, () => master(path.join(dir, "b"), c.proxy!, d.bastion!.address, path.join(dir, "b.log"), [], true), retry);
        } catch (e) {
            throw new Error(`proxy: ${(e as Error).message}`);
        }
        try {
            await dialWithRetry(
                "Dial from proxy",
                c.dialErrorLimit,
                async () => {
                    const proxyLog = path.join(dir, "p.log");
                    fs.writeFileSync(proxyLog, "");
                    try {
                        await master(d.targetSocket, c, d.target.address, d.targetLog, ["-o", `ProxyCommand=${d.proxyCommand()}`], false);
                    } catch (e) {
                        const channel = logged(proxyLog);
                        // The direct-tcpip channel was refused: the provider's "Dial from proxy" loop retries that.
                        if (/forwarding request failed|open failed|connect failed/i.test(channel)) throw new Error(channel);
                        // The channel opened but the SSH handshake over it failed: the provider retries the
                        // handshake on the same, already failed connection (connection.go, "Dial" loop), which
                        // cannot succeed; report it at once with the message that loop ends with.
                        throw new FinalDialError((e as Error).message);
                    }
                },
                retry,
            );
        } catch (e) {
            throw new Error(`proxy: ${(e as Error).message}`);
        }
        return d;
    } catch (e) {
        await d.close();
        throw e;
    }
}

// ---------------------------------------------------------------- Command

/** Go's %q for the create string in the provider's failure text (strconv.Quote). */
export function goQuote(s: string): string {
    let out = '"';
    for (const ch of s) {
        const cp = ch.codePointAt(0)!;
        if (ch === '"') out += '\\"';
        else if (ch === "\\") out += "\\\\";
        else if (ch === "\n") out += "\\n";
        else if (ch === "\t") out += "\\t";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\x07") out += "\\a";
        else if (ch === "\b") out += "\\b";
        else if (ch === "\f") out += "\\f";
        else if (ch === "\v") out += "\\v";
        else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
        else out += ch;
    }
    return `${out}"`;
}

const trimOne = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s);

/** Streams complete lines as the resource's `logging` allows (logging.go); capture is unaffected. */
function streamer(name: string, logging: string | undefined, log: (l: string) => void) {
    const mode = logging ?? "stdoutAndStderr";
    const pending: Record<string, string> = { stdout: "", stderr: "" };
    const allowed = (s: "stdout" | "stderr") => mode === "stdoutAndStderr" || mode === s;
    return {
        onOut: (chunk: string, s: "stdout" | "stderr") => {
            if (!allowed(s)) return;
            const lines = (pending[s] + chunk).split("\n");
            pending[s] = lines.pop()!;
            for (const l of lines) log(`  ${name} | ${l}`);
        },
        flush: () => {
            for (const s of ["stdout", "stderr"] as const) if (pending[s] !== "") log(`  ${name} | ${pending[s]}`);
        },
    };
}

/** CommandOutputs.run: one exec request with the command verbatim, stdin then EOF, env requests. */
export async function runCommand(
    d: Dialed,
    r: Pick<ReplayCommand, "name" | "environment" | "stdin" | "logging">,
    cmd: string,
    log: (l: string) => void,
): Promise<{ stdout: string; stderr: string }> {
    const env = r.environment ?? {};
    const keys = Object.keys(env).sort();
    let setenv: string[] = [];
    if (keys.length > 0) {
        // session.Setenv per key; a refused one fails the resource before the command runs. OpenSSH's
        // client does not report refusals, so ask the session what arrived (a separate connection:
        // env requests do not pass through a ControlMaster).
        const q = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
        setenv = ["-o", `SetEnv=${keys.map((k) => q(`${k}=${env[k]}`)).join(" ")}`];
        const probe = await run("ssh", [...d.separateArgs(), ...setenv, "-T", d.target.address, "--", "env -0"]);
        if (probe.code !== 0) throw new Error(`could not check the environment requests: ${probe.stderr.trim()}`);
        const arrived = new Set(probe.stdout.split("\0"));
        const refused = keys.find((k) => !arrived.has(`${k}=${env[k]}`));
        if (refused !== undefined) {
            log(`  ${r.name}: Unable to set '${refused}'. This only works if your SSH server is configured to accept these variables via AcceptEnv.`);
            throw new Error(`could not set environment variable ${goQuote(refused)}: ssh: setenv failed`);
        }
    }
    const s = streamer(r.name, r.logging, log);
    const logBefore = fs.existsSync(d.targetLog) ? fs.statSync(d.targetLog).size : 0;
    const sessionArgs = keys.length > 0 ? [...d.separateArgs(), ...setenv] : d.sessionArgs();
    // One argument after "--": ssh sends it as the exec request's command unchanged; -T: no PTY.
    const res = await run("ssh", [...sessionArgs, "-T", d.target.address, "--", cmd], { stdin: r.stdin && r.stdin.length > 0 ? r.stdin : undefined, onOut: s.onOut });
    s.flush();
    if (res.code === 0) return { stdout: trimOne(res.stdout), stderr: trimOne(res.stderr) };
    let why: string;
    if (res.code !== 255) {
        why = `Process exited with status ${res.code}`;
    } else {
        // 255 is both a remote exit status and ssh's own failure: the master's log tells which.
        const seen = fs.existsSync(d.targetLog) ? fs.readFileSync(d.targetLog, "utf8").slice(logBefore) : "";
        if (keys.length === 0 && /rtype exit-status/.test(seen)) why = "Process exited with status 255";
        else if (/rtype exit-signal/.test(seen)) {
            // x/crypto: status -1 and the signal's name; OpenSSH's client does not report the name.
            why = "Process exited with status -1 from signal ?";
        } else if (keys.length > 0) why = "Process exited with status 255";
        else why = "wait: remote command exited without exit status or exit signal";
    }
    throw new Error(`${why}: running ${goQuote(cmd)}:\n${res.combined}`);
}

// ---------------------------------------------------------------- CopyToRemote

/** Content hash of a local file or directory tree (names and contents): what decides a re-copy. */
export function sourceHash(p: string): string {
    const h = crypto.createHash("sha256");
    const walk = (abs: string, rel: string) => {
        const st = fs.statSync(abs);
        if (st.isDirectory()) {
            h.update(`d:${rel}\0`);
            for (const e of fs.readdirSync(abs).sort()) walk(path.join(abs, e), rel ? `${rel}/${e}` : e);
        } else {
            const c = fs.readFileSync(abs);
            h.update(`f:${rel}:${c.length}\0`);
            h.update(c);
        }
    };
    walk(p, "");
    return h.digest("hex");
}

const sftpQuote = (p: string) => `"${p.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

type RemoteKind = "dir" | "file" | "missing";

async function sftpBatch(d: Dialed, lines: string[]): Promise<Run> {
    // No -p: modes are not kept (the provider sets none).
    return run("sftp", [...d.base(d.target.hop), ...d.overMaster(), "-P", String(d.target.hop.port), "-b", "-", `${d.target.hop.user}@${d.target.address}`], {
        stdin: lines.join("\n") + "\n",
    });
}

/** What is at each remote path (sftp `ls -la`: a directory lists its own "." entry). */
async function remoteKinds(d: Dialed, paths: string[]): Promise<RemoteKind[]> {
    const res = await sftpBatch(d, paths.map((p) => `-ls -la ${sftpQuote(p)}`));
    if (res.code !== 0) throw new Error(`sftp: ${res.stderr.trim()}`);
    const sections = res.stdout.split(/^sftp> .*$/m).slice(1);
    return paths.map((p, i) => {
        const lines = (sections[i] ?? "").split("\n").filter((l) => l.trim() !== "");
        if (lines.some((l) => l.startsWith("d") && l.endsWith(`${p.replace(/\/$/, "")}/.`))) return "dir";
        if (lines.some((l) => l.endsWith(p))) return "file";
        return "missing";
    });
}

/**
 * copy.go sftpCopy/copyDir/copyFile. Files are sent from a private staging copy with mode 0666, so
 * OpenSSH's `put` (which sends the local mode on open) asks for exactly what pkg/sftp's Create asks
 * for (no mode: sftp-server opens with 0666), and the remote umask decides as it does for the
 * provider; existing files are truncated in place (mode and owner kept); nothing is removed.
 */
export async function copyToRemote(d: Dialed, source: ReplayCopy["source"], remotePath: string): Promise<void> {
    const src = source.path;
    const st = fs.statSync(src);
    const stage = fs.mkdtempSync(path.join(d.dir, "stage-"));
    const batch: string[] = [];
    const put = (local: string, remote: string) => {
        const staged = path.join(stage, String(batch.length));
        fs.copyFileSync(local, staged);
        fs.chmodSync(staged, 0o666);
        batch.push(`put ${sftpQuote(staged)} ${sftpQuote(remote)}`);
    };
    const mkdirAll = (dir: string) => {
        // MkdirAll: every missing component; existing ones are fine (a non-directory fails the next step).
        const parts = path.posix.normalize(dir).split("/").filter(Boolean);
        for (let i = 1; i <= parts.length; i++) batch.push(`-mkdir ${sftpQuote(`/${parts.slice(0, i).join("/")}`)}`);
    };
    const [destKind] = await remoteKinds(d, [remotePath]);
    if (st.isDirectory()) {
        if (destKind === "missing") mkdirAll(remotePath);
        let dest = remotePath;
        if (!src.endsWith("/")) {
            dest = path.posix.join(remotePath, path.basename(src));
            // Below a file, the stat answers "no such file" (sftp-server maps ENOTDIR so): the Mkdir then fails.
            const [k] = destKind !== "dir" ? (["missing"] as RemoteKind[]) : await remoteKinds(d, [dest]);
            if (k === "file") throw new Error(`remote path ${dest} exists but is not a directory`);
            if (k === "missing") {
                const made = await sftpBatch(d, [...batch.splice(0), `mkdir ${sftpQuote(dest)}`]);
                if (made.code !== 0) throw new Error(`failed to create remote directory ${dest}: ${made.stderr.trim()}`);
            }
        }
        const walk = (abs: string, rel: string) => {
            for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
                const childAbs = path.join(abs, e.name);
                const childRemote = path.posix.join(dest, rel, e.name);
                if (e.isDirectory()) {
                    batch.push(`-mkdir ${sftpQuote(childRemote)}`);
                    walk(childAbs, path.posix.join(rel, e.name));
                } else {
                    put(childAbs, childRemote);
                }
            }
        };
        walk(src, "");
    } else {
        let dest = remotePath;
        if (destKind === "dir") dest = path.posix.join(remotePath, path.basename(src));
        else if (destKind === "missing") mkdirAll(path.posix.dirname(remotePath));
        put(src, dest);
    }
    const res = await sftpBatch(d, batch);
    if (res.code !== 0) throw new Error(`failed to copy ${src} to remote path ${remotePath}: ${res.stderr.trim()}`);
}

// ---------------------------------------------------------------- the run

function checkRecording(rec: LabRecording, selected: ReplayResource[]): void {
    const urns = new Set(rec.resources.map((r) => r.urn));
    for (const r of selected) {
        checkSupported(r.connection, r.name);
        if (r.type === COMMAND_TYPE && r.delete !== undefined) {
            throw new Error(`${r.name}: has a delete command; the replay never deletes (the program sets none), so it refuses to pretend`);
        }
        // addPreviousOutputInEnv (default true) sends PULUMI_COMMAND_STDOUT/STDERR as env requests on an
        // update and only warns when refused, which a stock Debian sshd (AcceptEnv LANG LC_*) does: the
        // command sees nothing either way, so the replay sends nothing. Our program sets it false.
        for (const dep of r.dependencies) if (!urns.has(dep)) throw new Error(`${r.name}: depends on ${dep}, which is not in the recording`);
    }
}

/**
 * Runs the recording's resources in dependency order, independent ones at once (the engine's
 * default parallelism is unbounded). On the first failure no further resource starts; the running
 * ones finish; then one ReplayError names the failed resource with the provider's message.
 */
export async function executeRecording(rec: LabRecording, opts: ExecuteOptions): Promise<ResourceResult[]> {
    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const selected = rec.resources.filter((r) => opts.only?.(r) ?? true);
    checkRecording(rec, selected);
    const selectedUrns = new Set(selected.map((r) => r.urn));
    const state = readState(opts.stateDir);
    const results: ResourceResult[] = [];
    const done = new Set<string>();
    const running = new Map<string, Promise<void>>();
    const failures: { name: string; message: string }[] = [];
    const waiting = [...selected];

    const execute = async (r: ReplayResource): Promise<void> => {
        const started = Date.now();
        const saved = state.resources[r.urn];
        const action = planAction(saved, r);
        const log = (l: string) => opts.log(l);
        const result: ResourceResult = { urn: r.urn, name: r.name, type: r.type, action, seconds: 0 };
        if (action === "same") {
            result.stdout = saved!.stdout;
            result.stderr = saved!.stderr;
            opts.log(`= ${r.name} (unchanged)`);
            results.push(result);
            return;
        }
        opts.log(`+ ${r.name}: ${action}…`);
        try {
            const next: SavedResource = { type: r.type, triggers: stable(r.triggers), inputs: comparableInputs(r) };
            if (r.type === COMMAND_TYPE) {
                const d = await dial(r.connection, opts, (l) => log(`  ${r.name}: ${l}`));
                try {
                    // Update runs `update` when set, else `create` again (commandController.go Update).
                    const cmd = action === "update" && r.update !== undefined ? r.update : r.create;
                    const out = await runCommand(d, r, cmd, log);
                    Object.assign(next, out);
                    Object.assign(result, out);
                } finally {
                    await d.close();
                }
            } else {
                const hash = sourceHash(r.source.path);
                // copyController.go Update: copy only when the archive hash or remotePath changed.
                const needCopy = action !== "update" || saved!.hash !== hash || saved!.remotePath !== r.remotePath;
                if (needCopy) {
                    const d = await dial(r.connection, opts, (l) => log(`  ${r.name}: ${l}`));
                    try {
                        await copyToRemote(d, r.source, r.remotePath);
                    } finally {
                        await d.close();
                    }
                }
                result.copied = needCopy;
                next.hash = hash;
                next.remotePath = r.remotePath;
            }
            // Only a success is saved: a failed create leaves nothing (next run creates again), a
            // failed update or replace keeps the old state (next run tries again).
            state.resources[r.urn] = next;
            writeState(opts.stateDir, state);
            result.seconds = (Date.now() - started) / 1000;
            opts.log(`✓ ${r.name}: ${action} (${result.seconds.toFixed(1)} s)`);
            results.push(result);
        } catch (e) {
            const message = (e as Error).message;
            opts.log(`✗ ${r.name}: ${action} failed after ${((Date.now() - started) / 1000).toFixed(1)} s`);
            failures.push({ name: r.name, message });
        }
    };

    for (;;) {
        if (failures.length === 0) {
            for (const r of [...waiting]) {
                if (r.dependencies.every((dep) => done.has(dep) || !selectedUrns.has(dep))) {
                    waiting.splice(waiting.indexOf(r), 1);
                    running.set(
                        r.urn,
                        execute(r).then(() => {
                            running.delete(r.urn);
                            if (results.some((x) => x.urn === r.urn)) done.add(r.urn);
                        }),
                    );
                }
            }
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
    }
    if (failures.length > 0) {
        const [first] = failures;
        const others = failures.length > 1 ? ` (also failed: ${failures.slice(1).map((f) => f.name).join(", ")})` : "";
        throw new ReplayError(first.name + others, first.message, results);
    }
    if (waiting.length > 0) throw new Error(`never ready (a dependency cycle?): ${waiting.map((r) => r.name).join(", ")}`);
    return results;
}

export { COMMAND_TYPE, COPY_TYPE };
