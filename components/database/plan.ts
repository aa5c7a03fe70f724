/**
 * Galera (MariaDB 10.11) bootstrap plans as data, and the web hosts' node-local HAProxy plan.
 *
 * Pure functions: the Pulumi components turn the steps into `CopyToRemote` + `remote.Command`;
 * the local lab (`npm run lab`) runs the very same steps over SSH through its bastion.
 */
import { GALERA_PORTS } from "./ports";
import { BootstrapPlan, BootstrapStep } from "../shared/bootstrapPlan";
import { nodeMetricsEnv } from "../shared/nodeMetrics";
import { BackupSettings, backupEnv, galeraBackupOrder, validateBackupSettings } from "../shared/backupPlan";

export interface GaleraNode {
    /** Logical host name (plan `host`), also the wsrep node name, e.g. `db1`. */
    name: string;
    /** Private IPv4 address of the node. */
    address: string;
}

export interface GaleraPlanSettings {
    /** wsrep_cluster_name, e.g. `owncloud`. */
    clusterName: string;
    /** All nodes, in a fixed order (the same order is used for the HAProxy servers). Odd count >= 3. */
    nodes: GaleraNode[];
    /** The node that bootstraps a fresh cluster (default: the first node). */
    bootstrapNode?: string;
    /** Application database user and database (default `DEFAULT_GALERA_APP_USER` / `DEFAULT_GALERA_APP_DATABASE`). */
    appUser?: string;
    appDatabase?: string;
    /** MariaDB host pattern the application connects from (the web subnets), e.g. `10.0.%`. */
    appHosts: string;
    /** Extra wsrep_provider_options appended to the defaults of configure.sh. */
    providerOptions?: string;
    /** Seconds a starting node may take to reach Synced. Default `DEFAULT_GALERA_SYNC_TIMEOUT_S`. */
    syncTimeoutSeconds?: number;
    /**
     * `Cluster` dimension of the CloudWatch metrics the nodes publish (the component's name). Set:
     * configure.sh installs the metrics timer (systemd hosts). Unset (the lab): no metrics settings.
     */
    metricsCluster?: string;
    /**
     * Backups to S3 (full mariabackup on a schedule + binary logs shipped continuously). Set: one
     * `galera-backup-<node>` step per node installs them once that node runs. Unset: no backup step.
     */
    backup?: BackupSettings;
}

/**
 * Seconds a starting node may take to reach Synced: an SST (mariabackup) of a large dataset is
 * slow, and a joiner that gives up mid-transfer starts over. One home for the plan, the cloud
 * component and the lab.
 */
export const DEFAULT_GALERA_SYNC_TIMEOUT_S = 900;
/** Application database user and database when none is given. */
export const DEFAULT_GALERA_APP_USER = "owncloud";
export const DEFAULT_GALERA_APP_DATABASE = "owncloud";

/** Where every node keeps its datadir: its own data volume is mounted here (withGaleraDatadirs). */
export const GALERA_DATADIR = "/var/lib/mysql";

/**
 * The plan with each node's data volume mounted at GALERA_DATADIR (volume/data-volume.sh) before
 * MariaDB is installed there: the cloud plan (the device is the node's EBS volume) and the lab's
 * (a loop device per host) alike.
 */
export function withGaleraDatadirs(plan: BootstrapPlan, deviceOf: (host: string) => string): BootstrapPlan {
    const hosts = [...new Set(plan.steps.filter((s) => s.id.startsWith("galera-install-")).map((s) => s.host))];
    const volumeSteps: BootstrapStep[] = hosts.map((host) => ({
        id: `galera-datadir-${host}`,
        host,
        script: "volume/data-volume.sh",
        env: { DATA_DEVICE: deviceOf(host), DATA_MOUNT: GALERA_DATADIR },
        secrets: [],
        dependsOn: [],
        description: `Mount ${host}'s encrypted data volume at ${GALERA_DATADIR} before MariaDB writes its datadir there.`,
    }));
    const steps = plan.steps.map((s) => (s.id === `galera-install-${s.host}` ? { ...s, dependsOn: [...s.dependsOn, `galera-datadir-${s.host}`] } : s));
    return { ...plan, steps: [...volumeSteps, ...steps] };
}

