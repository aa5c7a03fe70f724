import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { OpsNode, OpsTarget } from "../scripts/ops/target";
import {
    defaultKnownHostsFile,
    REMOTE_KILL_AFTER_S,
    remoteCommandLine,
    spawnBounded,
    SSH_CONNECT_TIMEOUT_S,
    sshArgv,
    sshConfigText,
    SshRunner,
} from "../scripts/ops/transport";
import { fakeCommand, tempDir } from "./harness/shell";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";
const node: OpsNode = { tier: "galera", name: "node2", address: "10.1.16.10", urn: "urn:pulumi:dev::p::t::n" };
const target: OpsTarget = {
    stack: "dev",
    bastion: { host: "192.0.2.20", port: 22 },
    sshUser: "admin",
    privateKey: KEY,
    scriptsDir: "/home/admin/owncloud-ha/scripts",
    galera: { nodes: [node], bootstrapNode: "node2", syncTimeoutSeconds: 900 },
    gluster: { volume: "gfs_v_r5", nodes: [] },
    backupBuckets: {},
};

describe("ops transport: ssh through the bastion", () => {
    describe("remote command line", () => {
        it("runs the staged script as root, bounded by timeout, settings quoted", () => {
            expect(remoteCommandLine(target, { script: "galera/start.sh", env: { GALERA_PEERS: "10.1.0.10,10.1.32.10", GALERA_MODE: "join" }, timeoutSeconds: 960 })).to.equal(
                `sudo -n timeout --kill-after=${REMOTE_KILL_AFTER_S} 960 env GALERA_MODE='join' GALERA_PEERS='10.1.0.10,10.1.32.10' bash '/home/admin/owncloud-ha/scripts/galera/start.sh'`,
            );
        });
        it("needs no sudo as root (the lab); absolute paths (the backup scripts) are kept", () => {
            expect(remoteCommandLine({ ...target, sshUser: "root" }, { script: "/opt/owncloud-ha/backup/galera/backup.sh", timeoutSeconds: 60 })).to.equal(
                `timeout --kill-after=${REMOTE_KILL_AFTER_S} 60 env bash '/opt/owncloud-ha/backup/galera/backup.sh'`,
            );
        });
        it("refuses an unbounded run, a path that climbs out, a bad variable name", () => {
            expect(() => remoteCommandLine(target, { script: "galera/report.sh", timeoutSeconds: 0 })).to.throw(/timeoutSeconds/);
            expect(() => remoteCommandLine(target, { script: "../x.sh", timeoutSeconds: 5 })).to.throw(/bad script path/);
            expect(() => remoteCommandLine(target, { script: "galera/report.sh", env: { "A;rm": "x" }, timeoutSeconds: 5 })).to.throw(/bad variable name/);
        });
        it("quotes a value so the remote shell cannot run it", () => {
            expect(remoteCommandLine(target, { script: "galera/report.sh", env: { GALERA_NODE_NAME: "x'; reboot; '" }, timeoutSeconds: 5 })).to.include(`GALERA_NODE_NAME='x'\\''; reboot; '\\'''`);
        });
    });

    describe("ssh configuration", () => {
        const cfg = sshConfigText(target, "/tmp/d/key", "/home/op/.local/state/owncloud-ha/dev/known_hosts");
        it("batch mode, bounded connection set-up, trust on first use into the per-stack known_hosts, no agent", () => {
            for (const line of [
                "BatchMode yes", `ConnectTimeout ${SSH_CONNECT_TIMEOUT_S}`, "StrictHostKeyChecking accept-new",
                "UserKnownHostsFile /home/op/.local/state/owncloud-ha/dev/known_hosts", "IdentitiesOnly yes", "IdentityAgent none",
                "IdentityFile /tmp/d/key", "User admin", "HostName 192.0.2.20", "Port 22", "ForwardAgent no",
            ]) expect(cfg).to.include(`  ${line}\n`);
            expect(cfg).to.not.include("PRIVATE KEY");
        });
        it("jumps through the bastion with the same config file (ssh hands -F to the ProxyJump child, not -o)", () => {
            expect(sshArgv("/tmp/d/ssh_config", node, "true")).to.deep.equal(["ssh", "-F", "/tmp/d/ssh_config", "-J", "ops-bastion", "10.1.16.10", "true"]);
        });
        it("keeps one known_hosts per stack under XDG_STATE_HOME", () => {
            expect(defaultKnownHostsFile("prod", { XDG_STATE_HOME: "/s", HOME: "/h" })).to.equal("/s/owncloud-ha/prod/known_hosts");
            expect(defaultKnownHostsFile("dev", { HOME: "/h" })).to.equal("/h/.local/state/owncloud-ha/dev/known_hosts");
        });
    });

    describe("SshRunner (with a stand-in ssh on PATH)", () => {
        it("writes the key to a private 0600 file, secrets go to stdin never argv, and close() removes the key", async () => {
            const t = tempDir("ops-ssh");
            const oldPath = process.env.PATH;
            try {
                const bin = path.join(t.dir, "bin");
                const rec = path.join(t.dir, "rec");
                // Records argv, stdin, and the mode of the IdentityFile named in the -F config.
                fakeCommand(bin, "ssh", [
                    `printf '%s\\n' "$@" > ${rec}.argv`,
                    `cat > ${rec}.stdin`,
                    `key="$(awk '$1 == "IdentityFile" {print $2}' "$2")"`,
                    `stat -c '%a' "$key" > ${rec}.keymode; stat -c '%a' "$(dirname "$key")" > ${rec}.dirmode; cp "$key" ${rec}.key`,
                    `echo "node=node2 running=0"`,
                ].join("\n"));
                process.env.PATH = `${bin}:${oldPath}`;
                const runner = new SshRunner(target, path.join(t.dir, "state", "known_hosts"));
                const r = await runner.runScript(node, { script: "galera/users.sh", input: "GALERA_ROOT_PASSWORD=hunter2-secret\n", timeoutSeconds: 30 });
                expect(r.code).to.equal(0);
                expect(r.stdout).to.equal("node=node2 running=0\n");
                const argv = fs.readFileSync(`${rec}.argv`, "utf8");
                expect(argv).to.not.include("hunter2-secret");
                expect(argv).to.not.include("TOP-SECRET-KEY-MATERIAL");
                expect(argv).to.include("timeout --kill-after=");
                expect(fs.readFileSync(`${rec}.stdin`, "utf8")).to.equal("GALERA_ROOT_PASSWORD=hunter2-secret\n");
                expect(fs.readFileSync(`${rec}.keymode`, "utf8").trim()).to.equal("600");
                expect(fs.readFileSync(`${rec}.dirmode`, "utf8").trim()).to.equal("700");
                expect(fs.readFileSync(`${rec}.key`, "utf8")).to.equal(KEY);
                const configFile = runner.configFile;
                runner.close();
                expect(fs.existsSync(path.dirname(configFile))).to.equal(false);
            } finally {
                process.env.PATH = oldPath;
                t.cleanup();
            }
        });
    });

    it("a command that outlives its bound is killed and says so", async () => {
        const r = await spawnBounded(["sleep", "30"], "", 300);
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.match(/no answer within 0 s, killed/);
    });
});
