import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BootstrapPlan, BootstrapStep } from "./bootstrapPlan";

/**
 * Turns a bootstrap plan into `@pulumi/command` resources: per host one `CopyToRemote` of the
 * scripts, per step one `remote.Command` through the bastion, ordered by the plan's `dependsOn`.
 * The local lab executes the same plans over SSH (scripts/lab), so what it proves is what runs here.
 */

/**
 * The node scripts (scripts/node: the only files that ever reach a node): beside components/ in the
 * repo, three levels up when running from the build (bin/components/shared).
 */
export const SCRIPTS_DIR = [path.resolve(__dirname, "..", "..", "scripts", "node"), path.resolve(__dirname, "..", "..", "..", "scripts", "node")].find((d) =>
    fs.existsSync(path.join(d, "lib", "common.sh")),
) ?? path.resolve(__dirname, "..", "..", "scripts", "node");

/** The directory the copy targets on a node: the login user's home, no world-writable directory involved. */
export function remoteBaseDir(sshUser: string): string {
    return `/home/${sshUser}/owncloud-ha`;
}

/** Name of the shipped directory; the copy lands at `remoteBaseDir/<this>` (see `runPlan`). */
const SHIPPED_DIR_NAME = "scripts";

/** Where the scripts land on a node: every step runs `<this>/<step.script>`. */
export function remoteScriptsDir(sshUser: string): string {
    return `${remoteBaseDir(sshUser)}/${SHIPPED_DIR_NAME}`;
}

/** Read access to the script tree, injectable so tests can change a file without touching the repo. */
export interface ScriptTree {
    /** Files directly inside `dir` (relative to scripts/node, no sub-directories), e.g. `galera/start.sh`. */
    list(dir: string): string[];
    /** Content of a file relative to scripts/node. */
    read(relPath: string): string;
}

const NODE_FILE = /\.(sh|cfg|tmpl)$/;

/** The repository's scripts/node directory. */
export const scriptTree: ScriptTree = {
    list: (dir) => {
        const full = path.join(SCRIPTS_DIR, dir);
        if (!fs.existsSync(full)) return [];
        return fs
            .readdirSync(full, { withFileTypes: true })
            .filter((e) => e.isFile() && NODE_FILE.test(e.name))
            .map((e) => `${dir}/${e.name}`)
            .sort();
    },
    read: (rel) => fs.readFileSync(path.join(SCRIPTS_DIR, rel), "utf8"),
};

/** Files a script names beside itself: `$(dirname "$0")/x` (sourced libraries, installed helpers, exec'd scripts). */
function referencedFiles(file: string, content: string): string[] {
    const out: string[] = [];
    for (const m of content.matchAll(/\$\(dirname "\$0"\)\/([A-Za-z0-9_./-]+)/g)) {
        out.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])));
    }
    return out;
}

/** A path (relative to scripts/node) that leaves the node tree: never shipped. */
function outsideNodeTree(rel: string): boolean {
    const p = path.posix.normalize(rel);
    return p === ".." || p.startsWith("../") || path.posix.isAbsolute(p);
}

/**
 * What one host needs to run its steps, and nothing else: the files directly inside the
 * directories of its step scripts (a tier's operator tools such as galera/report.sh come along;
 * sub-directories do not), lib/, and the directories of every file these name beside themselves
 * (e.g. volume/ for volume/data-volume.sh). Everything lies in scripts/node: a step or a reference
 * that leaves it (the lab, the plan tool, developer tooling) is refused, so none of those ever
 * reaches a node and changing them changes no copy.
 */
export function shippedFiles(steps: BootstrapStep[], tree: ScriptTree = scriptTree): string[] {
    for (const s of steps) {
        if (outsideNodeTree(s.script)) throw new Error(`bootstrap step ${s.id}: script ${s.script} lies outside scripts/node; only node files are shipped`);
    }
    const dirs = new Set<string>(["lib", ...steps.map((s) => path.posix.dirname(s.script))]);
    const files = new Set<string>();
    let pending = [...dirs];
    while (pending.length > 0) {
        const next: string[] = [];
        for (const dir of pending) {
            for (const f of tree.list(dir)) {
                files.add(f);
                for (const ref of referencedFiles(f, tree.read(f))) {
                    if (outsideNodeTree(ref)) throw new Error(`scripts/node/${f} uses ${ref}, which lies outside scripts/node; only node files are shipped (move it under scripts/node)`);
                    const refDir = path.posix.dirname(ref);
                    if (!dirs.has(refDir)) {
                        dirs.add(refDir);
                        next.push(refDir);
                    }
                }
            }
        }
        pending = next;
    }
    for (const s of steps) {
        if (!files.has(s.script)) throw new Error(`bootstrap step ${s.id}: script scripts/node/${s.script} does not exist`);
    }
    for (const f of files) {
        for (const ref of referencedFiles(f, tree.read(f))) {
            if (!files.has(ref)) throw new Error(`scripts/node/${f} uses scripts/node/${ref}, which does not exist`);
        }
    }
    return [...files].sort();
}

