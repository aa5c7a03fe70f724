import { expect } from "chai";
import { decideOnce, GaleraRecoveryTarget, RECOVERY_BOUNDS, RecoveryRefused, recoverGalera } from "../scripts/ops/galera-recovery";
import { OpsNode } from "../scripts/ops/target";
import { NodeRunner, RunResult, ScriptRun } from "../scripts/ops/transport";

/**
 * The shared recovery procedure (scripts/ops/galera-recovery.ts, used by `npm run ops -- <stack>
 * galera-recover` and by the lab) over a fake transport: a table of node reports → what it runs
 * where, in which order. decide.sh is the real script (run locally, as the CLI does).
 */
const U = "7d733754-e5a4-11f1-a554-3f3c39c8d2d0";
const NODES: OpsNode[] = ["db1", "db2", "db3"].map((name, i) => ({ tier: "galera", name, address: `10.1.${i}.10`, urn: `urn:pulumi:dev::p::t::${name}` }));
const TARGET: GaleraRecoveryTarget = { nodes: NODES, bootstrapNode: "db1", syncTimeoutSeconds: 900 };

type Fields = Record<string, string | number>;
/** A stopped node that crashed with data of cluster U and a recovered position. */
const crashed = (node: string, o: Fields = {}) =>
    Object.entries({
        node, running: 0, status: "-", state: "-", uuid: U, seqno: -1, safe: 0, recovered: 10, gvwstate: 0,
        datadir: "data", recover: "ok", sst: 0, cluster: U, ...o,
    }).map(([k, v]) => `${k}=${v}`).join(" ");

interface Call { node: string; script: string; env: Record<string, string> }

/**
 * Answers report.sh from `reports` (a node → line, or an exit code for an unreachable node), records
 * every other script; `onRun` may change the reports (a started node now runs) or fail a step.
 */
class FakeRunner implements NodeRunner {
    calls: Call[] = [];
    constructor(
        public reports: Record<string, string | number>,
        private readonly onRun: (c: Call, f: FakeRunner) => RunResult | void = () => undefined,
    ) {}
    async runScript(node: OpsNode, run: ScriptRun): Promise<RunResult> {
        expect(run.timeoutSeconds, `${run.script} bounded`).to.be.a("number").and.greaterThan(0);
        const call = { node: node.name, script: run.script, env: run.env ?? {} };
        this.calls.push(call);
        if (run.script === "galera/report.sh") {
            const r = this.reports[node.name];
            return typeof r === "number" ? { code: r, stdout: "", stderr: "ssh: connect to host: Connection timed out" } : { code: 0, stdout: r + "\n", stderr: "" };
        }
        return this.onRun(call, this) ?? { code: 0, stdout: "", stderr: "" };
    }
    /** Calls other than report.sh, as "node script MODE". */
    actions(): string[] {
        return this.calls
            .filter((c) => c.script !== "galera/report.sh")
            .map((c) => [c.node, c.script, c.env.GALERA_MODE, c.env.GALERA_FORCE_BOOTSTRAP ? "force" : ""].filter(Boolean).join(" "));
    }
}

const io = (runner: NodeRunner) => ({ runner, sleep: async () => undefined });

