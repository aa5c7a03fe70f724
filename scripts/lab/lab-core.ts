/**
 * Lab core: hosts as Linux network namespaces on a bridge, each with a persistent private mount
 * namespace and UTS namespace, sshd on every host, bootstrap plans executed over SSH through the
 * bastion (ProxyJump) with secrets on stdin — exactly how the Pulumi components run them.
 *
 * Only 198.18.0.0/24 is used (inside the 198.18.0.0/15 benchmarking range); hosts have no default
 * route, so nothing leaves the bridge.
 */
import { sleep } from "./client-io";
import { spawn, spawnSync } from "child_process";
import { GALERA_DATADIR } from "../../components/database/plan";
import { RunResult, spawnBounded } from "../ops/transport";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { BootstrapPlan, BootstrapStep } from "../../components/shared/bootstrapPlan";

export interface LabHost {
    name: string;
    ip: string;
    role: "bastion" | "db" | "fs" | "web";
}

export const BRIDGE = "oclab0";
export const BRIDGE_IP = "198.18.0.1";
export const HOSTS: LabHost[] = [
    { name: "bastion", ip: "198.18.0.10", role: "bastion" },
    { name: "db1", ip: "198.18.0.11", role: "db" },
    { name: "db2", ip: "198.18.0.12", role: "db" },
    { name: "db3", ip: "198.18.0.13", role: "db" },
    { name: "fs1", ip: "198.18.0.21", role: "fs" },
    { name: "fs2", ip: "198.18.0.22", role: "fs" },
    { name: "fs3", ip: "198.18.0.23", role: "fs" },
    { name: "web1", ip: "198.18.0.31", role: "web" },
    { name: "web2", ip: "198.18.0.32", role: "web" },
];
export const REPO = path.resolve(__dirname, "../..");
export const SCRIPTS = path.join(REPO, "scripts");
/** What a node is shipped (the cloud's CopyToRemote copies the same files, see components/remoteBootstrap.ts). */
export const NODE_SCRIPTS = path.join(SCRIPTS, "node");
/**
 * The lab's service launcher, added to each host's copy at lab/svc.sh, where the `svc` seam of
 * scripts/node/lib/common.sh looks when PID 1 is not systemd.
 */
const LAB_SVC = "lab/svc.sh";

/**
 * The tar command that packs a lab host's copy: scripts/node's files at the top (as CopyToRemote
 * lands them in the cloud) plus lab/svc.sh. Absolute -C directories: GNU tar resolves a relative
 * -C against the previous one.
 */
export function hostCopyTarArgs(tgz: string): string[] {
    return ["tar", "-czf", tgz, "-C", NODE_SCRIPTS, ".", "-C", SCRIPTS, LAB_SVC];
}
export const STATE = process.env.OCLAB_STATE ?? "/var/lib/oclab";
/**
 * The lab's own tools (svc launcher, Gluster test helpers) as hosts see them. Hosts have private
 * /tmp, /root, /srv, /mnt… so the checkout itself may be invisible inside them (CI clones anywhere):
 * `up` copies scripts/ here, into the state directory, which every host shares.
 */
export const HOST_SCRIPTS = path.join(STATE, "tools");
export const NSDIR = "/run/oclab/ns";
/** The lab's stack outputs for `npm run ops -- lab …` (same shape as `pulumi stack output --json --show-secrets`), written by `up`. */
export const OPS_OUTPUTS_FILE = path.join(STATE, "ops-outputs.json");
/** Every lab host's key, written by `up` (the hosts get new keys on every `up`). */
export const LAB_KNOWN_HOSTS_FILE = path.join(STATE, "ssh", "known_hosts");
export const REMOTE_SCRIPTS = "/opt/owncloud-ha/scripts";
export const LAB_PACKAGES = [
    "mariadb-server", "galera-4", "mariadb-backup", "socat", "mariadb-client", "haproxy",
    "openssh-server", "openssh-client", "glusterfs-server", "glusterfs-client", "xfsprogs", "iproute2", "util-linux",
    // a stand-in for ownCloud's status.php (web-health-frontend) and the client that checks it
    "python3", "curl",
    // backups: the AWS CLI (against the S3 stand-in) and zstd, as backup-install.sh installs them
    "awscli", "zstd",
];
/**
 * S3 stand-in (scripts/lab/s3-standin.ts) on the bridge: the backup bucket's endpoint for the lab's
 * hosts (they reach nothing else). Its objects live in $OCLAB_STATE/s3 and go with `down`.
 */
