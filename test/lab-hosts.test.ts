/**
 * The lab's booted hosts, without booting any: what each host is seeded with, the egress
 * stand-in's refusals, the lab's service verbs, and the hosts read off the recording of the lab
 * stack (the recording itself is pinned in replay.test.ts).
 */
import { expect } from "chai";
import YAML from "yaml";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BootedHosts, nocloudSeed, recordedPid, type BootSpec } from "../scripts/lab/host/booted";
import { egressRuleset, EGRESS_PORT } from "../scripts/lab/host/egress";
import { launchedAtUp, leftoverLab, systemctlArgs } from "../scripts/lab/lab-core";
import type { LabRecording, ReplayCommand } from "../scripts/lab/replay/record";
import { LAB_BASTION_IP, LAB_SCALE_OUT_WEB_IP, LAB_WEB_IPS, labInstanceId, recordedStepSecrets, topologyFromRecording } from "../scripts/lab/topology";

const spec: BootSpec = {
    name: "db1",
    ip: "198.18.64.10",
    prefixLength: 15,
    gateway: "198.18.0.1",
    instanceId: "i-0123456789abcdef0",
    publicKeys: ["ssh-ed25519 AAAAC3Nza lab"],
    devices: [],
    fuse: false,
    readOnlyBinds: [],
};

describe("lab hosts: the NoCloud seed (cloud-init 22.4 formats)", () => {
    it("meta-data names the instance, the host and the key pair's public key", () => {
        const meta = YAML.parse(nocloudSeed(spec)["meta-data"]);
        expect(meta).to.deep.equal({ "instance-id": spec.instanceId, "local-hostname": "db1", "public-keys": spec.publicKeys });
    });
    it("network-config v2 gives nspawn's host0 the host's address and the gateway as gateway4, not as a route (the ENI renderer writes routes with net-tools' `route`, absent from the image)", () => {
        const net = YAML.parse(nocloudSeed(spec)["network-config"]);
        expect(net.version).to.equal(2);
        expect(net.ethernets.host0.addresses).to.deep.equal(["198.18.64.10/15"]);
        expect(net.ethernets.host0.gateway4).to.equal("198.18.0.1");
        expect(net.ethernets.host0.routes).to.equal(undefined);
    });
    it("user-data is the instance's as given (a #! script runs once per instance), else an empty cloud-config", () => {
        expect(nocloudSeed({ ...spec, userData: "#!/bin/bash\necho hi\n" })["user-data"]).to.equal("#!/bin/bash\necho hi\n");
        expect(nocloudSeed(spec)["user-data"]).to.equal("#cloud-config\n{}\n");
    });
});

describe("lab hosts: the egress stand-in's rules", () => {
    it("refuses the apt proxy to the listed addresses only", () => {
        const rules = egressRuleset("198.18.0.1", ["198.18.64.10", "198.18.68.10"]);
        expect(rules).to.contain(`ip saddr { 198.18.64.10, 198.18.68.10 } ip daddr 198.18.0.1 tcp dport ${EGRESS_PORT} reject`);
        expect(egressRuleset("198.18.0.1", [])).not.to.contain("saddr");
    });
});

describe("lab hosts: service verbs are systemd's", () => {
    it("a crash is SIGKILL to the unit (its Restart= policy then applies); status is is-active", () => {
        expect(systemctlArgs("kill", "mariadb")).to.deep.equal(["systemctl", "kill", "--signal=SIGKILL", "mariadb"]);
        expect(systemctlArgs("status", "glusterd")).to.deep.equal(["systemctl", "is-active", "--quiet", "glusterd"]);
        expect(systemctlArgs("crash", "mariadb")).to.deep.equal(["sh", "-c", "systemctl kill --signal=SIGKILL mariadb; systemctl stop mariadb"]);
        expect(() => systemctlArgs("pause", "x")).to.throw(/unknown action pause/);
    });
});

function command(name: string, host: string, create: string, stdin?: string): ReplayCommand {
    return { type: "command:remote:Command", urn: `urn:${name}`, name, connection: { host, port: 22, user: "admin", dialErrorLimit: 60, perDialTimeout: 15 }, triggers: [], dependencies: [], create, stdin };
}

