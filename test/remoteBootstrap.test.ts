import * as path from "path";
import { expect } from "chai";
import { BootstrapStep } from "../components/shared/bootstrapPlan";
import { orderedSteps, remoteScriptsDir, SCRIPTS_DIR, ScriptTree, scriptTree, shellQuote, shipmentHash, shippedFiles, stepCommandLine, stepTrigger } from "../components/shared/remoteBootstrap";
import { galeraCloudPlan, resolveGaleraClusterArgs } from "../components/database/galeraCluster";
import { glusterPlan } from "../components/storage/plan";
import { GALERA_NODE_FILES, GLUSTER_NODE_FILES } from "./fixtures/shipped-files";

const step: BootstrapStep = {
    id: "galera-configure-node1",
    host: "node1",
    script: "galera/configure.sh",
    env: { GALERA_NODE_NAME: "node1", GALERA_CLUSTER_ADDRESSES: "10.1.0.10,10.1.16.10" },
    secrets: ["GALERA_SST_PASSWORD"],
    dependsOn: [],
    description: "",
};
const files = ["galera/configure.sh", "galera/lib.sh", "galera/start.sh", "gluster/create-volume.sh", "lib/common.sh"];
const content: Record<string, string> = Object.fromEntries(files.map((f) => [f, `# ${f}\n`]));
const reader = (overrides: Record<string, string> = {}) => (f: string) => overrides[f] ?? content[f];

