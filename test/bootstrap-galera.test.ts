import { expect } from "chai";
import { spawnSync } from "child_process";
import * as path from "path";
import { galeraPlan, galeraRollingRestartPlan, haproxyPlan, topoOrder, GaleraPlanSettings, GALERA_SECRETS } from "../components/database/plan";
import { BootstrapPlan, BootstrapStep } from "../components/shared/bootstrapPlan";

const nodes = [
    { name: "db1", address: "10.1.1.10" },
    { name: "db2", address: "10.1.2.10" },
    { name: "db3", address: "10.1.3.10" },
];
const base: GaleraPlanSettings = { clusterName: "owncloud", nodes, appHosts: "10.0.%" };
const byId = (p: BootstrapPlan) => new Map(p.steps.map((s) => [s.id, s]));

/** All transitive dependencies of a step. */
function ancestors(p: BootstrapPlan, id: string): Set<string> {
    const m = byId(p);
    const out = new Set<string>();
    const walk = (i: string) => m.get(i)!.dependsOn.forEach((d) => { if (!out.has(d)) { out.add(d); walk(d); } });
    walk(id);
    return out;
}

describe("galeraPlan", () => {
    const plan = galeraPlan(base);

    it("is a valid DAG with unique ids and known hosts", () => {
        expect(() => topoOrder(plan)).not.to.throw();
        for (const s of plan.steps) expect(nodes.map((n) => n.name)).to.include(s.host);
    });

    it("installs and configures every node without ordering between nodes", () => {
        for (const n of nodes) {
            const m = byId(plan);
            expect(m.get(`galera-install-${n.name}`)!.dependsOn).to.deep.equal([]);
            expect(m.get(`galera-configure-${n.name}`)!.dependsOn).to.deep.equal([`galera-install-${n.name}`]);
        }
    });

    it("bootstraps only the designated node, with --wsrep-new-cluster mode, after its configuration", () => {
        const boots = plan.steps.filter((s) => s.env.GALERA_MODE === "bootstrap");
        expect(boots.map((s) => s.host)).to.deep.equal(["db1"]);
        expect(boots[0].env.GALERA_PEERS).to.equal("10.1.2.10,10.1.3.10");
        const other = galeraPlan({ ...base, bootstrapNode: "db2" });
        expect(other.steps.filter((s) => s.env.GALERA_MODE === "bootstrap").map((s) => s.host)).to.deep.equal(["db2"]);
        expect(other.steps.filter((s) => s.env.GALERA_MODE === "join").map((s) => s.host)).to.deep.equal(["db1", "db3"]);
    });

    it("creates users once, on the bootstrap node, before any join", () => {
        const users = plan.steps.filter((s) => s.script === "galera/users.sh");
        expect(users).to.have.length(1);
        expect(users[0].host).to.equal("db1");
        for (const j of plan.steps.filter((s) => s.env.GALERA_MODE === "join")) expect(ancestors(plan, j.id)).to.include("galera-users");
    });

    it("joins the other nodes one at a time, each after the previous join", () => {
        const joins = plan.steps.filter((s) => s.env.GALERA_MODE === "join");
        expect(joins.map((s) => s.host)).to.deep.equal(["db2", "db3"]);
        expect(joins[1].dependsOn).to.include(joins[0].id);
        // no two joins can run concurrently: every pair is ordered
        for (let i = 0; i < joins.length; i++) for (let k = i + 1; k < joins.length; k++) expect(ancestors(plan, joins[k].id)).to.include(joins[i].id);
        for (const j of joins) expect(ancestors(plan, j.id)).to.include("galera-bootstrap-db1");
    });

    it("prefers non-writer SST donors (writer last, then any)", () => {
        const m = byId(plan);
        expect(m.get("galera-configure-db3")!.env.GALERA_SST_DONORS).to.equal("db2,db1,");
        expect(m.get("galera-configure-db1")!.env.GALERA_SST_DONORS).to.equal("db3,db2,");
    });

    it("verifies every node after all joins", () => {
        const verifies = plan.steps.filter((s) => s.script === "galera/verify.sh");
        expect(verifies.map((s) => s.host).sort()).to.deep.equal(["db1", "db2", "db3"]);
        for (const v of verifies) {
            const a = ancestors(plan, v.id);
            for (const j of plan.steps.filter((s) => s.env.GALERA_MODE === "join")) expect(a).to.include(j.id);
            expect(v.env.GALERA_EXPECTED_SIZE).to.equal("3");
        }
    });

    it("passes secrets only by name, never in env", () => {
        const all = Object.values(GALERA_SECRETS);
        for (const s of plan.steps) {
            for (const [k, v] of Object.entries(s.env)) {
                expect(all).not.to.include(k);
                expect(v).not.to.match(/password/i);
            }
            for (const sec of s.secrets) expect(all).to.include(sec);
        }
        expect(byId(plan).get("galera-users")!.secrets).to.have.members(all);
        expect(byId(plan).get("galera-configure-db2")!.secrets).to.have.members([GALERA_SECRETS.sst, GALERA_SECRETS.health]);
    });

    it("every script it names exists", () => {
        for (const s of plan.steps) {
            const f = path.join(__dirname, "..", "scripts", "node", s.script);
            expect(spawnSync("test", ["-f", f]).status, f).to.equal(0);
        }
    });

    it("scales to 5 nodes with 4 sequential joins", () => {
        const five = galeraPlan({ ...base, nodes: [...nodes, { name: "db4", address: "10.1.1.11" }, { name: "db5", address: "10.1.2.11" }] });
        const joins = five.steps.filter((s: BootstrapStep) => s.env.GALERA_MODE === "join");
        expect(joins).to.have.length(4);
        for (let i = 1; i < joins.length; i++) expect(joins[i].dependsOn).to.include(joins[i - 1].id);
    });

    describe("validation", () => {
        it("refuses an even node count", () => {
            expect(() => galeraPlan({ ...base, nodes: [...nodes, { name: "db4", address: "10.1.1.11" }] })).to.throw(/even node count/);
        });
        it("refuses fewer than 3 nodes", () => {
            expect(() => galeraPlan({ ...base, nodes: nodes.slice(0, 1) })).to.throw(/at least 3/);
        });
        it("refuses a bootstrap node that is not a member", () => {
            expect(() => galeraPlan({ ...base, bootstrapNode: "db9" })).to.throw(/bootstrapNode/);
        });
        it("refuses duplicate names and addresses, and bad addresses", () => {
            expect(() => galeraPlan({ ...base, nodes: [nodes[0], nodes[0], nodes[1]] })).to.throw(/duplicate node name/);
            expect(() => galeraPlan({ ...base, nodes: [nodes[0], { name: "x1", address: "10.1.1.10" }, nodes[1]] })).to.throw(/duplicate node address/);
            expect(() => galeraPlan({ ...base, nodes: [nodes[0], { name: "x1", address: "10.1.1.300" }, nodes[1]] })).to.throw(/not an IPv4/);
        });
        it("refuses unsafe identifiers", () => {
            expect(() => galeraPlan({ ...base, appUser: "own'cloud" })).to.throw(/appUser/);
            expect(() => galeraPlan({ ...base, clusterName: "a b" })).to.throw(/clusterName/);
            expect(() => galeraPlan({ ...base, providerOptions: 'x"y' })).to.throw(/providerOptions/);
        });
    });
});