export const S3_STANDIN_PORT = 9000;
export const S3_STANDIN_ENDPOINT = `http://${BRIDGE_IP}:${S3_STANDIN_PORT}`;
export const LAB_BACKUP_BUCKET = "oclab-backups";
/** The plans' backup settings in the lab: their own backup steps, pointed at the stand-in. */
export const LAB_BACKUP = { bucket: LAB_BACKUP_BUCKET, region: "eu-central-1", s3Endpoint: S3_STANDIN_ENDPOINT };
export const SECRET_NAMES = [
    "GALERA_ROOT_PASSWORD", "GALERA_APP_PASSWORD", "GALERA_SST_PASSWORD", "GALERA_HEALTH_PASSWORD",
];
const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Per-host private paths: [host-dir subpath, path inside the host, how to seed it]. */
const PRIVATE_PATHS: [string, string, "copy" | "empty"][] = [
    ["etc/mysql", "/etc/mysql", "copy"],
    ["etc/haproxy", "/etc/haproxy", "copy"],
    ["etc/ssh", "/etc/ssh", "empty"],
    ["etc/glusterfs", "/etc/glusterfs", "copy"],
    ["etc/oclab", "/etc/oclab", "empty"],
    ["var/lib/mysql", "/var/lib/mysql", "empty"],
    ["var/lib/glusterd", "/var/lib/glusterd", "empty"],
    ["var/lib/haproxy", "/var/lib/haproxy", "empty"],
    ["var/log", "/var/log", "empty"],
    ["run", "/run", "empty"],
    ["tmp", "/tmp", "empty"],
    ["root", "/root", "empty"],
    ["srv", "/srv", "empty"],
    ["mnt", "/mnt", "empty"],
    ["opt/owncloud-ha", "/opt/owncloud-ha", "empty"],
    // node settings (backup.env, metrics.env) and node state (backup, metrics): one per host, as on EC2
    ["etc/owncloud-ha", "/etc/owncloud-ha", "empty"],
    ["var/lib/owncloud-ha", "/var/lib/owncloud-ha", "empty"],
];

export type { RunResult };
export interface RunOpts {
    input?: string;
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
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

/** Loop device given to a db host as its data volume (what EBS is in the cloud; /etc/oclab/data-device inside). */
export function labDataDevice(host: string): string {
    return fs.readFileSync(path.join(hostDir(host), "etc/oclab/data-device"), "utf8").trim();
}

export function hostByName(name: string): LabHost {
    const h = HOSTS.find((x) => x.name === name);
    if (!h) throw new Error(`unknown lab host "${name}" (hosts: ${HOSTS.map((x) => x.name).join(" ")})`);
    return h;
}

const hostDir = (h: string) => path.join(STATE, "hosts", h);
const netns = (h: string) => `oclab-${h}`;

export class Lab {
    readonly hosts = HOSTS;
    readonly state = STATE;
    readonly sshConfig = path.join(STATE, "ssh", "ssh_config");

    log = log;

    /** nsenter argv prefix for a host (net + mount + uts), clean environment. */
    nsenterArgs(host: string): string[] {
        hostByName(host);
        return [
            "nsenter", `--net=/run/netns/${netns(host)}`, `--mount=${NSDIR}/${host}.mnt`, `--uts=${NSDIR}/${host}.uts`, "--wd=/", "--",
            "env", "-i", `PATH=${HOST_PATH}`, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
        ];
    }

