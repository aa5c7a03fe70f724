import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { InvalidArgsError } from "../components/shared/errors";
import {
    elasticacheStandin,
    failoverDecision,
    FAILOVER_FAILED_PROBES,
    type ElasticacheStandinOptions,
} from "../scripts/lab/elasticache-standin";
import type { LabRecording } from "../scripts/lab/replay/record";
import { labRecording } from "./harness/labRecording";
import { bash, fakeCommand, tempDir } from "./harness/shell";

/**
 * The ElastiCache stand-in's configuration, generated from the real recording of Pulumi.lab.yaml
 * (docs/verified-against.md, "ElastiCache and ALB stand-ins").
 */

const OPTS: ElasticacheStandinOptions = {
    primary: { name: "redis1", address: "198.19.10.11" },
    replica: { name: "redis2", address: "198.19.10.12" },
    endpointAddress: "198.19.10.10",
};

/** redis.conf directives: name -> arguments (one line each; the stand-in writes each directive once). */
function directives(conf: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of conf.split("\n")) {
        if (line.trim() === "" || line.startsWith("#")) continue;
        const [name, ...rest] = line.split(" ");
        expect(out.has(name), `${name} written twice`).to.equal(false);
        out.set(name, rest.join(" "));
    }
    return out;
}

describe("ElastiCache stand-in (from the recording of Pulumi.lab.yaml)", function () {
    this.timeout(180_000);
    let rec: LabRecording;
    let token: string;

    before(async () => {
        rec = await labRecording();
        const group = rec.redisGroups![0];
        token = JSON.parse(rec.secrets[group.authSecret!].secretString).authToken;
    });

    it("records the replication group's inputs and the endpoint the web nodes are given", () => {
        expect(rec.redisGroups).to.have.length(1);
        const g = rec.redisGroups![0];
        expect(g).to.include({ port: 6379, transitEncryptionEnabled: true, authTokenSet: true, automaticFailoverEnabled: true, multiAzEnabled: true, clusterMode: "disabled", replicasPerNodeGroup: 1 });
        // The web launch template hands this name to ownCloud as REDIS_HOST: the certificate must name it.
        const userData = Buffer.from(rec.launchTemplates.find((lt) => lt.role === "web")!.userDataBase64!, "base64").toString();
        expect(userData).to.include(`REDIS_HOST='${g.primaryEndpointAddress}'`);
        expect(g.primaryEndpointAddress).to.match(/^master\..+\.mock\.cache\.amazonaws\.com$/);
        // The token itself stays in the recorded secret only.
        expect(JSON.stringify(g)).not.to.include(token);
    });

    it("the primary serves TLS only on the recorded port, without client certificates, behind the AUTH token", () => {
        const s = elasticacheStandin(rec, OPTS);
        const p = directives(s.hosts.find((h) => h.role === "primary")!.redisConf);
        expect(p.get("port")).to.equal("0");
        expect(p.get("tls-port")).to.equal(String(rec.redisGroups![0].port));
        expect(p.get("tls-auth-clients")).to.equal("no");
        expect(p.get("tls-replication")).to.equal("yes");
        expect(p.get("requirepass")).to.equal(token);
        expect(p.get("masterauth")).to.equal(token);
        expect(p.has("replicaof")).to.equal(false);
        expect(p.get("tls-cert-file")).to.be.a("string");
        expect(p.get("tls-ca-cert-file")).to.be.a("string");
    });

    it("the replica replicates from the primary's address over TLS with masterauth", () => {
        const r = directives(elasticacheStandin(rec, OPTS).hosts.find((h) => h.role === "replica")!.redisConf);
        expect(r.get("replicaof")).to.equal(`${OPTS.primary.address} 6379`);
        expect(r.get("masterauth")).to.equal(token);
        expect(r.get("tls-replication")).to.equal("yes");
        expect(r.get("replica-read-only")).to.equal("yes");
    });

    it("keeps nothing on disk (no AOF, no save points) and evicts as ElastiCache's default parameter group", () => {
        for (const h of elasticacheStandin(rec, OPTS).hosts) {
            const d = directives(h.redisConf);
            expect(d.get("appendonly"), h.name).to.equal("no");
            expect(d.get("save"), h.name).to.equal('""');
            expect(d.get("maxmemory-policy"), h.name).to.equal("volatile-lru");
        }
    });

    it("asks for certificates naming the recorded primary endpoint on both hosts (either may hold it)", () => {
        const s = elasticacheStandin(rec, OPTS);
        for (const h of s.hosts) {
            expect(h.cert.dnsNames, h.name).to.include(rec.redisGroups![0].primaryEndpointAddress);
            expect(h.cert.ips, h.name).to.include.members([h.address, OPTS.endpointAddress]);
        }
        expect(s.endpointName).to.equal(rec.redisGroups![0].primaryEndpointAddress);
    });

    it("follows the recording: another port, token, parameter group or no TLS changes the files", () => {
        const changed = structuredClone(rec);
        const g = changed.redisGroups![0];
        g.port = 6390;
        g.parameterGroupName = "lab-custom";
        g.parameters = [{ name: "maxmemory-policy", value: "allkeys-lru" }];
        changed.secrets[g.authSecret!].secretString = JSON.stringify({ authToken: "AnotherToken0123456789" });
        const s = elasticacheStandin(changed, OPTS);
        const p = directives(s.hosts[0].redisConf);
        const r = directives(s.hosts[1].redisConf);
        expect(p.get("tls-port")).to.equal("6390");
        expect(r.get("replicaof")).to.equal(`${OPTS.primary.address} 6390`);
        expect(p.get("requirepass")).to.equal("AnotherToken0123456789");
        expect(r.get("masterauth")).to.equal("AnotherToken0123456789");
        expect(p.get("maxmemory-policy")).to.equal("allkeys-lru");

        g.transitEncryptionEnabled = false;
        g.authTokenSet = false;
        const plain = directives(elasticacheStandin(changed, OPTS).hosts[0].redisConf);
        expect(plain.get("port")).to.equal("6390");
        expect([...plain.keys()].filter((k) => k.startsWith("tls-"))).to.deep.equal([]);
        expect(plain.has("requirepass")).to.equal(false);
    });

    it("refuses what it cannot model, naming the setting", () => {
        const bad = (mutate: (r: LabRecording) => void, opts: ElasticacheStandinOptions = OPTS) => {
            const r = structuredClone(rec);
            mutate(r);
            return () => elasticacheStandin(r, opts);
        };
        expect(bad((r) => Object.assign(r.redisGroups![0], { clusterMode: "enabled", numNodeGroups: 2 }))).to.throw(InvalidArgsError, /clusterMode/);
        expect(bad((r) => (r.redisGroups![0].replicasPerNodeGroup = 2))).to.throw(InvalidArgsError, /replicasPerNodeGroup/);
        expect(bad((r) => (r.secrets[r.redisGroups![0].authSecret!].secretString = JSON.stringify({ authToken: "has@an-at-sign-0123456" })))).to.throw(InvalidArgsError, /authToken/);
        expect(bad((r) => (r.secrets[r.redisGroups![0].authSecret!].secretString = JSON.stringify({ authToken: "has/a-slash-0123456789" })))).to.throw(InvalidArgsError, /authToken/);
        expect(bad((r) => (r.redisGroups![0].transitEncryptionEnabled = false))).to.throw(InvalidArgsError, /transitEncryptionEnabled/);
        expect(bad((r) => delete r.redisGroups![0].primaryEndpointAddress)).to.throw(InvalidArgsError, /primaryEndpointAddress/);
        expect(bad(() => undefined, { ...OPTS, endpointAddress: OPTS.primary.address })).to.throw(InvalidArgsError, /endpointAddress/);
        expect(bad((r) => delete r.redisGroups)).to.throw(InvalidArgsError, /redisGroups/);
    });
});

