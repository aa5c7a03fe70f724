/**
 * The contract between a plan and its node scripts: every variable a script refuses to run without
 * (`require_env`, scripts/node/lib/common.sh) is in the environment its step is given. Read from
 * what really runs: the steps the dev and prod stacks register (their command lines), the lab's
 * plans, and the web nodes' user data. The scripts are parsed with the libraries they source.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { BootstrapStep } from "../components/shared/bootstrapPlan";
import { glusterClientPlan } from "../components/storage/plan";
import { labGaleraRestartPlan } from "../scripts/lab/galera-lab";
import { NODE_SCRIPTS } from "./harness/shell";
import { buildStack } from "./harness/stacks";

interface ParsedScript {
    /** require_env names the script meets on its way (top level, its systemd-only setup, the functions it calls). */
    required: Set<string>;
}

/** Logical lines of a bash file (continuations joined). */
function logicalLines(text: string): string[] {
    return text.replace(/\\\n\s*/g, " ").split("\n");
}

/** The files a script sources beside itself, transitively, itself first (paths relative to scripts/node). */
function withSources(rel: string, seen = new Set<string>()): string[] {
    if (seen.has(rel)) return [];
    seen.add(rel);
    const text = fs.readFileSync(path.join(NODE_SCRIPTS, rel), "utf8");
    const out = [rel];
    for (const m of text.matchAll(/^\s*(?:\.|source) "\$\(dirname "\$0"\)\/([^"]+)"/gm)) {
        out.push(...withSources(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1])), seen));
    }
    return out;
}

const REQUIRE = /(?:^\s*|[;&|{]\s*|\bthen\s+|\bdo\s+)require_env((?:\s+[A-Z_][A-Z0-9_]*)+)/;

/**
 * What a step running `rel` must be given. Counted: `require_env` at the top level of the script
 * (unconditional), and anywhere in a function (of the script or a sourced library) that the top
 * level calls, directly or through another function. On systemd (a cloud node) also inside `if
 * is_systemd; then … fi` and after a function's `is_systemd || … return` (the lab's hosts skip
 * those). Not counted: a require_env under another condition at the top level (e.g. haproxy.sh's
 * health frontend, which needs both of its variables or neither).
 */
function parseScript(rel: string, systemd = true): ParsedScript {
    const functions = new Map<string, string[]>();
    const topLevel: string[] = [];
    for (const file of withSources(rel)) {
        let current: string | undefined;
        let systemdBlock = false;
        for (const line of logicalLines(fs.readFileSync(path.join(NODE_SCRIPTS, file), "utf8"))) {
            const def = /^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{\s*$/.exec(line);
            if (def) {
                current = def[1];
                functions.set(current, []);
                continue;
            }
            if (current) {
                if (/^\}\s*$/.test(line)) current = undefined;
                else functions.get(current)!.push(line);
                continue;
            }
            if (file !== rel) continue; // a library's top level only defines things
            if (/^if is_systemd; then\s*$/.test(line)) systemdBlock = true;
            else if (/^fi\s*$/.test(line)) systemdBlock = false;
            if (systemdBlock && !systemd) continue;
            if (!/^\s/.test(line) || systemdBlock) topLevel.push(line);
            // Calls at any depth of the top level (e.g. `main "$@"` under the "executed, not sourced" test).
            else topLevel.push(...[...line.matchAll(/\b([a-z_][a-z0-9_]*)\b/g)].map((m) => `#call ${m[1]}`));
        }
    }
    const required = new Set<string>();
    const visited = new Set<string>();
    const visit = (lines: string[]) => {
        for (const line of lines) {
            if (!systemd && /^\s*is_systemd \|\|.*\breturn\b/.test(line)) break;
            const r = REQUIRE.exec(line);
            if (r && !line.startsWith("#call")) for (const n of r[1].trim().split(/\s+/)) required.add(n);
            for (const m of line.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\b/g)) {
                const fn = m[1];
                if (functions.has(fn) && !visited.has(fn) && fn !== "require_env") {
                    visited.add(fn);
                    visit(functions.get(fn)!);
                }
            }
        }
    };
    visit(topLevel);
    return { required };
}

/** A registered step's script and the names of its inline environment (stepCommandLine's shape). */
function fromCommandLine(create: string): { script: string; env: string[] } {
    const m = /^sudo -n env (.*?)\s*bash '\/home\/[^/]+\/owncloud-ha\/scripts\/([^']+)'$/.exec(create);
    expect(m, create).to.not.equal(null);
    return { script: m![2], env: [...m![1].matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)='/g)].map((x) => x[1]) };
}

