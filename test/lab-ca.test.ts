/**
 * The lab CA (scripts/lab/lab-ca.ts): what a TLS client checks of a stand-in's certificate, with
 * the openssl CLI as the judge.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureLabCa, issueCert } from "../scripts/lab/lab-ca";

const text = (file: string, args: string[]) => execFileSync("openssl", ["x509", "-in", file, "-noout", ...args], { encoding: "utf8" });
const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe("lab CA", function () {
    this.timeout(30_000);
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-ca-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("makes a CA once: CA:TRUE, about ten years, key 600 and certificate 644", () => {
        const ca = ensureLabCa(dir);
        expect(mode(ca.keyPath)).to.equal(0o600);
        expect(mode(ca.certPath)).to.equal(0o644);
        expect(text(ca.certPath, ["-ext", "basicConstraints"])).to.match(/CA:TRUE/);
        expect(spawnSync("openssl", ["x509", "-in", ca.certPath, "-noout", "-checkend", String(9 * 365 * 86400)]).status, "valid for 9 more years").to.equal(0);
        const first = fs.readFileSync(ca.certPath, "utf8");
        ensureLabCa(dir);
        expect(fs.readFileSync(ca.certPath, "utf8"), "a second call keeps the CA").to.equal(first);
    });

    it("issues a server certificate that verifies against the CA and names exactly the SANs", () => {
        const ca = ensureLabCa(dir);
        const c = issueCert(dir, "secretsmanager", { dnsNames: ["secretsmanager.eu-central-1.amazonaws.com"], ips: ["198.18.0.1"] });
        const verify = spawnSync("openssl", ["verify", "-CAfile", ca.certPath, "-purpose", "sslserver", c.certPath], { encoding: "utf8" });
        expect(verify.status, verify.stderr).to.equal(0);
        expect(text(c.certPath, ["-ext", "subjectAltName"])).to.match(/DNS:secretsmanager\.eu-central-1\.amazonaws\.com, IP Address:198\.18\.0\.1/);
        const ext = text(c.certPath, ["-ext", "basicConstraints,extendedKeyUsage"]);
        expect(ext).to.match(/CA:FALSE/);
        expect(ext).to.match(/TLS Web Server Authentication/);
        expect(mode(c.keyPath)).to.equal(0o600);
        expect(mode(c.certPath)).to.equal(0o644);
        // The key is the certificate's.
        const pub = execFileSync("openssl", ["pkey", "-in", c.keyPath, "-pubout"], { encoding: "utf8" });
        expect(text(c.certPath, ["-pubkey"])).to.equal(pub);
    });

    it("a certificate from another CA does not verify (the check above can fail)", () => {
        const other = fs.mkdtempSync(path.join(os.tmpdir(), "lab-ca-other-"));
        try {
            const c = issueCert(other, "x", { dnsNames: ["x.example"] });
            const verify = spawnSync("openssl", ["verify", "-CAfile", ensureLabCa(dir).certPath, c.certPath]);
            expect(verify.status).to.not.equal(0);
        } finally {
            fs.rmSync(other, { recursive: true, force: true });
        }
    });

    it("reuses a certificate for the same names and issues a new one when they change", () => {
        const names = { dnsNames: ["a.lab", "b.lab"] };
        const first = fs.readFileSync(issueCert(dir, "svc", names).certPath, "utf8");
        const again = fs.readFileSync(issueCert(dir, "svc", { dnsNames: ["b.lab", "a.lab"] }).certPath, "utf8");
        expect(again, "same names in another order: reused").to.equal(first);
        const changed = issueCert(dir, "svc", { dnsNames: ["a.lab", "c.lab"] });
        expect(fs.readFileSync(changed.certPath, "utf8")).to.not.equal(first);
        expect(text(changed.certPath, ["-ext", "subjectAltName"])).to.match(/DNS:a\.lab, DNS:c\.lab/);
    });

    it("issues again when the CA changed under a kept certificate", () => {
        const first = fs.readFileSync(issueCert(dir, "svc", { dnsNames: ["a.lab"] }).certPath, "utf8");
        fs.rmSync(path.join(dir, "ca.crt"));
        fs.rmSync(path.join(dir, "ca.key"));
        const ca = ensureLabCa(dir);
        const c = issueCert(dir, "svc", { dnsNames: ["a.lab"] });
        expect(fs.readFileSync(c.certPath, "utf8")).to.not.equal(first);
        expect(spawnSync("openssl", ["verify", "-CAfile", ca.certPath, c.certPath]).status).to.equal(0);
    });

    it("refuses a certificate without names and a name that is not a file name", () => {
        expect(() => issueCert(dir, "svc", {})).to.throw(/at least one DNS name or IP address/);
        expect(() => issueCert(dir, "../svc", { dnsNames: ["a.lab"] })).to.throw(/names the files/);
        expect(() => issueCert(dir, "svc", { dnsNames: ["a lab"] })).to.throw(/not a DNS name/);
    });
});