describe("ops galera-recover: the shared recovery procedure", () => {
    it("saved views everywhere: starts all nodes together for pc.recovery, then verifies every node", async () => {
        const f = new FakeRunner({ db1: crashed("db1", { gvwstate: 1 }), db2: crashed("db2", { gvwstate: 1 }), db3: crashed("db3", { gvwstate: 1 }) });
        const out = await recoverGalera(TARGET, io(f));
        expect(out.notes[0]).to.equal("decision: pc-recovery");
        expect(f.actions()).to.deep.equal([
            "db1 galera/start.sh join", "db2 galera/start.sh join", "db3 galera/start.sh join",
            "db1 galera/verify.sh", "db2 galera/verify.sh", "db3 galera/verify.sh",
        ]);
        expect(f.calls.find((c) => c.script === "galera/verify.sh")!.env.GALERA_EXPECTED_SIZE).to.equal("3");
    });

    it("bootstraps exactly the node decide.sh names (highest seqno), with force, then joins the others one at a time in plan order", async () => {
        const f = new FakeRunner({ db1: crashed("db1", { recovered: 10 }), db2: crashed("db2", { recovered: 12 }), db3: crashed("db3", { recovered: 9 }) });
        const out = await recoverGalera(TARGET, io(f));
        expect(out.notes[0]).to.equal("decision: bootstrap-force db2 highest-seqno=12");
        expect(f.actions()).to.deep.equal([
            "db2 galera/start.sh bootstrap force", "db1 galera/start.sh join", "db3 galera/start.sh join",
            "db1 galera/verify.sh", "db2 galera/verify.sh", "db3 galera/verify.sh",
        ]);
        const boot = f.calls.find((c) => c.env.GALERA_MODE === "bootstrap")!;
        // Peers are the other nodes' addresses; the plan's sync timeout is passed on.
        expect(boot.env.GALERA_PEERS).to.equal("10.1.0.10,10.1.2.10");
        expect(boot.env.GALERA_SYNC_TIMEOUT).to.equal("900");
    });

    it("a running Primary: joins the other nodes, never starts or bootstraps the Primary one", async () => {
        const f = new FakeRunner({ db1: crashed("db1"), db2: crashed("db2", { running: 1, status: "Primary", state: 4 }), db3: crashed("db3") });
        await recoverGalera(TARGET, io(f));
        expect(f.actions().filter((a) => a.includes("start.sh"))).to.deep.equal(["db1 galera/start.sh join", "db3 galera/start.sh join"]);
    });

    it("refuses and starts nothing when a node's position cannot be recovered; the refusal names the node and the fix", async () => {
        const f = new FakeRunner({ db1: crashed("db1", { recovered: 10 }), db2: crashed("db2", { recovered: 12 }), db3: crashed("db3", { recover: "failed", recovered: "-" }) });
        let err: unknown;
        try {
            await recoverGalera(TARGET, io(f));
        } catch (e) {
            err = e;
        }
        expect(err).to.be.instanceOf(RecoveryRefused);
        expect((err as Error).message).to.match(/db3: mariadbd --wsrep-recover failed/).and.match(/run galera-recover again/);
        expect(f.actions()).to.deep.equal([]);
    });

    it("an unreachable node is a missing report, never an absent one: refuses naming it", async () => {
        const f = new FakeRunner({ db1: crashed("db1", { recovered: 10 }), db2: crashed("db2", { recovered: 12 }), db3: 255 });
        const round = await decideOnce(TARGET, io(f), true);
        expect(round.decision).to.match(/^refuse no report from db3/);
        expect(round.failures.map((x) => x.node)).to.deep.equal(["db3"]);
        let err: unknown;
        try {
            await recoverGalera(TARGET, io(f));
        } catch (e) {
            err = e;
        }
        expect(err).to.be.instanceOf(RecoveryRefused);
        expect(f.actions()).to.deep.equal([]);
    });

    it("pc.recovery that forms no Primary: stops every node, decides again without it, bootstraps the highest seqno", async () => {
        const f = new FakeRunner(
            { db1: crashed("db1", { gvwstate: 1, recovered: 20 }), db2: crashed("db2", { gvwstate: 1, recovered: 21 }), db3: crashed("db3", { gvwstate: 1, recovered: 19 }) },
            (c) => (c.script === "galera/start.sh" && c.env.GALERA_SYNC_TIMEOUT !== "900" ? { code: 1, stdout: "", stderr: "node did not reach Synced" } : undefined),
        );
        const out = await recoverGalera(TARGET, io(f));
        expect(out.notes.filter((n) => n.startsWith("decision:"))).to.deep.equal(["decision: pc-recovery", "decision: bootstrap-force db2 highest-seqno=21"]);
        const acts = f.actions();
        expect(acts.slice(3, 6)).to.deep.equal(["db1 galera/stop.sh", "db2 galera/stop.sh", "db3 galera/stop.sh"]);
        expect(acts[6]).to.equal("db2 galera/start.sh bootstrap force");
    });

    it("every node restarted by systemd and running without a Primary: waits for pc.recovery a bounded time, then stops every node and bootstraps the highest position", async () => {
        // After a full crash Debian's mariadb.service (Restart=on-abort) starts each node again; without saved views they wait for a Primary forever.
        const running = (node: string) => crashed(node, { running: 1, status: "non-Primary", state: 0, gvwstate: 0 });
        const positions: Record<string, number> = { db1: 30, db2: 28, db3: 31 };
        const f = new FakeRunner({ db1: running("db1"), db2: running("db2"), db3: running("db3") }, (c, fr) => {
            if (c.script === "galera/stop.sh") fr.reports[c.node] = crashed(c.node, { recovered: positions[c.node] });
        });
        const out = await recoverGalera(TARGET, io(f));
        const decisions = out.notes.filter((n) => n.startsWith("decision:"));
        expect(decisions.slice(0, -1).every((d) => d.startsWith("decision: wait "))).to.equal(true);
        expect(decisions.length - 1).to.equal(RECOVERY_BOUNDS.pcRecoverySeconds / (RECOVERY_BOUNDS.waitMs / 1000) + 1);
        expect(decisions[decisions.length - 1]).to.equal("decision: bootstrap-force db3 highest-seqno=31");
        expect(f.actions().slice(0, 4)).to.deep.equal(["db1 galera/stop.sh", "db2 galera/stop.sh", "db3 galera/stop.sh", "db3 galera/start.sh bootstrap force"]);
    });

    it("after a full crash some nodes run without a Primary and one is down (systemd restarts them in turns): the same bounded wait, then stop every node and bootstrap the highest", async () => {
        const running = (node: string) => crashed(node, { running: 1, status: "non-Primary", state: 0 });
        const positions: Record<string, number> = { db1: 40, db2: 42, db3: 35 };
        const f = new FakeRunner({ db1: running("db1"), db2: running("db2"), db3: crashed("db3", { recovered: 35 }) }, (c, fr) => {
            if (c.script === "galera/stop.sh") fr.reports[c.node] = crashed(c.node, { recovered: positions[c.node] });
        });
        const out = await recoverGalera(TARGET, io(f));
        const decisions = out.notes.filter((n) => n.startsWith("decision:"));
        expect(decisions[0]).to.match(/^decision: refuse node\(s\) db1 db2 run without a Primary Component/);
        expect(decisions[decisions.length - 1]).to.equal("decision: bootstrap-force db2 highest-seqno=42");
        expect(f.actions().slice(0, 4)).to.deep.equal(["db1 galera/stop.sh", "db2 galera/stop.sh", "db3 galera/stop.sh", "db2 galera/start.sh bootstrap force"]);
    });

    it("a node that runs without a Primary while another one is Primary is never stopped: joins", async () => {
        const f = new FakeRunner({ db1: crashed("db1", { running: 1, status: "Primary", state: 4 }), db2: crashed("db2", { running: 1, status: "non-Primary", state: 0 }), db3: crashed("db3") });
        await recoverGalera(TARGET, io(f));
        expect(f.actions().some((a) => a.includes("stop.sh"))).to.equal(false);
    });

    it("a failing start step stops the procedure with the node and its output", async () => {
        const f = new FakeRunner(
            { db1: crashed("db1", { recovered: 12 }), db2: crashed("db2", { recovered: 10 }), db3: crashed("db3", { recovered: 9 }) },
            (c) => (c.node === "db2" && c.script === "galera/start.sh" ? { code: 1, stdout: "", stderr: "SST failed: donor refused" } : undefined),
        );
        let err: unknown;
        try {
            await recoverGalera(TARGET, io(f));
        } catch (e) {
            err = e;
        }
        expect((err as Error).message).to.match(/galera\/start.sh on db2 failed \(exit 1\)/).and.match(/SST failed: donor refused/);
        // db3 is never started after db2 failed: joins are strictly one at a time.
        expect(f.actions()).to.deep.equal(["db1 galera/start.sh bootstrap force", "db2 galera/start.sh join"]);
    });
});