function missing(script: string, env: string[], systemd = true): string[] {
    return [...parseScript(script, systemd).required].filter((n) => !env.includes(n)).sort();
}

describe("every step's environment covers its script's require_env", () => {
    describe("the parser reads what a script requires", () => {
        it("top level, the systemd-only setup and the library functions the script calls", () => {
            // glusterd.sh: its own ports, the metrics settings under `if is_systemd`, and through
            // metrics_install (lib/metrics.sh) the metrics namespace, cluster and node.
            expect([...parseScript("gluster/glusterd.sh").required].sort()).to.deep.equal([
                "GLUSTERD_PORT_FROM", "GLUSTERD_PORT_TO", "GLUSTER_BASE_PORT", "GLUSTER_MAX_PORT", "GLUSTER_METRICS_BRICK_MOUNT", "GLUSTER_METRICS_VOLUME",
                "OCHA_METRICS_CLUSTER", "OCHA_METRICS_NAMESPACE", "OCHA_METRICS_NODE",
            ]);
            // backup-install.sh: through backup_install → backup_require_settings (lib/backup.sh).
            expect(parseScript("galera/backup-install.sh").required).to.include("BACKUP_PREFIX");
            // node-init.sh: its main (continuation lines joined).
            expect(parseScript("web/node-init.sh").required).to.include("GLUSTER_SERVERS");
            // haproxy.sh's health frontend variables are all-or-none, not required.
            expect([...parseScript("web/haproxy.sh").required].sort()).to.deep.equal(["GALERA_BACKENDS", "GALERA_HEALTH_DONOR_PORT", "GALERA_HEALTH_PORT", "GALERA_SQL_PORT", "GALERA_WRITER_PORT", "HAPROXY_LISTEN"]);
            // Without systemd (the lab) the metrics timer is skipped, and with it its settings.
            expect([...parseScript("gluster/glusterd.sh", false).required].sort()).to.deep.equal(["GLUSTERD_PORT_FROM", "GLUSTERD_PORT_TO", "GLUSTER_BASE_PORT", "GLUSTER_MAX_PORT"]);
            expect(parseScript("galera/configure.sh", false).required).to.not.include("OCHA_METRICS_NODE");
            expect(parseScript("galera/configure.sh").required).to.include("OCHA_METRICS_NODE");
        });
    });

    for (const stack of ["dev", "prod"]) {
        it(`every step the ${stack} stack registers`, async function () {
            this.timeout(180_000); // a whole stack under mocks, on a busy machine
            const { engine } = await buildStack(stack);
            const commands = engine.ofType("command:remote:Command");
            expect(commands.length).to.be.greaterThan(10);
            for (const c of commands) {
                const { script, env } = fromCommandLine(c.inputs.create);
                expect(missing(script, env), `${c.name} (${script})`).to.deep.equal([]);
            }
        });

        it(`the web nodes' user data (${stack} stack) covers node-init.sh`, async function () {
            this.timeout(180_000);
            const { engine } = await buildStack(stack);
            const [lt] = engine.ofType("aws:ec2/launchTemplate:LaunchTemplate");
            const userData = Buffer.from(lt.inputs.userData, "base64").toString("utf8");
            const entry = /^exec bash '\/opt\/owncloud-ha\/scripts\/([^']+)'$/m.exec(userData)?.[1];
            expect(entry).to.equal("web/node-init.sh");
            const env = [...userData.matchAll(/^export ([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]);
            expect(missing(entry!, env)).to.deep.equal([]);
        });
    }

    it("every step the lab runs of its own (its hosts run systemd, as instances do)", () => {
        const steps: BootstrapStep[] = [
            ...labGaleraRestartPlan().steps,
            ...glusterClientPlan({ hosts: ["web1", "web2"], servers: ["198.18.0.21", "198.18.0.22", "198.18.0.23"] }).steps,
        ];
        for (const s of steps) expect(missing(s.script, Object.keys(s.env), true), `${s.id} (${s.script})`).to.deep.equal([]);
    });

    it("fails a step that lacks one (a step without GLUSTER_MAX_PORT)", () => {
        expect(missing("gluster/glusterd.sh", ["GLUSTERD_PORT_FROM", "GLUSTERD_PORT_TO", "GLUSTER_BASE_PORT", "GLUSTER_METRICS_VOLUME", "GLUSTER_METRICS_BRICK_MOUNT", "OCHA_METRICS_NAMESPACE", "OCHA_METRICS_CLUSTER", "OCHA_METRICS_NODE"])).to.deep.equal(["GLUSTER_MAX_PORT"]);
    });
});
