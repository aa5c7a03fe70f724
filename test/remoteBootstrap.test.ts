import { expect } from "chai";
import { BootstrapStep } from "../components/bootstrap/plan";
import { nodeScriptFiles, orderedSteps, remoteScriptsDir, shellQuote, stepCommandLine, stepTrigger } from "../components/remoteBootstrap";

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
    it("ships every node script but not the lab runner", () => {
        const shipped = nodeScriptFiles();
        expect(shipped).to.include("galera/start.sh");
        expect(shipped).to.include("lib/common.sh");
        expect(shipped).to.include("node/data-volume.sh");
        expect(shipped.filter((f) => f.startsWith("lab/"))).to.deep.equal([]);
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
            expect(() => stepTrigger({ ...step, script: "galera/nope.sh" }, files, reader())).to.throw(/scripts\/galera\/nope\.sh does not exist/));
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
