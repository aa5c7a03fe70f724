import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
    brickPaths,
    glusterPlan,
    glusterClientPlan,
    glusterAuthAllow,
    validateGlusterSettings,
    isOptimalDisperse,
    GlusterSettings,
    DEFAULT_HEAL_THREADS,
    DEFAULT_PING_TIMEOUT_S,
    BRICK_WATCHDOG,
    BRICK_WATCHDOG_SERVICE,
    MIN_PING_TIMEOUT_S,
} from "../components/storage/plan";
import { BootstrapPlan } from "../components/shared/bootstrapPlan";

const seed: GlusterSettings = {
    nodes: [
        { host: "fs1", address: "10.2.10.11", device: "/dev/nvme1n1" },
        { host: "fs2", address: "10.2.11.11", device: "/dev/nvme1n1" },
        { host: "fs3", address: "10.2.12.11", device: "/dev/nvme1n1" },
    ],
    volumeName: "gfs_v_r5",
    disperse: 3,
    redundancy: 1,
    clientCidrs: ["10.0.10.0/24", "10.0.11.0/24", "10.0.12.0/24"],
};

/** Position of each step in a topological order that respects dependsOn, checking ids exist. */
function order(plan: BootstrapPlan): Map<string, number> {
    const ids = plan.steps.map((s) => s.id);
    expect(new Set(ids).size, "step ids unique").to.equal(ids.length);
    const pos = new Map<string, number>();
    plan.steps.forEach((s, i) => pos.set(s.id, i));
    for (const s of plan.steps) {
        for (const d of s.dependsOn) {
            expect(pos.has(d), `${s.id} depends on unknown ${d}`).to.equal(true);
            expect(pos.get(d)!, `${s.id} listed after its dependency ${d}`).to.be.lessThan(pos.get(s.id)!);
        }
    }
    return pos;
}

/** Transitive dependencies of a step. */
function ancestors(plan: BootstrapPlan, id: string): Set<string> {
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const seen = new Set<string>();
    const walk = (x: string) => byId.get(x)!.dependsOn.forEach((d) => { if (!seen.has(d)) { seen.add(d); walk(d); } });
    walk(id);
    return seen;
}

