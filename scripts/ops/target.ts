/**
 * What the operator tooling talks to: built by a pure function from a stack's outputs as
 * `pulumi stack output --json --show-secrets --stack <stack>` prints them (the program's
 * `operations` output plus the secret `bastionPrivateKey`), or the lab's equivalent file.
 */
import { OPERATIONS_OUTPUT, OPERATIONS_OUTPUT_VERSION, SSH_KEY_OUTPUT } from "../../stacks/operations";

export type OpsTier = "galera" | "gluster";
export const OPS_TIERS: readonly OpsTier[] = ["galera", "gluster"];

export interface OpsNode {
    tier: OpsTier;
    /** Plan host name (`node1`… in the cloud, `db1`… in the lab): what the node scripts call it. */
    name: string;
    address: string;
    /** Instance URN (`pulumi up --replace`). */
    urn: string;
}

export interface OpsTarget {
    stack: string;
    /** The jump host as dialled from the operator's machine. */
    bastion: { host: string; port: number };
    /** Login user on the bastion and the nodes. */
    sshUser: string;
    /** OpenSSH private key (secret): written only to a 0600 temporary file, never to argv or logs. */
    privateKey: string;
    /** Where the program staged the node scripts (relative script paths resolve against it). */
    scriptsDir: string;
    galera: { nodes: OpsNode[]; bootstrapNode: string; syncTimeoutSeconds: number };
    gluster: { volume: string; nodes: OpsNode[] };
    /** Backup bucket names by purpose, when the stack exports them (empty otherwise). */
    backupBuckets: Record<string, string>;
}

/** Bad command-line input or stack outputs: the message names the problem and the fix (exit 2). */
export class OpsUsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OpsUsageError";
    }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;
const NODE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const VOLUME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Validates `outputs` (the parsed JSON) and returns the target. Throws one OpsUsageError naming
 * every missing or malformed key and how to get it right.
 */
