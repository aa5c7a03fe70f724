/** The web tier's ports, declared once. Pure data with no imports (see components/database/ports.ts). */

/** Port of the official owncloud/server image (Apache's `Listen 8080`, on the host network). */
export const OWNCLOUD_PORT = 8080;
/** Node-local HAProxy frontend the ALB checks: 200 only while ownCloud serves (see scripts/web/haproxy.sh). */
export const HEALTH_PORT = 8081;