describe("remote bootstrap", () => {
    describe("shippedFiles", () => {
        const bastion = { host: "192.0.2.10", securityGroupId: "sg", keyPairName: "kp", privateKey: "KEY" };
        const galera = galeraCloudPlan(
            resolveGaleraClusterArgs("g", {
                vpcId: "v",
                subnetIds: ["a", "b", "c"],
                subnetCidrs: ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"],
                clientCidrs: ["10.0.0.0/16"],
                bastion,
            }),
        );
        const gluster = glusterPlan({
            nodes: ["10.2.0.10", "10.2.16.10", "10.2.32.10"].map((address, i) => ({ host: `node${i + 1}`, address })),
            brickDevice: "/dev/nvme1n1",
            clientCidrs: ["10.0.0.0/16"],
        });
        const hostSteps = (plan: { steps: BootstrapStep[] }, host: string) => plan.steps.filter((s) => s.host === host);

        it("ships a Galera node its tier's scripts, the libraries and the data-volume script, nothing else", () => {
            expect(shippedFiles(hostSteps(galera, "node2"))).to.deep.equal(GALERA_NODE_FILES);
        });
        it("ships a GlusterFS node its tier's scripts and the libraries, nothing else", () => {
            for (const host of ["node1", "node3"]) {
                expect(shippedFiles(hostSteps(gluster, host))).to.deep.equal(GLUSTER_NODE_FILES);
            }
        });
        it("changing another kind of node's file (web, bastion, NAT) changes no cluster node's copy trigger and no step trigger", () => {
            const changed = new Set(["web/haproxy.sh", "web/node-init.sh", "web/haproxy.cfg.tmpl", "bastion/user-data.sh", "nat/nat-apply.sh", "nat/nat-instance.sh"]);
            const reads: string[] = [];
            const spy: ScriptTree = { list: scriptTree.list, read: (f) => (reads.push(f), scriptTree.read(f)) };
            const edited = (f: string) => (changed.has(f) ? "# edited\n" : scriptTree.read(f));
            for (const plan of [galera, gluster]) {
                for (const host of ["node1", "node2", "node3"]) {
                    const steps = hostSteps(plan, host);
                    const files = shippedFiles(steps, spy);
                    expect(shipmentHash(files, edited)).to.equal(shipmentHash(files));
                    for (const step of steps) expect(stepTrigger(step, files, edited)).to.equal(stepTrigger(step, files));
                }
            }
            expect(reads.filter((f) => changed.has(f))).to.deep.equal([]);
        });
        it("re-runs a step when a file its script names beside itself changes (configure.sh installs health-check.sh)", () => {
            const steps = hostSteps(galera, "node1");
            const configure = steps.find((st) => st.id === "galera-configure-node1")!;
            const files = shippedFiles(steps);
            const edit = (name: string) => (f: string) => (f === name ? "# edited\n" : scriptTree.read(f));
            expect(stepTrigger(configure, files, edit("galera/health-check.sh"))).to.not.equal(stepTrigger(configure, files));
            expect(stepTrigger(configure, files, edit("galera/report.sh"))).to.equal(stepTrigger(configure, files));
        });
        it("changing a shipped file changes its host's copy trigger", () => {
            const files = shippedFiles(hostSteps(gluster, "node1"));
            expect(shipmentHash(files, (f) => (f === "gluster/status.sh" ? "# edited\n" : scriptTree.read(f)))).to.not.equal(shipmentHash(files));
        });
        it("follows what a script names beside itself and refuses a missing one", () => {
            const tree = (files: Record<string, string>): ScriptTree => ({
                list: (dir) => Object.keys(files).filter((f) => f.startsWith(`${dir}/`) && !f.slice(dir.length + 1).includes("/")).sort(),
                read: (f) => files[f],
            });
            const s = { ...step, script: "a/run.sh" };
            expect(shippedFiles([s], tree({ "a/run.sh": 'exec bash "$(dirname "$0")/../b/x.sh"', "b/x.sh": "", "c/y.sh": "" }))).to.deep.equal(["a/run.sh", "b/x.sh"]);
            expect(() => shippedFiles([s], tree({ "a/run.sh": '. "$(dirname "$0")/gone.sh"' }))).to.throw(/scripts\/node\/a\/run\.sh uses scripts\/node\/a\/gone\.sh/);
        });
        it("refuses a step or a reference that leaves scripts/node: a lab, plan-tool or developer file is never shipped", () => {
            // The tree answers for anything it is asked, as the real one would for ../lab (a sibling of scripts/node).
            const tree: ScriptTree = {
                list: (dir) => ({ a: ["a/run.sh"], "../lab": ["../lab/svc.sh"] })[dir] ?? [],
                read: (f) => (f === "a/run.sh" ? 'bash "$(dirname "$0")/../../lab/svc.sh"' : "# lab\n"),
            };
            expect(() => shippedFiles([{ ...step, script: "a/run.sh" }], tree)).to.throw(/scripts\/node\/a\/run\.sh uses \.\.\/lab\/svc\.sh, which lies outside scripts\/node/);
            expect(() => shippedFiles([{ ...step, script: "../dev/check.sh" }], tree)).to.throw(/script \.\.\/dev\/check\.sh lies outside scripts\/node/);
        });
        it("reads the node tree, scripts/node, and nothing beside it", () => {
            expect(SCRIPTS_DIR).to.equal(path.resolve(__dirname, "..", "scripts", "node"));
            expect(scriptTree.list("galera")).to.include("galera/start.sh");
            expect(scriptTree.list("lab")).to.deep.equal([]);
        });
    });

    describe("stepTrigger", () => {
        const base = stepTrigger(step, files, reader());
        it("changes when the step's script changes", () =>
            expect(stepTrigger(step, files, reader({ "galera/configure.sh": "# changed\n" }))).to.not.equal(base));
        it("changes when a library it can source changes", () => {
            expect(stepTrigger(step, files, reader({ "lib/common.sh": "# changed\n" }))).to.not.equal(base);
            expect(stepTrigger(step, files, reader({ "galera/lib.sh": "# changed\n" }))).to.not.equal(base);
        });
        it("changes when its settings change", () =>
            expect(stepTrigger({ ...step, env: { ...step.env, GALERA_NODE_NAME: "node9" } }, files, reader())).to.not.equal(base));
        it("does not change when another cluster's or another step's script changes", () => {
            expect(stepTrigger(step, files, reader({ "gluster/create-volume.sh": "# changed\n" }))).to.equal(base);
            expect(stepTrigger(step, files, reader({ "galera/start.sh": "# changed\n" }))).to.equal(base);
        });
        it("refuses a step whose script does not exist", () =>
            expect(() => stepTrigger({ ...step, script: "galera/nope.sh" }, files, reader())).to.throw(/scripts\/node\/galera\/nope\.sh does not exist/));
    });

    describe("stepCommandLine", () => {
        it("runs the script as root with the non-secret env inline, quoted", () => {
            expect(stepCommandLine({ ...step, env: { B: "it's", A: "x y" } }, "admin")).to.equal(
                `sudo -n env A='x y' B='it'\\''s' bash '${remoteScriptsDir("admin")}/galera/configure.sh'`,
            );
        });
        it("never carries a secret: secrets are named in the step but only delivered on stdin", () => {
            expect(stepCommandLine(step, "admin")).to.not.contain("PASSWORD");
        });
        it("refuses variable names a shell would misread", () =>
            expect(() => stepCommandLine({ ...step, env: { "A;rm": "x" } }, "admin")).to.throw(/bad variable name/));
        it("quotes safely", () => expect(shellQuote("a'b")).to.equal(`'a'\\''b'`));
    });

    describe("orderedSteps", () => {
        const mk = (id: string, dependsOn: string[] = []): BootstrapStep => ({ ...step, id, dependsOn });
        it("puts dependencies first", () => {
            const ids = orderedSteps({ cluster: "t", steps: [mk("c", ["b"]), mk("b", ["a"]), mk("a")] }).map((s) => s.id);
            expect(ids).to.deep.equal(["a", "b", "c"]);
        });
        it("refuses cycles, unknown and duplicate ids", () => {
            expect(() => orderedSteps({ cluster: "t", steps: [mk("a", ["b"]), mk("b", ["a"])] })).to.throw(/cycle/);
            expect(() => orderedSteps({ cluster: "t", steps: [mk("a", ["x"])] })).to.throw(/unknown step x/);
            expect(() => orderedSteps({ cluster: "t", steps: [mk("a"), mk("a")] })).to.throw(/duplicate step id a/);
        });
    });
});