    /** Run a command inside a host directly (no SSH). */
    exec(host: string, cmd: string[], opts: RunOpts = {}): Promise<RunResult> {
        return run([...this.nsenterArgs(host), ...cmd], opts);
    }

    /** Run a bash snippet inside a host. */
    sh(host: string, script: string, opts: RunOpts = {}): Promise<RunResult> {
        return this.exec(host, ["bash", "-c", script], opts);
    }

    /** Lab service launcher inside a host (same file the `svc` seam uses). */
    svc(host: string, action: string, name: string, ...args: string[]): Promise<RunResult> {
        return this.exec(host, ["bash", path.join(HOST_SCRIPTS, LAB_SVC), action, name, ...args], { timeoutMs: 600_000 });
    }

    /** Run a command over SSH (through the bastion for every host but the bastion). */
    ssh(host: string, remoteCmd: string, opts: RunOpts = {}): Promise<RunResult> {
        hostByName(host);
        return run(["ssh", "-F", this.sshConfig, host, remoteCmd], opts);
    }

    /** Loop device given to an fs host for its brick (unformatted; inside the host also in /etc/oclab/brick-device). */
    brickDevice(host: string): string {
        return fs.readFileSync(path.join(hostDir(host), "etc/oclab/brick-device"), "utf8").trim();
    }

    isUp(): boolean {
        return fs.existsSync(`/run/netns/${netns("bastion")}`) && fs.existsSync(`${NSDIR}/bastion.mnt`);
    }

    secrets(): Record<string, string> {
        const f = path.join(STATE, "secrets.env");
        const out: Record<string, string> = {};
        for (const line of fs.readFileSync(f, "utf8").split("\n")) {
            const i = line.indexOf("=");
            if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
        }
        return out;
    }

    // ---------------------------------------------------------------- bootstrap plans over SSH

    async runStep(step: BootstrapStep, secrets: Record<string, string>): Promise<RunResult> {
        const missing = step.secrets.filter((s) => !(s in secrets));
        if (missing.length) throw new Error(`step ${step.id}: secrets not available: ${missing.join(", ")}`);
        const envStr = Object.entries(step.env).map(([k, v]) => `${k}=${shq(v)}`).join(" ");
        const remote = `cd ${REMOTE_SCRIPTS} && env ${envStr} bash ${shq(step.script)}`;
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
        if (process.platform !== "linux") throw new Error("the lab needs Linux (network namespaces)");
        if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, mounts, loop devices): run it as root");
        for (const bin of ["ip", "nsenter", "unshare", "losetup"]) {
            if (runSync(["sh", "-c", `command -v ${bin}`], { allowFail: true }).code !== 0) throw new Error(`missing tool: ${bin}`);
        }
        const r = runSync(["unshare", "--net", "--mount", "true"], { allowFail: true });
        if (r.code !== 0) throw new Error(`this kernel/container does not allow network or mount namespaces: ${r.stderr.trim()}`);
        const hidden = PRIVATE_PATHS.map(([, inside]) => inside).find((p) => STATE === p || STATE.startsWith(`${p}/`));
        if (hidden) throw new Error(`OCLAB_STATE=${STATE} lies under ${hidden}, which every lab host replaces with its own; choose another directory (default /var/lib/oclab)`);
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
        // keep apt from starting daemons outside the lab's control
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

