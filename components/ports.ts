/**
 * Every port the platform's data tiers open, declared once. Pure data with no imports, so the
 * components, the policy pack (a separate package the Pulumi CLI loads on its own, which must not
 * pull in a second copy of @pulumi/pulumi through a component) and the tests read the same numbers.
 */

/** MariaDB Galera: SQL, the HTTP health check, group replication (tcp+udp), IST and SST. */
export const GALERA_PORTS = { mysql: 3306, health: 9200, replication: 4567, ist: 4568, sst: 4444 } as const;

/** glusterd management (24007) and its RDMA/secondary port (24008). */
export const GLUSTERD_PORTS = { from: 24007, to: 24008 } as const;

/**
 * Default GlusterFS brick port range (glusterd `base-port` .. `max-port`): bounded so the security
 * group can name it; one port per brick process, ten leaves room for replace-brick.
 */
export const GLUSTER_BRICK_PORTS = { from: 49152, to: 49161 } as const;

/** Redis / Valkey (ElastiCache, TLS). */
export const REDIS_PORT = 6379;
