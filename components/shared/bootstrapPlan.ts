/**
 * Cluster bootstrap as data.
 *
 * A plan is the ordered list of steps that turns freshly booted hosts into a working cluster. The
 * same plan is executed by the Pulumi components (each step becomes a `CopyToRemote` +
 * `remote.Command` through the bastion) and by the local lab (each step runs over SSH through the
 * lab's bastion host), so what the lab proves is what the cloud runs.
 */

/** One script run on one host. */
export interface BootstrapStep {
    /** Unique within the plan; stable across runs (Pulumi resource names are derived from it). */
    id: string;
    /** Logical host name as the plan's caller named it (e.g. `db1`), resolved to an address by the runner. */
    host: string;
    /** Script path relative to `scripts/` (e.g. `galera/configure.sh`). */
    script: string;
    /** Non-secret environment for the script. Never put a secret here: it ends up in logs and state. */
    env: Record<string, string>;
    /**
     * Names of secrets the script needs. The runner delivers them on the script's standard input as
     * `NAME=value` lines (never on the command line or in the environment of the SSH session).
     */
    secrets: string[];
    /** Ids of steps that must have finished successfully before this one starts. */
    dependsOn: string[];
    /** One line for humans: what the step does and why it is at this point in the order. */
    description: string;
}

export interface BootstrapPlan {
    /** Which cluster the plan builds, e.g. `galera` or `gluster`. */
    cluster: string;
    steps: BootstrapStep[];
    /**
     * The steps after which the cluster serves its clients (verified end to end): what a client
     * (the web tier) waits for. Named by the plan so no caller guesses from step ids.
     */
    readyAfter?: string[];
}
