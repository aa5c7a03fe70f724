/**
 * The web node's boot as data, like the clusters' bootstrap plans: which node files it carries, the
 * script it runs and the (non-secret) environment. The web tier's user data is built from it; the lab
 * boots its web hosts from that user data as recorded.
 */
import { GaleraNode, haproxyEnv } from "../database/plan";
import { DEFAULT_MOUNT_POINT, glusterClientEnv } from "../storage/plan";
import { HEALTH_PORT, OWNCLOUD_PORT } from "./ports";

/** The node files a web node needs, relative to scripts/: exactly what its user data carries. */
export const WEB_NODE_FILES = ["lib/common.sh", "web/haproxy.sh", "web/haproxy.cfg.tmpl", "web/gluster-mount.sh", "web/node-init.sh"];
/** The script user data runs after unpacking the files. */
export const WEB_NODE_ENTRY = "web/node-init.sh";

export interface WebNodeSettings {
    /** Galera nodes in writer order (the first is the single writer); names become HAProxy's server names. */
    galeraNodes: GaleraNode[];
    /** GlusterFS node addresses, the first is the primary volfile server. */
    glusterServers: string[];
    glusterVolume: string;
    /** Where the shared volume is mounted (ownCloud's config/ and files/ live there). Default `/mnt/owncloud-data`. */
    mountPoint?: string;
    /** Public host name: ownCloud's domain and the Host header of the load balancer's health check. */
    domain: string;
    /** What the load balancer serves users: ownCloud builds its URLs with it. */
    protocol: "http" | "https";
    owncloudImage: string;
    redis: { host: string; port: number; clusterMode: boolean };
    /** Where the node fetches its secrets with its instance role (ARNs are not secret; the values never pass here). */
    secrets: { region: string; dbSecretArn: string; redisSecretArn: string; adminSecretArn: string };
}

/** A script the entry runs, with exactly the environment it gets from the entry (a subset of the boot's). */
export interface WebNodePart {
    script: string;
    env: Record<string, string>;
}

export interface WebNodePlan {
    /** Node files to carry, relative to scripts/. */
    files: string[];
    /** The script to run, relative to scripts/. */
    entry: string;
    /** The entry's environment: every value non-secret (user data is readable by anyone who may describe the instance). */
    env: Record<string, string>;
    /**
     * What the entry runs before it starts ownCloud, in order. The entry passes them its own
     * environment, so each part's env is the boot's, restricted to what the part reads.
     */
    parts: { haproxy: WebNodePart; glusterMount: WebNodePart };
}

/** The boot of a web node for the given settings (pure: the same settings give the same plan). */
export function webNodePlan(s: WebNodeSettings): WebNodePlan {
    const haproxy = {
        ...haproxyEnv(s.galeraNodes),
        // The health frontend the load balancer checks, asking the local ownCloud with the real Host header.
        OWNCLOUD_HEALTH_PORT: String(HEALTH_PORT),
        OWNCLOUD_HEALTH_HOST: s.domain,
        OWNCLOUD_PORT: String(OWNCLOUD_PORT),
    };
    const glusterMount = glusterClientEnv(s.glusterServers, s.glusterVolume, s.mountPoint ?? DEFAULT_MOUNT_POINT);
    const env: Record<string, string> = {
        ...haproxy,
        ...glusterMount,
        AWS_REGION: s.secrets.region,
        DB_SECRET_ARN: s.secrets.dbSecretArn,
        REDIS_SECRET_ARN: s.secrets.redisSecretArn,
        ADMIN_SECRET_ARN: s.secrets.adminSecretArn,
        REDIS_HOST: s.redis.host,
        REDIS_PORT: String(s.redis.port),
        REDIS_CLUSTER_MODE: s.redis.clusterMode ? "enabled" : "disabled",
        OWNCLOUD_IMAGE: s.owncloudImage,
        OWNCLOUD_DOMAIN: s.domain,
        OWNCLOUD_PROTOCOL: s.protocol,
    };
    return {
        files: [...WEB_NODE_FILES],
        entry: WEB_NODE_ENTRY,
        env,
        parts: { haproxy: { script: "web/haproxy.sh", env: haproxy }, glusterMount: { script: "web/gluster-mount.sh", env: glusterMount } },
    };
}

