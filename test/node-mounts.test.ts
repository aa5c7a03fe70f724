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