describe("bootstrap/gluster: plan", () => {
    const plan = glusterPlan(seed);

    it("prepares a brick and glusterd on every node, then creates and verifies on node 1", () => {
        expect(plan.cluster).to.equal("gluster");
        expect(plan.steps.map((s) => s.id)).to.deep.equal([
            "gluster-brick-fs1", "gluster-glusterd-fs1", "gluster-rejoin-fs1",
            "gluster-brick-fs2", "gluster-glusterd-fs2", "gluster-rejoin-fs2",
            "gluster-brick-fs3", "gluster-glusterd-fs3", "gluster-rejoin-fs3",
            "gluster-create-volume", "gluster-verify-volume",
            "gluster-watchdog-fs1", "gluster-watchdog-fs2", "gluster-watchdog-fs3",
        ]);
        order(plan);
        const create = plan.steps.find((s) => s.id === "gluster-create-volume")!;
        expect(create.host).to.equal("fs1");
        expect(plan.steps.find((s) => s.id === "gluster-verify-volume")!.host).to.equal("fs1");
    });

    it("probes/creates only after ALL nodes are prepared (brick + glusterd)", () => {
        const anc = ancestors(plan, "gluster-create-volume");
        for (const h of ["fs1", "fs2", "fs3"]) {
            expect(anc.has(`gluster-brick-${h}`)).to.equal(true);
            expect(anc.has(`gluster-glusterd-${h}`)).to.equal(true);
        }
        expect(ancestors(plan, "gluster-verify-volume").has("gluster-create-volume")).to.equal(true);
        // glusterd on a node waits for that node's brick only (nodes prepare in parallel)
        expect(plan.steps.find((s) => s.id === "gluster-glusterd-fs2")!.dependsOn).to.deep.equal(["gluster-brick-fs2"]);
        expect(plan.steps.find((s) => s.id === "gluster-brick-fs2")!.dependsOn).to.deep.equal([]);
    });

    it("runs rejoin on every node, on that node, after its glusterd and before create-volume", () => {
        // A replaced instance re-runs exactly its own host's steps (their triggers carry the instance
        // ID): the repair must therefore be one of them, not part of node 1's create-volume.
        for (const [i, h] of ["fs1", "fs2", "fs3"].entries()) {
            const step = plan.steps.find((s) => s.id === `gluster-rejoin-${h}`)!;
            expect(step.host).to.equal(h);
            expect(step.script).to.equal("gluster/rejoin.sh");
            expect(step.dependsOn).to.deep.equal([`gluster-glusterd-${h}`]);
            expect(step.env.GLUSTER_SELF).to.equal(seed.nodes[i].address);
            expect(step.env.GLUSTER_PEERS.split(" ")).to.deep.equal(seed.nodes.filter((_, j) => j !== i).map((n) => n.address));
            expect(step.env.GLUSTER_BRICK_DIR).to.equal(brickPaths(seed, i).dir);
            expect(step.secrets).to.deep.equal([]);
            expect(ancestors(plan, "gluster-create-volume").has(step.id)).to.equal(true);
        }
    });

    it("passes the seed's volume layout to the scripts", () => {
        const create = plan.steps.find((s) => s.id === "gluster-create-volume")!;
        expect(create.env).to.include({
            GLUSTER_VOLUME: "gfs_v_r5",
            GLUSTER_DISPERSE: "3",
            GLUSTER_REDUNDANCY: "1",
            GLUSTER_PEERS: "10.2.11.11 10.2.12.11",
            GLUSTER_PING_TIMEOUT: String(DEFAULT_PING_TIMEOUT_S),
            // the web subnets, then the storage nodes themselves (file backups mount the volume there)
            GLUSTER_AUTH_ALLOW: "10.0.10.*,10.0.11.*,10.0.12.*,10.2.10.11,10.2.11.11,10.2.12.11",
            GLUSTER_TCP_USER_TIMEOUT: String(DEFAULT_PING_TIMEOUT_S - 2),
            GLUSTER_WAIT_S: "300",
        });
        expect(plan.steps.find((s) => s.id === "gluster-verify-volume")!.env).to.deep.equal({
            GLUSTER_VOLUME: "gfs_v_r5", GLUSTER_BRICKS_EXPECTED: "3", GLUSTER_WAIT_S: "300", GLUSTER_REQUIRE_HEALED: "1",
        });
        expect(create.env.GLUSTER_BRICKS.split(" ")).to.deep.equal([
            "10.2.10.11:/data/glusterfs/gfs_v_r5/brick_a/brick",
            "10.2.11.11:/data/glusterfs/gfs_v_r5/brick_b/brick",
            "10.2.12.11:/data/glusterfs/gfs_v_r5/brick_c/brick",
        ]);
        const brick = plan.steps.find((s) => s.id === "gluster-brick-fs2")!;
        expect(brick.env).to.deep.equal({
            BRICK_DEVICE: "/dev/nvme1n1",
            BRICK_MOUNT: "/data/glusterfs/gfs_v_r5/brick_b",
            BRICK_DIR: "/data/glusterfs/gfs_v_r5/brick_b/brick",
        });
        const gd = plan.steps.find((s) => s.id === "gluster-glusterd-fs1")!;
        expect(gd.env).to.deep.equal({ GLUSTER_BASE_PORT: "49152", GLUSTER_MAX_PORT: "49161", GLUSTERD_PORT_FROM: "24007", GLUSTERD_PORT_TO: "24008" });
    });

    it("uses scripts that exist and carries no secrets", () => {
        for (const s of plan.steps) {
            expect(fs.existsSync(path.join(__dirname, "..", "scripts", "node", s.script)), s.script).to.equal(true);
            expect(s.secrets).to.deep.equal([]);
            expect(s.description.length).to.be.greaterThan(10);
        }
    });

    it("honours per-node devices, the brick root and ownership", () => {
        const p = glusterPlan({
            ...seed,
            brickDevice: "/dev/xvdf",
            brickRoot: "/srv/gluster/",
            nodes: seed.nodes.map((n, i) => (i === 1 ? { host: n.host, address: n.address } : n)),
            ownerUid: 33,
            ownerGid: 33,
        });
        expect(p.steps.find((s) => s.id === "gluster-brick-fs2")!.env.BRICK_DEVICE).to.equal("/dev/xvdf");
        expect(p.steps.find((s) => s.id === "gluster-brick-fs1")!.env.BRICK_DEVICE).to.equal("/dev/nvme1n1");
        expect(p.steps.find((s) => s.id === "gluster-brick-fs1")!.env.BRICK_MOUNT).to.equal("/srv/gluster/gfs_v_r5/brick_a");
        expect(p.steps.find((s) => s.id === "gluster-create-volume")!.env).to.include({ GLUSTER_OWNER_UID: "33", GLUSTER_OWNER_GID: "33" });
    });
});

