/**
 * The lab's certificate authority: the stand-in for the public CAs that sign AWS's endpoints
 * (Secrets Manager, ElastiCache's TLS). The lab installs `ca.crt` into its hosts' trust stores;
 * the stand-ins serve certificates issued here under the names the hosts ask for, so the hosts'
 * clients verify them exactly as they verify AWS's.
 *
 * Everything goes through the `openssl` CLI (OpenSSL 3), argument arrays only. Keys are EC P-256,
 * mode 600; certificates 644. Idempotent: the CA is made once; a certificate is issued again only
 * when its names differ, it no longer verifies against the CA, or it expires within a day.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const LAB_CA_SUBJECT = "/O=owncloud-ha lab/CN=owncloud-ha lab CA";
/** Ten years: the CA outlives any lab state that trusts it. */
const CA_DAYS = 3650;
/** What CA/Browser Forum rules once allowed for a server certificate; re-issued by any `up` after it. */
const LEAF_DAYS = 825;

export interface LabCa {
    certPath: string;
    keyPath: string;
}

export interface CertNames {
    dnsNames?: string[];
    ips?: string[];
}

export interface IssuedCert {
    certPath: string;
    keyPath: string;
}

function openssl(args: string[], input?: string): string {
    try {
        return execFileSync("openssl", args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`openssl ${args[0]} failed: ${(err.stderr ?? err.message).trim()}`);
    }
}

/** Writes through a temporary file and a rename, so a crash never leaves half a key or certificate. */
function install(tmp: string, file: string, mode: number): void {
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
}

function tmpName(file: string): string {
    return `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
}

/** A new P-256 key in a temporary file next to `file` (600 before a byte of key is written); returns its path. */
function newKey(file: string): string {
    const tmp = tmpName(file);
    fs.writeFileSync(tmp, "", { mode: 0o600 });
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", tmp]);
    return tmp;
}

/** The CA in `dir` (made on the first call): ca.key (600) and ca.crt (644), CA:TRUE, 10 years. */
export function ensureLabCa(dir: string): LabCa {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ca = { certPath: path.join(dir, "ca.crt"), keyPath: path.join(dir, "ca.key") };
    if (fs.existsSync(ca.certPath) && fs.existsSync(ca.keyPath)) return ca;
    const keyTmp = newKey(ca.keyPath);
    const tmp = tmpName(ca.certPath);
    openssl([
        "req", "-x509", "-new", "-key", keyTmp, "-sha256", "-days", String(CA_DAYS), "-subj", LAB_CA_SUBJECT,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
        "-out", tmp,
    ]);
    // Key first: a cert without its key is never taken for a finished CA (both must exist).
    install(keyTmp, ca.keyPath, 0o600);
    install(tmp, ca.certPath, 0o644);
    return ca;
}

/** `DNS:a, IP Address:1.2.3.4` as openssl prints a subjectAltName, sorted, for comparison. */
function sanList(names: CertNames): string[] {
    return [...(names.dnsNames ?? []).map((d) => `DNS:${d.toLowerCase()}`), ...(names.ips ?? []).map((ip) => `IP Address:${ip}`)].sort();
}

function currentSans(certPath: string): string[] {
    const out = openssl(["x509", "-in", certPath, "-noout", "-ext", "subjectAltName"]);
    // "X509v3 Subject Alternative Name: \n    DNS:a, IP Address:1.2.3.4"
    const line = out.split("\n").slice(1).join(" ").trim();
    return line ? line.split(/,\s*/).map((s) => (s.startsWith("DNS:") ? `DNS:${s.slice(4).toLowerCase()}` : s)).sort() : [];
}

/** True when `certPath` verifies against the CA, is `keyPath`'s, names exactly `wanted`, and is valid for another day. */
function reusable(ca: LabCa, certPath: string, keyPath: string, wanted: string[]): boolean {
    if (!fs.existsSync(certPath) || !fs.existsSync(keyPath)) return false;
    try {
        openssl(["verify", "-CAfile", ca.certPath, "-purpose", "sslserver", certPath]);
        openssl(["x509", "-in", certPath, "-noout", "-checkend", "86400"]);
        if (openssl(["x509", "-in", certPath, "-noout", "-pubkey"]) !== openssl(["pkey", "-in", keyPath, "-pubout"])) return false;
        return JSON.stringify(currentSans(certPath)) === JSON.stringify(wanted);
    } catch {
        return false;
    }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/**
 * A server certificate `<name>.crt` / `<name>.key` in `dir` for these names (at least one),
 * signed by the lab CA: CA:FALSE, serverAuth, the names as subjectAltName (what TLS clients check;
 * the CN is only a label). Reused when the existing one already names exactly these.
 */
export function issueCert(dir: string, name: string, names: CertNames): IssuedCert {
    if (!NAME.test(name)) throw new Error(`issueCert: name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (it names the files)`);
    for (const d of names.dnsNames ?? []) if (!DNS_NAME.test(d)) throw new Error(`issueCert ${name}: ${JSON.stringify(d)} is not a DNS name`);
    for (const ip of names.ips ?? []) if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`issueCert ${name}: ${JSON.stringify(ip)} is not an IPv4 address`);
    const wanted = sanList(names);
    if (wanted.length === 0) throw new Error(`issueCert ${name}: give at least one DNS name or IP address (clients check subjectAltName)`);
    const ca = ensureLabCa(dir);
    const cert = { certPath: path.join(dir, `${name}.crt`), keyPath: path.join(dir, `${name}.key`) };
    if (reusable(ca, cert.certPath, cert.keyPath, wanted)) return cert;

    const keyTmp = newKey(cert.keyPath);
    const csr = tmpName(path.join(dir, `${name}.csr`));
    const ext = tmpName(path.join(dir, `${name}.ext`));
    const certTmp = tmpName(cert.certPath);
    try {
        openssl(["req", "-new", "-key", keyTmp, "-subj", `/O=owncloud-ha lab/CN=${name}`, "-out", csr]);
        const san = [...(names.dnsNames ?? []).map((d) => `DNS:${d}`), ...(names.ips ?? []).map((ip) => `IP:${ip}`)].join(",");
        fs.writeFileSync(
            ext,
            [
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=serverAuth",
                `subjectAltName=${san}`,
                "authorityKeyIdentifier=keyid",
                "subjectKeyIdentifier=hash",
                "",
            ].join("\n"),
        );
        openssl([
            "x509", "-req", "-in", csr, "-CA", ca.certPath, "-CAkey", ca.keyPath,
            // A fresh random serial each time: a client that cached the old certificate never sees two with one serial.
            "-set_serial", `0x${crypto.randomBytes(16).toString("hex").replace(/^[89a-f]/, "7")}`,
            "-days", String(LEAF_DAYS), "-sha256", "-extfile", ext, "-out", certTmp,
        ]);
        // Key then certificate: in between, the pair does not match and reusable() refuses it.
        install(keyTmp, cert.keyPath, 0o600);
        install(certTmp, cert.certPath, 0o644);
    } finally {
        for (const f of [csr, ext, certTmp, keyTmp]) fs.rmSync(f, { force: true });
    }
    return cert;
}
