import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { REDIS_PORT } from "../components/cache/ports";
import { galeraPlan, haproxyPlan } from "../components/database/plan";
import { glusterClientPlan, glusterPlan } from "../components/storage/plan";
import { GALERA_PORTS } from "../components/database/ports";
import { GLUSTER_BRICK_PORTS, GLUSTERD_PORTS } from "../components/storage/ports";
import { HEALTH_PORT, OWNCLOUD_PORT } from "../components/web/ports";

const ROOT = path.resolve(__dirname, "..");

/**
 * The lab's stand-in for the owncloud/server image mirrors that image's own defaults (EXPOSE 8080,
 * and its database wait appends MySQL's 3306 to a host without a port, as owncloud-docker's
 * 15-database.sh does): the image's decisions, not second declarations of ours.
 */
const THIRD_PARTY_IMAGE = path.join("scripts", "lab", "owncloud-standin");

/** Source files of what runs (components, node scripts, lab, plan tool, policy pack): not tests or docs. */
function sources(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" || rel === THIRD_PARTY_IMAGE ? [] : sources(rel);
        return /\.(ts|sh|tmpl|cfg)$/.test(e.name) ? [rel] : [];
    });
}

/** Code without comments: `//`, `/* … *\/` and shell `#` comments (not `#!`, `$#`, `${#…}`). */
function code(file: string): string {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    if (file.endsWith(".ts")) return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
    return text.replace(/(^|\s)#(?![!{]).*$/gm, "$1");
}

/**
 * AWS's own list of high-risk ports (FSBP EC2.19) happens to contain some of our numbers: it is
 * AWS's decision, not a second declaration of ours, and stays even if we moved a port.
 */
function withoutAwsLists(file: string, text: string): string {
    return file === path.join("policy", "policies", "ec2.ts") ? text.replace(/const FSBP_HIGH_RISK_PORTS[^;]*;/, "") : text;
}

const DECLARED: Record<string, number[]> = {
    [path.join("components", "database", "ports.ts")]: Object.values(GALERA_PORTS),
    [path.join("components", "storage", "ports.ts")]: [GLUSTERD_PORTS.from, GLUSTERD_PORTS.to, GLUSTER_BRICK_PORTS.from, GLUSTER_BRICK_PORTS.to],
    [path.join("components", "cache", "ports.ts")]: [REDIS_PORT],
    [path.join("components", "web", "ports.ts")]: [OWNCLOUD_PORT, HEALTH_PORT],
};

describe("ports: each number the platform serves on is declared once", () => {
    const files = ["components", "scripts", "policy"].flatMap(sources);

    it("appears in exactly one place in the code of components/, scripts/ and policy/: its tier's ports.ts", () => {
        const found: Record<number, string[]> = {};
        for (const f of files) {
            const text = withoutAwsLists(f, code(f));
            for (const port of Object.values(DECLARED).flat()) {
                const n = (text.match(new RegExp(`(?<![\\d.])${port}(?![\\d])`, "g")) ?? []).length;
                for (let i = 0; i < n; i++) (found[port] ??= []).push(f);
            }
        }
        for (const [file, ports] of Object.entries(DECLARED)) {
            for (const port of ports) expect(found[port], `${port}`).to.deep.equal([file]);
        }
    });

    it("the scanner sees a literal where one is (a copy in a script would be found)", () => {
        const text = code(path.join("scripts", "node", "web", "haproxy.sh")) + "\n    server x 10.0.0.1:3306 backup\n";
        expect((text.match(/(?<![\d.])3306(?![\d])/g) ?? []).length).to.equal(1);
        expect(files).to.include(path.join("scripts", "node", "web", "haproxy.sh"));
        expect(files).to.include(path.join("policy", "policies", "ports.ts"));
    });
});

describe("ports reach the node scripts through the plans' environment", () => {
    const galera = galeraPlan({ clusterName: "owncloud", nodes: [1, 2, 3].map((i) => ({ name: `db${i}`, address: `10.1.${i}.10` })), appHosts: "10.0.%" });
    const gluster = glusterPlan({
        nodes: [1, 2, 3].map((i) => ({ host: `fs${i}`, address: `10.2.${i}.11`, device: "/dev/nvme1n1" })),
        volumeName: "gfs_v_r5",
        disperse: 3,
        redundancy: 1,
        clientCidrs: ["10.0.0.0/16"],
    });
    const clients = glusterClientPlan({ hosts: ["web1"], servers: ["10.2.1.11", "10.2.2.11"] });
    const haproxy = haproxyPlan({ webHosts: ["web1"], galeraNodes: [{ name: "db1", address: "10.1.1.10" }] });

    it("the port variables carry the declared numbers", () => {
        const configure = galera.steps.find((s) => s.script === "galera/configure.sh")!;
        expect(configure.env).to.deep.include({ GALERA_HEALTH_PORT: String(GALERA_PORTS.health), GALERA_REPLICATION_PORT: String(GALERA_PORTS.replication) });
        expect(haproxy.steps[0].env).to.deep.include({ GALERA_SQL_PORT: String(GALERA_PORTS.mysql), GALERA_HEALTH_PORT: String(GALERA_PORTS.health), HAPROXY_LISTEN: `127.0.0.1:${GALERA_PORTS.mysql}` });
        const glusterd = gluster.steps.find((s) => s.script === "gluster/glusterd.sh")!;
        expect(glusterd.env).to.deep.include({ GLUSTERD_PORT_FROM: String(GLUSTERD_PORTS.from), GLUSTERD_PORT_TO: String(GLUSTERD_PORTS.to) });
        expect(clients.steps[0].env.GLUSTERD_PORT).to.equal(String(GLUSTERD_PORTS.from));
    });
});
