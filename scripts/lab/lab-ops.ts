/**
 * The lab as a stack for the operator tooling: `up` writes OPS_OUTPUTS_FILE in the shape of
 * `pulumi stack output --json --show-secrets` (the program's `operations` output and the SSH key),
 * so `npm run ops -- lab …` and the lab's scenarios reach the hosts exactly as the CLI reaches a
 * cloud stack: scripts/ops over real ssh through the bastion.
 */
import * as fs from "fs";
import * as path from "path";
import { OPERATIONS_OUTPUT, OPERATIONS_OUTPUT_VERSION, OperationsNode, OperationsOutput, SSH_KEY_OUTPUT } from "../../stacks/operations";
import { GaleraRecoveryTarget } from "../ops/galera-recovery";
import { OpsTarget, targetFromOutputs } from "../ops/target";
import { SshRunner } from "../ops/transport";
import { VOLUME } from "./gluster-lab";
import { HOSTS, LAB_KNOWN_HOSTS_FILE, LOGIN_USER, LabHost, OPS_OUTPUTS_FILE, REMOTE_SCRIPTS, STATE } from "./lab-core";

/** Seconds a lab Galera node may take to reach Synced (the lab's plans and its recovery). */
export const LAB_GALERA_SYNC_TIMEOUT_S = 300;

const node = (h: LabHost): OperationsNode => ({ name: h.name, address: h.ip, urn: `urn:pulumi:lab::oclab::oclab:lab:Host::${h.name}` });

/** The lab's outputs: its bastion, the login user (the program's), where the scripts land, its hosts. */
export function labOpsOutputs(privateKey: string): Record<string, unknown> {
    const db = HOSTS.filter((h) => h.role === "db");
    const operations: OperationsOutput = {
        version: OPERATIONS_OUTPUT_VERSION,
        sshUser: LOGIN_USER,
        bastion: { host: HOSTS.find((h) => h.role === "bastion")!.ip, port: 22 },
        scriptsDir: REMOTE_SCRIPTS,
        // The first db host is the lab plan's designated node (galera-lab.ts DESIGNATED).
        galera: { nodes: db.map(node), bootstrapNode: db[0].name, syncTimeoutSeconds: LAB_GALERA_SYNC_TIMEOUT_S },
        gluster: { volume: VOLUME, nodes: HOSTS.filter((h) => h.role === "fs").map(node) },
    };
    return { [OPERATIONS_OUTPUT]: operations, [SSH_KEY_OUTPUT]: privateKey };
}

const labKey = () => fs.readFileSync(path.join(STATE, "ssh", "id_ed25519"), "utf8");

/** Written by `up` (mode 0600: it holds the lab's private key, like the state directory's key file). */
export function writeLabOpsOutputs(): void {
    fs.writeFileSync(OPS_OUTPUTS_FILE, JSON.stringify(labOpsOutputs(labKey()), null, 2) + "\n", { mode: 0o600 });
}

export function labOpsTarget(): OpsTarget {
    return targetFromOutputs("lab", labOpsOutputs(labKey()));
}

export function labGaleraRecoveryTarget(t: OpsTarget = labOpsTarget()): GaleraRecoveryTarget {
    return { nodes: t.galera.nodes, bootstrapNode: t.galera.bootstrapNode, syncTimeoutSeconds: t.galera.syncTimeoutSeconds };
}

/** Real ssh through the lab's bastion, the ops CLI's transport; close it when done. */
export function labRunner(t: OpsTarget = labOpsTarget()): SshRunner {
    return new SshRunner(t, LAB_KNOWN_HOSTS_FILE);
}