describe("failoverDecision", () => {
    const replica = { reachable: true, role: "slave" as const };
    it("promotes only after the primary missed the bound of probes in a row", () => {
        expect(failoverDecision({ reachable: false, consecutiveFailures: FAILOVER_FAILED_PROBES - 1 }, replica).action).to.equal("wait");
        expect(failoverDecision({ reachable: false, consecutiveFailures: FAILOVER_FAILED_PROBES }, replica).action).to.equal("promote");
    });
    it("does nothing while the primary answers, without a replica to promote, when it already leads, or without automatic failover", () => {
        expect(failoverDecision({ reachable: true, role: "master", consecutiveFailures: 0 }, replica).action).to.equal("none");
        expect(failoverDecision({ reachable: false, consecutiveFailures: 10 }, { reachable: false }).action).to.equal("none");
        expect(failoverDecision({ reachable: false, consecutiveFailures: 10 }, { reachable: true, role: "master" }).action).to.equal("none");
        expect(failoverDecision({ reachable: false, consecutiveFailures: 10 }, replica, { automaticFailoverEnabled: false }).action).to.equal("none");
    });
});

describe("elasticache-failover.sh (redis-cli, ip and arping stubbed)", function () {
    this.timeout(30_000);
    const SCRIPT = path.resolve(__dirname, "..", "scripts", "lab", "elasticache-failover.sh");
    let t: ReturnType<typeof tempDir>;
    let env: Record<string, string>;
    const log = () => fs.readFileSync(path.join(t.dir, "log"), "utf8");
    const run = (mode: string, stdin = "REDIS_AUTH_TOKEN=TokenFromStdin0123456\n", extra: Record<string, string> = {}) =>
        bash(`printf '%s' "$IN" | bash ${SCRIPT} ${mode}`, { ...env, ...extra, IN: stdin });

    beforeEach(() => {
        t = tempDir("ec-failover");
        const bin = path.join(t.dir, "bin");
        // redis-cli keeps the node's role in a file; every call logs its argv and whether the token came by environment.
        fakeCommand(bin, "redis-cli", `
s="${t.dir}/role"; echo "redis-cli $* auth=\${REDISCLI_AUTH:-}" >> "${t.dir}/log"
case "$*" in
  *"REPLICAOF NO ONE"*) [ -e "${t.dir}/stuck" ] || echo master > "$s" ;;
  *REPLICAOF*) echo slave > "$s" ;;
  *ROLE*) cat "$s" ;;
esac`);
        fakeCommand(bin, "ip", `
a="${t.dir}/addrs"; touch "$a"; echo "ip $*" >> "${t.dir}/log"
case "$1 $2" in
  "-4 -o") sed 's/^/2: host0    inet /' "$a" ;;
  "addr add") echo "$3" >> "$a" ;;
  "addr del") grep -vx "$3" "$a" > "$a.new" || true; mv "$a.new" "$a" ;;
esac`);
        fakeCommand(bin, "arping", `echo "arping $*" >> "${t.dir}/log"`);
        fs.writeFileSync(path.join(t.dir, "role"), "slave\n");
        fs.writeFileSync(path.join(t.dir, "log"), "");
        env = { PATH: `${bin}:${process.env.PATH}`, REDIS_PORT: "6379", ENDPOINT_ADDRESS: "198.19.10.10", ENDPOINT_PREFIX: "15" };
    });
    afterEach(() => t.cleanup());

    it("take promotes the replica, persists the role, takes the endpoint address and announces it; the token never on a command line", () => {
        const r = run("take");
        expect(r.code, r.stderr).to.equal(0);
        const l = log();
        expect(l).to.include("REPLICAOF NO ONE");
        expect(l).to.include("CONFIG REWRITE");
        expect(l).to.include("--tls --cacert /etc/redis/tls/ca.pem -h 127.0.0.1 -p 6379");
        expect(l).to.include("ip addr add 198.19.10.10/15 dev host0");
        expect(l).to.match(/arping -q -U -c 3 -w 4 -I host0 198\.19\.10\.10/);
        for (const line of l.split("\n").filter((x) => x.startsWith("redis-cli"))) {
            expect(line.replace(/ auth=.*$/, "")).not.to.include("TokenFromStdin");
            expect(line).to.match(/auth=TokenFromStdin0123456$/);
        }
    });

    it("take is idempotent: on the primary holding the address it neither promotes nor adds it again", () => {
        expect(run("take").code).to.equal(0);
        fs.writeFileSync(path.join(t.dir, "log"), "");
        const r = run("take");
        expect(r.code, r.stderr).to.equal(0);
        expect(log()).not.to.include("REPLICAOF NO ONE");
        expect(log()).not.to.include("addr add");
    });

    it("take gives up after its bound when the promotion does not show, and takes no address", () => {
        fs.writeFileSync(path.join(t.dir, "stuck"), "");
        const r = run("take", undefined, { PROMOTE_WAIT_SECONDS: "1" });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.include("still not master after 1 s");
        expect(log()).not.to.include("addr add");
    });

    it("release drops the address and follows the new primary", () => {
        fs.writeFileSync(path.join(t.dir, "role"), "master\n");
        fs.writeFileSync(path.join(t.dir, "addrs"), "198.19.10.10/15\n");
        const r = run("release", undefined, { NEW_PRIMARY_ADDRESS: "198.19.10.12" });
        expect(r.code, r.stderr).to.equal(0);
        expect(log()).to.include("ip addr del 198.19.10.10/15 dev host0");
        expect(log()).to.include("REPLICAOF 198.19.10.12 6379");
        expect(fs.readFileSync(path.join(t.dir, "addrs"), "utf8").trim()).to.equal("");
    });
});
