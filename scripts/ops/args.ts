/** Command line of `npm run ops`: pure, so its errors are unit-tested. */
import { restoreTimeArg } from "./commands";
import { OpsUsageError } from "./target";

export const USAGE = `usage: npm run ops -- <stack> <command> [options]

Reaches the Galera and GlusterFS nodes over SSH through the stack's bastion, with the stack's
outputs (\`pulumi stack output --json --show-secrets --stack <stack>\`), and runs the node scripts
the program staged there. The stack \`lab\` is the local lab (\`npm run lab -- up\` writes its outputs).

commands:
  status                  one line per node (tier, node, address, state); exit 1 when anything is degraded
  galera-recover          full-cluster Galera recovery: report.sh on every node, decide.sh, then start
                          exactly the node it names and join the others one at a time; refuses (exit 3)
                          and says what to fix when no choice is provably safe
  backup                  run the backup script on every Galera node, then every GlusterFS node; the
                          scripts choose the node that takes it (never the writer while another is up);
                          prints who took it and where it went
  replace-node NODE       checks that the rest of NODE's cluster is healthy and keeps quorum without
                          it, then prints the \`pulumi up --replace\` command to run (it runs nothing);
                          NODE is galera-node1, gluster-node2… (the alarms' prefix)
  replace-node NODE --verify   after that \`pulumi up\`: NODE's whole cluster healthy again
  restore [--to TIME]     checks that a complete database backup and a file snapshot exist before TIME
                          (UTC, 2026-11-29T14:05:00Z; default: now) and prints the steps; changes nothing
  restore [--to TIME] --yes    runs them (ownCloud in maintenance mode first): ships the last binary
                          logs, stops Galera, restores the bootstrap node's datadir to TIME (backup +
                          binary logs), the others rejoin by SST, then restores the files

options:
  --outputs FILE          read the outputs JSON from FILE instead of running pulumi
  --known-hosts FILE      SSH known_hosts to use (default: a per-stack file, first use accepts and
                          records each host's key, a changed key is refused)`;

export type OpsCommand =
    | { kind: "status" }
    | { kind: "galera-recover" }
    | { kind: "backup" }
    | { kind: "replace-node"; node: string; verify: boolean }
    | { kind: "restore"; to: string; execute: boolean };

export interface OpsArgs {
    stack: string;
    command: OpsCommand;
    outputsFile?: string;
    knownHostsFile?: string;
}

const STACK = /^[A-Za-z0-9_.-]{1,100}$/;

/** Parses argv (after `npm run ops --`). Throws OpsUsageError naming the problem; `help` when asked. */
export function parseArgs(argv: string[]): OpsArgs | "help" {
    if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) return "help";
    const positional: string[] = [];
    let outputsFile: string | undefined;
    let knownHostsFile: string | undefined;
    let verify = false;
    let yes = false;
    let to: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new OpsUsageError(`${a} needs a value`);
            return v;
        };
        if (a === "--outputs") outputsFile = value();
        else if (a === "--known-hosts") knownHostsFile = value();
        else if (a === "--verify") verify = true;
        else if (a === "--yes") yes = true;
        else if (a === "--to") to = value();
        else if (a.startsWith("-")) throw new OpsUsageError(`unknown option ${a}`);
        else positional.push(a);
    }
    const [stack, name, ...rest] = positional;
    if (!stack || !STACK.test(stack)) throw new OpsUsageError(`give the stack name first (e.g. dev), got ${JSON.stringify(stack ?? "")}`);
    if (!name) throw new OpsUsageError("give a command: status, galera-recover, backup, replace-node NODE or restore");
    const noMore = () => {
        if (rest.length > 0) throw new OpsUsageError(`${name} takes no argument (got ${rest.join(" ")})`);
    };
    if (verify && name !== "replace-node") throw new OpsUsageError("--verify belongs to replace-node");
    if ((yes || to !== undefined) && name !== "restore") throw new OpsUsageError(`${yes ? "--yes" : "--to"} belongs to restore`);
    let command: OpsCommand;
    switch (name) {
        case "status":
        case "galera-recover":
        case "backup":
            noMore();
            command = { kind: name };
            break;
        case "replace-node":
            if (rest.length !== 1) throw new OpsUsageError("replace-node takes one node, e.g. replace-node galera-node1");
            command = { kind: "replace-node", node: rest[0], verify };
            break;
        case "restore":
            noMore();
            command = { kind: "restore", to: restoreTimeArg(to), execute: yes };
            break;
        default:
            throw new OpsUsageError(`unknown command ${name}: one of status, galera-recover, backup, replace-node, restore`);
    }
    return { stack, command, outputsFile, knownHostsFile };
}