describe("galeraRollingRestartPlan", () => {
    it("restarts one node at a time, the writer (first node) last, then verifies all", () => {
        const p = galeraRollingRestartPlan(base);
        expect(() => topoOrder(p)).not.to.throw();
        const restarts = p.steps.filter((s) => s.script === "galera/restart.sh");
        expect(restarts.map((s) => s.host)).to.deep.equal(["db2", "db3", "db1"]);
        for (let i = 1; i < restarts.length; i++) expect(restarts[i].dependsOn).to.deep.equal([restarts[i - 1].id]);
        for (const v of p.steps.filter((s) => s.script === "galera/verify.sh")) expect(v.dependsOn).to.deep.equal(["galera-restart-db1"]);
    });
    it("refuses an even node count too", () => {
        expect(() => galeraRollingRestartPlan({ ...base, nodes: [...nodes, { name: "db4", address: "10.1.1.11" }] })).to.throw(/even/);
    });
});

describe("haproxyPlan", () => {
    const plan = haproxyPlan({ webHosts: ["web1", "web2", "web3"], galeraNodes: nodes });
    it("gives every web host the identical server list, first node active", () => {
        const lists = plan.steps.map((s) => s.env.GALERA_BACKENDS);
        expect(new Set(lists).size).to.equal(1);
        expect(lists[0]).to.equal("db1=10.1.1.10,db2=10.1.2.10,db3=10.1.3.10");
        expect(plan.steps.map((s) => s.host)).to.deep.equal(["web1", "web2", "web3"]);
        for (const s of plan.steps) expect(s.env.HAPROXY_LISTEN).to.equal("127.0.0.1:3306");
    });
    it("refuses duplicates and an empty Galera list", () => {
        expect(() => haproxyPlan({ webHosts: ["w", "w"], galeraNodes: nodes })).to.throw(/duplicate/);
        expect(() => haproxyPlan({ webHosts: ["w"], galeraNodes: [] })).to.throw(/at least one/);
    });
});

