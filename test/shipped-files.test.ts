/**
 * Exactly which files reach each kind of node, read from what the real program registers for the
 * dev and prod stacks (the copies' staged directories, the launch template's and the instances'
 * user data), compared with the hand-written lists in fixtures/shipped-files.ts. A file added to a
 * shipment — a lab, plan-tool or developer file above all — fails here until it is listed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { expect } from "chai";
import { RecordedResource } from "./harness/mocks";
import { NODE_SCRIPTS } from "./harness/shell";
import { BuiltStack, buildStack } from "./harness/stacks";
import { BASTION_NODE_FILES, GALERA_NODE_FILES, GLUSTER_NODE_FILES, NAT_NODE_FILES, WEB_NODE_FILES } from "./fixtures/shipped-files";
import { withoutCommentLines } from "../components/shared/userData";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const read = (rel: string) => fs.readFileSync(path.join(NODE_SCRIPTS, rel), "utf8");

function filesUnder(dir: string, prefix = ""): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
        .sort();
}

/** The staged directory a CopyToRemote ships (a path-backed archive). */
function copied(copy: RecordedResource): Record<string, string> {
    const dir: string = copy.rawInputs.source?.path;
    expect(dir, `${copy.name}: a path-backed archive`).to.be.a("string");
    expect(copy.rawInputs.source[SIG_KEY], copy.name).to.be.a("string");
    return Object.fromEntries(filesUnder(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

/** The files of the gzipped ustar bundle inside the web nodes' user data, by name. */
function bundled(userData: string): Record<string, string> {
    const lines = userData.split("\n");
    const start = lines.findIndex((l) => l.startsWith("base64 -d <<'BUNDLE'"));
    const end = lines.indexOf("BUNDLE", start);
    expect(start, "user data carries a bundle").to.be.greaterThan(-1);
    const tar = zlib.gunzipSync(Buffer.from(lines.slice(start + 1, end).join(""), "base64"));
    const out: Record<string, string> = {};
    for (let off = 0; off + 512 <= tar.length; ) {
        const name = tar.subarray(off, off + 100).toString("utf8").replace(/\0.*$/s, "");
        if (!name) break;
        const size = parseInt(tar.subarray(off + 124, off + 136).toString("ascii").replace(/\0.*$/s, "").trim(), 8);
        out[name] = tar.subarray(off + 512, off + 512 + size).toString("utf8");
        off += 512 + Math.ceil(size / 512) * 512;
    }
    return out;
}

/** What is left of a NAT instance's user data once the node files it embeds are taken out. */
function natWrapper(userData: string, files: string[]): string[] {
    let rest = userData;
    for (const f of files) {
        const body = read(f).replace(/^#!.*\n/, "").trim();
        expect(rest, `NAT user data embeds ${f}`).to.include(body);
        rest = rest.replace(body, "");
    }
    return rest.split("\n").map((l) => l.trim()).filter(Boolean);
}

for (const stack of ["dev", "prod"]) {
    describe(`files shipped to each kind of node (${stack} stack)`, () => {
        let built: BuiltStack;
        before(async function () {
            this.timeout(180_000); // a whole stack under mocks, on a busy machine
            built = await buildStack(stack);
        });
        const ofType = (type: string) => built.engine.ofType(type);
        const copies = (tier: string) => ofType("command:remote:CopyToRemote").filter((c) => c.name.startsWith(`${stack}-${tier}-scripts-`));
        const instance = (name: string) => built.engine.byName(name);

        for (const [tier, expected] of [
            ["galera", GALERA_NODE_FILES],
            ["gluster", GLUSTER_NODE_FILES],
        ] as const) {
            it(`a ${tier} host: exactly its list, with the files' current content`, () => {
                const cs = copies(tier);
                expect(cs).to.have.length(3);
                for (const c of cs) {
                    const files = copied(c);
                    expect(Object.keys(files), c.name).to.deep.equal(expected);
                    for (const f of expected) expect(files[f], `${c.name}: ${f}`).to.equal(read(f));
                }
            });
        }

        it("a web host (launch template user data): exactly its list, with the files' current content without comment lines", () => {
            const [lt] = ofType("aws:ec2/launchTemplate:LaunchTemplate");
            const files = bundled(Buffer.from(lt.inputs.userData, "base64").toString("utf8"));
            expect(Object.keys(files).sort()).to.deep.equal(WEB_NODE_FILES.map((f) => `scripts/${f}`));
            for (const f of WEB_NODE_FILES) {
                expect(files[`scripts/${f}`], f).to.equal(withoutCommentLines(read(f)));
                // Still the same program: bash parses every shipped shell file as it is unpacked.
                if (f.endsWith(".sh")) expect(spawnSync("bash", ["-n"], { input: files[`scripts/${f}`] }).status, f).to.equal(0);
            }
        });

        it("the bastion: its user data is exactly its one script", () => {
            expect(BASTION_NODE_FILES).to.have.length(1);
            expect(instance(`${stack}-bastion-instance`).inputs.userData).to.equal(read(BASTION_NODE_FILES[0]));
        });

        it("a NAT instance: its user data embeds exactly its list, around a few lines of settings", () => {
            const nats = ofType("aws:ec2/instance:Instance").filter((r) => /-nat-instance-/.test(r.name));
            expect(nats.length).to.be.greaterThan(0);
            for (const n of nats) {
                for (const line of natWrapper(n.inputs.userData, NAT_NODE_FILES)) {
                    expect(line, `${n.name}: a line of user data that comes from no listed file`).to.match(
                        /^(#!.*|PRIVATE_CIDRS='[0-9./ ]*'|NAT_APPLY_SCRIPT=\$\(cat <<'NAT_APPLY_EOF'|NAT_APPLY_EOF|\)|export PRIVATE_CIDRS NAT_APPLY_SCRIPT)$/,
                    );
                }
            }
        });
    });
}

describe("the node tree (scripts/node)", () => {
    it("holds only files some kind of node is shipped: every file is on one of the lists", () => {
        const listed = new Set([...GALERA_NODE_FILES, ...GLUSTER_NODE_FILES, ...WEB_NODE_FILES, ...BASTION_NODE_FILES, ...NAT_NODE_FILES]);
        expect(filesUnder(NODE_SCRIPTS)).to.deep.equal([...listed].sort());
    });
});

describe("user data: node files without their comment lines", () => {
    it("drops whole-line comments (indented too) and keeps the shebang, code, trailing comments and blank lines", () => {
        const text = ["#!/usr/bin/env bash", "# why", "set -euo pipefail", "    # indented why", "echo a # stays", "", "  echo '#not a comment line'", "#!late"].join("\n");
        expect(withoutCommentLines(text)).to.equal(["#!/usr/bin/env bash", "set -euo pipefail", "echo a # stays", "", "  echo '#not a comment line'"].join("\n"));
    });
});
