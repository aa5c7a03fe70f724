/**
 * Lab core: every lab host is a booted Debian 12 system (scripts/lab/host/booted.ts: its own overlay
 * of one base root, systemd as PID 1, cloud-init from a NoCloud seed) on one bridge, reached over
 * SSH through the lab's bastion as the program's login user, exactly as the Pulumi components
 * reach cloud instances. Packages come through the egress stand-in (scripts/lab/host/egress.ts).
 *
 * Only 198.18.0.0/15 is used (the benchmarking range): the bridge is one segment for every subnet
 * and VPC of the lab stack, and its address forwards nothing, so nothing leaves it but the apt
 * proxy's fetches from Debian's archives.
 */
import { sleep } from "./client-io";
import { spawn, spawnSync } from "child_process";
import { RunResult, spawnBounded } from "../ops/transport";
import * as fs from "fs";
import * as path from "path";
import { BootstrapPlan, BootstrapStep } from "../../components/shared/bootstrapPlan";
import { remoteScriptsDir, stepCommandLine } from "../../components/shared/remoteBootstrap";
import { BootSpec, BootedHosts, recordedPid } from "./host/booted";
import { egressProxyUrl, startEgress, stopEgress } from "./host/egress";
import { COMMAND_TYPE, type LabRecording, type ReplayCommand, recordLabStack } from "./replay/record";
import { executeRecording } from "./replay/execute";
import { LAB_BASTION_IP, recordedStepSecrets, topologyFromRecording } from "./topology";

export interface LabHost {
    name: string;
    ip: string;
    role: "bastion" | "db" | "fs" | "web";
    /** cloud-init instance ID (a replaced node gets a new one). */
    instanceId: string;
    /** The data volume's path inside the host (EC2's NVMe by-id name of its EBS volume), for db and fs hosts. */
    dataDevice?: string;
    /** The program's name for a cluster node (`node2`): what the node itself is configured as. */
    nodeName?: string;
    /** A web node the Auto Scaling group launches later (scale-out): its scenario boots it, not `up`. */
    scaleOut?: boolean;
}

/** Whether `up` boots the host (every host but a later scale-out's web node). */
export const launchedAtUp = (h: LabHost): boolean => !h.scaleOut;

export const BRIDGE = "oclab0";
export const BRIDGE_IP = "198.18.0.1";
/** The bridge's prefix: one segment covering every lab VPC range inside 198.18.0.0/15. */
export const BRIDGE_PREFIX = 15;
export const STATE = process.env.OCLAB_STATE ?? "/var/lib/oclab";
/** Machine-wide caches kept across lab runs: the base root and the apt proxy's cache. */
export const CACHE = process.env.OCLAB_CACHE ?? "/var/cache/oclab";
const TOPOLOGY_FILE = path.join(STATE, "topology.json");
/** The recording of the lab stack `up` executed (mode 600: it holds the stack's secrets). */
const RECORDING_FILE = path.join(STATE, "recording.json");
/** The replay's key files and its record of what ran (replay-state.json), like a stack's state. */
const REPLAY_STATE = path.join(STATE, "replay");

const ebsPath = (volume: string) => `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volume}`;

/** The lab's hosts when `up` has not recorded its own yet. */
export function defaultTopology(): LabHost[] {
    const h = (name: string, ip: string, role: LabHost["role"]): LabHost => ({
        name, ip, role, instanceId: `i-oclab-${name}-1`, ...(role === "db" || role === "fs" ? { dataDevice: ebsPath(`vol-oclab-${name}`) } : {}),
    });
    return [
        h("bastion", "198.18.0.10", "bastion"),
        h("db1", "198.18.0.11", "db"), h("db2", "198.18.0.12", "db"), h("db3", "198.18.0.13", "db"),
        h("fs1", "198.18.0.21", "fs"), h("fs2", "198.18.0.22", "fs"), h("fs3", "198.18.0.23", "fs"),
        h("web1", "198.18.0.31", "web"), h("web2", "198.18.0.32", "web"), { ...h("web3", "198.18.0.33", "web"), scaleOut: true },
    ];
}