export function targetFromOutputs(stack: string, outputs: unknown): OpsTarget {
    const problems: string[] = [];
    const root = isObject(outputs) ? outputs : {};
    if (!isObject(outputs)) problems.push("the outputs are not a JSON object");
    const ops = root[OPERATIONS_OUTPUT];
    const key = root[SSH_KEY_OUTPUT];
    const where = (k: string) => `${OPERATIONS_OUTPUT}.${k}`;

    if (typeof key !== "string" || key.length === 0) {
        problems.push(`output ${SSH_KEY_OUTPUT} is missing`);
    } else if (key === "[secret]") {
        problems.push(`output ${SSH_KEY_OUTPUT} is masked ("[secret]"): produce the outputs with \`pulumi stack output --json --show-secrets\``);
    } else if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.trim())) {
        problems.push(`output ${SSH_KEY_OUTPUT} is not an OpenSSH private key`);
    }
    if (!isObject(ops)) {
        problems.push(
            `output ${OPERATIONS_OUTPUT} is missing: the stack was deployed by a version of the program without it; run \`pulumi up\` with this version (it only adds the output)`,
        );
        throw new OpsUsageError(`stack ${stack}: ${problems.join("; ")}`);
    }
    if (ops.version !== OPERATIONS_OUTPUT_VERSION) {
        problems.push(`${where("version")} is ${JSON.stringify(ops.version)}, this tool reads version ${OPERATIONS_OUTPUT_VERSION}: use the tool from the commit that deployed the stack`);
    }
    const str = (k: string, v: unknown, re: RegExp, what: string): string => {
        if (typeof v !== "string" || !re.test(v)) problems.push(`${where(k)} is ${v === undefined ? "missing" : JSON.stringify(v)}; expected ${what}`);
        return typeof v === "string" ? v : "";
    };
    const sshUser = str("sshUser", ops.sshUser, USER, "a login user name");
    const bastion = isObject(ops.bastion) ? ops.bastion : {};
    const bastionHost = str("bastion.host", bastion.host, HOSTNAME, "the bastion's address");
    const port = bastion.port;
    if (!(typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536)) problems.push(`${where("bastion.port")} is ${JSON.stringify(port)}; expected a TCP port`);
    const scriptsDir = str("scriptsDir", ops.scriptsDir, /^\/[A-Za-z0-9_./-]+$/, "an absolute directory");

    const nodes = (tier: OpsTier, k: string, v: unknown): OpsNode[] => {
        if (!Array.isArray(v) || v.length === 0) {
            problems.push(`${where(k)} is ${v === undefined ? "missing" : "empty"}; expected the ${tier} nodes`);
            return [];
        }
        return v.map((n, i) => {
            const o = isObject(n) ? n : {};
            return {
                tier,
                name: str(`${k}[${i}].name`, o.name, NODE_NAME, "a node name like node1"),
                address: str(`${k}[${i}].address`, o.address, IPV4, "an IPv4 address"),
                urn: str(`${k}[${i}].urn`, o.urn, /^urn:pulumi:/, "an instance URN"),
            };
        });
    };
    const galera = isObject(ops.galera) ? ops.galera : {};
    const gluster = isObject(ops.gluster) ? ops.gluster : {};
    const dbNodes = nodes("galera", "galera.nodes", galera.nodes);
    const fsNodes = nodes("gluster", "gluster.nodes", gluster.nodes);
    const bootstrapNode = str("galera.bootstrapNode", galera.bootstrapNode, NODE_NAME, "a Galera node name");
    if (bootstrapNode && dbNodes.length > 0 && !dbNodes.some((n) => n.name === bootstrapNode)) {
        problems.push(`${where("galera.bootstrapNode")} "${bootstrapNode}" is not one of ${where("galera.nodes")}`);
    }
    const sync = galera.syncTimeoutSeconds;
    if (!(typeof sync === "number" && Number.isInteger(sync) && sync > 0)) problems.push(`${where("galera.syncTimeoutSeconds")} is ${JSON.stringify(sync)}; expected seconds`);
    const volume = str("gluster.volume", gluster.volume, VOLUME, "a GlusterFS volume name");
    for (const list of [dbNodes, fsNodes]) {
        const names = list.map((n) => n.name);
        const dup = names.find((n, i) => names.indexOf(n) !== i);
        if (dup) problems.push(`${list[0].tier} node name ${dup} appears twice`);
    }

    const backupBuckets: Record<string, string> = {};
    if (ops.backupBuckets !== undefined) {
        if (!isObject(ops.backupBuckets)) problems.push(`${where("backupBuckets")} is ${JSON.stringify(ops.backupBuckets)}; expected bucket names by purpose`);
        else for (const [k, v] of Object.entries(ops.backupBuckets)) backupBuckets[k] = str(`backupBuckets.${k}`, v, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name");
    }

    if (problems.length > 0) throw new OpsUsageError(`stack ${stack}: ${problems.join("; ")}`);
    return {
        stack,
        bastion: { host: bastionHost, port: port as number },
        sshUser,
        privateKey: (key as string).trim() + "\n",
        scriptsDir,
        galera: { nodes: dbNodes, bootstrapNode, syncTimeoutSeconds: sync as number },
        gluster: { volume, nodes: fsNodes },
        backupBuckets,
    };
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every node of the target, Galera first. */
export function allNodes(t: OpsTarget): OpsNode[] {
    return [...t.galera.nodes, ...t.gluster.nodes];
}

/**
 * Finds a node by `<tier>-<name>` (`galera-node1`, the prefix of its alarms) or by its bare name
 * when only one tier has it (`db1` in the lab).
 */
export function findNode(t: OpsTarget, ref: string): OpsNode {
    const all = allNodes(t);
    const exact = all.find((n) => `${n.tier}-${n.name}` === ref);
    if (exact) return exact;
    const bare = all.filter((n) => n.name === ref);
    if (bare.length === 1) return bare[0];
    const known = all.map((n) => `${n.tier}-${n.name}`).join(", ");
    if (bare.length > 1) throw new OpsUsageError(`node "${ref}" exists in several tiers: name it with its tier (${known})`);
    throw new OpsUsageError(`unknown node "${ref}": one of ${known}`);
}