function recording(resources: ReplayCommand[]): LabRecording {
    return {
        stack: "lab",
        resources,
        instances: [
            { name: "lab-galera-node2", role: "galera", privateIp: "198.18.68.10" },
            { name: "lab-galera-node1", role: "galera", privateIp: "198.18.64.10" },
            { name: "lab-gluster-node1", role: "gluster", privateIp: "198.18.128.10" },
            { name: "lab-db-nat-instance-eu-central-1a", role: "nat" },
        ],
        launchTemplates: [],
        bastionPublicIp: "192.0.2.20",
        publicKey: "ssh-ed25519 AAAA",
        secrets: {},
    };
}

const devices = [
    command("lab-galera-galera-datadir-node1", "198.18.64.10", "sudo -n env DATA_DEVICE='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol1' bash x"),
    command("lab-galera-galera-datadir-node2", "198.18.68.10", "sudo -n env DATA_DEVICE='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol2' bash x"),
    command("lab-gluster-gluster-brick-node1", "198.18.128.10", "sudo -n env BRICK_DEVICE='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol3' bash x"),
];

describe("lab hosts: read off the recording", () => {
    it("cluster nodes at their recorded addresses, numbered as recorded, with the volume their steps name; NAT instances are no hosts", () => {
        const hosts = topologyFromRecording(recording(devices));
        expect(hosts.map((h) => [h.name, h.ip, h.role])).to.deep.equal([
            ["bastion", LAB_BASTION_IP, "bastion"],
            ["db1", "198.18.64.10", "db"],
            ["db2", "198.18.68.10", "db"],
            ["fs1", "198.18.128.10", "fs"],
            ["web1", LAB_WEB_IPS[0], "web"],
            ["web2", LAB_WEB_IPS[1], "web"],
            ["web3", LAB_SCALE_OUT_WEB_IP, "web"],
        ]);
        // `up` launches web1/web2 (the group's desired count); web3 is the later scale-out's
        expect(hosts.filter(launchedAtUp).map((h) => h.name)).to.deep.equal(["bastion", "db1", "db2", "fs1", "web1", "web2"]);
        expect(hosts.find((h) => h.name === "db2")!.dataDevice).to.equal("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol2");
        expect(hosts.find((h) => h.name === "fs1")!.dataDevice).to.equal("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol3");
    });
    it("a stable instance ID per host and address (the same recording boots the same instances)", () => {
        expect(labInstanceId("db1", "198.18.64.10")).to.equal(labInstanceId("db1", "198.18.64.10"));
        expect(labInstanceId("db1", "198.18.64.10")).not.to.equal(labInstanceId("db1", "198.18.64.10", 2));
        expect(labInstanceId("db1", "198.18.64.10")).to.match(/^i-[0-9a-f]{17}$/);
    });
    it("refuses a cluster node whose steps name no data volume, or two", () => {
        expect(() => topologyFromRecording(recording(devices.slice(1)))).to.throw(/198\.18\.64\.10 name 0 data devices/);
        const twice = [...devices, command("lab-galera-galera-x-node1", "198.18.64.10", "sudo -n env DATA_DEVICE='/dev/other' bash y")];
        expect(() => topologyFromRecording(recording(twice))).to.throw(/name 2 data devices/);
    });
    it("the step secrets by name, and a disagreement between steps is an error", () => {
        const a = command("a", "198.18.64.10", "x", "GALERA_ROOT_PASSWORD=r1\nGALERA_SST_PASSWORD=s1\n");
        const b = command("b", "198.18.68.10", "x", "GALERA_ROOT_PASSWORD=r1\n");
        expect(recordedStepSecrets(recording([a, b]))).to.deep.equal({ GALERA_ROOT_PASSWORD: "r1", GALERA_SST_PASSWORD: "s1" });
        const c = command("c", "198.18.72.10", "x", "GALERA_ROOT_PASSWORD=other\n");
        expect(() => recordedStepSecrets(recording([a, c]))).to.throw(/disagree on the value of GALERA_ROOT_PASSWORD/);
    });
});