function loadTopology(): LabHost[] {
    try {
        return JSON.parse(fs.readFileSync(TOPOLOGY_FILE, "utf8")) as LabHost[];
    } catch {
        return defaultTopology();
    }
}

/** The lab's hosts: what `up` wrote to $OCLAB_STATE/topology.json, else the default. */
export const HOSTS: LabHost[] = loadTopology();
export const REPO = path.resolve(__dirname, "../..");
export const SCRIPTS = path.join(REPO, "scripts");
/** What a node is shipped (the cloud's CopyToRemote copies the same files, see components/shared/remoteBootstrap.ts). */
export const NODE_SCRIPTS = path.join(SCRIPTS, "node");
/** The program's login user on every instance (the Debian AMIs' default user; components/access/bastion.ts). */
export const LOGIN_USER = "admin";
/** Where the program's copy lands on a host (remotePath/<staged dir name>). */
export const REMOTE_SCRIPTS = remoteScriptsDir(LOGIN_USER);

/**
 * The lab's own test tools (Gluster writer/verify/bench helpers): a copy of scripts/ in the state
 * directory, bound read-only at the same path into every host. Not the program's: the program's
 * files reach hosts only through their copy steps.
 */
export const HOST_SCRIPTS = path.join(STATE, "tools");
/** The lab's stack outputs for `npm run ops -- lab …` (same shape as `pulumi stack output --json --show-secrets`), written by `up`. */
export const OPS_OUTPUTS_FILE = path.join(STATE, "ops-outputs.json");
/** Every lab host's key, collected by `up` after cloud-init made them at first boot. */
export const LAB_KNOWN_HOSTS_FILE = path.join(STATE, "ssh", "known_hosts");
/** What the machine running the lab needs (the hosts install their own packages, as instances do). */
export const LAB_PACKAGES = ["systemd-container", "debootstrap", "apt-cacher-ng", "nftables", "openssh-client", "curl", "iproute2", "util-linux"];
/**
 * S3 stand-in (scripts/lab/s3-standin.ts) on the bridge: the endpoint Pulumi.lab.yaml's
 * backupS3Endpoint names. Its objects live in $OCLAB_STATE/s3 and go with `down`.
 */
export const S3_STANDIN_PORT = 9000;
export const S3_STANDIN_ENDPOINT = `http://${BRIDGE_IP}:${S3_STANDIN_PORT}`;
/** The nft table of the IMDS address's rule on this machine (scripts/lab/web-boot.ts makes it, `down` deletes it). */
export const IMDS_NFT_TABLE = "oclab_imds";

export type { RunResult };
export interface RunOpts {
    input?: string;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
}

/**
 * The resolver every host is given, as DHCP gives an instance the VPC's resolver: the DNS stand-in on
 * the bridge (not this machine's resolver, which the base root's debootstrap copied).
 */
export function resolverFile(): NonNullable<BootSpec["systemFiles"]> {
    return { "/etc/resolv.conf": { content: `nameserver ${BRIDGE_IP}\n`, mode: 0o644 } };
}

/** A lab stand-in's script (what its recorded PID's command line names). */
function standinScript(kind: string): string {
    return path.join(SCRIPTS, "lab", `${kind}-standin.ts`);
}

/**
 * What `up` finds in the state directory: nothing, a lab whose hosts run (`up` again replays what
 * changed), or a lab none of whose hosts runs — this machine restarted or a run was interrupted, at
 * an unknown point of a scenario — which `up` removes first, as `down` would, rather than build on
 * disks and a replay record whose agreement it cannot know.
 */
export function leftoverLab(hostDirs: readonly string[], running: (host: string) => boolean): "none" | "running" | "stale" {
    if (hostDirs.length === 0) return "none";
    return hostDirs.some(running) ? "running" : "stale";
}

export function log(msg: string): void {
    process.stderr.write(`${new Date().toISOString().slice(11, 23)} lab: ${msg}\n`);
}

