/**
 * scripts/gluster/rejoin.sh decisions, against a stand-in `gluster` CLI (and getfattr, service
 * launcher) answering from files: what the pool knows, what this node's glusterd knows, the brick's
 * volume-id xattr. Every gluster call is recorded so the tests see what was (not) done.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { bash, fakeCommand, SCRIPTS, tempDir } from "./harness/shell";

const SELF = "10.0.1.13";
const PEERS = ["10.0.1.11", "10.0.1.12"];
const OLD = "33333333-3333-4333-8333-333333333333";
const NEW = "99999999-9999-4999-8999-999999999999";
const U1 = "11111111-1111-4111-8111-111111111111";
const U2 = "22222222-2222-4222-8222-222222222222";
const VOLID = "0123abcd-0123-4abc-8def-0123456789ab";
const VOLID_HEX = VOLID.replace(/-/g, "");
const BRICK_DIR = "/data/glusterfs/gfs_v_r5/brick_c/brick";

const volInfo = `
Volume Name: gfs_v_r5
Type: Disperse
Volume ID: ${VOLID}
Status: Started
Number of Bricks: 1 x (2 + 1) = 3
Bricks:
Brick1: ${PEERS[0]}:/data/glusterfs/gfs_v_r5/brick_a/brick
Brick2: ${PEERS[1]}:/data/glusterfs/gfs_v_r5/brick_b/brick
Brick3: ${SELF}:${BRICK_DIR}
`;
const poolList = (rows: [string, string][]) => ["UUID\t\t\t\t\tHostname \tState", ...rows.map(([u, h]) => `${u}\t${h}\tConnected `)].join("\n");

describe("scripts/gluster/rejoin.sh (replaced or wiped GlusterFS node)", () => {
    let t: ReturnType<typeof tempDir>;
    let st: string;
    let brick: string;
    beforeEach(() => {
        t = tempDir("rejoin");
        st = path.join(t.dir, "state");
        brick = path.join(t.dir, "brick");
        fs.mkdirSync(st);
        fs.mkdirSync(brick);
        fs.mkdirSync(path.join(t.dir, "glusterd"));
        const bin = path.join(t.dir, "bin");
        // The stand-in gluster: answers from files in $ST, records every call in $ST/calls.
        fakeCommand(bin, "gluster", `
ST="${st}"
args="$*"
echo "$args" >> "$ST/calls"
case "$args" in
  *--remote-host=*"pool list") [ -f "$ST/remote_pool" ] || exit 1; cat "$ST/remote_pool" ;;
  "--mode=script pool list") [ ! -f "$ST/down" ] || exit 1; cat "$ST/local_pool" ;;
  "--mode=script peer status") cat "$ST/peer_status" 2>/dev/null || true ;;
  "--mode=script volume info "*) [ -f "$ST/volinfo" ] || exit 1; cat "$ST/volinfo" ;;
  *"reset-brick"*"commit force") echo "0x${VOLID_HEX}" > "$ST/xattr" ;;
  *"reset-brick"*) ;;
  *"volume heal "*" full") touch "$ST/healfull" ;;
  *"heal "*" info summary") for b in 1 2 3; do printf 'Brick x:/b%s\\nStatus: Connected\\nTotal Number of entries: 0\\n\\n' "$b"; done ;;
  *"status "*" --xml") for b in 1 2 3; do printf '<node>\\n<path>/b%s</path>\\n<status>1</status>\\n</node>\\n' "$b"; done ;;
  *"status "*" detail")
    # the reset brick uses as many inodes as the others only once the full heal has run
    mine=990; [ -f "$ST/healfull" ] && mine=500
    for b in "${PEERS[0]}:/a 500" "${PEERS[1]}:/b 500" "${SELF}:${brick} $mine"; do
        printf 'Brick                : Brick %s\\nInode Count          : 1000\\nFree Inodes          : %s\\n' $b
    done ;;
  *) echo "unexpected: $args" >&2; exit 9 ;;
esac`);
        fakeCommand(bin, "getfattr", `[ -f "${st}/xattr" ] || exit 1; echo "# file: $4"; echo "trusted.glusterfs.volume-id=$(cat "${st}/xattr")"`);
        fakeCommand(bin, "svc-launcher", `echo "svc $*" >> "${st}/calls"; case "$1" in stop) touch "${st}/down" ;; start) rm -f "${st}/down" ;; esac`);
    });
    afterEach(() => t.cleanup());

    const write = (name: string, text: string) => fs.writeFileSync(path.join(st, name), text);
    const calls = () => (fs.existsSync(path.join(st, "calls")) ? fs.readFileSync(path.join(st, "calls"), "utf8") : "");
    const glusterdInfo = () => fs.readFileSync(path.join(t.dir, "glusterd", "glusterd.info"), "utf8");
    const run = () =>
        bash(`bash "${SCRIPTS}/gluster/rejoin.sh"`, {
            PATH: `${path.join(t.dir, "bin")}:${process.env.PATH}`,
            OCLAB_SVC: path.join(t.dir, "bin", "svc-launcher"),
            GLUSTER_VOLUME: "gfs_v_r5",
            GLUSTER_SELF: SELF,
            GLUSTER_PEERS: PEERS.join(" "),
            GLUSTER_BRICK_DIR: brick,
            GLUSTER_WAIT_S: "5",
            GLUSTERD_WORKDIR: path.join(t.dir, "glusterd"),
        }, 60_000);
    const useBrickDir = () => volInfo.replace(`${SELF}:${BRICK_DIR}`, `${SELF}:${brick}`);
    const healthyPool = () => write("remote_pool", poolList([[U1, "localhost"], [U2, PEERS[1]], [OLD, SELF]]));

    it("leaves a healthy node alone (same UUID, brick carries the volume-id)", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${OLD}\noperating-version=100000\n`);
        healthyPool();
        write("local_pool", poolList([[U1, PEERS[0]], [U2, PEERS[1]], [OLD, "localhost"]]));
        write("volinfo", useBrickDir());
        write("xattr", `0x${VOLID_HEX}`);
        write("healfull", ""); // the stand-in's brick then uses as many inodes as the others
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        expect(calls()).to.not.match(/svc stop|reset-brick|heal gfs_v_r5 full/);
        expect(glusterdInfo()).to.contain(`UUID=${OLD}`);
    });

    it("a re-run after a timed-out heal waits for the rebuild again instead of calling the brick repaired", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${OLD}\noperating-version=100000\n`);
        healthyPool();
        write("local_pool", poolList([[U1, PEERS[0]], [U2, PEERS[1]], [OLD, "localhost"]]));
        write("volinfo", useBrickDir());
        // reset-brick already gave the brick its volume-id, but it holds far fewer files than the others
        write("xattr", `0x${VOLID_HEX}`);
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.match(/full heal is still running; waiting/);
        expect(calls()).to.match(/heal gfs_v_r5 full/);
        expect(calls()).to.not.match(/svc stop|reset-brick/);
    });

    it("does nothing on a first deployment (the pool does not know this address yet)", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${NEW}\n`);
        write("remote_pool", poolList([[U1, "localhost"]]));
        write("local_pool", poolList([[NEW, "localhost"]]));
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        expect(calls()).to.not.match(/svc stop|reset-brick/);
        expect(glusterdInfo()).to.equal(`UUID=${NEW}\n`);
    });

    it("gives a fresh glusterd the old UUID and the other peers, restarting it", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${NEW}\noperating-version=100000\n`);
        healthyPool();
        write("local_pool", poolList([[NEW, "localhost"]]));
        write("peer_status", "State: Peer in Cluster (Connected)\nState: Peer in Cluster (Connected)\n");
        write("volinfo", useBrickDir());
        write("xattr", `0x${VOLID_HEX}`);
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        expect(glusterdInfo()).to.contain(`UUID=${OLD}`).and.to.contain("operating-version=100000").and.not.contain(NEW);
        const peers = fs.readdirSync(path.join(t.dir, "glusterd", "peers")).sort();
        expect(peers).to.deep.equal([U1, U2]);
        expect(fs.readFileSync(path.join(t.dir, "glusterd", "peers", U1), "utf8")).to.equal(`uuid=${U1}\nstate=3\nhostname1=${PEERS[0]}\n`);
        // stop, write the identity, start; then one restart so glusterd ties the imported bricks to UUIDs
        expect(calls()).to.match(/svc stop glusterd[\s\S]*svc start glusterd[\s\S]*svc restart glusterd/);
    });

    it("refuses two identities for one address when this glusterd already has peers", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${NEW}\n`);
        healthyPool();
        write("local_pool", poolList([[U1, PEERS[0]], [NEW, "localhost"]]));
        const r = run();
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.contain(`the pool knows ${SELF} as ${OLD}`);
        expect(calls()).to.not.contain("svc stop");
    });

    it("resets an empty brick (same path) and runs a full heal", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${OLD}\n`);
        healthyPool();
        write("local_pool", poolList([[U1, PEERS[0]], [U2, PEERS[1]], [OLD, "localhost"]]));
        write("volinfo", useBrickDir());
        const r = run();
        expect(r.code, r.stderr).to.equal(0);
        const c = calls();
        const b = `${SELF}:${brick}`;
        expect(c).to.contain(`volume reset-brick gfs_v_r5 ${b} start\n`);
        expect(c).to.contain(`volume reset-brick gfs_v_r5 ${b} ${b} commit force\n`);
        expect(c.indexOf("commit force")).to.be.below(c.indexOf("volume heal gfs_v_r5 full"));
    });

    it("refuses a brick that holds another volume, without force", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${OLD}\n`);
        healthyPool();
        write("local_pool", poolList([[U1, PEERS[0]], [U2, PEERS[1]], [OLD, "localhost"]]));
        write("volinfo", useBrickDir());
        write("xattr", "0xffffffffffffffffffffffffffffffff");
        const r = run();
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.contain("belongs to another volume (volume-id ffffffffffffffffffffffffffffffff");
        expect(calls()).to.not.contain("reset-brick");
    });

    it("refuses a brick directory with data but no volume-id", () => {
        fs.writeFileSync(path.join(t.dir, "glusterd", "glusterd.info"), `UUID=${OLD}\n`);
        healthyPool();
        write("local_pool", poolList([[U1, PEERS[0]], [U2, PEERS[1]], [OLD, "localhost"]]));
        write("volinfo", useBrickDir());
        fs.writeFileSync(path.join(brick, "somefile"), "x");
        const r = run();
        expect(r.code).to.not.equal(0);
        expect(r.stderr).to.contain("has no volume-id but is not empty");
        expect(calls()).to.not.contain("reset-brick");
    });
});
