import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";

/**
 * `apt_install` (scripts/node/lib/common.sh) against a stand-in apt: a mirror that serves `mirror`, lists
 * that are empty until `apt-get update` succeeds (as on a Debian cloud image), an egress that may
 * fail the first N updates. Every apt-get call is logged, so the tests see what would hit the network.
 */
function fakeApt(dir: string, opts: { mirror: string[]; installed?: string[]; listed?: string[]; updateFailures?: number }) {
    const bin = path.join(dir, "bin");
    const lists = path.join(dir, "lists");
    fs.mkdirSync(lists);
    fs.writeFileSync(path.join(dir, "mirror"), opts.mirror.join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "installed"), (opts.installed ?? []).join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "fails"), String(opts.updateFailures ?? 0));
    if (opts.listed) {
        fs.writeFileSync(path.join(lists, "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"), opts.listed.map((p) => `Package: ${p}`).join("\n") + "\n");
    }
    fakeCommand(bin, "dpkg-query", `grep -qx "\${@: -1}" "${dir}/installed" && printf 'install ok installed' || exit 1`);
    fakeCommand(bin, "apt-cache", `[ "$1" = policy ] || exit 1
if grep -qx "Package: $2" "${lists}"/*_Packages 2>/dev/null; then printf '%s:\\n  Installed: (none)\\n  Candidate: 1.0\\n' "$2"; fi`);
    fakeCommand(bin, "sleep", `echo "$1" >> "${dir}/sleeps"`);
    fakeCommand(bin, "apt-get", `echo "$*" >> "${dir}/log"
for a in "$@"; do case "$a" in
  update)
    n=$(cat "${dir}/fails"); if [ "$n" -gt 0 ]; then echo $((n - 1)) > "${dir}/fails"; echo "E: could not resolve deb.debian.org" >&2; exit 100; fi
    sed 's/^/Package: /' "${dir}/mirror" > "${lists}/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"; exit 0 ;;
  install) install=1 ;;
esac; done
[ "\${install:-}" = 1 ] || exit 0
for a in "$@"; do case "$a" in -*|install|Acquire*|DPkg*) ;; *)
  grep -qx "Package: $a" "${lists}"/*_Packages 2>/dev/null || { echo "E: Unable to locate package $a" >&2; exit 100; }
  echo "$a" >> "${dir}/installed" ;;
esac; done`);
    return {
        /** `attempts` null: the script's own bound. */
        run: (pkgs: string[], attempts: number | null = 4) =>
            bash(`. "${NODE_SCRIPTS}/lib/common.sh"; apt_install ${pkgs.join(" ")}`, {
                PATH: `${bin}:${process.env.PATH}`,
                OCHA_APT_LISTS: lists,
                ...(attempts === null ? {} : { OCHA_APT_ATTEMPTS: String(attempts), OCHA_APT_DELAY_S: "1" }),
            }),
        sleeps: () => (fs.existsSync(path.join(dir, "sleeps")) ? fs.readFileSync(path.join(dir, "sleeps"), "utf8").trim().split("\n").map(Number) : []),
        calls: () => (fs.existsSync(path.join(dir, "log")) ? fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n") : []),
        installed: () => fs.readFileSync(path.join(dir, "installed"), "utf8").split("\n").filter(Boolean),
    };
}

describe("apt_install (scripts/node/lib/common.sh)", () => {
    let t: ReturnType<typeof tempDir>;
    beforeEach(() => (t = tempDir("apt")));
    afterEach(() => t.cleanup());

    it("on a fresh cloud image (empty lists) refreshes the lists, then installs", () => {
        const apt = fakeApt(t.dir, { mirror: ["xfsprogs", "glusterfs-server"] });
        const r = apt.run(["xfsprogs"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(apt.calls().map((c) => c.split(" ").filter((w) => !w.startsWith("-") && !w.includes("::")).join(" "))).to.deep.equal(["update", "install xfsprogs"]);
        expect(apt.installed()).to.include("xfsprogs");
    });

    it("never touches apt when every package is installed (the lab's hosts), even with empty lists", () => {
        const apt = fakeApt(t.dir, { mirror: [], installed: ["haproxy", "socat"] });
        expect(apt.run(["haproxy", "socat"]).code).to.equal(0);
        expect(apt.calls()).to.deep.equal([]);
    });

    it("installs without refreshing when the lists know the package", () => {
        const apt = fakeApt(t.dir, { mirror: ["haproxy"], listed: ["haproxy"] });
        expect(apt.run(["haproxy"]).code).to.equal(0);
        expect(apt.calls().filter((c) => c.includes("update"))).to.deep.equal([]);
    });

    it("refreshes stale lists that do not know a package", () => {
        const apt = fakeApt(t.dir, { mirror: ["docker.io", "jq"], listed: ["jq"] });
        const r = apt.run(["docker.io", "jq"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(apt.calls()[0]).to.match(/\bupdate$/);
        expect(apt.installed()).to.include.members(["docker.io", "jq"]);
    });

    it("waits for late egress: retries the refresh within the bound, with apt's own per-download retries", () => {
        const apt = fakeApt(t.dir, { mirror: ["socat"], updateFailures: 2 });
        const r = apt.run(["socat"], 4);
        expect(r.code, r.stderr).to.equal(0);
        expect(apt.calls().filter((c) => /\bupdate$/.test(c))).to.have.length(3);
        expect(apt.calls().every((c) => c.includes("Acquire::Retries="))).to.equal(true);
        expect(apt.installed()).to.include("socat");
    });

    it("gives up after the bound with one error naming the cause", () => {
        const apt = fakeApt(t.dir, { mirror: ["socat"], updateFailures: 99 });
        const r = apt.run(["socat"], 3);
        expect(r.code).to.not.equal(0);
        expect(apt.calls().filter((c) => /\bupdate$/.test(c))).to.have.length(3);
        expect(r.stderr).to.match(/apt-get update failed 3 times over 3s.*unreachable.*NAT/);
    });

    it("by default waits longer than a NAT gateway takes to come up (1.5–2 min), in growing steps of at most a minute", () => {
        const apt = fakeApt(t.dir, { mirror: ["socat"], updateFailures: 99 });
        const r = apt.run(["socat"], null);
        expect(r.code).to.not.equal(0);
        const sleeps = apt.sleeps();
        expect(sleeps).to.deep.equal([...sleeps].sort((a, b) => a - b));
        expect(Math.max(...sleeps)).to.be.at.most(60);
        const total = sleeps.reduce((a, b) => a + b, 0);
        expect(total).to.be.within(180, 600);
        expect(r.stderr).to.contain(`over ${total}s`);
    });
});
