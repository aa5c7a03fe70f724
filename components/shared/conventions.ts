/**
 * Tag keys the components write and the policy pack reads. They carry facts that are known at
 * preview time (IDs are not), so policies can judge placement and exemptions before anything exists.
 */
export const TAG_TIER = "owncloud-ha:tier";
export const TAG_SUBNET_TIER = "owncloud-ha:subnet-tier";
/** Present (with a reason as its value) only on resources allowed to have a public IPv4 address. */
export const TAG_PUBLIC_EXEMPTION = "owncloud-ha:public-exemption";

/**
 * Present (with a reason as its value) only on a load balancer allowed to serve plain HTTP without
 * a certificate (dev/test); the policy pack never honours it in production.
 */
export const TAG_HTTP_EXEMPTION = "owncloud-ha:http-exemption";

/**
 * On the data volumes a snapshot policy targets; its value names the cluster component whose
 * Data Lifecycle Manager policy snapshots them (one policy per component, see volumeSnapshots.ts).
 */
export const TAG_SNAPSHOT_POLICY = "owncloud-ha:snapshot-policy";

export type Tier = "bastion" | "web" | "galera" | "gluster" | "redis" | "alb" | "network" | "backup";
export type SubnetTier = "public" | "private";

/** Merges the caller's tags with the component's own; the component's keys win so policies can rely on them. */
export function withTags(
    userTags: Record<string, string> | undefined,
    own: Record<string, string>,
): Record<string, string> {
    return { ...(userTags ?? {}), ...own };
}
