import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { bash, fakeCommand, tempDir } from "./harness/shell";

const ROOT = path.join(__dirname, "..");

/**
 * A newcomer's `npm test` on a fresh Debian machine: no shellcheck on PATH, empty apt lists.
 * scripts/dev/shellcheck.sh runs with a PATH holding only the tools it needs plus stand-ins for id and
 * apt (whose `install shellcheck` drops a recording shellcheck onto that PATH).
 */
function freshMachine(dir: string, uid: number) {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.mkdirSync(path.join(dir, "lists"));
    for (const tool of ["bash", "env", "git", "sort", "dirname", "basename", "date", "hostname", "cat", "grep", "chmod"]) {
        fs.symlinkSync(execFileSync("bash", ["-c", `command -v ${tool}`]).toString().trim(), path.join(bin, tool));
    }
    fakeCommand(bin, "id", `echo ${uid}`);
    fakeCommand(bin, "sleep", "exit 0");
    fakeCommand(bin, "dpkg-query", `[ -x "${bin}/shellcheck" ] && printf 'install ok installed' || exit 1`);
    fakeCommand(bin, "apt-cache", `[ -s "${dir}/lists/x_Packages" ] && printf '%s:\\n  Candidate: 0.9.0-1\\n' "$2"`);
    fakeCommand(bin, "apt-get", `echo "$*" >> "${dir}/apt.log"
case " $* " in
  *" update "*) echo "Package: shellcheck" > "${dir}/lists/x_Packages" ;;
  *" install "*) [ -s "${dir}/lists/x_Packages" ] || { echo "E: Unable to locate package shellcheck" >&2; exit 100; }
    printf '#!/usr/bin/env bash\\necho "$#" > "${dir}/shellchecked"\\n' > "${bin}/shellcheck"; chmod +x "${bin}/shellcheck" ;;
esac`);
    const r = bash(`bash "${path.join(ROOT, "scripts", "dev", "shellcheck.sh")}"`, { PATH: bin, OCHA_APT_LISTS: path.join(dir, "lists") }, 60_000);
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8").trim() : "");
    return { ...r, apt: read("apt.log").split("\n").filter(Boolean), checked: Number(read("shellchecked") || 0) };
}

describe("README set-up on a fresh Debian machine (scripts/dev/shellcheck.sh, .ci/run)", () => {
    let t: ReturnType<typeof tempDir>;
    beforeEach(() => (t = tempDir("fresh")));
    afterEach(() => t.cleanup());

    it("as root: refreshes the empty apt lists, installs shellcheck, and checks every script", () => {
        const r = freshMachine(t.dir, 0);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.apt.map((c) => (/\bupdate$/.test(c) ? "update" : /\binstall -y shellcheck$/.test(c) ? "install" : c))).to.deep.equal(["update", "install"]);
        expect(r.checked).to.be.above(20);
    });

    it("not root: stops with the command to run, touching nothing", () => {
        const r = freshMachine(t.dir, 1000);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/sudo apt-get update && sudo apt-get install -y shellcheck/);
        expect(r.apt).to.deep.equal([]);
    });

    it("CI runs exactly the README's set-up commands, first, with no installs of its own", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const setup = /## Set-up[^\n]*\n+```bash\n([\s\S]*?)```/.exec(readme)![1];
        const readmeCommands = setup.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
        expect(readmeCommands).to.deep.equal(["npm ci", "npm test"]);
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
        // Every command CI runs goes through `phase NAME CMD…` (which times it): the first two are the README's.
        const phased = ci.map((l) => /^phase "[^"]+" (.*)$/.exec(l)?.[1]).filter((c): c is string => c !== undefined);
        expect(phased.slice(0, 2)).to.deep.equal(readmeCommands);
        expect(ci.filter((l) => /apt-get|apt install/.test(l))).to.deep.equal([]);
    });
});