describe("bootstrap/gluster: validation", () => {
    const nodes = (k: number) => Array.from({ length: k }, (_, i) => ({ host: `fs${i + 1}`, address: `10.2.0.${i + 10}`, device: "/dev/xvdf" }));

    it("refuses N <= 2R with a clear message", () => {
        expect(() => glusterPlan({ ...seed, nodes: nodes(4), disperse: 4, redundancy: 2 })).to.throw(/disperse 4 with redundancy 2: a disperse volume needs more than 2 × redundancy bricks \(at least 5\): GlusterFS requires N > 2R/);
        expect(() => glusterPlan({ ...seed, nodes: nodes(2), disperse: 2, redundancy: 1 })).to.throw(/N > 2R/);
        expect(() => glusterPlan({ ...seed, redundancy: 0 })).to.throw(/at least 1/);
    });

    it("says when a combination is not optimal, and accepts it only when asked", () => {
        expect(isOptimalDisperse(3, 1)).to.equal(true);
        expect(isOptimalDisperse(6, 2)).to.equal(true);
        expect(isOptimalDisperse(5, 1)).to.equal(true);
        expect(isOptimalDisperse(4, 1)).to.equal(false);
        expect(isOptimalDisperse(7, 2)).to.equal(false);
        expect(() => glusterPlan({ ...seed, nodes: nodes(4), disperse: 4, redundancy: 1 }))
            .to.throw(/disperse 4 redundancy 1 is not one of GlusterFS's optimal combinations.*allowNonOptimal/s);
        const v = validateGlusterSettings({ ...seed, nodes: nodes(4), disperse: 4, redundancy: 1, allowNonOptimal: true });
        expect(v.errors).to.deep.equal([]);
        expect(v.warnings.join()).to.match(/not one of GlusterFS's optimal/);
        expect(glusterPlan({ ...seed, nodes: nodes(6), disperse: 6, redundancy: 2 }).steps).to.have.length(6 * 4 + 2);
    });

    it("requires one brick per node, unique hosts/addresses and a device", () => {
        expect(() => glusterPlan({ ...seed, disperse: 6, redundancy: 2 })).to.throw(/disperse 6 != 3 nodes/);
        expect(() => glusterPlan({ ...seed, nodes: [seed.nodes[0], seed.nodes[0], seed.nodes[1]] })).to.throw(/duplicate host fs1/);
        expect(() => glusterPlan({ ...seed, nodes: seed.nodes.map((n) => ({ host: n.host, address: n.address })) })).to.throw(/no brick device/);
        expect(() => glusterPlan({ ...seed, nodes: [] })).to.throw(/at least one GlusterFS node/);
    });

    it("validates the volume name, ping-timeout and port range", () => {
        expect(() => glusterPlan({ ...seed, volumeName: "bad name" })).to.throw(/volumeName/);
        expect(() => glusterPlan({ ...seed, pingTimeoutSeconds: 0 })).to.throw(/pingTimeoutSeconds 0/);
        expect(validateGlusterSettings({ ...seed, pingTimeoutSeconds: 60 }).warnings.join()).to.match(/above GlusterFS's default 42/);
        expect(() => glusterPlan({ ...seed, basePort: 49200, maxPort: 49100 })).to.throw(/brick port range 49200-49100 is invalid/);
        expect(() => glusterPlan({ ...seed, basePort: 24000, maxPort: 24010 })).to.throw(/overlaps glusterd/);
    });

    it("runs a brick watchdog on every node that kills a silent brick within ping-timeout (probe cadence included)", () => {
        const plan = glusterPlan(seed);
        for (const [i, node] of seed.nodes.entries()) {
            const step = plan.steps.find((s) => s.id === `gluster-watchdog-${node.host}`)!;
            expect(step.host).to.equal(node.host);
            expect(step.script).to.equal("gluster/brick-watchdog-install.sh");
            expect(step.dependsOn).to.deep.equal(["gluster-verify-volume"]);
            expect(step.env.GLUSTER_BRICK_DIR).to.equal(brickPaths(seed, i).dir);
            expect(step.env.GLUSTER_VOLUME).to.equal("gfs_v_r5");
            expect(step.env.GLUSTER_WATCHDOG_SERVICE).to.equal(BRICK_WATCHDOG_SERVICE);
            // worst case from a freeze to the kill = kill-after + interval + deadline: exactly ping-timeout
            const worst = Number(step.env.GLUSTER_WATCHDOG_KILL_AFTER_S) + Number(step.env.GLUSTER_WATCHDOG_INTERVAL_S) + Number(step.env.GLUSTER_WATCHDOG_DEADLINE_S);
            expect(worst).to.equal(DEFAULT_PING_TIMEOUT_S);
            expect(Number(step.env.GLUSTER_WATCHDOG_MIN_MISSES)).to.be.at.least(2);
        }
        const slow = glusterPlan({ ...seed, pingTimeoutSeconds: 30 }).steps.find((s) => s.id === "gluster-watchdog-fs2")!;
        expect(Number(slow.env.GLUSTER_WATCHDOG_KILL_AFTER_S)).to.equal(30 - BRICK_WATCHDOG.intervalS - BRICK_WATCHDOG.deadlineS);
    });

    it("refuses a ping-timeout too short for the watchdog to miss two pings", () => {
        expect(MIN_PING_TIMEOUT_S).to.equal(BRICK_WATCHDOG.minMisses * (BRICK_WATCHDOG.intervalS + BRICK_WATCHDOG.deadlineS));
        expect(() => glusterPlan({ ...seed, pingTimeoutSeconds: MIN_PING_TIMEOUT_S - 1 })).to.throw(/pingTimeoutSeconds 5: must be an integer 6\.\.1800 .*brick watchdog/);
        expect(() => glusterPlan({ ...seed, pingTimeoutSeconds: MIN_PING_TIMEOUT_S })).to.not.throw();
        const step = glusterPlan({ ...seed, pingTimeoutSeconds: MIN_PING_TIMEOUT_S }).steps.find((s) => s.id === "gluster-watchdog-fs1")!;
        expect(Number(step.env.GLUSTER_WATCHDOG_KILL_AFTER_S)).to.be.at.least((BRICK_WATCHDOG.minMisses - 1) * (BRICK_WATCHDOG.intervalS + BRICK_WATCHDOG.deadlineS));
    });

    it("sets the self-heal daemons' parallel heals (a replaced brick's rebuild), 1..64", () => {
        expect(glusterPlan(seed).steps.find((s) => s.id === "gluster-create-volume")!.env.GLUSTER_HEAL_THREADS).to.equal(String(DEFAULT_HEAL_THREADS));
        expect(glusterPlan({ ...seed, healThreads: 16 }).steps.find((s) => s.id === "gluster-create-volume")!.env.GLUSTER_HEAL_THREADS).to.equal("16");
        expect(() => glusterPlan({ ...seed, healThreads: 0 })).to.throw(/healThreads 0: must be an integer 1\.\.64/);
        expect(() => glusterPlan({ ...seed, healThreads: 65 })).to.throw(/healThreads 65/);
    });

    it("keeps TCP_USER_TIMEOUT below ping-timeout (else a silent stall exceeds it)", () => {
        expect(glusterPlan({ ...seed, pingTimeoutSeconds: 20 }).steps.find((s) => s.id === "gluster-create-volume")!.env.GLUSTER_TCP_USER_TIMEOUT).to.equal("18");
        expect(() => glusterPlan({ ...seed, pingTimeoutSeconds: 10, tcpUserTimeoutSeconds: 10 })).to.throw(/tcpUserTimeoutSeconds 10 must be below pingTimeoutSeconds 10/);
        const off = glusterPlan({ ...seed, tcpUserTimeoutSeconds: 0 });
        expect(off.steps.find((s) => s.id === "gluster-create-volume")!.env).to.not.have.property("GLUSTER_TCP_USER_TIMEOUT");
        expect(validateGlusterSettings({ ...seed, tcpUserTimeoutSeconds: 0 }).warnings.join()).to.match(/up to 2 x ping-timeout/);
    });

    it("reports every error at once", () => {
        try {
            glusterPlan({ ...seed, volumeName: "x y", redundancy: 2, pingTimeoutSeconds: -1 });
            expect.fail("should throw");
        } catch (e) {
            const m = (e as Error).message;
            expect(m).to.match(/volumeName/).and.to.match(/N > 2R/).and.to.match(/pingTimeoutSeconds/);
        }
    });
});

describe("bootstrap/gluster: auth.allow from CIDRs", () => {
    it("expands CIDRs exactly into patterns GlusterFS 10.3 matches (no CIDR entries)", () => {
        expect(glusterAuthAllow(["10.0.1.0/24"])).to.equal("10.0.1.*");
        expect(glusterAuthAllow(["10.0.0.0/16"])).to.equal("10.0.*");
        expect(glusterAuthAllow(["10.0.0.0/8"])).to.equal("10.*");
        expect(glusterAuthAllow(["198.18.0.31", "198.18.0.32/32"])).to.equal("198.18.0.31,198.18.0.32");
        expect(glusterAuthAllow(["10.0.0.0/22"])).to.equal("10.0.0.*,10.0.1.*,10.0.2.*,10.0.3.*");
        expect(glusterAuthAllow(["10.0.1.16/30"])).to.equal("10.0.1.16,10.0.1.17,10.0.1.18,10.0.1.19");
        expect(glusterAuthAllow(["10.0.1.0/24", "10.0.1.0/24"])).to.equal("10.0.1.*");
        expect(glusterAuthAllow(["10.0.0.0/20"]).split(",")).to.have.length(16);
    });

    it("refuses the world, host bits, garbage and empty lists", () => {
        expect(() => glusterAuthAllow(["0.0.0.0/0"])).to.throw(/broader than \/8/);
        expect(() => glusterAuthAllow(["10.0.1.5/24"])).to.throw(/host bits set.*10\.0\.1\.0\/24/);
        expect(() => glusterAuthAllow(["10.0.1/24"])).to.throw(/not an IPv4/);
        expect(() => glusterAuthAllow(["10.0.1.0/33"])).to.throw(/invalid prefix/);
        expect(glusterAuthAllow(["10.0.0.0/9"]).split(",")).to.have.length(128);
        expect(() => glusterAuthAllow(["10.0.0.0/9", "10.128.0.0/9", "11.0.0.0/9"])).to.throw(/384 entries \(max 256\)/);
        expect(() => glusterAuthAllow([])).to.throw(/empty/);
        expect(() => glusterPlan({ ...seed, clientCidrs: ["0.0.0.0/0"] })).to.throw(/clientCidrs: .*broader/);
    });
});

describe("bootstrap/gluster: client plan", () => {
    it("mounts on every web host with backup volfile servers, after the given steps", () => {
        const p = glusterClientPlan({ hosts: ["web1", "web2"], servers: ["10.2.10.11", "10.2.11.11", "10.2.12.11"], after: ["gluster-verify-volume"] });
        expect(p.steps.map((s) => s.id)).to.deep.equal(["gluster-mount-web1", "gluster-mount-web2"]);
        for (const s of p.steps) {
            expect(s.script).to.equal("web/gluster-mount.sh");
            expect(fs.existsSync(path.join(__dirname, "..", "scripts", "node", s.script))).to.equal(true);
            expect(s.env).to.deep.equal({ GLUSTER_SERVERS: "10.2.10.11 10.2.11.11 10.2.12.11", GLUSTER_VOLUME: "gfs_v_r5", GLUSTER_MOUNT_POINT: "/mnt/owncloud-data", GLUSTERD_PORT: "24007" });
            expect(s.dependsOn).to.deep.equal(["gluster-verify-volume"]);
        }
    });

    it("refuses a single volfile server and bad input", () => {
        expect(() => glusterClientPlan({ hosts: ["web1"], servers: ["10.2.10.11"] })).to.throw(/at least 2 addresses/);
        expect(() => glusterClientPlan({ hosts: [], servers: ["a", "b"] })).to.throw(/at least one web host/);
        expect(() => glusterClientPlan({ hosts: ["w"], servers: ["a", "b"], mountPoint: "rel/path" })).to.throw(/mountPoint/);
    });
});
