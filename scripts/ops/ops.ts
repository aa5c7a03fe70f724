/**
 * `npm run ops -- <stack> status | galera-recover | backup | replace-node NODE [--verify] | restore [--to TIME] [--yes]`: the
 * operators' runbook as commands (see USAGE in args.ts and the README's "Operating it").
 * Exit status: 0 done/healthy, 1 degraded or a step failed, 2 bad arguments or outputs, 3 refused.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { LAB_KNOWN_HOSTS_FILE, OPS_OUTPUTS_FILE } from "../lab/lab-core";
import { OpsArgs, parseArgs, USAGE } from "./args";
import { backup, formatState, replacePreconditions, restore, status, verifyReplaced } from "./commands";
import { RecoveryRefused, recoverGalera } from "./galera-recovery";
import { findNode, OpsTarget, OpsUsageError, targetFromOutputs } from "./target";
import { defaultKnownHostsFile, SshRunner } from "./transport";

/** The local lab's stack name: its outputs and host keys are files `npm run lab -- up` writes. */
export const LAB_STACK = "lab";

const print = (line: string) => process.stdout.write(line + "\n");
const note = (line: string) => process.stderr.write(`ops: ${line}\n`);

/** The outputs JSON: from --outputs, the lab's file, or `pulumi stack output` (its stdout holds the secret key: never logged). */
export function readOutputs(args: OpsArgs): unknown {
    const file = args.outputsFile ?? (args.stack === LAB_STACK ? OPS_OUTPUTS_FILE : undefined);
    let text: string;
    if (file) {
        if (!fs.existsSync(file)) {
            throw new OpsUsageError(args.stack === LAB_STACK && !args.outputsFile ? `${file} does not exist: bring the lab up first (npm run lab -- up)` : `--outputs ${file}: no such file`);
        }
        text = fs.readFileSync(file, "utf8");
    } else {
        const r = spawnSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", args.stack], { encoding: "utf8", timeout: 120_000, maxBuffer: 16 << 20 });
        if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
            throw new OpsUsageError("the pulumi CLI is not installed here: install it and log in to the stack's backend, or pass --outputs FILE");
        }
        if (r.status !== 0) throw new OpsUsageError(`pulumi stack output --stack ${args.stack} failed (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" ")}`);
        text = r.stdout;
    }
    try {
        return JSON.parse(text);
    } catch {
        throw new OpsUsageError(`the outputs of stack ${args.stack} are not JSON${file ? ` (${file})` : ""}`);
    }
}

async function run(args: OpsArgs, target: OpsTarget, runner: SshRunner): Promise<number> {
    const c = args.command;
    switch (c.kind) {
        case "status":
            return status(target, runner, print);
        case "galera-recover": {
            try {
                const out = await recoverGalera(
                    { nodes: target.galera.nodes, bootstrapNode: target.galera.bootstrapNode, syncTimeoutSeconds: target.galera.syncTimeoutSeconds },
                    { runner, log: note },
                );
                for (const n of out.notes) print(n);
                return 0;
            } catch (e) {
                if (e instanceof RecoveryRefused) {
                    print(`refused: ${e.message}`);
                    return 3;
                }
                throw e;
            }
        }
        case "backup": {
            const taken = await backup(target, runner, print);
            print(`backup done: ${taken.map((b) => `${b.tier} on ${b.node}`).join(", ")}`);
            return 0;
        }
        case "restore":
            return restore(target, runner, print, { to: c.to, execute: c.execute });
        case "replace-node": {
            const node = findNode(target, c.node);
            if (c.verify) {
                const states = await verifyReplaced(target, runner, node);
                for (const s of states) print(formatState(s));
                const bad = states.some((s) => s.problems.length > 0);
                print(bad ? `${node.tier} is not healthy yet: ${node.tier === "gluster" ? "a full heal takes a while, run --verify again" : "look at the node's MariaDB log"}` : `${node.tier}-${node.name} replaced: its cluster is healthy`);
                return bad ? 1 : 0;
            }
            const plan = await replacePreconditions(target, runner, node);
            if (plan.blockers.length > 0) {
                print(`do not replace ${node.tier}-${node.name} now:`);
                for (const b of plan.blockers) print(`  - ${b}`);
                print("bring those nodes back first (npm run ops -- <stack> status), then ask again.");
                return 3;
            }
            print(`the rest of ${node.tier} is healthy and ${node.tier === "galera" ? "keeps quorum" : "keeps the volume's redundancy"} without ${node.name}. This tool replaces nothing itself; run:`);
            print("");
            print(`  ${plan.command}`);
            print("");
            print(`Pulumi deletes the instance first (it keeps its fixed address), creates a new one attached to the same data volume and re-runs ${node.name}'s bootstrap steps (their triggers carry the instance ID).`);
            if (node.tier === "galera") {
                print("The Galera steps rejoin it by IST or SST into the recorded cluster; they never start a new one (start.sh's bootstrap guard).");
            } else {
                print("The Gluster steps give the new instance the node's old peer identity (asked of a running peer), reset its brick and run a full heal (gluster/rejoin.sh); the step waits for the rebuild, and a second pulumi up waits again if it outlasts the bound.");
            }
            print(`Then forget its old host key (ssh-keygen -R ${node.address} -f ${args.knownHostsFile ?? "<known_hosts>"}) and check: npm run ops -- ${target.stack} replace-node ${node.tier}-${node.name} --verify`);
            return 0;
        }
    }
}

async function main(): Promise<number> {
    let args: OpsArgs | "help";
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        if (e instanceof OpsUsageError) {
            console.error(`ops: ${e.message}\n\n${USAGE}`);
            return 2;
        }
        throw e;
    }
    if (args === "help") {
        print(USAGE);
        return 0;
    }
    const target = targetFromOutputs(args.stack, readOutputs(args));
    const knownHosts = args.knownHostsFile ?? (args.stack === LAB_STACK ? LAB_KNOWN_HOSTS_FILE : defaultKnownHostsFile(args.stack));
    if (!args.knownHostsFile) args = { ...args, knownHostsFile: knownHosts };
    const runner = new SshRunner(target, knownHosts);
    try {
        return await run(args, target, runner);
    } finally {
        runner.close();
    }
}

// Ctrl-C / TERM: exit through process.exit so the key's temporary directory is removed.
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));
main().then(
    (code) => process.exit(code),
    (e) => {
        console.error(`ops: ${e instanceof OpsUsageError ? "" : "ERROR: "}${(e as Error).message}`);
        process.exit(e instanceof OpsUsageError ? 2 : 1);
    },
);
