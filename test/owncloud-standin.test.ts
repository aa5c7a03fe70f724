/**
 * The lab's stand-in for the owncloud/server:11.0.0 image, without root or network: its image config
 * against its own overlay, and the overlay's shell contract run with stub commands (wait-for-it, occ)
 * in a temporary directory. The stand-in's PHP and the built root are exercised by the lab (and by the
 * manual checks recorded in docs/verified-against.md, "ownCloud container stand-in").
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    buildOwncloudStandinRootfs,
    OWNCLOUD_STANDIN_IMAGE_CONFIG,
    OWNCLOUD_STANDIN_OVERLAY,
    owncloudStandinRootfsDir,
    validateCaPem,
} from "../scripts/lab/owncloud-standin/image";

const O = OWNCLOUD_STANDIN_OVERLAY;
const overlay = (p: string) => path.join(O, p.replace(/^\//, ""));
const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

interface Run {
    code: number | null;
    out: string;
    calls: string[];
}

/**
 * Runs `script` in bash with a PATH whose first entry holds stubs: each stub records its argv (one
 * line per call, in calls.log) and behaves as its body says. The environment is only what is given.
 */
function runWithStubs(script: string, stubs: Record<string, string>, env: Record<string, string> = {}): Run {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oc-standin-test-"));
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        for (const [name, body] of Object.entries(stubs)) {
            fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${dir}/calls.log"\n${body}\n`, { mode: 0o755 });
        }
        // stdin closed: bash reads ~/.bashrc when its stdin is a socket (node's default pipes).
        const r = spawnSync("bash", ["-c", script], {
            env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, ...env },
            stdio: ["ignore", "pipe", "pipe"],
            encoding: "utf8",
        });
        const log = path.join(dir, "calls.log");
        return { code: r.status, out: r.stdout + r.stderr, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// The defaults the entrypoint sources (98-overwrite.sh excluded: as root it writes /etc/environment).
const sourceDefaults = `set -eo pipefail; for f in ${overlay("etc/entrypoint.d")}/[0-8]*.sh; do . "$f"; done`;

describe("ownCloud stand-in image: config", () => {
    it("starts the overlay's entrypoint with the server command, both executables in the overlay", () => {
        const [entrypoint] = OWNCLOUD_STANDIN_IMAGE_CONFIG.Entrypoint;
        const [cmd, arg] = OWNCLOUD_STANDIN_IMAGE_CONFIG.Cmd;
        for (const f of [entrypoint, cmd]) {
            expect(fs.statSync(overlay(f)).mode & 0o111, f).to.not.equal(0);
        }
        expect(arg).to.equal("server");
        expect(fs.readFileSync(overlay(cmd), "utf8")).to.match(/^server\)\n\s+run_steps\n\s+exec \/usr\/bin\/server/m);
    });
    it("exposes the port Apache listens on by default (APACHE_LISTEN in 98-overwrite.sh)", () => {
        const m = fs.readFileSync(overlay("etc/entrypoint.d/98-overwrite.sh"), "utf8").match(/APACHE_LISTEN="\$\{APACHE_LISTEN:-(\d+)\}"/);
        expect(m, "APACHE_LISTEN default").to.not.equal(null);
        expect(Object.keys(OWNCLOUD_STANDIN_IMAGE_CONFIG.ExposedPorts)).to.deep.equal([`${m![1]}/tcp`]);
        expect(fs.readFileSync(overlay("etc/apache2/ports.conf"), "utf8")).to.match(/^Listen \$\{APACHE_LISTEN\}$/m);
    });
    it("declares the volume at the volume root the scripts default to, and the code's directory as working directory", () => {
        const r = runWithStubs(`${sourceDefaults}; echo "$OWNCLOUD_VOLUME_ROOT"`, {});
        expect(r.code, r.out).to.equal(0);
        expect(Object.keys(OWNCLOUD_STANDIN_IMAGE_CONFIG.Volumes)).to.deep.equal([r.out.trim()]);
        expect(fs.statSync(overlay(OWNCLOUD_STANDIN_IMAGE_CONFIG.WorkingDir)).isDirectory()).to.equal(true);
        expect(fs.existsSync(overlay("var/www/owncloud/status.php"))).to.equal(true);
    });
    it("labels every file of the stand-in ownCloud and of the image's scripts a stand-in", () => {
        const files = ["usr/bin", "etc/entrypoint.d", "etc/owncloud.d", "var/www/owncloud", "var/www/owncloud/lib"].flatMap((d) =>
            fs
                .readdirSync(overlay(d), { withFileTypes: true })
                .filter((e) => e.isFile())
                .map((e) => path.join(d, e.name)),
        );
        expect(files.length).to.be.greaterThan(15);
        for (const f of files) expect(fs.readFileSync(overlay(f), "utf8").split("\n").slice(0, 3).join("\n"), f).to.match(/STAND-IN/);
    });
});

