/**
 * The NAT instance's scripts as they run: the user data carries nat-apply.sh verbatim, and
 * nat-apply.sh, run as root in a private network namespace (unshare -n: nothing machine-wide),
 * turns forwarding on, ICMP redirects off and loads an nftables table that forwards and
 * masquerades exactly the private CIDRs out of the default-route interface, twice in a row.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { natInstanceUserData } from "../components/network/peeredVpc";

const ROOT = path.resolve(__dirname, "..");
const APPLY = path.join(ROOT, "scripts", "node", "nat", "nat-apply.sh");
const has = (cmd: string) => spawnSync("bash", ["-c", `command -v ${cmd}`]).status === 0;

describe("NAT instance scripts", () => {
    it("user data sets the private CIDRs and carries nat-apply.sh verbatim", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nat-ud-"));
        const file = path.join(dir, "user-data.sh");
        fs.writeFileSync(file, natInstanceUserData(["10.1.0.0/20", "10.1.32.0/20"]));
        // Evaluate only the assignments (everything up to the export), as bash would.
        const out = execFileSync("bash", ["-c", 'eval "$(sed \'/^export PRIVATE_CIDRS/q\' "$1")"; printf "%s\\n---\\n%s" "$PRIVATE_CIDRS" "$NAT_APPLY_SCRIPT"', "_", file], {
            encoding: "utf8",
        });
        const [cidrs, script] = out.split("\n---\n");
        expect(cidrs).to.equal("10.1.0.0/20 10.1.32.0/20");
        expect(script).to.equal(fs.readFileSync(APPLY, "utf8").trimEnd());
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("nat-apply.sh: forwarding on, redirects off, forward + masquerade for exactly the private CIDRs, idempotent", function () {
        if (process.getuid?.() !== 0 || !has("unshare") || !has("nft") || !has("ip")) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nat-apply-"));
        fs.writeFileSync(path.join(dir, "cidrs"), "10.1.0.0/20 10.1.32.0/20\n");
        const netns = [
            "set -euo pipefail",
            "ip link set lo up",
            // A veth end stands in for the instance's ENI; the default route names it.
            "ip link add ens5 type veth peer name peer0",
            "ip addr add 10.0.48.10/24 dev ens5",
            "ip link set ens5 up",
            "ip link set peer0 up",
            "ip route add default via 10.0.48.1",
            'NAT_CIDRS_FILE="$1/cidrs" bash "$2"',
            'NAT_CIDRS_FILE="$1/cidrs" bash "$2"',
            "sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.send_redirects net.ipv4.conf.ens5.send_redirects",
            "nft list table ip owncloud_nat",
        ].join("\n");
        const r = spawnSync("unshare", ["-n", "bash", "-c", netns, "_", dir, APPLY], { encoding: "utf8", timeout: 30_000 });
        fs.rmSync(dir, { recursive: true, force: true });
        if (r.status !== 0 && /Operation not permitted|Unknown device type/.test(r.stderr)) this.skip();
        expect(r.status, r.stderr).to.equal(0);
        const [forward, allRedirects, ifRedirects] = r.stdout.split("\n");
        expect([forward, allRedirects, ifRedirects]).to.deep.equal(["1", "0", "0"]);
        expect(r.stdout).to.match(/chain forward \{[^}]*policy drop;[\s\S]*ct state established,related accept[\s\S]*ip saddr \{ 10\.1\.0\.0\/20, 10\.1\.32\.0\/20 \} oifname "ens5" accept/);
        expect(r.stdout).to.match(/chain postrouting \{[\s\S]*ip saddr \{ 10\.1\.0\.0\/20, 10\.1\.32\.0\/20 \} oifname "ens5" masquerade/);
        // Applied twice, still one table with one rule per chain.
        expect(r.stdout.match(/masquerade/g)).to.have.length(1);
        expect(r.stderr.match(/forwarding 10\.1\.0\.0\/20 10\.1\.32\.0\/20 out of ens5/g)).to.have.length(2);
    });
});
