/**
 * The ports the database tier serves, declared once. Pure data with no imports: the policy pack (a
 * separate package the Pulumi CLI loads on its own, which must not pull in a second copy of
 * @pulumi/pulumi through a component) reads the same numbers as the component, its bootstrap plan
 * (which hands them to the node scripts as environment) and the web nodes' HAProxy.
 */

/**
 * MariaDB Galera: SQL, the three HTTP health answers the web hosts' HAProxy checks, group
 * replication (tcp+udp), IST and SST. Health answers (scripts/node/galera/health-check.sh):
 * `health` 200 while the node is Synced, Primary, writable, has disk space and commits;
 * `healthDonor` the same but a Donor/Desynced node also answers 200 (a last resort when no node is
 * Synced); `writer` 200 only on the node the cluster designates as the single writer (sticky).
 */
export const GALERA_PORTS = { mysql: 3306, health: 9200, healthDonor: 9201, writer: 9202, replication: 4567, ist: 4568, sst: 4444 } as const;
