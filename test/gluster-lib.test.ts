/**
 * scripts/node/gluster/lib.sh `gl_locked`: glusterd refuses a command naming a volume while another
 * transaction holds that volume's cluster-wide lock (seen in the lab: `volume create` failed while a
 * peer's timer asked `volume status` of the same name). A stand-in `gluster` answers from a counter.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { bash, fakeCommand, NODE_SCRIPTS, tempDir } from "./harness/shell";

const LIB = `. "${NODE_SCRIPTS}/lib/common.sh"; . "${NODE_SCRIPTS}/gluster/lib.sh"`;

describe("scripts/node/gluster/lib.sh gl_locked (glusterd's per-volume lock)", () => {
    let t: ReturnType<typeof tempDir>;
    let bin: string;
    const calls = () => fs.readFileSync(path.join(t.dir, "calls"), "utf8").trim().split("\n");
    beforeEach(() => {
        t = tempDir("gl-locked");
        bin = path.join(t.dir, "bin");
        // fails with `$ST/answer` while `$ST/busy` counts down, then succeeds
        fakeCommand(bin, "gluster", `
ST="${t.dir}"
echo "$*" >> "$ST/calls"
n=$(cat "$ST/busy" 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$ST/busy"; cat "$ST/answer" >&2; exit 1; fi
echo "volume create: gv0: success: please start the volume to access data"`);
    });
    afterEach(() => t.cleanup());
    const run = (busy: number, answer: string, wait = 60) => {
        fs.writeFileSync(path.join(t.dir, "busy"), String(busy));
        fs.writeFileSync(path.join(t.dir, "answer"), answer);
        return bash(`${LIB}; gl_locked volume create gv0 disperse 3`, { PATH: `${bin}:${process.env.PATH}`, GLUSTER_LOCK_RETRY_S: "0", GLUSTER_LOCK_WAIT_S: String(wait) });
    };
    const LOCKED = "volume create: gv0: failed: Another transaction is in progress for gv0. Please try again after some time.";

    it("runs the command again while another transaction holds the volume's lock, then succeeds", () => {
        const r = run(3, LOCKED);
        expect(r.code, r.stderr).to.equal(0);
        expect(calls()).to.deep.equal(Array(4).fill("--mode=script volume create gv0 disperse 3"));
        expect(r.stdout).to.contain("success");
    });

    it("does not retry any other failure, and prints glusterd's answer", () => {
        const r = run(1, "volume create: gv0: failed: /b/brick is already part of a volume");
        expect(r.code).to.equal(1);
        expect(calls().length).to.equal(1);
        expect(r.stdout).to.contain("already part of a volume");
    });

    it("by default outlasts glusterd's lock timer (GF_LOCK_TIMER, 180 s), which frees a lock a failed transaction left held", () => {
        const lib = fs.readFileSync(path.join(NODE_SCRIPTS, "gluster", "lib.sh"), "utf8");
        const wait = Number(/GLUSTER_LOCK_WAIT_S:-(\d+)/.exec(lib)?.[1]);
        expect(wait).to.be.greaterThan(180);
    });

    it("gives up after its bound with the lock's answer", () => {
        const r = run(1000, LOCKED, 0);
        expect(r.code).to.equal(1);
        expect(calls().length).to.equal(1);
        expect(r.stdout).to.contain("Another transaction is in progress");
    });
});
