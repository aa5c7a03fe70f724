/**
 * The ports this stack's data tiers serve, imported from the components that open them (one home
 * for each number): a port the components change is judged at its new value without a copy here.
 * The Gluster brick range is the component's default; a stack that configures another range is
 * judged at that range too, read from the security-group rules it records (network.ts).
 */
import { REDIS_PORT } from "../../components/cache/ports";
import { GALERA_PORTS } from "../../components/database/ports";
import { GLUSTER_BRICK_PORTS, GLUSTERD_PORTS } from "../../components/storage/ports";
import type { PortRange } from "../lib";

/** Default GlusterFS brick port range (glusterd base-port .. max-port as the component sets them). */
export const DEFAULT_BRICK_PORTS = `${GLUSTER_BRICK_PORTS.from}-${GLUSTER_BRICK_PORTS.to}`;

/** Data and replication ports of the stack's tiers, with what serves them (for messages). */
export const DATA_PORTS: readonly (PortRange & { service: string })[] = [
    { from: GALERA_PORTS.mysql, to: GALERA_PORTS.mysql, service: "MariaDB" },
    { from: GALERA_PORTS.health, to: GALERA_PORTS.health, service: "Galera health check" },
    { from: GALERA_PORTS.healthDonor, to: GALERA_PORTS.healthDonor, service: "Galera health check (Donor accepted)" },
    { from: GALERA_PORTS.writer, to: GALERA_PORTS.writer, service: "Galera designated-writer check" },
    { from: GALERA_PORTS.replication, to: GALERA_PORTS.replication, service: "Galera replication" },
    { from: GALERA_PORTS.ist, to: GALERA_PORTS.ist, service: "Galera IST" },
    { from: GALERA_PORTS.sst, to: GALERA_PORTS.sst, service: "Galera SST" },
    { from: GLUSTERD_PORTS.from, to: GLUSTERD_PORTS.to, service: "glusterd" },
    { from: GLUSTER_BRICK_PORTS.from, to: GLUSTER_BRICK_PORTS.to, service: "GlusterFS bricks" },
    { from: REDIS_PORT, to: REDIS_PORT, service: "Redis" },
    // Not opened by the components, but what a GlusterFS or NFS client would also try.
    { from: 2049, to: 2049, service: "NFS" },
    { from: 111, to: 111, service: "portmapper" },
];

/** Other well-known data stores' ports (a program reusing the pack may run them). */
export const OTHER_DATA_PORTS: readonly (PortRange & { service: string })[] = [
    { from: 5432, to: 5432, service: "PostgreSQL" },
    { from: 1433, to: 1434, service: "SQL Server" },
    { from: 27017, to: 27017, service: "MongoDB" },
    { from: 9300, to: 9300, service: "Elasticsearch transport" },
    { from: 11211, to: 11211, service: "Memcached" },
];