/** Secret names the Galera plan asks the runner to deliver on stdin. */
export const GALERA_SECRETS = {
    root: "GALERA_ROOT_PASSWORD",
    app: "GALERA_APP_PASSWORD",
    sst: "GALERA_SST_PASSWORD",
    health: "GALERA_HEALTH_PASSWORD",
} as const;

const NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
const CLUSTER_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SQL_IDENT_RE = /^[A-Za-z0-9_]{1,32}$/;
const HOST_PATTERN_RE = /^[0-9A-Za-z.%_:/-]{1,60}$/;

export function isIPv4(s: string): boolean {
    const parts = s.split(".");
    return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * The quorum rule, the one home for the plan and GaleraCluster: at least 3 nodes (one may fail) and
 * an odd count (a split into halves leaves no majority). The problem without a name, or undefined.
 */
export function galeraNodeCountProblem(n: number): string | undefined {
    if (!Number.isInteger(n) || n < 3) return `${n} nodes cannot keep quorum when one fails: a Galera cluster needs at least 3 nodes; use 3, 5 or 7`;
    if (n % 2 === 0) return `${n} is even: an even node count cannot keep quorum after a split into halves (the whole cluster stops); use an odd count (${n + 1} or ${n - 1})`;
    return undefined;
}

/** Throws with every problem listed; returns the bootstrap node name. */
export function validateGaleraSettings(s: GaleraPlanSettings): string {
    const errors: string[] = [];
    if (!CLUSTER_RE.test(s.clusterName ?? "")) errors.push(`clusterName "${s.clusterName}" must match ${CLUSTER_RE}`);
    const quorum = galeraNodeCountProblem(s.nodes?.length ?? 0);
    if (quorum) errors.push(`nodes: ${quorum}`);
    const names = new Set<string>();
    const addrs = new Set<string>();
    for (const node of s.nodes ?? []) {
        if (!NAME_RE.test(node.name)) errors.push(`node name "${node.name}" must match ${NAME_RE}`);
        if (!isIPv4(node.address)) errors.push(`node ${node.name}: address "${node.address}" is not an IPv4 address`);
        if (names.has(node.name)) errors.push(`duplicate node name "${node.name}"`);
        if (addrs.has(node.address)) errors.push(`duplicate node address "${node.address}"`);
        names.add(node.name);
        addrs.add(node.address);
    }
    const boot = s.bootstrapNode ?? s.nodes?.[0]?.name;
    if (boot === undefined || !names.has(boot)) errors.push(`bootstrapNode "${boot}" is not one of the nodes`);
    for (const [k, v] of [["appUser", s.appUser ?? DEFAULT_GALERA_APP_USER], ["appDatabase", s.appDatabase ?? DEFAULT_GALERA_APP_DATABASE]]) {
        if (!SQL_IDENT_RE.test(v)) errors.push(`${k} "${v}" must match ${SQL_IDENT_RE}`);
    }
    if (!HOST_PATTERN_RE.test(s.appHosts ?? "")) errors.push(`appHosts "${s.appHosts}" must be a MariaDB host pattern like 10.0.%`);
    if (s.providerOptions !== undefined && /["\n\\]/.test(s.providerOptions)) errors.push("providerOptions must not contain quotes, backslashes or newlines");
    if (s.syncTimeoutSeconds !== undefined && !(Number.isInteger(s.syncTimeoutSeconds) && s.syncTimeoutSeconds > 0)) {
        errors.push("syncTimeoutSeconds must be a positive integer");
    }
    if (s.backup !== undefined) errors.push(...validateBackupSettings(s.backup, "galera"));
    if (errors.length > 0) throw new Error(`invalid Galera settings:\n  - ${errors.join("\n  - ")}`);
    return boot!;
}

/**
 * The plan for a fresh cluster (and safe to re-run on a running one: every script is idempotent and
 * start.sh refuses --wsrep-new-cluster while any peer runs):
 *   install + configure every node (in parallel) -> bootstrap the designated node -> users (once, on
 *   it) -> join the other nodes ONE AT A TIME, each waiting for the previous to be Synced ->
 *   verify on every node after the last join.
 */
export function galeraPlan(s: GaleraPlanSettings): BootstrapPlan {
    const boot = validateGaleraSettings(s);
    const addresses = s.nodes.map((n) => n.address).join(",");
    const peersOf = (name: string) => s.nodes.filter((n) => n.name !== name).map((n) => n.address).join(",");
    const sync = String(s.syncTimeoutSeconds ?? DEFAULT_GALERA_SYNC_TIMEOUT_S);
    const steps: BootstrapStep[] = [];

    for (const node of s.nodes) {
        steps.push({
            id: `galera-install-${node.name}`,
            host: node.name,
            script: "galera/install.sh",
            env: {},
            secrets: [],
            dependsOn: [],
            description: `Install MariaDB 10.11, galera-4, mariadb-backup and socat on ${node.name} (nodes in parallel).`,
        });
        const env: Record<string, string> = {
            GALERA_CLUSTER_NAME: s.clusterName,
            GALERA_NODE_NAME: node.name,
            GALERA_NODE_ADDRESS: node.address,
            GALERA_CLUSTER_ADDRESSES: addresses,
            // The web hosts' HAProxy lists the nodes in this same order: the writer role passes to
            // the first node of it that is healthy, the node HAProxy's ordered backups serve meanwhile.
            GALERA_WRITER_ORDER: s.nodes.map((n) => n.name).join(","),
            ...galeraPortsEnv(),
            GALERA_REPLICATION_PORT: String(GALERA_PORTS.replication),
        };
        if (s.providerOptions) env.GALERA_PROVIDER_OPTIONS = s.providerOptions;
        if (s.metricsCluster !== undefined) Object.assign(env, nodeMetricsEnv(s.metricsCluster, node.name));
        // SST donor preference: the other nodes, the active writer (first node) last, then any
        // (trailing comma): a donor is Desynced, its health check fails and HAProxy would move writes.
        env.GALERA_SST_DONORS = s.nodes.filter((n) => n.name !== node.name).map((n) => n.name).reverse().join(",") + ",";
        steps.push({
            id: `galera-configure-${node.name}`,
            host: node.name,
            script: "galera/configure.sh",
            env,
            secrets: [GALERA_SECRETS.sst, GALERA_SECRETS.health],
            dependsOn: [`galera-install-${node.name}`],
            description: `Write the wsrep configuration, SST and health-check credentials and the health endpoint (port ${GALERA_PORTS.health}) on ${node.name}.`,
        });
    }

    steps.push({
        id: `galera-bootstrap-${boot}`,
        host: boot,
        script: "galera/start.sh",
        env: { GALERA_MODE: "bootstrap", GALERA_PEERS: peersOf(boot), GALERA_SYNC_TIMEOUT: sync },
        secrets: [],
        dependsOn: [`galera-configure-${boot}`],
        description: `Bootstrap the Primary Component on the designated node ${boot} (refused if any peer already runs).`,
    });
    steps.push({
        id: "galera-users",
        host: boot,
        script: "galera/users.sh",
        env: {
            GALERA_APP_USER: s.appUser ?? DEFAULT_GALERA_APP_USER,
            GALERA_APP_DATABASE: s.appDatabase ?? DEFAULT_GALERA_APP_DATABASE,
            GALERA_APP_HOSTS: s.appHosts,
        },
        secrets: [GALERA_SECRETS.root, GALERA_SECRETS.app, GALERA_SECRETS.sst, GALERA_SECRETS.health],
        dependsOn: [`galera-bootstrap-${boot}`],
        description: "Create the SST, health and application users once, on the bootstrap node; joiners receive them by SST.",
    });

    let previous = "galera-users";
    for (const node of s.nodes.filter((n) => n.name !== boot)) {
        const id = `galera-join-${node.name}`;
        steps.push({
            id,
            host: node.name,
            script: "galera/start.sh",
            env: { GALERA_MODE: "join", GALERA_PEERS: peersOf(node.name), GALERA_SYNC_TIMEOUT: sync },
            secrets: [],
            dependsOn: [previous, `galera-configure-${node.name}`],
            description: `Join ${node.name} and wait until Synced; joins run one at a time (concurrent SSTs overload the donor).`,
        });
        previous = id;
    }
    const verified = s.nodes.map((node) => `galera-verify-${node.name}`);
    for (const node of s.nodes) {
        steps.push({
            id: `galera-verify-${node.name}`,
            host: node.name,
            script: "galera/verify.sh",
            env: { GALERA_EXPECTED_SIZE: String(s.nodes.length) },
            secrets: [],
            dependsOn: [previous],
            description: `Check on ${node.name}: cluster size ${s.nodes.length}, Primary, Synced, health endpoint 200.`,
        });
    }
    if (s.backup !== undefined) {
        const order = galeraBackupOrder(s.nodes);
        for (const node of s.nodes) {
            steps.push({
                id: `galera-backup-${node.name}`,
                host: node.name,
                script: "galera/backup-install.sh",
                env: backupEnv(s.backup, "galera", node.name, order, {}),
                secrets: [],
                dependsOn: [node.name === boot ? `galera-bootstrap-${boot}` : `galera-join-${node.name}`],
                description: `Install the backup timers on ${node.name} once it runs: scheduled mariabackup (nodes in order ${order.map((n) => n.name).join(", ")}: the writer last) and binary logs shipped to S3.`,
            });
        }
    }
    return { cluster: "galera", steps, readyAfter: verified };
}

/**
 * Rolling restart (e.g. after configure.sh reported a changed configuration): one node at a time,
 * each waiting for the previous to be Synced again, the active writer (first node) last so that
 * writes move only once; verify on every node at the end.
 */
export function galeraRollingRestartPlan(s: GaleraPlanSettings): BootstrapPlan {
    validateGaleraSettings(s);
    const peersOf = (name: string) => s.nodes.filter((n) => n.name !== name).map((n) => n.address).join(",");
    const order = [...s.nodes.slice(1), s.nodes[0]];
    const steps: BootstrapStep[] = [];
    let previous: string | undefined;
    for (const node of order) {
        const id = `galera-restart-${node.name}`;
        steps.push({
            id,
            host: node.name,
            script: "galera/restart.sh",
            env: { GALERA_PEERS: peersOf(node.name), GALERA_SYNC_TIMEOUT: String(s.syncTimeoutSeconds ?? DEFAULT_GALERA_SYNC_TIMEOUT_S) },
            secrets: [],
            dependsOn: previous ? [previous] : [],
            description: `Restart ${node.name} and wait until Synced (one node at a time${node === s.nodes[0] ? ", the writer last" : ""}).`,
        });
        previous = id;
    }
    for (const node of s.nodes) {
        steps.push({
            id: `galera-restart-verify-${node.name}`,
            host: node.name,
            script: "galera/verify.sh",
            env: { GALERA_EXPECTED_SIZE: String(s.nodes.length) },
            secrets: [],
            dependsOn: [previous!],
            description: `After the rolling restart: ${node.name} Synced in a cluster of ${s.nodes.length}.`,
        });
    }
    return { cluster: "galera-restart", steps };
}

export interface HaproxyPlanSettings {
    /** Web hosts that each get a node-local HAProxy. */
    webHosts: string[];
    /** Galera nodes in server order (the order of `galeraPlan`'s nodes): who serves while no writer is designated. */
    galeraNodes: GaleraNode[];
    /** Local listener (default 127.0.0.1 on the SQL port). */
    listen?: string;
    /** Health check interval in ms (default 500), fall/rise counts (default 2/3). */
    checkIntervalMs?: number;
    fall?: number;
    rise?: number;
}

/**
 * HAProxy's `GALERA_BACKENDS` (web/haproxy.sh): `name=address,…` in writer order, the first the
 * active writer. The one builder for the lab's plan and the cloud's user data.
 */
export function galeraBackends(nodes: readonly GaleraNode[]): string {
    return nodes.map((n) => `${n.name}=${n.address}`).join(",");
}

/**
 * web/haproxy.sh's environment for a web host: the one place GALERA_BACKENDS (the server list in
 * writer order, identical on every host) and the Galera ports are written, for the lab's plan and
 * for the cloud's web node boot (components/web/plan.ts) alike.
 */
/**
 * The ports of a node's three health answers and of SQL, as node-script environment: configure.sh
 * opens the answers, the web hosts' haproxy.sh checks them and connects to the SQL port.
 */
export function galeraPortsEnv(): Record<string, string> {
    return {
        GALERA_SQL_PORT: String(GALERA_PORTS.mysql),
        GALERA_HEALTH_PORT: String(GALERA_PORTS.health),
        GALERA_HEALTH_DONOR_PORT: String(GALERA_PORTS.healthDonor),
        GALERA_WRITER_PORT: String(GALERA_PORTS.writer),
    };
}

export function haproxyEnv(galeraNodes: GaleraNode[], s: Pick<HaproxyPlanSettings, "listen" | "checkIntervalMs" | "fall" | "rise"> = {}): Record<string, string> {
    return {
        GALERA_BACKENDS: galeraBackends(galeraNodes),
        ...galeraPortsEnv(),
        HAPROXY_LISTEN: s.listen ?? `127.0.0.1:${GALERA_PORTS.mysql}`,
        HAPROXY_CHECK_INTER_MS: String(s.checkIntervalMs ?? 500),
        HAPROXY_FALL: String(s.fall ?? 2),
        HAPROXY_RISE: String(s.rise ?? 3),
    };
}

/** One independent step per web host; the server list (order included) is identical on all. */
export function haproxyPlan(s: HaproxyPlanSettings): BootstrapPlan {
    const errors: string[] = [];
    if (s.webHosts.length === 0) errors.push("at least one web host is needed");
    if (new Set(s.webHosts).size !== s.webHosts.length) errors.push("duplicate web host");
    if (s.galeraNodes.length === 0) errors.push("at least one Galera node is needed");
    for (const n of s.galeraNodes) {
        if (!NAME_RE.test(n.name) || !isIPv4(n.address)) errors.push(`bad Galera node ${n.name}=${n.address}`);
    }
    const listen = s.listen ?? `127.0.0.1:${GALERA_PORTS.mysql}`;
    if (!/^[0-9.]+:[0-9]{1,5}$/.test(listen)) errors.push(`listen "${listen}" must be ADDRESS:PORT`);
    if (errors.length > 0) throw new Error(`invalid HAProxy settings:\n  - ${errors.join("\n  - ")}`);
    const env = haproxyEnv(s.galeraNodes, { ...s, listen });
    return {
        cluster: "haproxy",
        steps: s.webHosts.map((host) => ({
            id: `haproxy-${host}`,
            host,
            script: "web/haproxy.sh",
            env,
            secrets: [],
            dependsOn: [],
            description: `Node-local single-writer HAProxy on ${host}: the cluster's designated writer, else the first Synced node in the order ${s.galeraNodes.map((n) => n.name).join(", ")}, else the first Donor.`,
        })),
    };
}

/** Topological order check used by tests and runners: throws on unknown/duplicate ids or cycles. */
export function topoOrder(plan: BootstrapPlan): BootstrapStep[] {
    const byId = new Map<string, BootstrapStep>();
    for (const st of plan.steps) {
        if (byId.has(st.id)) throw new Error(`duplicate step id ${st.id}`);
        byId.set(st.id, st);
    }
    for (const st of plan.steps) for (const d of st.dependsOn) if (!byId.has(d)) throw new Error(`step ${st.id} depends on unknown ${d}`);
    const out: BootstrapStep[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (st: BootstrapStep) => {
        const s0 = state.get(st.id);
        if (s0 === 2) return;
        if (s0 === 1) throw new Error(`dependency cycle at ${st.id}`);
        state.set(st.id, 1);
        for (const d of st.dependsOn) visit(byId.get(d)!);
        state.set(st.id, 2);
        out.push(st);
    };
    plan.steps.forEach(visit);
    return out;
}
