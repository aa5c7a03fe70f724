/**
 * The ports the storage tier serves, declared once. Pure data with no imports (see
 * components/database/ports.ts for why): the component, its bootstrap plan, the web nodes' mount and
 * the policy pack read the same numbers.
 */

/** glusterd management (24007) and its RDMA/secondary port (24008). */
export const GLUSTERD_PORTS = { from: 24007, to: 24008 } as const;

/**
 * Default GlusterFS brick port range (glusterd `base-port` .. `max-port`): bounded so the security
 * group can name it; one port per brick process, ten leaves room for replace-brick.
 */
export const GLUSTER_BRICK_PORTS = { from: 49152, to: 49161 } as const;
