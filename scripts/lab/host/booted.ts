/**
 * Lab hosts as booted Debian 12 systems: each host is its own writable overlay of one base root
 * (base-image.sh, built once per machine), booted by systemd-nspawn with systemd as PID 1, on the
 * lab bridge with its own address, given its data volumes as block devices, configured at first boot
 * by cloud-init from a NoCloud seed (the lab's stand-in for EC2's metadata service: instance ID,
 * hostname, the key pair's public key, the network, the instance's user data).
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

const HERE = __dirname;
const BASE_IMAGE_SCRIPT = path.join(HERE, "base-image.sh");
const RUN_HOST_SCRIPT = path.join(HERE, "run-host.sh");
/** Lab stand-in for udev and a writable /sys at boot: the fstab's device lines become mount units (see the script). */
const FSTAB_DEVICES_GENERATOR = path.join(HERE, "fstab-devices-generator.sh");

/** Where the base root lives: one per content of its build script, so a changed image is rebuilt. */
export function baseImageDir(cacheDir = process.env.OCLAB_CACHE ?? "/var/cache/oclab"): string {
    const h = crypto.createHash("sha256").update(fs.readFileSync(BASE_IMAGE_SCRIPT)).digest("hex").slice(0, 12);
    return path.join(cacheDir, `bookworm-${h}`);
}

/** A block device handed to a host (a loop device standing in for an EBS volume) and where it appears inside. */
export interface HostDevice {
    /** The device on this machine, e.g. /dev/loop3. */
    source: string;
    /** Paths inside the host that name it (its own name, and the by-id path EC2's NVMe driver gives an EBS volume). */
    paths: string[];
}

export interface BootSpec {
    name: string;
    /** The host's address on the lab bridge (the instance's private address). */
    ip: string;
    /** Prefix length of the bridge network (one segment stands in for every subnet and VPC route). */
    prefixLength: number;
    /** Default gateway (the bridge's address: the VPC router's place; it forwards nothing). */
    gateway: string;
    /** cloud-init instance ID: a new one means a new instance (per-instance modules run again). */
    instanceId: string;
    /** The user data as the instance sees it (after EC2's base64 decode), or none. */
    userData?: string;
    /** Public keys cloud-init installs for the default user (the EC2 key pair's). */
    publicKeys: string[];
    devices: HostDevice[];
    /** Give the host /dev/fuse (GlusterFS clients). */
    fuse: boolean;
    /** Directories of this machine bound read-only at the same path (the lab's own test tools). */
    readOnlyBinds: string[];
    /**
     * Writable /sys and cgroup hierarchies inside the host: a container engine (Docker on the web
     * nodes) creates cgroups of its own, which nspawn's read-only cgroup v1 mounts refuse.
     */
    apiVfsWritable?: boolean;
    /**
     * Files the lab writes into the host's system before it boots (path inside the host -> content,
     * mode): what the network gives an EC2 instance and the lab must give by hand, e.g. the resolver
     * (DHCP's), the trust anchor of the stand-ins' certificates (the public CAs'). Never the program's.
     */
    systemFiles?: Record<string, { content: string; mode: number }>;
}

/** The NoCloud seed files for a host: meta-data, user-data, network-config (cloud-init 22.4 formats). */
export function nocloudSeed(spec: BootSpec): Record<"meta-data" | "user-data" | "network-config", string> {
    const meta = { "instance-id": spec.instanceId, "local-hostname": spec.name, "public-keys": spec.publicKeys };
    const network = {
        version: 2,
        ethernets: {
            // systemd-nspawn's --network-bridge names the container's end host0.
            host0: {
                addresses: [`${spec.ip}/${spec.prefixLength}`],
                // As a subnet gateway, which cloud-init 22.4's ENI renderer writes as ifupdown's `gateway`
                // (`ip route add default`); a `routes:` entry becomes `post-up route add`, and Debian's
                // cloud image has no net-tools `route`: the host would have no default route.
                gateway4: spec.gateway,
            },
        },
    };
    return {
        "meta-data": YAML.stringify(meta),
        // cloud-init needs a user-data file; an empty cloud-config does nothing.
        "user-data": spec.userData ?? "#cloud-config\n{}\n",
        "network-config": YAML.stringify(network),
    };
}

