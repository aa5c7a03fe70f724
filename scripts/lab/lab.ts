/**
 * Local HA lab: `npm run lab -- up | status [--json] | exec HOST -- CMD… | test [--json] [SCENARIO…] | bench [--json] | down`
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { HOSTS, Lab, log, STATE } from "./lab-core";
import { DB_NODES, WEB_HOSTS, galeraNodeStatus, haproxyWriter } from "./galera-lab";
import { WebBoot, bootWebTier } from "./web-boot";
import { glusterStatus } from "./gluster-lab";
import { writeLabOpsOutputs } from "./lab-ops";

const USAGE = `usage: npm run lab -- <verb>
  up                       record the lab stack, boot its hosts, replay its commands; web hosts: HAProxy and the volume's mount
  status [--json]          hosts, Galera cluster, HAProxy writer per web host, Gluster volume
  exec HOST -- CMD…        run CMD inside HOST
  test [--json] [SCENARIO…] fault scenarios (default: all)
  bench [--json] [galera|gluster]  benchmarks (figures only)
  down                     remove everything the lab created`;

async function status(lab: Lab, json: boolean) {
    const hosts = await Promise.all(
        HOSTS.map(async (h) => ({ host: h.name, ip: h.ip, up: lab.isUp() && (await lab.svc(h.name, "status", "ssh")).code === 0 })),
    );
    const galera = lab.isUp() ? await Promise.all(DB_NODES.map((n) => galeraNodeStatus(lab, n.name))) : [];
    const writers = lab.isUp() ? await Promise.all(WEB_HOSTS.map(async (w) => ({ web: w, writer: await haproxyWriter(lab, w) }))) : [];
    let gluster: unknown = "n/a";
    if (lab.isUp()) {
        try { gluster = await glusterStatus(lab); } catch (e) { gluster = `error: ${(e as Error).message}`; }
    }
    const st = { hosts, galera, haproxy: writers, gluster };
    if (json) { console.log(JSON.stringify(st, null, 2)); return; }
    console.log("hosts:   " + hosts.map((h) => `${h.host}(${h.ip}) ${h.up ? "up" : "DOWN"}`).join(", "));
    for (const n of galera) {
        console.log(`galera:  ${n.node} ${n.running ? `${n.clusterStatus} ${n.state} size=${n.clusterSize} health=${n.health ?? "-"}` : "stopped"}`);
    }
    for (const w of writers) console.log(`haproxy: ${w.web} writes to ${w.writer}`);
    console.log(`gluster: ${typeof gluster === "string" ? gluster : JSON.stringify(gluster)}`);
}

async function main() {
    const argv = process.argv.slice(2);
    const verb = argv[0];
    const json = argv.includes("--json");
    const lab = new Lab();
    switch (verb) {
        case "up": {
            const t0 = Date.now();
            // the VPC's resolver exists before its instances boot
            await lab.up({ beforeBoot: (rec) => new WebBoot(lab, rec).startResolver() });
            writeLabOpsOutputs();
            await bootWebTier(lab);
            log(`up done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
            break;
        }
        case "status":
            await status(lab, json);
            break;
        case "exec": {
            const i = argv.indexOf("--");
            const host = argv[1];
            const cmd = i >= 0 ? argv.slice(i + 1) : argv.slice(2);
            if (!host) throw new Error("usage: exec HOST -- CMD…");
            if (!lab.isUp()) throw new Error("lab is not up");
            const r = spawnSync(lab.nsenterArgs(host)[0], [...lab.nsenterArgs(host).slice(1), ...(cmd.length ? cmd : ["bash"])], { stdio: "inherit" });
            process.exitCode = r.status ?? 1;
            break;
        }
        case "test":
        case "bench": {
            if (!lab.isUp()) throw new Error("lab is not up: npm run lab -- up");
            const names = argv.slice(1).filter((a) => !a.startsWith("--"));
            const sc = await import("./scenarios/index");
            const bn = await import("./bench");
            const results: { ok: boolean }[] = verb === "test" ? await sc.runScenarios(lab, names) : await bn.runBench(lab, names);
            const mod = { printResults: (r: unknown) => (verb === "test" ? sc.printResults(r as never) : bn.printResults(r as never)) };
            fs.mkdirSync(path.join(STATE, "results"), { recursive: true });
            fs.writeFileSync(path.join(STATE, "results", `${verb}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify(results, null, 2));
            if (json) console.log(JSON.stringify(results, null, 2));
            else mod.printResults(results);
            if (verb === "test" && !results.every((r: { ok: boolean }) => r.ok)) process.exitCode = 1;
            break;
        }
        case "down":
            await lab.down();
            break;
        default:
            console.error(USAGE);
            process.exitCode = verb ? 2 : 0;
    }
}

main().catch((e) => {
    console.error(`lab: ERROR: ${(e as Error).message}`);
    process.exit(1);
});
