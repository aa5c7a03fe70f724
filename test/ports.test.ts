import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { REDIS_PORT } from "../components/cache/ports";
import { GALERA_PORTS } from "../components/database/ports";
import { GLUSTER_BRICK_PORTS, GLUSTERD_PORTS } from "../components/storage/ports";
import { HEALTH_PORT, OWNCLOUD_PORT } from "../components/web/ports";

const ROOT = path.resolve(__dirname, "..");

/** Source files of what runs (components, node scripts, lab, plan tool, policy pack): not tests or docs. */
function sources(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" ? [] : sources(rel);
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
        const text = code(path.join("scripts", "web", "haproxy.sh")) + "\n    server x 10.0.0.1:3306 backup\n";
        expect((text.match(/(?<![\d.])3306(?![\d])/g) ?? []).length).to.equal(1);
        expect(files).to.include(path.join("scripts", "web", "haproxy.sh"));
        expect(files).to.include(path.join("policy", "policies", "ports.ts"));
    });
});