interface Res {
    code: number;
    stdout: string;
    stderr: string;
}

function sh(cmd: string[], allowFail = false, timeoutMs = 120_000): Res {
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: timeoutMs });
    const res = { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
    if (res.code !== 0 && !allowFail) throw new Error(`command failed (${res.code}): ${cmd.join(" ")}\n${res.stderr.trim()}`);
    return res;
}

const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function childrenOf(pid: number): number[] {
    try {
        return fs
            .readdirSync(`/proc/${pid}/task`)
            .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/))
            .filter(Boolean)
            .map(Number);
    } catch {
        return [];
    }
}

function comm(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return "";
    }
}

/** Whether a process of this machine still runs. */
export function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/**
 * The PID recorded in `pidFile` if that process still runs and is the one recorded: its command
 * line contains `marker` (a script or directory only it names). A recorded PID whose process has
 * ended may since name another one — after this machine restarts, any — and that one is never ours
 * to signal.
 */
export function recordedPid(pidFile: string, marker: string): number | undefined {
    let pid: number;
    try {
        pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    } catch {
        return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    let cmdline: string;
    try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
        return undefined;
    }
    return cmdline.includes(marker) ? pid : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class BootedHosts {
    constructor(
        private readonly stateDir: string,
        private readonly bridge: string,
        private readonly log: (msg: string) => void,
    ) {}

    dir(host: string): string {
        return path.join(this.stateDir, "hosts", host);
    }

    root(host: string): string {
        return path.join(this.dir(host), "root");
    }

    /** Builds the base root unless this machine has it (once per machine; CI builds it in each run). */
    ensureBaseImage(egressProxyUrl: string): string {
        const base = baseImageDir();
        if (fs.existsSync(path.join(base, ".oclab-base-complete"))) return base;
        fs.mkdirSync(path.dirname(base), { recursive: true });
        const t0 = Date.now();
        const r = spawnSync("bash", [BASE_IMAGE_SCRIPT, base, egressProxyUrl], { stdio: ["ignore", "inherit", "inherit"], timeout: 1_800_000 });
        if (r.status !== 0) throw new Error(`building the lab's Debian 12 base root failed (exit ${r.status ?? r.signal}); see the lines above`);
        this.log(`base root built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${base}`);
        return base;
    }

    private mounted(p: string): boolean {
        return sh(["mountpoint", "-q", p], true).code === 0;
    }

    /**
     * The host's root: an overlay of the base root with the host's own upper layer (its disk). A
     * new instance (`fresh`) starts from an empty upper layer; otherwise the disk is kept, as an
     * instance's root volume survives a reboot or a power loss.
     */
    prepareRoot(spec: BootSpec, base: string, fresh: boolean): void {
        const d = this.dir(spec.name);
        if (fresh && fs.existsSync(d)) {
            if (this.mounted(this.root(spec.name))) sh(["umount", "-R", this.root(spec.name)]);
            fs.rmSync(d, { recursive: true, force: true });
        }
        for (const sub of ["upper", "work", "root"]) fs.mkdirSync(path.join(d, sub), { recursive: true });
        if (!this.mounted(this.root(spec.name))) {
            sh(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${base},upperdir=${d}/upper,workdir=${d}/work`, this.root(spec.name)]);
        }
        if (spec.apiVfsWritable) this.writeCgroupUnit(spec.name);
        if (spec.devices.length > 0) this.installFstabDeviceGenerator(spec.name);
        for (const [file, { content, mode }] of Object.entries(spec.systemFiles ?? {})) {
            const target = path.join(this.root(spec.name), file);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            // a symlink in the image (Debian's /etc/resolv.conf may be one) must not redirect the write
            fs.rmSync(target, { force: true });
            fs.writeFileSync(target, content, { mode });
            fs.chmodSync(target, mode);
        }
        const seedDir = path.join(this.root(spec.name), "var/lib/cloud/seed/nocloud");
        fs.mkdirSync(seedDir, { recursive: true });
        for (const [file, text] of Object.entries(nocloudSeed(spec))) fs.writeFileSync(path.join(seedDir, file), text, { mode: 0o600 });
    }

    /**
     * The lab's only addition to a host's system: on hosts that run a container engine, a unit that
     * makes nspawn's read-only cgroup v1 mounts writable before containerd and Docker start (an EC2
     * instance owns its cgroups; a container inside this machine gets them read-only).
     */
    private writeCgroupUnit(host: string): void {
        const dir = path.join(this.root(host), "etc/systemd/system");
        const unit = "oclab-writable-cgroups.service";
        fs.mkdirSync(path.join(dir, "sysinit.target.wants"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, unit),
            [
                "[Unit]",
                "Description=Lab host: writable cgroup hierarchies for the container engine (not part of the program)",
                "DefaultDependencies=no",
                "Before=sysinit.target containerd.service docker.service",
                "",
                "[Service]",
                "Type=oneshot",
                "RemainAfterExit=yes",
                "ExecStart=/bin/sh -c 'for c in /sys/fs/cgroup /sys/fs/cgroup/*/; do mount -o remount,bind,rw \"$c\"; done'",
                "",
            ].join("\n"),
        );
        const link = path.join(dir, "sysinit.target.wants", unit);
        if (!fs.existsSync(link)) fs.symlinkSync(`../${unit}`, link);
    }

    /**
     * Hosts with a data volume: systemd-fstab-generator skips fstab's device lines inside a
     * container, so the program's data mount would not come back after a reboot; this generator
     * runs it on those lines as an instance's boot does (fstab-devices-generator.sh says how).
     */
    private installFstabDeviceGenerator(host: string): void {
        const dir = path.join(this.root(host), "etc/systemd/system-generators");
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(FSTAB_DEVICES_GENERATOR, path.join(dir, "oclab-fstab-devices"));
        fs.chmodSync(path.join(dir, "oclab-fstab-devices"), 0o755);
    }

    private pidFile(host: string): string {
        return path.join(this.dir(host), "run-host.pid");
    }

    /** PID of run-host.sh for a host, if it runs. */
    supervisorPid(host: string): number | undefined {
        // run-host.sh is started with the host's root as an argument: no other process names it
        return recordedPid(this.pidFile(host), this.root(host));
    }

    /** PID (on this machine) of the host's PID 1, systemd, if the host is up. */
    leaderPid(host: string): number | undefined {
        const sup = this.supervisorPid(host);
        if (!sup) return undefined;
        const nspawn = childrenOf(sup).find((p) => comm(p) === "systemd-nspawn");
        if (!nspawn) return undefined;
        // nspawn forks once to set up the namespaces and the init; the container's PID 1 is the one running systemd.
        const queue = childrenOf(nspawn);
        for (let i = 0; i < queue.length && i < 20; i++) {
            if (comm(queue[i]) === "systemd") return queue[i];
            queue.push(...childrenOf(queue[i]));
        }
        return undefined;
    }

    /** Boots a prepared host unless it runs. */
    start(spec: BootSpec): void {
        if (this.supervisorPid(spec.name)) return;
        this.removeVeth(spec.name);
        const args = [RUN_HOST_SCRIPT, spec.name, this.root(spec.name), this.bridge];
        for (const dev of spec.devices) for (const p of dev.paths) args.push(`--bind=${dev.source}:${p}`);
        if (spec.fuse) args.push("--bind=/dev/fuse");
        for (const d of spec.readOnlyBinds) args.push(`--bind-ro=${d}`);
        const out = fs.openSync(path.join(this.dir(spec.name), "console.log"), "a");
        // runc joins a session keyring for every container, which nspawn's default seccomp filter refuses.
        if (spec.apiVfsWritable) args.push("--system-call-filter=@keyring");
        const env = { ...process.env, ...(spec.apiVfsWritable ? { SYSTEMD_NSPAWN_API_VFS_WRITABLE: "1" } : {}) };
        const p = spawn("bash", args, { detached: true, stdio: ["ignore", out, out], env });
        p.unref();
        fs.closeSync(out);
        fs.writeFileSync(this.pidFile(spec.name), `${p.pid}\n`);
    }

    /** argv prefix that runs a command inside a host (all its namespaces, a clean environment). */
    nsenterArgs(host: string): string[] {
        const pid = this.leaderPid(host);
        if (!pid) throw new Error(`lab host ${host} is not running (no container; see ${path.join(this.dir(host), "console.log")})`);
        return ["nsenter", "-t", String(pid), "-a", "--wdns=/", "--", "env", "-i", `PATH=${HOST_PATH}`, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"];
    }

    /**
     * Waits until the host has booted (systemd reports running or degraded) and cloud-init has
     * finished; returns cloud-init's status line. Bounded by `timeoutMs`.
     */
    async waitBooted(host: string, timeoutMs: number): Promise<string> {
        const deadline = Date.now() + timeoutMs;
        let last = "no container yet";
        while (Date.now() < deadline) {
            if (!this.supervisorPid(host)) throw new Error(`lab host ${host} stopped while booting; its console: ${path.join(this.dir(host), "console.log")}`);
            const pid = this.leaderPid(host);
            if (pid) {
                const st = sh(["nsenter", "-t", String(pid), "-a", "systemctl", "is-system-running"], true, 10_000).stdout.trim();
                last = `systemd ${st || "not answering"}`;
                if (st === "running" || st === "degraded") {
                    const ci = sh(["nsenter", "-t", String(pid), "-a", "cloud-init", "status"], true, 10_000).stdout.trim();
                    last = `cloud-init ${ci}`;
                    if (/status: (done|error)/.test(ci)) return ci.replace(/^status: /, "");
                }
            }
            await sleep(500);
        }
        throw new Error(`lab host ${host} did not finish booting within ${timeoutMs / 1000} s (last: ${last}); its console: ${path.join(this.dir(host), "console.log")}`);
    }

    /** Power loss: ends the host's PID 1 at once (every process in it goes with it); the disk stays. */
    async kill(host: string): Promise<void> {
        const sup = this.supervisorPid(host);
        const leader = this.leaderPid(host);
        if (leader) process.kill(leader, "SIGKILL");
        for (let i = 0; i < 100 && sup && alive(sup); i++) await sleep(100);
        if (sup && alive(sup)) {
            process.kill(sup, "SIGKILL");
            throw new Error(`lab host ${host}'s container did not end within 10 s of SIGKILL to its PID 1`);
        }
    }

    /** This machine's end of a host's link to the bridge (systemd-nspawn's `vb-<machine>`, cut at 15 characters). */
    vethName(host: string): string {
        return `vb-oclab-${host}`.slice(0, 15);
    }

    /** Pulls or plugs a host's cable at the bridge (the host's own interface and addresses stay as they are). */
    setLink(host: string, up: boolean): void {
        sh(["ip", "link", "set", this.vethName(host), up ? "up" : "down"]);
    }

    /** nspawn's end of the host's link; one left by a container that did not end cleanly blocks the next boot. */
    private removeVeth(host: string): void {
        const veth = this.vethName(host);
        if (sh(["ip", "link", "show", veth], true).code === 0) sh(["ip", "link", "del", veth], true);
    }

    /** The cgroups run-host.sh made for a host (one per hierarchy, beneath this process's own). */
    cgroupDirs(host: string): string[] {
        return fs
            .readFileSync("/proc/self/cgroup", "utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => {
                const [, controllers, rel] = line.split(/:(.*?):/);
                const mount = controllers === "" ? "unified" : controllers === "name=systemd" ? "systemd" : controllers.split(",")[0];
                return path.join("/sys/fs/cgroup", mount, rel, `oclab-${host}`);
            })
            .filter((d) => fs.existsSync(d));
    }

    /** Ends a host and removes its root (down). Only what `start` started, by its recorded PID. */
    async remove(host: string): Promise<void> {
        await this.kill(host);
        this.removeVeth(host);
        // Empty once the host's processes are gone: innermost first (rmdir is how cgroups are removed).
        for (const d of this.cgroupDirs(host)) sh(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], true);
        const root = this.root(host);
        if (fs.existsSync(root) && this.mounted(root)) sh(["umount", "-R", root], true);
        if (fs.existsSync(root) && this.mounted(root)) sh(["umount", "-R", "-l", root], true);
        fs.rmSync(this.dir(host), { recursive: true, force: true });
    }
}
