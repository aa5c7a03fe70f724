import * as pulumi from "@pulumi/pulumi";
import { BastionAccess, DEFAULT_SSH_USER } from "../components/access/bastion";
import { ClusterNodeRef } from "../components/shared/clusterNodes";
import { remoteScriptsDir } from "../components/shared/remoteBootstrap";

/**
 * The stack output the operator tooling (`npm run ops`, scripts/ops) reads to reach the nodes the
 * way the program's bootstrap commands do: through the bastion, as the same user, running the
 * scripts where the program staged them. Plain values only (addresses and names are not secret);
 * the SSH key is the separate secret output `SSH_KEY_OUTPUT`.
 */
export const OPERATIONS_OUTPUT = "operations";
/** The bastion's OpenSSH private key, a secret output (`pulumi stack output --show-secrets`). */
export const SSH_KEY_OUTPUT = "bastionPrivateKey";
/** Bumped whenever the shape of `OperationsOutput` changes, so an older CLI refuses a newer stack clearly. */
export const OPERATIONS_OUTPUT_VERSION = 1;

export interface OperationsNode {
    /** Plan host name (`node1`…), also the name the node scripts know the node by (wsrep node name). */
    name: string;
    /** Fixed private address, reached through the bastion. */
    address: string;
    /** URN of the node's instance: what `pulumi up --replace` takes. */
    urn: string;
}

/** `operations` as `pulumi stack output --json` prints it. */
export interface OperationsOutput {
    version: number;
    /** Login user on the bastion and the nodes; node scripts run with `sudo -n` unless it is root. */
    sshUser: string;
    /** How the operator dials the bastion: its Elastic IP on 22, or 127.0.0.1 and the Instance Connect tunnel's port. */
    bastion: { host: string; port: number };
    /** Where the program staged the node scripts on every node (`remoteScriptsDir`). */
    scriptsDir: string;
    /** Galera nodes in writer order; `bootstrapNode` starts a fresh cluster (the plan's designated node). */
    galera: { nodes: OperationsNode[]; bootstrapNode: string; syncTimeoutSeconds: number };
    /** GlusterFS nodes in brick order and the volume they serve. */
    gluster: { volume: string; nodes: OperationsNode[] };
    /** Backup bucket names by purpose (e.g. `galera`, `files`), once the stack has backups. */
    backupBuckets?: Record<string, string>;
}

/** Builds the `operations` output from the components (addresses are plain; URNs resolve at deployment). */
export function operationsOutput(
    access: BastionAccess,
    galera: { nodes: ClusterNodeRef[]; syncTimeoutSeconds: number },
    gluster: { volumeName: string; nodes: ClusterNodeRef[] },
): pulumi.Output<OperationsOutput> {
    const user = access.user ?? DEFAULT_SSH_USER;
    const nodes = (refs: ClusterNodeRef[]) => pulumi.all(refs.map((n) => pulumi.all([n.urn]).apply(([urn]) => ({ name: n.name, address: n.address, urn }))));
    return pulumi.all([pulumi.output(access.host), nodes(galera.nodes), nodes(gluster.nodes)]).apply(([host, dbNodes, fsNodes]) => ({
        version: OPERATIONS_OUTPUT_VERSION,
        sshUser: user,
        bastion: { host, port: access.port ?? 22 },
        scriptsDir: remoteScriptsDir(user),
        // The plan's designated node is the first one (galeraPlan's default bootstrapNode).
        galera: { nodes: dbNodes, bootstrapNode: dbNodes[0].name, syncTimeoutSeconds: galera.syncTimeoutSeconds },
        gluster: { volume: gluster.volumeName, nodes: fsNodes },
    }));
}
