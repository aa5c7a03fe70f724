/**
 * The lab's egress stand-in: where the NAT instances/gateways sit in AWS, an apt proxy on the bridge
 * that reaches Debian's package archives only (egress-acng.conf) and caches them across lab runs
 * (the cache lives with the base root under /var/cache/oclab, once per machine). Hosts in a tier
 * whose stack choice has no egress are refused by address, so their apt fails as it would in AWS.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { alive, recordedPid } from "./booted";

export const EGRESS_PORT = 3142;

export interface EgressOptions {
    /** Address on the bridge the proxy listens on. */
    address: string;
    stateDir: string;
    cacheDir: string;
    /** Lab host addresses that must get no egress. */
    deniedAddresses: string[];
    log: (msg: string) => void;
}

const NFT_TABLE = "oclab_egress";

export const egressProxyUrl = (address: string) => `http://${address}:${EGRESS_PORT}`;

/** The nft ruleset that refuses the proxy to hosts without egress (an empty set refuses nobody). */
export function egressRuleset(address: string, denied: string[]): string {
    const set = denied.length ? `\n        ip saddr { ${denied.join(", ")} } ip daddr ${address} tcp dport ${EGRESS_PORT} reject with tcp reset` : "";
    return `table inet ${NFT_TABLE} {\n    chain input {\n        type filter hook input priority 0; policy accept;${set}\n    }\n}\n`;
}

export async function startEgress(o: EgressOptions): Promise<void> {
    const dir = path.join(o.stateDir, "egress");
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(o.cacheDir, { recursive: true });
    spawnSync("nft", ["delete", "table", "inet", NFT_TABLE], { encoding: "utf8" });
    const nft = spawnSync("nft", ["-f", "-"], { input: egressRuleset(o.address, o.deniedAddresses), encoding: "utf8" });
    if (nft.status !== 0) throw new Error(`egress stand-in: nft rules failed: ${nft.stderr.trim()}`);
    const pidFile = path.join(dir, "acng.pid");
    // apt-cacher-ng reads every *.conf in its config directory: give it a directory with ours only.
    const conf = path.join(dir, "conf");
    if (recordedPid(pidFile, conf)) return;
    fs.mkdirSync(conf, { recursive: true });
    fs.copyFileSync(path.join(__dirname, "egress-acng.conf"), path.join(conf, "acng.conf"));
    const out = fs.openSync(path.join(dir, "acng.out"), "a");
    const p = spawn(
        "apt-cacher-ng",
        ["-c", conf, "ForeGround=1", `BindAddress=${o.address}`, `Port=${EGRESS_PORT}`, `CacheDir=${o.cacheDir}`, `LogDir=${dir}`, `SocketPath=${path.join(dir, "acng.sock")}`, `PidFile=${path.join(dir, "acng.daemon.pid")}`],
        { detached: true, stdio: ["ignore", out, out] },
    );
    p.unref();
    fs.closeSync(out);
    fs.writeFileSync(pidFile, `${p.pid}\n`);
    const url = `${egressProxyUrl(o.address)}/`;
    for (let i = 0; i < 40; i++) {
        const r = spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2", "-x", egressProxyUrl(o.address), "http://deb.debian.org/debian/dists/bookworm/InRelease"], { encoding: "utf8" });
        if (r.stdout.trim() === "200") {
            o.log(`egress stand-in (apt proxy to Debian's archives) on ${url} (pid ${p.pid})`);
            return;
        }
        if (!alive(p.pid!)) break;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`egress stand-in did not fetch Debian's InRelease through ${url} within 10 s; see ${dir}/acng.out and ${dir}/apt-cacher.err`);
}

/** Ends the proxy `startEgress` started (by its recorded PID) and removes its rules. */
export function stopEgress(stateDir: string): void {
    const pid = recordedPid(path.join(stateDir, "egress", "acng.pid"), path.join(stateDir, "egress", "conf"));
    if (pid) process.kill(pid, "SIGTERM");
    spawnSync("nft", ["delete", "table", "inet", NFT_TABLE], { encoding: "utf8" });
}