    private ensureKeysAndSecrets(): void {
        fs.mkdirSync(path.join(STATE, "ssh"), { recursive: true, mode: 0o700 });
        fs.chmodSync(STATE, 0o700);
        const key = path.join(STATE, "ssh", "id_ed25519");
        if (!fs.existsSync(key)) runSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "oclab", "-f", key]);
        const sec = path.join(STATE, "secrets.env");
        if (!fs.existsSync(sec)) {
            const pw = () => crypto.randomBytes(24).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 24);
            fs.writeFileSync(sec, SECRET_NAMES.map((n) => `${n}=${pw()}\n`).join(""), { mode: 0o600 });
        }
    }

    private recordCreatedDir(dir: string): void {
        fs.appendFileSync(path.join(STATE, "created-dirs"), dir + "\n");
    }

    private seedHostDir(h: LabHost): void {
        const hd = hostDir(h.name);
        for (const [sub, target, seed] of PRIVATE_PATHS) {
            const d = path.join(hd, sub);
            if (fs.existsSync(d)) continue;
            fs.mkdirSync(d, { recursive: true });
            if (seed === "copy" && fs.existsSync(target)) runSync(["cp", "-a", `${target}/.`, d]);
            if (!fs.existsSync(target)) {
                fs.mkdirSync(target, { recursive: true });
                this.recordCreatedDir(target);
            }
        }
        fs.chmodSync(path.join(hd, "tmp"), 0o1777);
        fs.chmodSync(path.join(hd, "root"), 0o700);
        runSync(["chown", "mysql:mysql", path.join(hd, "var/lib/mysql")], { allowFail: true });
        for (const d of ["var/log/mysql", "var/log/glusterfs", "var/log/haproxy", "var/log/oclab-svc", "run/mysqld", "run/sshd", "run/haproxy", "run/gluster"]) {
            fs.mkdirSync(path.join(hd, d), { recursive: true });
        }
        runSync(["chown", "mysql:mysql", path.join(hd, "run/mysqld"), path.join(hd, "var/log/mysql")], { allowFail: true });
        // /etc/hosts, /etc/hostname
        const hostsFile = ["127.0.0.1 localhost", `${h.ip} ${h.name}`, ...HOSTS.filter((x) => x !== h).map((x) => `${x.ip} ${x.name}`)].join("\n") + "\n";
        fs.writeFileSync(path.join(hd, "hosts"), hostsFile);
        fs.writeFileSync(path.join(hd, "hostname"), h.name + "\n");
        // private /etc/fstab: node scripts add their data-volume/brick/fuse entries to it
        if (!fs.existsSync(path.join(hd, "fstab"))) fs.writeFileSync(path.join(hd, "fstab"), "# oclab host fstab (private to this lab host)\n");
        // sshd: own host key and config
        const sshd = path.join(hd, "etc/ssh");
        if (!fs.existsSync(path.join(sshd, "ssh_host_ed25519_key"))) {
            runSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `oclab-${h.name}`, "-f", path.join(sshd, "ssh_host_ed25519_key")]);
        }
        fs.writeFileSync(
            path.join(sshd, "sshd_config"),
            [
                "# oclab host sshd",
                "Port 22",
                "ListenAddress 0.0.0.0",
                "HostKey /etc/ssh/ssh_host_ed25519_key",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "AuthorizedKeysFile /root/.ssh/authorized_keys",
                `AllowTcpForwarding ${h.role === "bastion" ? "yes" : "no"}`,
                "X11Forwarding no",
                "PrintMotd no",
                "UseDNS no",
                "PidFile /run/sshd.pid",
                "MaxStartups 200:30:400",
                "MaxSessions 100",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
                "",
            ].join("\n"),
        );
        const dotssh = path.join(hd, "root/.ssh");
        fs.mkdirSync(dotssh, { recursive: true, mode: 0o700 });
        fs.copyFileSync(path.join(STATE, "ssh", "id_ed25519.pub"), path.join(dotssh, "authorized_keys"));
        fs.chmodSync(path.join(dotssh, "authorized_keys"), 0o600);
    }

    private writeSshConfig(): void {
        const key = path.join(STATE, "ssh", "id_ed25519");
        const known = HOSTS.map((h) => {
            const pub = fs.readFileSync(path.join(hostDir(h.name), "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(" ");
            return `${h.name},${h.ip} ${pub[0]} ${pub[1]}`;
        });
        fs.writeFileSync(LAB_KNOWN_HOSTS_FILE, known.join("\n") + "\n");
        const lines: string[] = [];
        for (const h of HOSTS) {
            lines.push(`Host ${h.name}`, `  HostName ${h.ip}`);
            if (h.role !== "bastion") lines.push("  ProxyJump bastion");
        }
        lines.push(
            "Host *",
            "  User root",
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

    private ensureNetwork(h: LabHost): void {
        const ns = netns(h.name);
        if (!fs.existsSync(`/run/netns/${ns}`)) {
            runSync(["ip", "netns", "add", ns]);
        }
        const veth = `ocl-${h.name}`;
        if (runSync(["ip", "link", "show", veth], { allowFail: true }).code !== 0) {
            runSync(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
            runSync(["ip", "link", "set", veth, "master", BRIDGE, "up"]);
            runSync(["ip", "-n", ns, "addr", "add", `${h.ip}/24`, "dev", "eth0"]);
        }
        runSync(["ip", "link", "set", veth, "up"]);
        runSync(["ip", "-n", ns, "link", "set", "eth0", "up"]);
        runSync(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /**
     * A sparse loop-file disk for a host: an fs host's brick (2 GiB, `brick-device`), a db host's data
     * volume (3 GiB, `data-device`: the datadir lives on it as on EC2, so it can also run full).
     */
    private ensureLoop(h: LabHost): string {
        const img = path.join(STATE, "disks", `${h.name}.img`);
        const [size, file] = h.role === "db" ? ["3G", "data-device"] : ["2G", "brick-device"];
        fs.mkdirSync(path.dirname(img), { recursive: true });
        if (!fs.existsSync(img)) runSync(["truncate", "-s", size, img]);
        let dev = runSync(["losetup", "-j", img], { allowFail: true }).stdout.split(":")[0].trim();
        if (!dev) {
            dev = runSync(["losetup", "-f", "--show", img]).stdout.trim();
            fs.appendFileSync(path.join(STATE, "loops"), `${dev} ${img}\n`);
        }
        fs.writeFileSync(path.join(hostDir(h.name), "etc/oclab", file), dev + "\n");
        return dev;
    }

    private isNsMounted(file: string): boolean {
        return runSync(["findmnt", "-n", file], { allowFail: true }).code === 0;
    }

    private ensureMountNs(h: LabHost): void {
        const mnt = `${NSDIR}/${h.name}.mnt`;
        const uts = `${NSDIR}/${h.name}.uts`;
        if (this.isNsMounted(mnt) && this.isNsMounted(uts)) return;
        for (const f of [mnt, uts]) if (!fs.existsSync(f)) fs.writeFileSync(f, "");
        const hd = hostDir(h.name);
        // A db host's datadir is its data volume, which the plan's galera-datadir step mounts (and
        // refuses to do over another mount): no private bind there.
        const binds = PRIVATE_PATHS.filter(([, target]) => !(h.role === "db" && target === GALERA_DATADIR)).map(
            ([sub, target]) => `mount --bind ${shq(path.join(hd, sub))} ${shq(target)}`,
        );
        binds.push(`mount --bind ${shq(path.join(hd, "hosts"))} /etc/hosts`, `mount --bind ${shq(path.join(hd, "hostname"))} /etc/hostname`,
            `mount --bind ${shq(path.join(hd, "fstab"))} /etc/fstab`);
        const script = ["set -e", `hostname ${h.name}`, ...binds].join("\n");
        runSync(["unshare", `--mount=${mnt}`, `--uts=${uts}`, "--propagation", "private", "--", "bash", "-c", script]);
    }

    async up(): Promise<void> {
        this.checkPrereqs();
        this.ensurePackages();
        fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });
        this.syncHostScripts();
        this.ensureKeysAndSecrets();
        // bridge
        if (runSync(["ip", "link", "show", BRIDGE], { allowFail: true }).code !== 0) {
            runSync(["ip", "link", "add", BRIDGE, "type", "bridge"]);
            runSync(["ip", "addr", "add", `${BRIDGE_IP}/24`, "dev", BRIDGE]);
        }
        runSync(["ip", "link", "set", BRIDGE, "up"]);
        // private mount for the persistent namespace files
        fs.mkdirSync(NSDIR, { recursive: true });
        if (runSync(["mountpoint", "-q", NSDIR], { allowFail: true }).code !== 0) {
            runSync(["mount", "--bind", NSDIR, NSDIR]);
            runSync(["mount", "--make-private", NSDIR]);
        }
        for (const h of HOSTS) {
            this.seedHostDir(h);
            this.ensureNetwork(h);
            if (h.role === "fs" || h.role === "db") this.ensureLoop(h);
            this.ensureMountNs(h);
            const r = await this.svc(h.name, "start", "ssh");
            if (r.code !== 0) throw new Error(`sshd on ${h.name} failed: ${r.stderr}`);
        }
        this.writeSshConfig();
        await this.startS3Standin();
        await this.copyScripts();
        log("hosts up: " + HOSTS.map((h) => `${h.name}=${h.ip}`).join(" "));
    }

    /** Starts the S3 stand-in unless the one recorded in $OCLAB_STATE/s3-standin.pid still runs. */
    async startS3Standin(): Promise<void> {
        const pidFile = path.join(STATE, "s3-standin.pid");
        if (fs.existsSync(pidFile)) {
            const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
            try {
                process.kill(pid, 0);
                return;
            } catch {
                /* stale: start a new one */
            }
        }
        const logFile = fs.openSync(path.join(STATE, "s3-standin.log"), "a");
        const tsx = path.join(REPO, "node_modules", ".bin", "tsx");
        const p = spawn(tsx, [path.join(SCRIPTS, "lab", "s3-standin.ts"), BRIDGE_IP, String(S3_STANDIN_PORT), path.join(STATE, "s3")], {
            detached: true,
            stdio: ["ignore", logFile, logFile],
        });
        p.unref();
        fs.writeFileSync(pidFile, `${p.pid}\n`);
        for (let i = 0; i < 60; i++) {
            const r = runSync(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${S3_STANDIN_ENDPOINT}/${LAB_BACKUP_BUCKET}?list-type=2`], { allowFail: true, timeoutMs: 3000 });
            if (r.stdout.trim() === "200") {
                log(`S3 stand-in on ${S3_STANDIN_ENDPOINT} (pid ${p.pid})`);
                return;
            }
            await sleep(250);
        }
        throw new Error(`the S3 stand-in did not answer on ${S3_STANDIN_ENDPOINT} within 15 s: see ${path.join(STATE, "s3-standin.log")}`);
    }

    /** Copy scripts/node (plus the lab's service launcher) to every host over SSH (what CopyToRemote does in the cloud). */
    async copyScripts(hosts = HOSTS.map((h) => h.name)): Promise<void> {
        const tgz = path.join(STATE, "scripts.tgz");
        runSync(hostCopyTarArgs(tgz));
        const data = fs.readFileSync(tgz);
        await Promise.all(
            hosts.map(async (h) => {
                const remote = `set -e; rm -rf ${REMOTE_SCRIPTS}.new; mkdir -p ${REMOTE_SCRIPTS}.new; tar -C ${REMOTE_SCRIPTS}.new -xzf -; rm -rf ${REMOTE_SCRIPTS}; mv ${REMOTE_SCRIPTS}.new ${REMOTE_SCRIPTS}`;
                const r = await new Promise<RunResult>((resolve) => {
                    const p = spawn("ssh", ["-F", this.sshConfig, h, remote]);
                    let err = "";
                    p.stderr.on("data", (d) => (err += d));
                    p.on("close", (code) => resolve({ code: code ?? 1, stdout: "", stderr: err }));
                    p.stdin.end(data);
                });
                if (r.code !== 0) throw new Error(`copying scripts to ${h} failed: ${r.stderr}`);
            }),
        );
    }

    // ---------------------------------------------------------------- down

    async down(): Promise<void> {
        this.checkPrereqs();
        // ssh control masters (root ns, ours by socket path)
        if (fs.existsSync(this.sshConfig)) {
            await Promise.all(HOSTS.map((h) => run(["ssh", "-F", this.sshConfig, "-O", "exit", h.name], { timeoutMs: 5000 })));
        }
        for (const h of HOSTS) {
            const ns = netns(h.name);
            if (!fs.existsSync(`/run/netns/${ns}`)) continue;
            // processes: those recorded by the launcher, and every process living in the host's netns
            const pids = new Set<number>();
            const pidDir = path.join(hostDir(h.name), "run/oclab-svc");
            if (fs.existsSync(pidDir)) {
                for (const f of fs.readdirSync(pidDir)) {
                    const n = Number(fs.readFileSync(path.join(pidDir, f), "utf8").trim());
                    if (n > 1) pids.add(n);
                }
            }
            for (const p of runSync(["ip", "netns", "pids", ns], { allowFail: true }).stdout.split(/\s+/)) if (Number(p) > 1) pids.add(Number(p));
            for (const p of pids) try { process.kill(p, "SIGKILL"); } catch { /* gone */ }
            for (let i = 0; i < 50; i++) {
                const left = runSync(["ip", "netns", "pids", ns], { allowFail: true }).stdout.trim();
                if (!left) break;
                await sleep(100);
            }
        }
        for (const h of HOSTS) {
            const mnt = `${NSDIR}/${h.name}.mnt`;
            if (this.isNsMounted(mnt)) {
                // unmount what scripts mounted inside the host (fuse clients, XFS bricks), innermost first
                const r = runSync(["nsenter", `--mount=${mnt}`, "findmnt", "-rn", "-o", "TARGET,FSTYPE,SOURCE"], { allowFail: true });
                const targets = r.stdout.split("\n").map((l) => l.split(" ")).filter((f) => f.length >= 3 && (f[1].startsWith("fuse") || f[2].startsWith("/dev/loop")));
                for (const t of targets.reverse()) runSync(["nsenter", `--mount=${mnt}`, "umount", "-l", t[0].replace(/\\x20/g, " ")], { allowFail: true });
            }
            for (const f of [mnt, `${NSDIR}/${h.name}.uts`]) {
                if (this.isNsMounted(f)) runSync(["umount", f], { allowFail: true });
                fs.rmSync(f, { force: true });
            }
            if (fs.existsSync(`/run/netns/${netns(h.name)}`)) runSync(["ip", "netns", "del", netns(h.name)], { allowFail: true });
        }
        // the S3 stand-in: only what `up` started, by its recorded PID (the group it leads: tsx and its node)
        const s3Pid = path.join(STATE, "s3-standin.pid");
        if (fs.existsSync(s3Pid)) {
            const pid = Number(fs.readFileSync(s3Pid, "utf8").trim());
            if (pid > 1) try { process.kill(-pid, "SIGTERM"); } catch { /* gone */ }
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
        if (runSync(["mountpoint", "-q", NSDIR], { allowFail: true }).code === 0) runSync(["umount", NSDIR], { allowFail: true });
        fs.rmSync("/run/oclab", { recursive: true, force: true });
        const created = path.join(STATE, "created-dirs");
        if (fs.existsSync(created)) {
            for (const d of fs.readFileSync(created, "utf8").split("\n").filter(Boolean).reverse()) {
                try { fs.rmdirSync(d); } catch { /* not empty or gone: leave it */ }
            }
        }
        // state: keep results only
        if (fs.existsSync(STATE)) {
            for (const e of fs.readdirSync(STATE)) if (e !== "results") fs.rmSync(path.join(STATE, e), { recursive: true, force: true });
        }
        log("lab down");
    }
}
