import { expect } from "chai";
import { resolveOutput } from "./harness/mocks";
import { findNode, OpsTarget, OpsUsageError, targetFromOutputs } from "../scripts/ops/target";
import { OPERATIONS_OUTPUT, SSH_KEY_OUTPUT } from "../stacks/operations";
import { BuiltStack, buildStack } from "./harness/stacks";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";

/** The outputs as `pulumi stack output --json --show-secrets` prints them: plain JSON, secrets revealed. */
async function stackOutputsJson(s: BuiltStack): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s.platform.outputs)) out[k] = (await resolveOutput(v as any)).value;
    return JSON.parse(JSON.stringify(out));
}

function thrown(fn: () => unknown): Error {
    try {
        fn();
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected an error");
}

describe("ops target: stack outputs → where and how the operator tooling reaches the nodes", function () {
    this.timeout(120_000);
    let dev: BuiltStack;
    let json: Record<string, unknown>;
    let target: OpsTarget;
    before(async () => {
        dev = await buildStack("dev");
        json = await stackOutputsJson(dev);
        target = targetFromOutputs("dev", json);
    });

    it("the program exports `operations` as a plain (non-secret) output; the key stays the one secret output", async () => {
        expect((await resolveOutput(dev.platform.outputs[OPERATIONS_OUTPUT] as any)).secret).to.equal(false);
        expect((await resolveOutput(dev.platform.outputs[SSH_KEY_OUTPUT] as any)).secret).to.equal(true);
        expect(JSON.stringify(json[OPERATIONS_OUTPUT])).to.not.include("PRIVATE KEY");
    });

    it("reaches the bastion at its Elastic IP as the program's user, and every node at its fixed address in plan order", () => {
        expect(target.bastion).to.deep.equal({ host: "192.0.2.20", port: 22 });
        expect(target.sshUser).to.equal("admin");
        expect(target.galera.nodes.map((n) => `${n.name}=${n.address}`)).to.deep.equal(["node1=10.1.0.10", "node2=10.1.16.10", "node3=10.1.32.10"]);
        expect(target.galera.nodes.map((n) => n.address)).to.deep.equal(json.galeraWriterOrder);
        expect(target.galera.bootstrapNode).to.equal("node1");
        expect(target.gluster.volume).to.equal("gfs_v_r5");
        expect(target.gluster.nodes.map((n) => n.name)).to.deep.equal(["node1", "node2", "node3"]);
        expect(target.privateKey).to.match(/PRIVATE KEY-----\n$/);
    });

    it("runs scripts where the program's bootstrap commands run them, with the plan's sync timeout", () => {
        const verify = dev.engine.byName("dev-galera-galera-verify-node1");
        expect(verify.inputs.create).to.include(`'${target.scriptsDir}/galera/verify.sh'`);
        const join = dev.engine.byName("dev-galera-galera-join-node2");
        expect(join.inputs.create).to.include(`GALERA_SYNC_TIMEOUT='${target.galera.syncTimeoutSeconds}'`);
    });

    it("carries each node's instance URN exactly as the engine registered it (what `pulumi up --replace` takes)", () => {
        for (const n of [...target.galera.nodes.map((x) => ["dev-galera", x] as const), ...target.gluster.nodes.map((x) => ["dev-gluster", x] as const)]) {
            const r = dev.engine.byName(`${n[0]}-${n[1].name}`);
            expect(r.type).to.equal("aws:ec2/instance:Instance");
            expect(n[1].urn).to.equal(r.urn);
        }
    });

    it("refuses outputs without `operations`, naming it and the fix", () => {
        const { [OPERATIONS_OUTPUT]: _omit, ...rest } = json;
        void _omit;
        const e = thrown(() => targetFromOutputs("dev", { ...rest, [SSH_KEY_OUTPUT]: KEY }));
        expect(e).to.be.instanceOf(OpsUsageError);
        expect(e.message).to.match(/output operations is missing/).and.match(/pulumi up/);
    });

    it("refuses a masked key, telling to use --show-secrets", () => {
        const e = thrown(() => targetFromOutputs("dev", { ...json, [SSH_KEY_OUTPUT]: "[secret]" }));
        expect(e.message).to.match(/bastionPrivateKey is masked/).and.match(/--show-secrets/);
    });

    it("names every malformed key at once", () => {
        const ops = JSON.parse(JSON.stringify(json[OPERATIONS_OUTPUT]));
        delete ops.galera.nodes[1].address;
        ops.bastion.port = "22";
        ops.gluster.nodes = [];
        const e = thrown(() => targetFromOutputs("dev", { ...json, [OPERATIONS_OUTPUT]: ops }));
        expect(e.message).to.include("operations.galera.nodes[1].address is missing").and.include("operations.bastion.port").and.include("operations.gluster.nodes is empty");
    });

    it("takes backup bucket names when the stack exports them, and names a malformed one", () => {
        expect(target.backupBuckets).to.deep.equal({});
        const ops = { ...(json[OPERATIONS_OUTPUT] as object), backupBuckets: { galera: "dev-backups-1a2b", files: "Bad_Bucket" } };
        expect(thrown(() => targetFromOutputs("dev", { ...json, [OPERATIONS_OUTPUT]: ops })).message).to.match(/operations.backupBuckets.files is "Bad_Bucket"; expected an S3 bucket name/);
        const good = { ...(json[OPERATIONS_OUTPUT] as object), backupBuckets: { galera: "dev-backups-1a2b" } };
        expect(targetFromOutputs("dev", { ...json, [OPERATIONS_OUTPUT]: good }).backupBuckets).to.deep.equal({ galera: "dev-backups-1a2b" });
    });

    it("refuses an outputs version it does not know", () => {
        const ops = { ...(json[OPERATIONS_OUTPUT] as object), version: 2 };
        expect(thrown(() => targetFromOutputs("dev", { ...json, [OPERATIONS_OUTPUT]: ops })).message).to.match(/operations.version is 2, this tool reads version 1/);
    });

    it("finds nodes by tier-name (the alarms' prefix), refuses an ambiguous bare name and an unknown one", () => {
        expect(findNode(target, "gluster-node2").address).to.equal("10.2.16.10");
        expect(thrown(() => findNode(target, "node2")).message).to.match(/several tiers/);
        expect(thrown(() => findNode(target, "galera-node7")).message).to.match(/unknown node "galera-node7": one of galera-node1/);
    });
});