/** Run a command (no shell), bounded in time. */
export function run(cmd: string[], opts: RunOpts = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    return spawnBounded(cmd, opts.input ?? "", timeoutMs, opts.env ?? process.env, () => `[lab: timed out after ${opts.timeoutMs} ms, killed]`);
}

export function runSync(cmd: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): RunResult {
    const r = spawnSync(cmd[0], cmd.slice(1), { input: opts.input ?? "", encoding: "utf8", timeout: opts.timeoutMs ?? 300_000 });
    const res = { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
    if (res.code !== 0 && !opts.allowFail) {
        throw new Error(`command failed (${res.code}): ${cmd.join(" ")}\n${res.stderr.trim()}`);
    }
    return res;
}

export function shq(s: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export { sleep };

/** A db host's data volume as the host sees it (the path the program's datadir step is given). */
export function labDataDevice(host: string): string {
    const d = hostByName(host).dataDevice;
    if (!d) throw new Error(`lab host ${host} has no data volume`);
    return d;
}

export function hostByName(name: string): LabHost {
    const h = HOSTS.find((x) => x.name === name);
    if (!h) throw new Error(`unknown lab host "${name}" (hosts: ${HOSTS.map((x) => x.name).join(" ")})`);
    return h;
}

/** systemctl for the lab's service verbs (the scenarios' fault injections and checks). */
export function systemctlArgs(action: string, unit: string): string[] {
    switch (action) {
        case "start":
        case "stop":
        case "restart":
        case "reload":
        case "enable":
            return ["systemctl", action, unit];
        case "status":
            return ["systemctl", "is-active", "--quiet", unit];
        // A crash: SIGKILL to every process of the unit. systemd then applies the unit's own Restart= policy, as on EC2.
        case "kill":
            return ["systemctl", "kill", "--signal=SIGKILL", unit];
        // A crash that stays down (the host lost power, or an operator holds it): SIGKILL, then the
        // unit's pending automatic restart is cancelled. The data is left exactly as the crash left it.
        case "crash":
            return ["sh", "-c", `systemctl kill --signal=SIGKILL ${unit}; systemctl stop ${unit}`];
        case "pid":
            return ["systemctl", "show", "--property=MainPID", "--value", unit];
        default:
            throw new Error(`lab svc: unknown action ${action}`);
    }
}

export class Lab {
    get hosts(): LabHost[] {
        return HOSTS;
    }
    readonly state = STATE;
    readonly sshConfig = path.join(STATE, "ssh", "ssh_config");
    readonly booted = new BootedHosts(STATE, BRIDGE, log);

    log = log;

    /** nsenter argv prefix that runs a command inside a host (all its namespaces), clean environment. */
    nsenterArgs(host: string): string[] {
        hostByName(host);
        return this.booted.nsenterArgs(host);
    }

    /**
     * nsenter argv prefix for the lab's own clients: this machine's files and programs, the host's
     * network (its address, its view of the others).
     */
    netnsArgs(host: string): string[] {
        hostByName(host);
        const pid = this.booted.leaderPid(host);
        if (!pid) throw new Error(`lab host ${host} is not running`);
        return ["nsenter", "-t", String(pid), "-n", "--"];
    }

    /** Run a command inside a host directly (no SSH). */
    exec(host: string, cmd: string[], opts: RunOpts = {}): Promise<RunResult> {
        let prefix: string[];
        try {
            prefix = this.nsenterArgs(host);
        } catch (e) {
            return Promise.resolve({ code: 255, stdout: "", stderr: (e as Error).message });
        }
        return run([...prefix, ...cmd], opts);
    }

    /** Run a bash snippet inside a host. */
    sh(host: string, script: string, opts: RunOpts = {}): Promise<RunResult> {
        return this.exec(host, ["bash", "-c", script], opts);
    }

    /**
     * `systemctl reboot` inside a host, as an operator or an instance reboot does; returns once the
     * new boot's systemd is up and cloud-init done (bounded: a new PID 1 within 60 s, booted within
     * 180 s), with the seconds it took.
     */
    async reboot(host: string): Promise<number> {
        const before = this.booted.leaderPid(host);
        const t0 = Date.now();
        await this.exec(host, ["systemctl", "reboot"], { timeoutMs: 30_000 });
        for (let i = 0; i < 240 && [before, undefined].includes(this.booted.leaderPid(host)); i++) await sleep(250);
        if ([before, undefined].includes(this.booted.leaderPid(host))) throw new Error(`${host} did not start a new boot within 60 s of systemctl reboot; see ${this.booted.dir(host)}/console.log`);
        await this.booted.waitBooted(host, 180_000);
        return (Date.now() - t0) / 1000;
    }

    /** A service verb on a host's systemd unit (see systemctlArgs). */
    svc(host: string, action: string, name: string): Promise<RunResult> {
        return this.exec(host, systemctlArgs(action, name), { timeoutMs: 600_000 });
    }

    /** Run a command over SSH as the login user (through the bastion for every host but the bastion). */
    ssh(host: string, remoteCmd: string, opts: RunOpts = {}): Promise<RunResult> {
        hostByName(host);
        return run(["ssh", "-F", this.sshConfig, host, remoteCmd], opts);
    }

    /** An fs host's brick volume as the host sees it. */
    brickDevice(host: string): string {
        return labDataDevice(host);
    }

    isUp(): boolean {
        return this.booted.leaderPid("bastion") !== undefined;
    }

    /** The secret values the program's steps receive, as recorded (see recordedStepSecrets). */
    secrets(): Record<string, string> {
        return recordedStepSecrets(this.recording());
    }

    /** The recording `up` executed. */
    recording(): LabRecording {
        if (!fs.existsSync(RECORDING_FILE)) throw new Error("the lab has no recording: npm run lab -- up");
        return JSON.parse(fs.readFileSync(RECORDING_FILE, "utf8")) as LabRecording;
    }

    /**
     * A host's recorded steps whose resource name contains `-<step>-` (e.g. `galera-configure`), in
     * recording order. Throws when there is none.
     */
    recordedSteps(host: string, step: string): ReplayCommand[] {
        const ip = hostByName(host).ip;
        const found = this.recording().resources.filter(
            (r): r is ReplayCommand => r.type === COMMAND_TYPE && r.connection.host === ip && r.name.includes(`-${step}-`),
        );
        if (found.length === 0) throw new Error(`the recording has no ${step} step for ${host} (${ip})`);
        return found;
    }

    /**
     * Runs a recorded step again, as the engine does when its triggers change (a replaced
     * instance): its create line verbatim as the login user, its stdin. `extraEnv` adds variables to
     * the line's `env` (a scenario's variation, named in its description).
     */
    async runRecorded(host: string, cmd: ReplayCommand, extraEnv: Record<string, string> = {}): Promise<RunResult> {
        const prefix = "sudo -n env ";
        if (Object.keys(extraEnv).length && !cmd.create.startsWith(prefix)) throw new Error(`${cmd.name}: create line does not start with "${prefix}"`);
        const extra = Object.entries(extraEnv).map(([k, v]) => `${k}=${shq(v)} `).join("");
        const create = extra ? prefix + extra + cmd.create.slice(prefix.length) : cmd.create;
        const t0 = Date.now();
        const r = await this.ssh(host, create, { input: cmd.stdin ?? "", timeoutMs: 900_000 });
        const logDir = path.join(STATE, "logs");
        fs.mkdirSync(logDir, { recursive: true });
        fs.writeFileSync(path.join(logDir, `rerun-${cmd.name}.log`), `$ ${create}\n--- exit ${r.code} in ${Date.now() - t0} ms\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    // ---------------------------------------------------------------- bootstrap plans over SSH

    /** One step as the program runs it: its create line as the login user, its secrets on stdin. */
    async runStep(step: BootstrapStep, secrets: Record<string, string>): Promise<RunResult> {
        const missing = step.secrets.filter((s) => !(s in secrets));
        if (missing.length) throw new Error(`step ${step.id}: secrets not available: ${missing.join(", ")}`);
        const remote = stepCommandLine(step, LOGIN_USER);
        const input = step.secrets.map((s) => `${s}=${secrets[s]}\n`).join("");
        const t0 = Date.now();
        const r = await this.ssh(step.host, remote, { input, timeoutMs: 900_000 });
        const logDir = path.join(STATE, "logs");
        fs.mkdirSync(logDir, { recursive: true });
        fs.writeFileSync(path.join(logDir, `step-${step.id.replace(/[^A-Za-z0-9_.-]/g, "_")}.log`), `$ ${remote}\n--- exit ${r.code} in ${Date.now() - t0} ms\n${r.stdout}\n${r.stderr}`);
        return r;
    }

    /** Run a plan: every step starts as soon as its dependencies succeeded; fail fast. */
    async runPlan(plan: BootstrapPlan, secrets = this.secrets()): Promise<void> {
        const done = new Set<string>();
        const started = new Set<string>();
        const running = new Map<string, Promise<{ id: string; r: RunResult }>>();
        const ids = new Set(plan.steps.map((s) => s.id));
        for (const s of plan.steps) for (const d of s.dependsOn) if (!ids.has(d)) throw new Error(`plan ${plan.cluster}: ${s.id} depends on unknown ${d}`);
        log(`plan ${plan.cluster}: ${plan.steps.length} steps`);
        const t0 = Date.now();
        while (done.size < plan.steps.length) {
            for (const s of plan.steps) {
                if (!started.has(s.id) && s.dependsOn.every((d) => done.has(d))) {
                    started.add(s.id);
                    log(`  start ${s.id} on ${s.host}`);
                    running.set(s.id, this.runStep(s, secrets).then((r) => ({ id: s.id, r })));
                }
            }
            if (running.size === 0) throw new Error(`plan ${plan.cluster}: stuck (cycle?)`);
            const { id, r } = await Promise.race(running.values());
            running.delete(id);
            if (r.code !== 0) {
                await Promise.allSettled(running.values());
                throw new Error(`plan ${plan.cluster}: step ${id} failed (exit ${r.code}):\n${(r.stderr + r.stdout).trim().split("\n").slice(-25).join("\n")}`);
            }
            done.add(id);
            log(`  done  ${id}`);
        }
        log(`plan ${plan.cluster} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }

    // ---------------------------------------------------------------- up

    checkPrereqs(): void {
        if (process.platform !== "linux") throw new Error("the lab needs Linux (systemd-nspawn, network namespaces)");
        if (process.getuid?.() !== 0) throw new Error("the lab needs root (containers, mounts, loop devices, a bridge): run it as root");
    }

    /** Refreshes the hosts' copy of the lab tools (see HOST_SCRIPTS). */
    syncHostScripts(): void {
        const next = `${HOST_SCRIPTS}.new`;
        fs.rmSync(next, { recursive: true, force: true });
        fs.cpSync(SCRIPTS, next, { recursive: true });
        fs.rmSync(HOST_SCRIPTS, { recursive: true, force: true });
        fs.renameSync(next, HOST_SCRIPTS);
    }

    ensurePackages(): void {
        const missing = LAB_PACKAGES.filter(
            (p) => !runSync(["dpkg-query", "-W", "-f=${Status}", p], { allowFail: true }).stdout.includes("install ok installed"),
        );
        if (missing.length === 0) return;
        log(`installing Debian packages: ${missing.join(" ")}`);
        // keep apt from starting daemons (apt-cacher-ng) outside the lab's control
        const prc = "/usr/sbin/policy-rc.d";
        const ours = !fs.existsSync(prc);
        if (ours) fs.writeFileSync(prc, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
        try {
            runSync(["apt-get", "update", "-q"], { timeoutMs: 600_000 });
            runSync(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", ...missing], { timeoutMs: 1_200_000 });
        } finally {
            if (ours) fs.rmSync(prc, { force: true });
        }
    }

    /**
     * The program's key pair as recorded: the private key its connections carry (for the lab's own
     * ssh and the operators' tooling) and the public key every host authorizes at first boot.
     */
    private useRecordedKey(rec: LabRecording): void {
        fs.mkdirSync(path.join(STATE, "ssh"), { recursive: true, mode: 0o700 });
        fs.chmodSync(STATE, 0o700);
        const withKey = rec.resources.find((r) => r.connection.privateKey);
        if (!withKey) throw new Error("no recorded connection carries a private key");
        const key = path.join(STATE, "ssh", "id_ed25519");
        fs.writeFileSync(key, withKey.connection.privateKey!, { mode: 0o600 });
        fs.writeFileSync(`${key}.pub`, rec.publicKey.trim() + "\n", { mode: 0o644 });
    }

    /**
     * Host keys as cloud-init made them at first boot, read from inside each running host (no trust
     * on first use); written again once the web hosts have booted.
     */
    async writeSshConfig(): Promise<void> {
        const key = path.join(STATE, "ssh", "id_ed25519");
        const known = await Promise.all(
            HOSTS.filter((h) => this.booted.leaderPid(h.name) !== undefined).map(async (h) => {
                const r = await this.exec(h.name, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]);
                if (r.code !== 0) throw new Error(`${h.name} has no ed25519 host key: ${r.stderr.trim()}`);
                const [type, b64] = r.stdout.trim().split(" ");
                return `${h.name},${h.ip} ${type} ${b64}`;
            }),
        );
        fs.writeFileSync(LAB_KNOWN_HOSTS_FILE, known.join("\n") + "\n");
        const lines: string[] = [];
        for (const h of HOSTS) {
            lines.push(`Host ${h.name}`, `  HostName ${h.ip}`);
            if (h.role !== "bastion") lines.push("  ProxyJump bastion");
        }
        lines.push(
            "Host *",
            `  User ${LOGIN_USER}`,
            `  IdentityFile ${key}`,
            "  IdentitiesOnly yes",
            "  StrictHostKeyChecking yes",
            `  UserKnownHostsFile ${LAB_KNOWN_HOSTS_FILE}`,
            "  BatchMode yes",
            "  ConnectTimeout 5",
            "  ServerAliveInterval 5",
            "  ServerAliveCountMax 6",
            "  ControlMaster auto",
            `  ControlPath ${path.join(STATE, "ssh", "cm-%C")}`,
            "  ControlPersist 20",
            "  LogLevel ERROR",
            "",
        );
        fs.writeFileSync(this.sshConfig, lines.join("\n"), { mode: 0o600 });
    }

    /**
     * A sparse loop-file disk for a db or fs host (3 GiB data volume / 2 GiB brick): what EBS is in
     * the cloud. Returns the loop device on this machine.
     */
    private ensureLoop(h: LabHost): string {
        const img = path.join(STATE, "disks", `${h.name}.img`);
        const size = h.role === "db" ? "3G" : "2G";
        fs.mkdirSync(path.dirname(img), { recursive: true });
        if (!fs.existsSync(img)) runSync(["truncate", "-s", size, img]);
        let dev = runSync(["losetup", "-j", img], { allowFail: true }).stdout.split(":")[0].trim();
        if (!dev) {
            dev = runSync(["losetup", "-f", "--show", img]).stdout.trim();
            fs.appendFileSync(path.join(STATE, "loops"), `${dev} ${img}\n`);
        }
        return dev;
    }

    /** What a host boots with: its address, its instance, the key pair, its volumes. */
    bootSpec(h: LabHost, userData?: string): BootSpec {
        const pub = fs.readFileSync(path.join(STATE, "ssh", "id_ed25519.pub"), "utf8").trim();
        const devices = h.dataDevice ? [{ source: this.ensureLoop(h), paths: [] as string[] }] : [];
        for (const d of devices) d.paths.push(d.source, h.dataDevice!);
        return {
            name: h.name,
            ip: h.ip,
            prefixLength: BRIDGE_PREFIX,
            gateway: BRIDGE_IP,
            instanceId: h.instanceId,
            userData,
            publicKeys: [pub],
            devices,
            fuse: true,
            readOnlyBinds: [HOST_SCRIPTS],
            apiVfsWritable: h.role === "web",
            systemFiles: resolverFile(),
        };
    }

    /**
     * Records the lab stack (the program under the mock engine with Pulumi.lab.yaml), boots the
     * hosts it names, then executes its recorded copy and command resources through the bastion
     * (scripts/lab/replay): the program's own route to its nodes.
     */
    async up(opts: { beforeBoot?: (rec: LabRecording) => Promise<unknown> } = {}): Promise<void> {
        this.checkPrereqs();
        const hostsDir = path.join(STATE, "hosts");
        const left = fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir) : [];
        if (leftoverLab(left, (h) => this.booted.supervisorPid(h) !== undefined) === "stale") {
            log(`a lab from an earlier run is left in ${STATE} (hosts ${left.join(", ")}) and none of its hosts runs (this machine restarted or that run was interrupted): removing it first, as down does`);
            await this.down();
        }
        this.ensurePackages();
        fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });
        this.syncHostScripts();
        const t0 = Date.now();
        const rec = await recordLabStack({ stateDir: REPLAY_STATE });
        fs.writeFileSync(RECORDING_FILE, JSON.stringify(rec) + "\n", { mode: 0o600 });
        HOSTS.splice(0, HOSTS.length, ...topologyFromRecording(rec));
        fs.writeFileSync(TOPOLOGY_FILE, JSON.stringify(HOSTS, null, 2) + "\n");
        this.useRecordedKey(rec);
        log(`recorded the lab stack in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${rec.resources.length} copy/command resources, hosts ${HOSTS.map((h) => `${h.name}=${h.ip}`).join(" ")}`);
        if (runSync(["ip", "link", "show", BRIDGE], { allowFail: true }).code !== 0) {
            runSync(["ip", "link", "add", BRIDGE, "type", "bridge"]);
            runSync(["ip", "addr", "add", `${BRIDGE_IP}/${BRIDGE_PREFIX}`, "dev", BRIDGE]);
        }
        runSync(["ip", "link", "set", BRIDGE, "up"]);
        await startEgress({ address: BRIDGE_IP, stateDir: STATE, cacheDir: path.join(CACHE, "apt"), deniedAddresses: [], log });
        const base = this.booted.ensureBaseImage(egressProxyUrl(BRIDGE_IP));
        await opts.beforeBoot?.(rec);
        const t1 = Date.now();
        // the web hosts boot later from their user data (web-boot.ts), as the Auto Scaling group waits for the data tiers
        const first = HOSTS.filter((h) => h.role !== "web");
        for (const h of first) {
            const spec = this.bootSpec(h);
            this.booted.prepareRoot(spec, base, false);
            this.booted.start(spec);
        }
        const states = await Promise.all(first.map(async (h) => `${h.name}: cloud-init ${await this.booted.waitBooted(h.name, 300_000)}`));
        log(`hosts booted in ${((Date.now() - t1) / 1000).toFixed(0)} s (${states.join(", ")})`);
        await this.writeSshConfig();
        await this.startS3Standin();
        const t2 = Date.now();
        // Progress here; what the provider would stream (each step's output, dial retries) to a log file.
        const streamed = path.join(STATE, "logs", "replay.log");
        fs.mkdirSync(path.dirname(streamed), { recursive: true });
        const results = await executeRecording(rec, {
            stateDir: REPLAY_STATE,
            addressMap: { [rec.bastionPublicIp]: LAB_BASTION_IP },
            log: (l) => (l.startsWith("  ") ? fs.appendFileSync(streamed, `${new Date().toISOString().slice(11, 23)} ${l}\n`) : log(`  ${l}`)),
        });
        const ran = results.filter((r) => r.action !== "same").length;
        log(`replayed the program's resources in ${((Date.now() - t2) / 1000).toFixed(0)} s (${ran} ran, ${results.length - ran} unchanged)`);
    }

    /** Starts the S3 stand-in (its objects in $OCLAB_STATE/s3). */
    async startS3Standin(): Promise<void> {
        await this.startStandin("s3", [BRIDGE_IP, String(S3_STANDIN_PORT), path.join(STATE, "s3")], () =>
            runSync(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${S3_STANDIN_ENDPOINT}/lab-probe?list-type=2`], { allowFail: true, timeoutMs: 3000 }).stdout.trim() === "200",
        );
        log(`S3 stand-in on ${S3_STANDIN_ENDPOINT}`);
    }

    /**
     * Starts scripts/lab/<kind>-standin.ts with `args` in its own process group unless the one
     * recorded in $OCLAB_STATE/<kind>-standin.pid still runs; waits (bounded) until `ready`.
     * `down` ends exactly the groups recorded there.
     */
    async startStandin(kind: string, args: string[], ready: () => boolean | Promise<boolean>): Promise<void> {
        const pidFile = path.join(STATE, `${kind}-standin.pid`);
        const logPath = path.join(STATE, `${kind}-standin.log`);
        const script = standinScript(kind);
        if (recordedPid(pidFile, script)) return;
        const logFile = fs.openSync(logPath, "a");
        const tsx = path.join(REPO, "node_modules", ".bin", "tsx");
        const p = spawn(tsx, [script, ...args], { detached: true, stdio: ["ignore", logFile, logFile] });
        p.unref();
        fs.closeSync(logFile);
        fs.writeFileSync(pidFile, `${p.pid}\n`);
        for (let i = 0; i < 60; i++) {
            if (await ready()) return;
            if (p.exitCode !== null) break;
            await sleep(250);
        }
        const tail = fs.readFileSync(logPath, "utf8").trim().split("\n").slice(-5).join(" | ");
        throw new Error(`the ${kind} stand-in did not come up within 15 s: ${tail || "no output"} (log: ${logPath})`);
    }

    // ---------------------------------------------------------------- down

    async down(): Promise<void> {
        this.checkPrereqs();
        // ssh control masters (ours by socket path)
        if (fs.existsSync(this.sshConfig)) {
            await Promise.all(HOSTS.map((h) => run(["ssh", "-F", this.sshConfig, "-O", "exit", h.name], { timeoutMs: 5000 })));
        }
        const hostsDir = path.join(STATE, "hosts");
        const made = fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir) : [];
        await Promise.all(made.map((h) => this.booted.remove(h)));
        stopEgress(STATE);
        runSync(["nft", "delete", "table", "ip", IMDS_NFT_TABLE], { allowFail: true });
        // the stand-ins: only what `up` started, by their recorded PIDs (the groups they lead: tsx and its node)
        for (const f of fs.existsSync(STATE) ? fs.readdirSync(STATE).filter((e) => e.endsWith("-standin.pid")) : []) {
            const pid = recordedPid(path.join(STATE, f), standinScript(f.slice(0, -"-standin.pid".length)));
            if (pid) try { process.kill(-pid, "SIGTERM"); } catch { /* gone */ }
        }
        const loopsFile = path.join(STATE, "loops");
        if (fs.existsSync(loopsFile)) {
            for (const line of fs.readFileSync(loopsFile, "utf8").split("\n")) {
                const [dev, img] = line.split(" ");
                if (!dev || !img) continue;
                const attached = runSync(["losetup", "-j", img], { allowFail: true }).stdout;
                if (attached.startsWith(dev + ":")) runSync(["losetup", "-d", dev], { allowFail: true });
            }
        }
        if (runSync(["ip", "link", "show", BRIDGE], { allowFail: true }).code === 0) runSync(["ip", "link", "del", BRIDGE], { allowFail: true });
        // state: keep results only
        if (fs.existsSync(STATE)) {
            for (const e of fs.readdirSync(STATE)) if (e !== "results") fs.rmSync(path.join(STATE, e), { recursive: true, force: true });
        }
        log("lab down");
    }
}
