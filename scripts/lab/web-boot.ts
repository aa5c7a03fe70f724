/**
 * The web tier as AWS brings it up, after the data tiers (the program's Auto Scaling group depends on
 * their bootstrap): the AWS services the web nodes' user data reaches, played by the lab's stand-ins
 * (each listed in scripts/lab/README.md), then web1/web2 booted with the recorded launch template's
 * user data, then the ALB stand-in in front of them. node-init.sh runs unchanged at first boot.
 *
 * Where each AWS side lives in the lab:
 * - the VPC resolver: the DNS stand-in on the bridge address (the hosts' resolv.conf, as DHCP gives it);
 * - IMDSv2 and Secrets Manager: the AWS stand-in on the bridge address (169.254.169.254:80 reaches it
 *   through a DNAT rule on this machine, with the caller's address kept: IMDS answers by instance);
 * - Docker Hub: the registry stand-in, as the web hosts' dockerd registry mirror, serving the ownCloud
 *   image stand-in under the program's image name;
 * - ElastiCache: two booted hosts running redis-server from the recorded replication group;
 * - the ALB: a booted host running HAProxy from the recorded listener and target group.
 * The public CAs that sign AWS's certificates are the lab CA, trusted by the web hosts and the image.
 */
import * as fs from "fs";
import * as path from "path";
import { ensureLabCa, issueCert } from "./lab-ca";
import { AWS_STANDIN_IMDS_PORT, IMDS_ADDRESS, awsStandinConfig, secretsManagerHostnames } from "./aws-standin";
import { REGISTRY_STANDIN_PORT, parseImageRef, registryMirrorDaemonJson } from "./registry-standin";
import { packImage } from "./oci-image";
import { OWNCLOUD_STANDIN_IMAGE_CONFIG, buildOwncloudStandinRootfs, owncloudStandinRootfsDir } from "./owncloud-standin/image";
import { REDIS_CONF_PATH, REDIS_TLS_FILES, elasticacheStandin } from "./elasticache-standin";
import { HAPROXY_ADMIN_SOCKET, HAPROXY_CFG_PATH, albStandin } from "./alb-standin";
import { type LabRecording, userDataSetting, webUserData } from "./replay/record";
import { type BootSpec, baseImageDir } from "./host/booted";
import { BRIDGE, BRIDGE_IP, BRIDGE_PREFIX, CACHE, HOSTS, IMDS_NFT_TABLE, Lab, STATE, launchedAtUp, log, resolverFile, run, runSync, sleep } from "./lab-core";
import { frontDoor, roundTrip } from "./front-door";

/** The lab CA (key and certificate), kept per machine: the ownCloud image stand-in trusts it when built. */
export const LAB_CA_DIR = path.join(CACHE, "lab-ca");
export const DNS_STANDIN_PORT = 53;
/** The stand-in hosts for AWS's managed services (outside every recorded VPC range, on the lab segment). */
export const REDIS_STANDIN_HOSTS = [
    { name: "redis1", address: "198.19.10.11" },
    { name: "redis2", address: "198.19.10.12" },
] as const;
/** Where the replication group's primary endpoint name points: the primary of the moment holds it. */
export const REDIS_ENDPOINT_ADDRESS = "198.19.10.10";
export const ALB_STANDIN_HOST = { name: "alb", address: "198.19.20.10" } as const;
/** Inside a stand-in host: where elasticache-failover.sh lives (copied at boot). */
const FAILOVER_SCRIPT = "/usr/local/sbin/oclab-elasticache-failover";
/** On a Redis stand-in host: configured once; its role is the failovers' from then on. */
const REDIS_CONFIGURED_MARK = "/etc/redis/oclab-standin-configured";

/** A setting the program hands node-init in the user data; an error naming it when absent. */
export function requiredUserDataSetting(userData: string, name: string): string {
    const v = userDataSetting(userData, name);
    if (v === undefined) throw new Error(`the recorded web user data sets no ${name} (export ${name}='…')`);
    return v;
}

/**
 * What the network and the AMI give an EC2 instance that the lab must write by hand: the resolver
 * (DHCP's), the lab CA among the system's trust anchors (the public CAs'), and for web hosts the
 * registry mirror (Docker Hub's place). Never the program's files.
 */
