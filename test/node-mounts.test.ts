import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { bash, fakeCommand, parseUnit, NODE_SCRIPTS, systemdVerify, tempDir } from "./harness/shell";

describe("daemons wait for their data volume (scripts/node/lib/volume.sh require_mounts_for)", () => {
    let t: ReturnType<typeof tempDir>;
    beforeEach(() => (t = tempDir("mounts")));
    afterEach(() => t.cleanup());

    const run = (systemd: boolean, unit: string, mountPath: string) => {
        const bin = path.join(t.dir, "bin");
        fakeCommand(bin, "systemctl", `echo "$*" >> "${t.dir}/systemctl.log"`);
        return bash(`. "${NODE_SCRIPTS}/lib/common.sh"; . "${NODE_SCRIPTS}/lib/volume.sh"; is_systemd() { ${systemd}; }; require_mounts_for ${unit} ${mountPath}`, {
            PATH: `${bin}:${process.env.PATH}`,
            OCHA_SYSTEMD_DIR: path.join(t.dir, "units"),
        });
    };
    const dropIn = (unit: string) => path.join(t.dir, "units", `${unit}.d`, "10-owncloud-ha-mounts.conf");
    const reloads = () => (fs.existsSync(path.join(t.dir, "systemctl.log")) ? fs.readFileSync(path.join(t.dir, "systemctl.log"), "utf8").match(/daemon-reload/g)?.length ?? 0 : 0);

    for (const [unit, mountPath, script] of [
        ["mariadb.service", "/var/lib/mysql", "galera/install.sh"],
        ["glusterd.service", "/data/glusterfs/gfs_v_r5/brick_a", "gluster/prepare-brick.sh"],
    ]) {
        it(`${unit} requires and is ordered after the mount of ${mountPath}, once (idempotent)`, () => {
            expect(run(true, unit, mountPath).code).to.equal(0);
            expect(parseUnit(fs.readFileSync(dropIn(unit), "utf8")).Unit.RequiresMountsFor).to.deep.equal([mountPath]);
            expect(reloads()).to.equal(1);
            expect(run(true, unit, mountPath).code).to.equal(0);
            expect(reloads(), "no daemon-reload when nothing changed").to.equal(1);
            const complaints = systemdVerify(path.join(t.dir, "units"), { [unit]: "[Service]\nExecStart=/bin/true\n" });
            if (complaints !== undefined) expect(complaints, "systemd-analyze verify of the unit with the drop-in").to.equal("");
        });
        it(`${script} asks for that ordering`, () => {
            const src = fs.readFileSync(path.join(NODE_SCRIPTS, script), "utf8");
            expect(src).to.match(new RegExp(`^require_mounts_for ${unit.replace(".", "\\.")} `, "m"));
        });
    }

    it("writes nothing where PID 1 is not systemd (the lab's hosts)", () => {
        expect(run(false, "mariadb.service", "/var/lib/mysql").code).to.equal(0);
        expect(fs.existsSync(dropIn("mariadb.service"))).to.equal(false);
        expect(reloads()).to.equal(0);
    });
});

describe("a stale fstab entry is recognised by probing the device (scripts/node/lib/volume.sh uuid_device)", () => {
    let t: ReturnType<typeof tempDir>;
    let loop = "";
    before(function () {
        if (process.getuid?.() !== 0) this.skip();
    });
    beforeEach(() => {
        t = tempDir("uuid-device");
        const image = path.join(t.dir, "volume.img");
        fs.writeFileSync(image, "");
        fs.truncateSync(image, 16 * 1024 * 1024);
        const r = spawnSync("losetup", ["-f", "--show", image], { encoding: "utf8" });
        expect(r.status, r.stderr).to.equal(0);
        loop = r.stdout.trim();
    });
    afterEach(() => {
        if (loop) spawnSync("losetup", ["-d", loop]);
        loop = "";
        t.cleanup();
    });

    /**
     * A volume that carried a filesystem, with its /dev/disk/by-uuid link, then wiped — the state of a
     * brick or database volume being re-prepared before udev has handled the change (in the lab: until
     * the next boot). Runs in a private mount namespace with its own /dev, so this machine's links are
     * untouched. Prints the old check's answer and uuid_device's.
     */
    function wipedWithStaleLink(wipe: boolean) {
        const script = `set -euo pipefail
            dev=${loop}; nr=\${dev#/dev/loop}
            mkswap -q "$dev" >/dev/null; uuid="$(blkid -p -o value -s UUID "$dev")"; [ -n "$uuid" ]
            mount -t tmpfs oc-dev /dev; mknod "$dev" b 7 "$nr"; mkdir -p /dev/disk/by-uuid
            ln -s "$dev" "/dev/disk/by-uuid/$uuid"
            ${wipe ? 'wipefs -a -q "$dev"' : ":"}
            if blkid -U "$uuid" >/dev/null 2>&1; then echo "blkid-U=found"; else echo "blkid-U=none"; fi
            . "${NODE_SCRIPTS}/lib/common.sh"; . "${NODE_SCRIPTS}/lib/volume.sh"
            if found="$(uuid_device "$uuid")"; then echo "uuid_device=$found"; else echo "uuid_device=none"; fi`;
        const r = spawnSync("unshare", ["-m", "bash", "-c", script], { encoding: "utf8", timeout: 30_000 });
        expect(r.status, r.stderr).to.equal(0);
        return r.stdout.trim().split("\n");
    }

    it("finds the device while it carries the UUID", () => {
        expect(wipedWithStaleLink(false)).to.deep.equal(["blkid-U=found", `uuid_device=${loop}`]);
    });
    it("does not find a wiped device through its stale link, which `blkid -U` alone still returns", () => {
        expect(wipedWithStaleLink(true)).to.deep.equal(["blkid-U=found", "uuid_device=none"]);
    });
    it("ensure_xfs_mount asks uuid_device, not the link, whether an fstab entry's old volume still exists", () => {
        const src = fs.readFileSync(path.join(NODE_SCRIPTS, "lib", "volume.sh"), "utf8");
        expect(src).to.match(/&& uuid_device "\$\{old_src#UUID=\}" >\/dev\/null; then\n\s+die "\/etc\/fstab already mounts another existing device/);
        expect(src).not.to.match(/blkid -U "\$\{old_src/);
    });
});