describe("ownCloud stand-in image: the environment node-init gives the container", () => {
    it("every OWNCLOUD_* variable node-init writes is one the stand-in reads", () => {
        const nodeInit = fs.readFileSync(path.join(__dirname, "../scripts/node/web/node-init.sh"), "utf8");
        const written = [...new Set([...nodeInit.matchAll(/(?<![A-Z0-9_])(OWNCLOUD_[A-Z0-9_]+)=(?:tls:\/\/)?(?:%s|true|false|mysql)/g)].map((m) => m[1]))];
        expect(written).to.include.members(["OWNCLOUD_DB_HOST", "OWNCLOUD_REDIS_HOST", "OWNCLOUD_SKIP_CHOWN", "OWNCLOUD_CROND_ENABLED"]);
        const read = ["etc/entrypoint.d", "etc/owncloud.d", "etc/templates"]
            .flatMap((d) => fs.readdirSync(overlay(d)).map((f) => fs.readFileSync(overlay(path.join(d, f)), "utf8")))
            .join("\n");
        for (const v of written) expect(read, v).to.match(new RegExp(`\\b${v}\\b`));
    });
    it("defaults as the image's entrypoint.d sets them, and given values kept", () => {
        const show = "echo $OWNCLOUD_DB_TYPE $OWNCLOUD_DB_PREFIX $OWNCLOUD_DB_TIMEOUT $OWNCLOUD_REDIS_STARTUP_TIMEOUT $OWNCLOUD_VOLUME_FILES $OWNCLOUD_ADMIN_USERNAME $OWNCLOUD_CROND_ENABLED $OWNCLOUD_SKIP_CHOWN";
        expect(runWithStubs(`${sourceDefaults}; ${show}`, {}).out.trim()).to.equal("sqlite oc_ 180 180 /mnt/data/files admin true false");
        const given = { OWNCLOUD_DB_TYPE: "mysql", OWNCLOUD_DB_TIMEOUT: "5", OWNCLOUD_VOLUME_ROOT: "/v", OWNCLOUD_SKIP_CHOWN: "true" };
        expect(runWithStubs(`${sourceDefaults}; ${show}`, {}, given).out.trim()).to.equal("mysql oc_ 5 180 /v/files admin true true");
    });
});