describe("lab hosts: a recorded PID is signalled only while it is the recorded process", () => {
    let dir: string;
    let other: ReturnType<typeof spawn>;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "oclab-pid-"));
        // a live process that is not the lab's: what a recorded PID names after this machine restarts
        other = spawn("sleep", ["30"], { stdio: "ignore" });
    });
    afterEach(() => {
        other.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the PID when its command line names the marker; none for another process, a dead PID, garbage or no file", async () => {
        const file = path.join(dir, "x.pid");
        fs.writeFileSync(file, `${other.pid}\n`);
        expect(recordedPid(file, "sleep 30")).to.equal(other.pid);
        expect(recordedPid(file, "/var/lib/oclab/s3-standin.ts")).to.equal(undefined);
        const ended = spawn("true");
        await new Promise((r) => ended.on("exit", r));
        fs.writeFileSync(file, `${ended.pid}\n`);
        expect(recordedPid(file, "true")).to.equal(undefined);
        fs.writeFileSync(file, "not a pid\n");
        expect(recordedPid(file, "sleep")).to.equal(undefined);
        expect(recordedPid(path.join(dir, "absent.pid"), "sleep")).to.equal(undefined);
    });

    it("a host whose recorded supervisor PID now names another live process is not running (down and up leave that process alone)", () => {
        const hosts = new BootedHosts(dir, "oclab-test0", () => {});
        fs.mkdirSync(hosts.dir("db1"), { recursive: true });
        fs.writeFileSync(path.join(hosts.dir("db1"), "run-host.pid"), `${other.pid}\n`);
        expect(hosts.supervisorPid("db1")).to.equal(undefined);
        expect(hosts.leaderPid("db1")).to.equal(undefined);
    });
});

describe("lab hosts: what up finds left by an earlier run", () => {
    it("nothing; a lab with a running host (up replays what changed); a lab none of whose hosts runs (removed first)", () => {
        expect(leftoverLab([], () => true)).to.equal("none");
        expect(leftoverLab(["bastion", "db1"], (h) => h === "db1")).to.equal("running");
        expect(leftoverLab(["bastion", "db1", "web1"], () => false)).to.equal("stale");
    });
});

describe("lab hosts: the fstab device generator (stand-in for udev and a writable /sys at boot)", () => {
    const generator = path.join(__dirname, "..", "scripts", "lab", "host", "fstab-devices-generator.sh");
    const debianGenerator = "/lib/systemd/system-generators/systemd-fstab-generator";
    const fstab = "UUID=1234-abcd /var/lib/mysql xfs defaults,noatime,inode64,nofail 0 0\n198.18.128.10:/gfs /mnt/data glusterfs defaults,_netdev 0 0\n";
    /** Runs `cmd` (with $OUT) in a private mount namespace whose /sys is read-only, as inside systemd-nspawn. */
    function inContainerView(dir: string, cmd: string) {
        const out = path.join(dir, "out");
        fs.mkdirSync(out, { recursive: true });
        const r = spawnSync("unshare", ["-m", "bash", "-c", `mount -o remount,bind,ro /sys && ${cmd}`], {
            env: { ...process.env, OUT: out, SYSTEMD_FSTAB: path.join(dir, "fstab"), OCLAB_GENERATOR_DEV: path.join(dir, "dev") },
            encoding: "utf8",
            timeout: 30_000,
        });
        return { code: r.status ?? -1, stderr: r.stderr, units: fs.readdirSync(out) };
    }
    let dir: string;
    before(function () {
        if (process.getuid?.() !== 0 || !fs.existsSync(debianGenerator)) this.skip();
    });
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "fstab-gen-"));
        fs.writeFileSync(path.join(dir, "fstab"), fstab);
        fs.mkdirSync(path.join(dir, "dev"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("Debian's generator alone skips the data volume's line when /sys is read-only (so a rebooted host had no mount unit)", () => {
        const r = inContainerView(dir, `${debianGenerator} "$OUT" "$OUT" "$OUT"`);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.units).to.include("mnt-data.mount");
        expect(r.units).to.not.include("var-lib-mysql.mount");
    });

    it("writes the data volume's mount unit as an instance's boot does (nofail: wanted by local-fs.target), and only the device lines", () => {
        const r = inContainerView(dir, `bash ${generator} "$OUT" "$OUT" "$OUT"`);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.units).to.include("var-lib-mysql.mount");
        expect(r.units).to.not.include("mnt-data.mount");
        const unit = fs.readFileSync(path.join(dir, "out", "var-lib-mysql.mount"), "utf8");
        expect(unit).to.match(/^What=\/dev\/disk\/by-uuid\/1234-abcd$/m);
        expect(unit).to.match(/^Options=defaults,noatime,inode64,nofail$/m);
        expect(fs.readdirSync(path.join(dir, "out", "local-fs.target.wants"))).to.include("var-lib-mysql.mount");
    });
});
