/**
 * The lab's web hosts boot from the program's recorded user data: what the lab reads from it, what
 * it adds to a host (only what AWS's network gives an instance), and how it re-runs one of the
 * program's web scripts the way the user data does.
 */
import { expect } from "chai";
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { bootScript } from "../components/shared/userData";
import { shellQuote } from "../components/shared/remoteBootstrap";
import { type LabRecording, userDataSetting, webUserData } from "../scripts/lab/replay/record";
import { hostSystemFiles, imdsRuleset, requiredUserDataSetting } from "../scripts/lab/web-boot";
import { asUserDataScript } from "../scripts/lab/web-lab";
import { frontDoor } from "../scripts/lab/front-door";

const ROOT = path.resolve(__dirname, "..");
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("lab web boot from the recorded user data", function () {
    this.timeout(180_000);
    let rec: LabRecording;
    let tmp: string;

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "web-boot-"));
        // the recording runs in its own process, as `lab up` runs it (Pulumi's runtime is global)
        const { stdout } = await promisify(execFile)("npx", ["--no-install", "tsx", "scripts/lab/replay/record.ts", path.join(tmp, "state")], { cwd: ROOT, maxBuffer: 64 << 20 });
        rec = JSON.parse(stdout) as LabRecording;
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("boots web hosts with the launch template's user data as EC2 decodes it, node-init as the entry", () => {
        const ud = webUserData(rec);
        expect(ud.startsWith("#!/usr/bin/env bash\n")).to.equal(true);
        expect(ud).to.match(/^exec bash '\/opt\/owncloud-ha\/scripts\/web\/node-init\.sh'$/m);
        expect(requiredUserDataSetting(ud, "OWNCLOUD_IMAGE")).to.equal("owncloud/server:11.0.0");
        expect(requiredUserDataSetting(ud, "OWNCLOUD_DOMAIN")).to.equal("cloud.lab.test");
        expect(() => requiredUserDataSetting(ud, "NO_SUCH_SETTING")).to.throw(/sets no NO_SUCH_SETTING/);
    });

    it("refuses a recording without exactly one web launch template", () => {
        expect(() => webUserData({ ...rec, launchTemplates: [] })).to.throw(/0 web launch templates/);
        expect(() => webUserData({ ...rec, launchTemplates: [...rec.launchTemplates, ...rec.launchTemplates] })).to.throw(/2 web launch templates/);
    });

    it("reads settings in the program's quoting, quotes included", () => {
        for (const v of ["plain", "it's", "'", "a b \\ $c", ""]) {
            expect(userDataSetting(`#!/bin/bash\nexport K=${shellQuote(v)}\nexport KK='x'\n`, "K")).to.equal(v);
        }
        expect(userDataSetting("export K=unquoted\n", "K")).to.equal(undefined);
    });

    it("the front door logs in with the admin secret the user data's ADMIN_SECRET_ARN names, under the program's domain", () => {
        const fd = frontDoor(rec, "198.19.20.10");
        const arn = userDataSetting(webUserData(rec), "ADMIN_SECRET_ARN");
        const admin = JSON.parse(Object.values(rec.secrets).find((s) => s.arn === arn)!.secretString);
        expect(fd).to.deep.include({ address: "198.19.20.10", domain: "cloud.lab.test", user: admin.username, password: admin.password });
        expect(fd.password.length).to.be.greaterThan(11);
    });

    it("adds only the network's and the AMI's part: resolver, lab CA in the trust store and bundle, dockerd's registry mirror", () => {
        const base = path.join(tmp, "base");
        fs.mkdirSync(path.join(base, "etc/ssl/certs"), { recursive: true });
        fs.writeFileSync(path.join(base, "etc/ssl/certs/ca-certificates.crt"), "PUBLIC CAS");
        const files = hostSystemFiles(CA, base, { registryMirror: "http://198.18.0.1:5000" })!;
        expect(Object.keys(files).sort()).to.deep.equal(
            ["/etc/docker/daemon.json", "/etc/resolv.conf", "/etc/ssl/certs/ca-certificates.crt", "/usr/local/share/ca-certificates/oclab-ca.crt"].sort(),
        );
        expect(files["/etc/resolv.conf"].content).to.equal("nameserver 198.18.0.1\n");
        expect(files["/etc/ssl/certs/ca-certificates.crt"].content).to.equal(`PUBLIC CAS\n${CA}`);
        expect(JSON.parse(files["/etc/docker/daemon.json"].content)).to.deep.equal({ "registry-mirrors": ["http://198.18.0.1:5000"] });
        expect(Object.keys(hostSystemFiles(CA, base)!)).to.not.include("/etc/docker/daemon.json");
    });

    it("sends IMDS traffic from the bridge to the stand-in's port, keeping the caller's address (DNAT, no masquerade)", function () {
        const rules = imdsRuleset("oclab0", "198.18.0.1", 8169);
        expect(rules).to.include('iifname "oclab0" ip daddr 169.254.169.254 tcp dport 80 dnat to 198.18.0.1:8169');
        expect(rules).to.not.match(/masquerade|snat/);
        const nft = spawnSync("nft", ["-c", "-f", "-"], { input: rules, encoding: "utf8" });
        if (nft.error || (nft.status !== 0 && /Operation not permitted|No such file/.test(nft.stderr))) this.skip();
        expect(nft.status, nft.stderr).to.equal(0);
    });

    it("re-runs a web script as the user data runs it: the program's exports (any value), the unpacked bundle's path", () => {
        const env = { GLUSTER_VOLUME: "gv0", ODD: "it's a $HOME `x`" };
        const ud = bootScript("", "web/node-init.sh", env);
        const udFile = path.join(tmp, "user-data.txt");
        fs.writeFileSync(udFile, ud);
        const scripts = path.join(tmp, "scripts");
        fs.mkdirSync(path.join(scripts, "web"), { recursive: true });
        fs.writeFileSync(path.join(scripts, "web/show.sh"), 'printf "%s|%s" "$GLUSTER_VOLUME" "$ODD"\n');
        const r = spawnSync("bash", ["-c", asUserDataScript("web/show.sh", udFile, scripts)], { encoding: "utf8" });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.equal("gv0|it's a $HOME `x`");
        expect(() => asUserDataScript("../etc/passwd.sh")).to.throw(/not a bundled script path/);
    });
});
