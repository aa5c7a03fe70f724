/**
 * Every port the platform's data tiers open, declared once. Pure data with no imports, so the
 * components, the policy pack (a separate package the Pulumi CLI loads on its own, which must not
 * pull in a second copy of @pulumi/pulumi through a component) and the tests read the same numbers.
 */

/**
 * MariaDB Galera: SQL, the three HTTP health answers the web hosts' HAProxy checks, group
 * replication (tcp+udp), IST and SST. Health answers (scripts/galera/health-check.sh):
 * `health` 200 while the node is Synced, Primary, writable, has disk space and commits;
 * `healthDonor` the same but a Donor/Desynced node also answers 200 (a last resort when no node is
 * Synced); `writer` 200 only on the node the cluster designates as the single writer (sticky).
 */
export const GALERA_PORTS = { mysql: 3306, health: 9200, healthDonor: 9201, writer: 9202, replication: 4567, ist: 4568, sst: 4444 } as const;

/**
 * The Galera ports the node scripts need, as their environment: configure.sh opens the three
 * health answers, the web hosts' haproxy.sh checks them and connects to the SQL port.
 */
export function galeraPortsEnv(): Record<string, string> {
    return {
        GALERA_MYSQL_PORT: String(GALERA_PORTS.mysql),
        GALERA_HEALTH_PORT: String(GALERA_PORTS.health),
        GALERA_HEALTH_DONOR_PORT: String(GALERA_PORTS.healthDonor),
        GALERA_WRITER_PORT: String(GALERA_PORTS.writer),
    };
}

/** glusterd management (24007) and its RDMA/secondary port (24008). */
export const GLUSTERD_PORTS = { from: 24007, to: 24008 } as const;

/**
 * Default GlusterFS brick port range (glusterd `base-port` .. `max-port`): bounded so the security
 * group can name it; one port per brick process, ten leaves room for replace-brick.
 */
export const GLUSTER_BRICK_PORTS = { from: 49152, to: 49161 } as const;

/** Redis / Valkey (ElastiCache, TLS). */
export const REDIS_PORT = 6379;
