/**
 * The ports the database tier serves, declared once. Pure data with no imports: the policy pack (a
 * separate package the Pulumi CLI loads on its own, which must not pull in a second copy of
 * @pulumi/pulumi through a component) reads the same numbers as the component, its bootstrap plan
 * (which hands them to the node scripts as environment) and the web nodes' HAProxy.
 */

/** MariaDB Galera: SQL, the HTTP health check, group replication (tcp+udp), IST and SST. */
export const GALERA_PORTS = { mysql: 3306, health: 9200, replication: 4567, ist: 4568, sst: 4444 } as const;
