import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BootstrapPlan, BootstrapStep } from "./bootstrap/plan";

/**
 * Turns a bootstrap plan into `@pulumi/command` resources: per host one `CopyToRemote` of the
 * scripts, per step one `remote.Command` through the bastion, ordered by the plan's `dependsOn`.
 * The local lab executes the same plans over SSH (scripts/lab), so what it proves is what runs here.
 */

/** The node scripts: beside components/ in the repo, two levels up when running from the build (bin/components). */
export const SCRIPTS_DIR = [path.resolve(__dirname, "..", "scripts"), path.resolve(__dirname, "..", "..", "scripts")].find((d) =>
    fs.existsSync(path.join(d, "lib", "common.sh")),
) ?? path.resolve(__dirname, "..", "scripts");

/** Where the scripts land on a node (the login user's home: no world-writable directory involved). */
export function remoteScriptsDir(sshUser: string): string {
    return `/home/${sshUser}/owncloud-ha/scripts`;
}

/** Every file below scripts/ that runs on nodes (the lab runner stays on the operator's machine). */
export function nodeScriptFiles(root = SCRIPTS_DIR): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const full = path.join(dir, entry.name);
            const rel = path.relative(root, full);
            if (entry.isDirectory()) {
                if (rel !== "lab") walk(full);
            } else if (entry.name.endsWith(".sh") || entry.name.endsWith(".cfg") || entry.name.endsWith(".tmpl")) {
                out.push(rel);
            }
        }
    };
    walk(root);
    return out;
}

export type FileReader = (relPath: string) => string;
const readScript: FileReader = (rel) => fs.readFileSync(path.join(SCRIPTS_DIR, rel), "utf8");

function sha256(parts: string[]): string {
    const h = crypto.createHash("sha256");
    for (const p of parts) h.update(`${p.length}:${p}`);
    return h.digest("hex");
}

/** Hash of the whole node-side script tree: the copy is refreshed whenever any script changes. */
export function scriptsTreeHash(files = nodeScriptFiles(), read: FileReader = readScript): string {
    return sha256(files.flatMap((f) => [f, read(f)]));
}

/**
 * What a step's re-run depends on: its own script, the libraries it can source (scripts/lib and
 * the lib.sh beside it), its non-secret environment and the names of its secrets. Changing anything
 * else leaves the step alone, so a settings change re-runs exactly the steps it concerns.
 */
export function stepTrigger(step: BootstrapStep, files = nodeScriptFiles(), read: FileReader = readScript): string {
    const dir = path.posix.dirname(step.script);
    const relevant = files.filter((f) => f === step.script || f.startsWith("lib/") || f === `${dir}/lib.sh`);
    if (!relevant.includes(step.script)) {
        throw new Error(`bootstrap step ${step.id}: script scripts/${step.script} does not exist`);
    }
    const env = Object.keys(step.env)
        .sort()
        .map((k) => `${k}=${step.env[k]}`);
    return sha256([...relevant.flatMap((f) => [f, read(f)]), ...env, `secrets:${[...step.secrets].sort().join(",")}`]);
}

/** Single-quotes a value for the remote shell. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The remote command line of a step: non-secret environment inline, the script run as root. Secrets
 * never appear here; they go to the script's stdin.
 */
export function stepCommandLine(step: BootstrapStep, sshUser: string, env: Record<string, string> = step.env): string {
    const assignments = Object.keys(env)
        .sort()
        .map((k) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`bootstrap step ${step.id}: bad variable name ${k}`);
            return `${k}=${shellQuote(env[k])}`;
        });
    return ["sudo", "-n", "env", ...assignments, "bash", shellQuote(`${remoteScriptsDir(sshUser)}/${step.script}`)].join(" ");
}

/** Checks a plan's ids and dependencies and returns its steps in a dependency-respecting order. */
export function orderedSteps(plan: BootstrapPlan): BootstrapStep[] {
    const byId = new Map<string, BootstrapStep>();
    for (const s of plan.steps) {
        if (byId.has(s.id)) throw new Error(`bootstrap plan ${plan.cluster}: duplicate step id ${s.id}`);
        byId.set(s.id, s);
    }
    const done = new Set<string>();
    const visiting = new Set<string>();
    const out: BootstrapStep[] = [];
    const visit = (s: BootstrapStep) => {
        if (done.has(s.id)) return;
        if (visiting.has(s.id)) throw new Error(`bootstrap plan ${plan.cluster}: dependency cycle through ${s.id}`);
        visiting.add(s.id);
        for (const d of s.dependsOn) {
            const dep = byId.get(d);
            if (!dep) throw new Error(`bootstrap plan ${plan.cluster}: step ${s.id} depends on unknown step ${d}`);
            visit(dep);
        }
        visiting.delete(s.id);
        done.add(s.id);
        out.push(s);
    };
    plan.steps.forEach(visit);
    return out;
}