export type FileReader = (relPath: string) => string;
const readScript: FileReader = (rel) => scriptTree.read(rel);

function sha256(parts: string[]): string {
    const h = crypto.createHash("sha256");
    for (const p of parts) h.update(`${p.length}:${p}`);
    return h.digest("hex");
}

/** Hash of exactly the shipped files (names and contents): the copy is refreshed whenever one changes. */
export function shipmentHash(files: string[], read: FileReader = readScript): string {
    return sha256(files.flatMap((f) => [f, read(f)]));
}

/**
 * Writes `files` into a private, content-addressed directory named `scripts` and returns its path.
 * `CopyToRemote` only takes a path-backed archive (an AssetArchive is refused by the provider's
 * Check), so the exact file set a host needs is staged on disk; the name is content-addressed, so
 * the same files always give the same path and a re-run of the program rewrites nothing.
 */
export function stageShipment(files: string[], read: FileReader = readScript): string {
    const hash = shipmentHash(files, read);
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    const root = path.join(os.tmpdir(), `owncloud-ha-${uid}`);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const info = fs.lstatSync(root);
    // /tmp is shared: refuse a directory another user made (or a symlink) instead of writing through it.
    if (!info.isDirectory() || (typeof process.getuid === "function" && info.uid !== uid) || (info.mode & 0o077) !== 0) {
        throw new Error(`${root} must be a directory owned by uid ${uid} with mode 0700; remove it and retry`);
    }
    const target = path.join(root, `node-scripts-${hash.slice(0, 16)}`);
    if (!fs.existsSync(target)) {
        const tmp = fs.mkdtempSync(path.join(root, "staging-"));
        for (const f of files) {
            const dest = path.join(tmp, SHIPPED_DIR_NAME, f);
            fs.mkdirSync(path.dirname(dest), { recursive: true });
            fs.writeFileSync(dest, read(f));
        }
        try {
            fs.renameSync(tmp, target);
        } catch (e) {
            // Another run staged the same content first: theirs is identical.
            fs.rmSync(tmp, { recursive: true, force: true });
            if (!fs.existsSync(target)) throw e;
        }
    }
    return path.join(target, SHIPPED_DIR_NAME);
}

/**
 * What a step's re-run depends on: its own script, the libraries it can source (lib/ and
 * the lib.sh beside it), its non-secret environment and the names of its secrets. Changing anything
 * else leaves the step alone, so a settings change re-runs exactly the steps it concerns.
 */
export function stepTrigger(step: BootstrapStep, files: string[], read: FileReader = readScript): string {
    const dir = path.posix.dirname(step.script);
    if (!files.includes(step.script)) {
        throw new Error(`bootstrap step ${step.id}: script scripts/node/${step.script} does not exist`);
    }
    // Also what the script names beside itself (e.g. configure.sh installs health-check.sh).
    const named = new Set(referencedFiles(step.script, read(step.script)));
    const relevant = files.filter((f) => f === step.script || f.startsWith("lib/") || f === `${dir}/lib.sh` || named.has(f));
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
    /**
     * Resources that must exist before anything runs on the host: the instance, its volume
     * attachments, and what its package installs need (its VPC's NAT and default routes, the
     * egress rules of its security group).
     */
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
    for (const s of steps) {
        if (!args.hosts[s.host]) throw new Error(`bootstrap step ${s.id}: unknown host ${s.host}`);
        for (const secret of s.secrets) {
            if (args.secrets[secret] === undefined) throw new Error(`bootstrap step ${s.id}: no value for secret ${secret}`);
        }
    }

    const copies = new Map<string, command.remote.CopyToRemote>();
    const shipped = new Map<string, string[]>();
    for (const host of [...new Set(steps.map((s) => s.host))]) {
        const h = args.hosts[host];
        const files = shippedFiles(steps.filter((s) => s.host === host));
        shipped.set(host, files);
        copies.set(
            host,
            new command.remote.CopyToRemote(
                `${name}-scripts-${host}`,
                {
                    connection: args.connection(h.address),
                    // A directory without a trailing slash lands in remotePath/<its name> (the
                    // provider's sftpCopy rule), so the staged `scripts` directory lands exactly at
                    // remoteScriptsDir, where every step runs its script.
                    source: new pulumi.asset.FileArchive(stageShipment(files)),
                    remotePath: remoteBaseDir(args.sshUser),
                    triggers: [shipmentHash(files), h.instanceId],
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
                triggers: [stepTrigger(step, shipped.get(step.host)!), h.instanceId],
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