export function hostSystemFiles(caPem: string, baseRoot: string, opts: { registryMirror?: string } = {}): BootSpec["systemFiles"] {
    const bundle = path.join(baseRoot, "etc/ssl/certs/ca-certificates.crt");
    const base = fs.existsSync(bundle) ? fs.readFileSync(bundle, "utf8") : "";
    return {
        ...resolverFile(),
        // update-ca-certificates (run again by any ca-certificates trigger) keeps it in the bundle
        "/usr/local/share/ca-certificates/oclab-ca.crt": { content: caPem, mode: 0o644 },
        "/etc/ssl/certs/ca-certificates.crt": { content: base + (base.endsWith("\n") || !base ? "" : "\n") + caPem, mode: 0o644 },
        ...(opts.registryMirror ? { "/etc/docker/daemon.json": { content: registryMirrorDaemonJson(opts.registryMirror), mode: 0o644 } } : {}),
    };
}

/** The IMDS address reaches the AWS stand-in's IMDS port (source kept: IMDS answers by instance). */
export function imdsRuleset(bridge: string, address: string, port = AWS_STANDIN_IMDS_PORT): string {
    return [
        `table ip ${IMDS_NFT_TABLE} {`,
        "    chain prerouting {",
        "        type nat hook prerouting priority dstnat; policy accept;",
        `        iifname "${bridge}" ip daddr ${IMDS_ADDRESS} tcp dport 80 dnat to ${address}:${port}`,
        "    }",
        "}",
        "",
    ].join("\n");
}


export class WebBoot {
    readonly caPem: string;
    /** The web launch template's user data, decoded. */
    private readonly userData: string;
    constructor(
        private readonly lab: Lab,
        private readonly rec: LabRecording,
    ) {
        this.caPem = fs.readFileSync(ensureLabCa(LAB_CA_DIR).certPath, "utf8");
        this.userData = webUserData(rec);
    }

    /** The ElastiCache stand-in's hosts and settings, from the recorded replication group. */
    private elasticache() {
        const [p, s] = REDIS_STANDIN_HOSTS;
        return elasticacheStandin(this.rec, { primary: { name: p.name, address: p.address }, replica: { name: s.name, address: s.address }, endpointAddress: REDIS_ENDPOINT_ADDRESS });
    }

    /** Boots a prepared host (its disk kept) and waits until systemd and cloud-init report the boot finished. */
    private async boot(spec: BootSpec): Promise<void> {
        this.lab.booted.prepareRoot(spec, baseImageDir(), false);
        this.lab.booted.start(spec);
        await this.lab.booted.waitBooted(spec.name, 300_000);
    }

    /** The AWS stand-in's configuration: every web node, the later scale-out's included (IMDS answers an instance it knows). */
    private awsConfig() {
        return awsStandinConfig(this.rec, HOSTS.filter((h) => h.role === "web"), { address: BRIDGE_IP, caDir: LAB_CA_DIR });
    }

    /**
     * The VPC resolver's stand-in. It runs before any host boots, as the VPC's resolver exists before
     * its instances: every host's resolv.conf names it, and a host whose resolver does not answer
     * waits out each lookup (glusterd's reverse lookups of its peers took 10 s each).
     */
    async startResolver(): Promise<string[]> {
        const records: Record<string, string> = { [requiredUserDataSetting(this.userData, "REDIS_HOST")]: REDIS_ENDPOINT_ADDRESS };
        for (const n of secretsManagerHostnames(this.awsConfig())) records[n] = BRIDGE_IP;
        const recordsFile = path.join(STATE, "dns-records.json");
        fs.writeFileSync(recordsFile, JSON.stringify(records, null, 2) + "\n");
        await this.lab.startStandin("dns", [BRIDGE_IP, String(DNS_STANDIN_PORT), recordsFile], () =>
            fs.existsSync(path.join(STATE, "dns-standin.log")) &&
            fs.readFileSync(path.join(STATE, "dns-standin.log"), "utf8").includes("DNS stand-in on"),
        );
        return Object.keys(records);
    }