export interface PlanHost {
    /** Address the bastion reaches the host at. */
    address: pulumi.Input<string>;
    /** Changes when the host is replaced, so its steps run again on the new machine. */
    instanceId: pulumi.Input<string>;
    /** Resources that must exist before anything runs on the host (the instance, its volume attachments). */
    ready: pulumi.Resource[];
    /**
     * Values only known at deployment that the plan refers to as `{{key}}` inside env values
     * (e.g. the EBS volume ID that names the data disk's device).
     */
    vars?: Record<string, pulumi.Input<string>>;
}

export interface PlanRunArgs {
    plan: BootstrapPlan;
    hosts: Record<string, PlanHost>;
    /** The SSH connection to a host, through the bastion. */
    connection: (address: pulumi.Input<string>) => command.types.input.remote.ConnectionArgs;
    sshUser: string;
    /** Secret values by name (e.g. GALERA_ROOT_PASSWORD); a step receives only those it names. */
    secrets: Record<string, pulumi.Input<string>>;
}

/** Creates the copy and command resources of a plan under `parent`. Returns the commands by step id. */
export function runPlan(name: string, args: PlanRunArgs, parent: pulumi.Resource): Record<string, command.remote.Command> {
    const steps = orderedSteps(args.plan);
    const files = nodeScriptFiles();
    const treeHash = scriptsTreeHash(files);
    for (const s of steps) {
        if (!args.hosts[s.host]) throw new Error(`bootstrap step ${s.id}: unknown host ${s.host}`);
        for (const secret of s.secrets) {
            if (args.secrets[secret] === undefined) throw new Error(`bootstrap step ${s.id}: no value for secret ${secret}`);
        }
    }

    const copies = new Map<string, command.remote.CopyToRemote>();
    for (const host of [...new Set(steps.map((s) => s.host))]) {
        const h = args.hosts[host];
        copies.set(
            host,
            new command.remote.CopyToRemote(
                `${name}-scripts-${host}`,
                {
                    connection: args.connection(h.address),
                    source: new pulumi.asset.FileArchive(SCRIPTS_DIR),
                    remotePath: remoteScriptsDir(args.sshUser),
                    triggers: [treeHash, h.instanceId],
                },
                { parent, dependsOn: h.ready },
            ),
        );
    }

    const commands: Record<string, command.remote.Command> = {};
    for (const step of steps) {
        const h = args.hosts[step.host];
        const vars = h.vars ?? {};
        const env = pulumi.all(vars).apply((resolved) =>
            Object.fromEntries(
                Object.entries(step.env).map(([k, v]) => [
                    k,
                    v.replace(/\{\{([a-zA-Z0-9_]+)\}\}/g, (_, key: string) => {
                        if (resolved[key] === undefined) throw new Error(`bootstrap step ${step.id}: no value for {{${key}}}`);
                        return resolved[key];
                    }),
                ]),
            ),
        );
        const hasSecrets = step.secrets.length > 0;
        const stdin = hasSecrets
            ? pulumi.secret(
                  pulumi
                      .all(step.secrets.map((n) => pulumi.output(args.secrets[n])))
                      .apply((values) => step.secrets.map((n, i) => `${n}=${values[i]}\n`).join("")),
              )
            : undefined;
        commands[step.id] = new command.remote.Command(
            `${name}-${step.id}`,
            {
                connection: args.connection(h.address),
                create: env.apply((e) => stepCommandLine(step, args.sshUser, e)),
                stdin,
                // Scripts never print secrets, but a failing tool might echo its input: keep the
                // output of secret-bearing steps out of logs and state.
                logging: hasSecrets ? "none" : "stdoutAndStderr",
                addPreviousOutputInEnv: false,
                triggers: [stepTrigger(step, files), h.instanceId],
            },
            {
                parent,
                dependsOn: [copies.get(step.host)!, ...step.dependsOn.map((d) => commands[d])],
                additionalSecretOutputs: hasSecrets ? ["stdout", "stderr"] : [],
            },
        );
    }
    return commands;
}