describe("ownCloud stand-in image: owncloud.d/15-database.sh", () => {
    const step = `${sourceDefaults}; . ${overlay("etc/owncloud.d/15-database.sh")}; echo "DBHOST=$OWNCLOUD_DB_HOST"`;
    const redisEnv = { OWNCLOUD_DB_TYPE: "mysql", OWNCLOUD_DB_HOST: "127.0.0.1", OWNCLOUD_REDIS_ENABLED: "true", OWNCLOUD_REDIS_HOST: "tls://cache.example", OWNCLOUD_REDIS_PORT: "6380" };

    it("appends :3306 to a database host without a port (the exported value changes) and waits on it, then on Redis without tls://", () => {
        const r = runWithStubs(step, { "wait-for-it": "exit 0" }, redisEnv);
        expect(r.code, r.out).to.equal(0);
        expect(r.calls).to.deep.equal(["wait-for-it -t 180 127.0.0.1:3306", "wait-for-it -t 180 cache.example:6380"]);
        expect(r.out).to.match(/^DBHOST=127\.0\.0\.1:3306$/m);
    });
    it("keeps a host that has a port", () => {
        const r = runWithStubs(step, { "wait-for-it": "exit 0" }, { OWNCLOUD_DB_TYPE: "mysql", OWNCLOUD_DB_HOST: "db:3307" });
        expect(r.calls).to.deep.equal(["wait-for-it -t 180 db:3307"]);
    });
    it("ends the container (exit 1) when the database does not come up in time", () => {
        const r = runWithStubs(step, { "wait-for-it": "exit 1" }, { ...redisEnv, OWNCLOUD_DB_TIMEOUT: "7" });
        expect(r.code).to.equal(1);
        expect(r.calls).to.deep.equal(["wait-for-it -t 7 127.0.0.1:3306"]);
        expect(r.out).to.contain("Database didn't come up in time!");
    });
    it("goes on after a database timeout with OWNCLOUD_DB_FAIL=false", () => {
        const r = runWithStubs(step, { "wait-for-it": "exit 1" }, { OWNCLOUD_DB_TYPE: "mysql", OWNCLOUD_DB_HOST: "db", OWNCLOUD_DB_FAIL: "false" });
        expect(r.code, r.out).to.equal(0);
    });
    it("ends the container when Redis does not come up in time", () => {
        const r = runWithStubs(step, { "wait-for-it": '[[ "$3" == *6380 ]] && exit 1; exit 0' }, redisEnv);
        expect(r.code).to.equal(1);
        expect(r.out).to.contain("Redis didn't come up in time!");
    });
    it("waits for no Redis in cluster mode (seeds) or with Redis disabled", () => {
        const seeds = runWithStubs(step, { "wait-for-it": "exit 1" }, { ...redisEnv, OWNCLOUD_DB_TYPE: "sqlite", OWNCLOUD_REDIS_SEEDS: "a:6379" });
        expect(seeds.code, seeds.out).to.equal(0);
        expect(seeds.calls).to.deep.equal([]);
        const off = runWithStubs(step, { "wait-for-it": "exit 1" }, { ...redisEnv, OWNCLOUD_DB_TYPE: "sqlite", OWNCLOUD_REDIS_ENABLED: "false" });
        expect(off.calls).to.deep.equal([]);
    });
});