    /** DNS (already running after `up`'s boot), IMDS + Secrets Manager, the IMDS rule. */
    async startAwsStandins(): Promise<void> {
        const names = await this.startResolver();
        const config = this.awsConfig();
        const configFile = path.join(STATE, "aws-standin.json");
        // it holds the stack's secret values, like the recording
        fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
        await this.lab.startStandin("aws", [configFile], () =>
            fs.existsSync(path.join(STATE, "aws-standin.log")) && fs.readFileSync(path.join(STATE, "aws-standin.log"), "utf8").includes("aws-standin: IMDS on"),
        );
        runSync(["nft", "delete", "table", "ip", IMDS_NFT_TABLE], { allowFail: true });
        const nft = runSync(["nft", "-f", "-"], { input: imdsRuleset(BRIDGE, BRIDGE_IP), allowFail: true });
        if (nft.code !== 0) throw new Error(`the IMDS rule (nft table ip ${IMDS_NFT_TABLE}) failed: ${nft.stderr.trim()}`);
        log(`DNS stand-in on ${BRIDGE_IP}:${DNS_STANDIN_PORT} (${names.join(", ")}); IMDS and Secrets Manager stand-in on ${BRIDGE_IP}`);
    }

    /** The ownCloud image stand-in served as the program's image (built and packed once per machine). */
    async startRegistry(): Promise<void> {
        const image = requiredUserDataSetting(this.userData, "OWNCLOUD_IMAGE");
        const { name, tag } = parseImageRef(image);
        const rootfs = owncloudStandinRootfsDir(this.caPem);
        if (!fs.existsSync(path.join(rootfs, ".oclab-owncloud-standin-complete"))) {
            log(`building the ownCloud image stand-in's root in ${rootfs} (once per machine; a few minutes)`);
            const t0 = Date.now();
            buildOwncloudStandinRootfs(rootfs, this.caPem);
            log(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        }
        const packed = `${rootfs}.image`;
        await packImage(rootfs, OWNCLOUD_STANDIN_IMAGE_CONFIG, packed, { createdBy: "scripts/lab/owncloud-standin (the lab's stand-in, not ownCloud)" });
        const images = { [`${name}:${tag}`]: packed };
        const url = `http://${BRIDGE_IP}:${REGISTRY_STANDIN_PORT}`;
        await this.lab.startStandin("registry", [BRIDGE_IP, String(REGISTRY_STANDIN_PORT), JSON.stringify(images)], () =>
            runSync(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${url}/v2/`], { allowFail: true, timeoutMs: 3000 }).stdout.trim() === "200",
        );
        log(`registry stand-in on ${url}: ${image} is the ownCloud image stand-in`);
    }

    /** A stand-in host's boot: Debian 12 on the lab segment with the network's files (and `files`). */
    private standinSpec(name: string, address: string, files: Record<string, { content: string; mode: number }> = {}): BootSpec {
        const pub = fs.readFileSync(path.join(STATE, "ssh", "id_ed25519.pub"), "utf8").trim();
        return {
            name,
            ip: address,
            prefixLength: BRIDGE_PREFIX,
            gateway: BRIDGE_IP,
            instanceId: `i-oclab-${name}-1`,
            publicKeys: [pub],
            devices: [],
            fuse: false,
            readOnlyBinds: [],
            systemFiles: { ...hostSystemFiles(this.caPem, baseImageDir()), ...files },
        };
    }

    /** Power back on a stand-in host after a power loss (its disk kept); returns once it has booted. */
    async restartStandinHost(name: string): Promise<void> {
        const h = [...REDIS_STANDIN_HOSTS, ALB_STANDIN_HOST].find((x) => x.name === name);
        if (!h) throw new Error(`${name} is not a lab stand-in host`);
        await this.boot(this.standinSpec(h.name, h.address));
    }

    /** A stand-in host: booted Debian 12 on the lab segment, its packages through the egress. */
    private async bootStandinHost(name: string, address: string, packages: string[], files: Record<string, { content: string; mode: number }>): Promise<void> {
        await this.boot(this.standinSpec(name, address, files));
        const r = await run([...this.lab.booted.nsenterArgs(name), "bash", "-c",
            `set -euo pipefail; export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null; apt-get install -y -q --no-install-recommends ${packages.join(" ")} >/var/log/oclab-standin-install.log 2>&1 || { tail -n 20 /var/log/oclab-standin-install.log; exit 1; }`,
        ], { timeoutMs: 900_000 });
        if (r.code !== 0) throw new Error(`stand-in host ${name}: installing ${packages.join(" ")} failed: ${(r.stdout + r.stderr).trim()}`);
    }

    private async writeHostFile(host: string, file: string, content: string, mode: string, group: string): Promise<void> {
        await this.hostSh(host, `tmp="$(mktemp)"; cat > "$tmp"; install -m ${mode} -o root -g ${group} "$tmp" ${file}; rm -f "$tmp"`, `writing ${file}`, content);
    }

    private async hostSh(host: string, script: string, what: string, input = ""): Promise<string> {
        const r = await run([...this.lab.booted.nsenterArgs(host), "bash", "-c", `set -euo pipefail\n${script}`], { input, timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error(`${host}: ${what} failed (exit ${r.code}): ${(r.stderr + r.stdout).trim().split("\n").slice(-10).join(" | ")}`);
        return r.stdout;
    }

    /** ElastiCache: a TLS-only primary and replica with AUTH; the primary takes the endpoint address. */
    async startRedis(): Promise<void> {
        const [p, s] = REDIS_STANDIN_HOSTS;
        const ec = this.elasticache();
        const failover = fs.readFileSync(path.join(__dirname, "elasticache-failover.sh"), "utf8");
        await Promise.all(
            ec.hosts.map(async (h) => {
                const cert = issueCert(LAB_CA_DIR, `redis-${h.name}`, { dnsNames: h.cert.dnsNames, ips: h.cert.ips });
                await this.bootStandinHost(h.name, h.address, ["redis-server", "redis-tools", "iputils-arping"], {
                    [FAILOVER_SCRIPT]: { content: failover, mode: 0o755 },
                });
                // a later `up` keeps a configured node as it is: failovers since have changed its role
                const configured = await run([...this.lab.booted.nsenterArgs(h.name), "test", "-e", REDIS_CONFIGURED_MARK], { timeoutMs: 10_000 });
                if (configured.code === 0) return;
                // the configuration holds the AUTH token and the key is private: both reach the host on stdin, never in an argument
                await this.hostSh(h.name, `install -d -m 750 -o root -g redis ${path.dirname(REDIS_TLS_FILES.cert)}`, "making the TLS directory");
                await this.writeHostFile(h.name, REDIS_CONF_PATH, h.redisConf, "640", "redis");
                await this.writeHostFile(h.name, REDIS_TLS_FILES.cert, fs.readFileSync(cert.certPath, "utf8"), "644", "root");
                await this.writeHostFile(h.name, REDIS_TLS_FILES.key, fs.readFileSync(cert.keyPath, "utf8"), "640", "redis");
                await this.writeHostFile(h.name, REDIS_TLS_FILES.ca, this.caPem, "644", "root");
                await this.hostSh(h.name, `systemctl restart redis-server && touch ${REDIS_CONFIGURED_MARK}`, "starting redis-server");
            }),
        );
        const holder = await this.redisEndpointHolder();
        if (!holder) await this.redisFailover("take", p.name);
        log(`ElastiCache stand-in: ${p.name} primary, ${s.name} replica; ${ec.endpointName} -> ${REDIS_ENDPOINT_ADDRESS}:${ec.port}`);
    }

    /** The Redis stand-in host that holds the primary endpoint's address now, if any. */
    async redisEndpointHolder(): Promise<string | undefined> {
        for (const h of REDIS_STANDIN_HOSTS) {
            const r = await run([...this.lab.booted.nsenterArgs(h.name), "ip", "-4", "-o", "addr", "show", "dev", "host0"], { timeoutMs: 10_000 });
            if (r.stdout.includes(`inet ${REDIS_ENDPOINT_ADDRESS}/`)) return h.name;
        }
        return undefined;
    }

    /**
     * elasticache-failover.sh on a Redis stand-in host: `take` makes it the primary holding the
     * endpoint address; `release` (on the old primary) drops the address and follows `newPrimary`.
     * The AUTH token goes on stdin.
     */
    async redisFailover(mode: "take" | "release", host: string, newPrimary?: string): Promise<void> {
        const ec = this.elasticache();
        const token = ec.authSecret ? (JSON.parse(this.rec.secrets[ec.authSecret].secretString) as { authToken: string }).authToken : "";
        const next = newPrimary ? REDIS_STANDIN_HOSTS.find((h) => h.name === newPrimary)?.address : undefined;
        if (mode === "release" && !next) throw new Error(`release on ${host}: name the new primary (redis1 or redis2), got ${newPrimary}`);
        await this.hostSh(
            host,
            `REDIS_PORT=${ec.port} ENDPOINT_ADDRESS=${REDIS_ENDPOINT_ADDRESS} ENDPOINT_PREFIX=${BRIDGE_PREFIX} REDIS_TLS=${ec.tls ? "yes" : "no"}${next ? ` NEW_PRIMARY_ADDRESS=${next}` : ""} ${FAILOVER_SCRIPT} ${mode}`,
            `elasticache-failover.sh ${mode}`,
            token ? `REDIS_AUTH_TOKEN=${token}\n` : "",
        );
    }

    /** The ALB stand-in's targets: the web nodes, registered when `up` launches them (a scale-out's later). */
    private albTargets() {
        return HOSTS.filter((h) => h.role === "web").map((h) => ({ name: h.name, address: h.ip, registered: launchedAtUp(h) }));
    }

    /** The front door: HAProxy built from the recorded listener and target group, targets web1/web2 (and web3, unregistered). */
    async startAlb(): Promise<void> {
        const targets = this.albTargets();
        const alb = albStandin(this.rec, targets);
        await this.bootStandinHost(ALB_STANDIN_HOST.name, ALB_STANDIN_HOST.address, ["haproxy", "socat"], {});
        await this.writeHostFile(ALB_STANDIN_HOST.name, HAPROXY_CFG_PATH, alb.haproxyCfg, "644", "root");
        await this.hostSh(ALB_STANDIN_HOST.name, `haproxy -c -q -f ${HAPROXY_CFG_PATH} && systemctl restart haproxy`, "starting haproxy");
        log(`ALB stand-in ${alb.loadBalancer} on ${ALB_STANDIN_HOST.address}, targets ${targets.map((t) => `${t.name}=${t.address}${t.registered ? "" : " (not registered)"}`).join(" ")}`);
    }

    /** Runtime API commands to the ALB stand-in's HAProxy, one at a time; an error for any answer but none. */
    async albCommands(commands: string[]): Promise<void> {
        for (const c of commands) {
            const out = await this.hostSh(ALB_STANDIN_HOST.name, `socat -t2 stdio UNIX-CONNECT:${HAPROXY_ADMIN_SOCKET}`, `ALB runtime command "${c}"`, `${c}\n`);
            if (out.trim() !== "") throw new Error(`ALB stand-in: "${c}" answered: ${out.trim()}`);
        }
    }

    /** The Auto Scaling group puts an instance in service: the target group registers it (the ALB then checks it). */
    async registerTarget(host: string): Promise<void> {
        await this.albCommands(albStandin(this.rec, this.albTargets()).registration(host));
    }

    /** The Auto Scaling group takes an instance out of service: deregistered at once (the delay's session cut is the caller's). */
    async deregisterTarget(host: string): Promise<void> {
        const steps = albStandin(this.rec, this.albTargets()).deregistration(host);
        await this.albCommands(steps.filter((s) => s.afterSeconds === 0).map((s) => s.command));
    }

    /**
     * The Auto Scaling group launches a new instance (scale-out): a fresh disk, the launch template's
     * user data. Returns once it has started booting; `waitLaunched` waits for its user data.
     */
    launchWebHost(host: string): void {
        this.startWebHost(host, true);
    }

    /** Starts a web host's boot with the launch template's user data; `fresh`: a new instance's empty disk. */
    private startWebHost(host: string, fresh: boolean): void {
        const spec = this.webBootSpec(host);
        this.lab.booted.prepareRoot(spec, baseImageDir(), fresh);
        this.lab.booted.start(spec);
    }

    /** The last lines the user data printed on a web host (cloud-init's output log), indented for an error message. */
    private async userDataTail(host: string): Promise<string> {
        return (await this.lab.sh(host, "tail -n 25 /var/log/cloud-init-output.log")).stdout.trim().split("\n").join("\n    ");
    }

    /** Waits (bounded) until a launched web host's cloud-init finished; an error with its output's tail otherwise. */
    async waitLaunched(host: string, timeoutMs: number): Promise<void> {
        const state = await this.lab.booted.waitBooted(host, timeoutMs);
        if (state !== "done") throw new Error(`${host}: the user data failed (cloud-init ${state}):\n    ${await this.userDataTail(host)}`);
    }

    /** A web host as its Auto Scaling group launches it: the launch template's user data, the network's files. */
    webBootSpec(host: string): BootSpec {
        const h = HOSTS.find((x) => x.name === host && x.role === "web");
        if (!h) throw new Error(`${host} is not a lab web host`);
        const mirror = `http://${BRIDGE_IP}:${REGISTRY_STANDIN_PORT}`;
        return { ...this.lab.bootSpec(h, this.userData), systemFiles: hostSystemFiles(this.caPem, baseImageDir(), { registryMirror: mirror }) };
    }

    /**
     * Power back on after a power loss (the same instance: its disk kept, cloud-init's per-instance
     * user data not run again); returns once systemd and cloud-init report the boot finished.
     */
    async restartWebHost(host: string): Promise<void> {
        await this.boot(this.webBootSpec(host));
    }

    /** web1/web2 booted with the launch template's user data; bounded wait for cloud-init. */
    async bootWebHosts(): Promise<void> {
        const webs = HOSTS.filter((h) => h.role === "web" && launchedAtUp(h));
        const t0 = Date.now();
        for (const h of webs) this.startWebHost(h.name, false);
        const states = await Promise.all(webs.map(async (h) => [h.name, await this.lab.booted.waitBooted(h.name, 1_500_000)] as const));
        const failed = states.filter(([, s]) => s !== "done");
        if (failed.length) {
            const tails = await Promise.all(failed.map(async ([n]) => `${n}: ${await this.userDataTail(n)}`));
            throw new Error(`web hosts' user data failed (cloud-init ${failed.map(([n, s]) => `${n}: ${s}`).join(", ")}):\n  ${tails.join("\n  ")}`);
        }
        log(`web hosts booted from the launch template's user data in ${((Date.now() - t0) / 1000).toFixed(0)} s (${states.map(([n, s]) => `${n}: cloud-init ${s}`).join(", ")})`);
    }
}

/**
 * After `Lab.up` (data tiers replayed): the AWS stand-ins, the web hosts from their user data, the
 * front door. What the Auto Scaling group, the ALB and AWS's managed services do after the data tiers.
 */
export async function bootWebTier(lab: Lab): Promise<void> {
    const t0 = Date.now();
    const rec = lab.recording();
    const wb = new WebBoot(lab, rec);
    await wb.startAwsStandins();
    await wb.startRegistry();
    await wb.startRedis();
    await wb.bootWebHosts();
    await lab.writeSshConfig();
    await wb.startAlb();
    // through the front door, as a user: an upload and its download (the ALB needs 2 good checks first)
    const fd = frontDoor(rec, ALB_STANDIN_HOST.address);
    let rt = await roundTrip(fd, "oclab-up-probe.bin", 1 << 20);
    for (let i = 0; i < 60 && !rt.intact; i++) {
        await sleep(1000);
        rt = await roundTrip(fd, "oclab-up-probe.bin", 1 << 20);
    }
    if (!rt.intact) throw new Error(`the front door (ALB stand-in ${fd.address}) did not store and return a 1 MiB file within 60 s: PUT ${rt.put}, GET ${rt.get}; see ${STATE}/hosts/alb/console.log and journalctl -u owncloud on the web hosts`);
    log(`front door: PUT and GET of 1 MiB through ${fd.address} as ${fd.domain}: ${rt.put}/${rt.get}, intact, ${rt.ms} ms`);
    log(`web tier up in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