describe("ownCloud stand-in image: /usr/bin/owncloud and /usr/bin/cronjob", () => {
    const owncloud = overlay("usr/bin/owncloud");
    const env = { OWNCLOUD_ENTRYPOINT_INITIALIZED: "true" };

    it("installed: exit 1 exactly when occ -V says ownCloud is not installed", () => {
        const no = runWithStubs(`bash ${owncloud} installed`, { occ: 'echo "ownCloud is not installed - only a limited number of commands are available"; echo "ownCloud version 11.0.0"' }, env);
        expect(no.code).to.equal(1);
        const yes = runWithStubs(`bash ${owncloud} installed`, { occ: 'echo "ownCloud version 11.0.0"' }, env);
        expect(yes.code).to.equal(0);
        expect(yes.calls).to.deep.equal(["occ -V"]);
    });
    it("migrate: occ upgrade's codes below 4 (3: already up to date) are success, 4 and above end the container", () => {
        for (const [rc, want] of [[0, 0], [3, 0], [4, 4], [5, 5]]) {
            const r = runWithStubs(`bash ${owncloud} migrate`, { occ: `exit ${rc}` }, env);
            expect(r.code, `occ upgrade exit ${rc}`).to.equal(want);
            expect(r.calls).to.deep.equal(["occ upgrade --no-interaction"]);
        }
    });
    it("install: maintenance:install with the environment's database, admin and data directory; its failure is the exit code", () => {
        const full = {
            ...env,
            OWNCLOUD_VOLUME_FILES: "/mnt/data/files",
            OWNCLOUD_DB_TYPE: "mysql",
            OWNCLOUD_DB_NAME: "oc",
            OWNCLOUD_DB_USERNAME: "u",
            OWNCLOUD_DB_PASSWORD: "p",
            OWNCLOUD_DB_HOST: "127.0.0.1:3306",
            OWNCLOUD_DB_PREFIX: "oc_",
            OWNCLOUD_ADMIN_USERNAME: "admin",
            OWNCLOUD_ADMIN_PASSWORD: "pw",
        };
        const r = runWithStubs(`bash ${owncloud} install`, { occ: "exit 0" }, full);
        expect(r.code, r.out).to.equal(0);
        expect(r.calls).to.deep.equal([
            "occ maintenance:install --no-interaction --data-dir /mnt/data/files --database mysql --database-name oc --database-user u --database-host 127.0.0.1:3306 --database-table-prefix oc_ --admin-user admin --database-pass p --admin-pass pw",
        ]);
        expect(runWithStubs(`bash ${owncloud} install`, { occ: "exit 7" }, full).code).to.equal(7);
    });
    it("cronjob runs occ system:cron, then occ dav:cleanup-chunks, and stops at a failure", () => {
        const ok = runWithStubs(`bash ${overlay("usr/bin/cronjob")}`, { occ: "exit 0" });
        expect(ok.code).to.equal(0);
        expect(ok.calls).to.deep.equal(["occ system:cron", "occ dav:cleanup-chunks"]);
        const failed = runWithStubs(`bash ${overlay("usr/bin/cronjob")}`, { occ: "exit 2" });
        expect(failed.code).to.equal(2);
        expect(failed.calls).to.deep.equal(["occ system:cron"]);
    });
    it("55-cron.sh sets the background mode, and refuses a cron daemon the stand-in does not have", () => {
        const step = `${sourceDefaults}; . ${overlay("etc/owncloud.d/55-cron.sh")}`;
        const off = runWithStubs(step, { occ: "exit 0" }, { OWNCLOUD_CROND_ENABLED: "false" });
        expect(off.code, off.out).to.equal(0);
        expect(off.calls).to.deep.equal(["occ background:cron"]);
        const on = runWithStubs(step, { occ: "exit 0" });
        expect(on.code).to.equal(1);
        expect(on.out).to.contain("OWNCLOUD_CROND_ENABLED=true");
    });
    it("25-chown.sh touches nothing with OWNCLOUD_SKIP_CHOWN=true", () => {
        const step = `${sourceDefaults}; . ${overlay("etc/owncloud.d/25-chown.sh")}`;
        const r = runWithStubs(step, { find: "exit 0", xargs: "exit 0" }, { OWNCLOUD_SKIP_CHOWN: "true" });
        expect(r.code, r.out).to.equal(0);
        expect(r.calls).to.deep.equal([]);
        const chowned = runWithStubs(step, { find: "exit 0", xargs: "exit 0" }, { OWNCLOUD_VOLUME_ROOT: "/v" });
        expect(chowned.calls.filter((c) => c.startsWith("find "))).to.have.length(2);
        expect(chowned.calls.some((c) => c.startsWith("find /v "))).to.equal(true);
    });
    it("the image's extensionless scripts are shellcheck-clean (npm test's shellcheck covers *.sh only)", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) this.skip();
        const bins = fs.readdirSync(overlay("usr/bin")).map((f) => overlay(path.join("usr/bin", f)));
        const r = spawnSync("shellcheck", ["-s", "bash", ...bins], { encoding: "utf8" });
        expect(r.status, r.stdout).to.equal(0);
    });
});

describe("ownCloud stand-in image: building", () => {
    it("refuses a CA that is not exactly one PEM certificate before building anything", () => {
        expect(() => validateCaPem("")).to.throw(/exactly one PEM certificate.*got 0/);
        expect(() => validateCaPem(CA + CA)).to.throw(/got 2/);
        expect(() => buildOwncloudStandinRootfs("/nonexistent/never-built", "not a cert")).to.throw(/exactly one PEM certificate/);
        expect(fs.existsSync("/nonexistent")).to.equal(false);
        validateCaPem(CA);
    });
    it("keeps a complete root as it is (the script exits before debootstrap)", () => {
        const dest = fs.mkdtempSync(path.join(os.tmpdir(), "oc-standin-root-"));
        try {
            fs.writeFileSync(path.join(dest, ".oclab-owncloud-standin-complete"), "");
            buildOwncloudStandinRootfs(dest, CA);
            expect(fs.readdirSync(dest)).to.deep.equal([".oclab-owncloud-standin-complete"]);
        } finally {
            fs.rmSync(dest, { recursive: true, force: true });
        }
    });
    it("names the cached root by the build's inputs: another CA is another root", () => {
        const a = owncloudStandinRootfsDir(CA, "/cache");
        expect(a).to.match(/^\/cache\/owncloud-standin-[0-9a-f]{12}$/);
        expect(owncloudStandinRootfsDir(CA, "/cache")).to.equal(a);
        expect(owncloudStandinRootfsDir(CA.replace("fake", "other"), "/cache")).to.not.equal(a);
    });
});
