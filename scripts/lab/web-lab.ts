/**
 * Web hosts in the lab: their boot is the cloud's web node plan (components/web/plan.ts), built from
 * the lab's hosts. The lab runs no container engine, Secrets Manager or Redis, so it runs the parts
 * of the boot that come before ownCloud starts (the node-local HAProxy, the shared volume's mount),
 * each with exactly the environment node-init.sh would give it.
 */
import { REDIS_PORT } from "../../components/cache/ports";
import { DEFAULT_MOUNT_POINT, DEFAULT_VOLUME } from "../../components/storage/plan";
import { WebNodePlan, webNodePartPlan, webNodePlan } from "../../components/web/plan";
import { BootstrapPlan } from "../../components/shared/bootstrapPlan";
import { HOSTS } from "./lab-core";

/** ownCloud's domain in the lab: the Host header the health frontend asks status.php with. */
export const LAB_DOMAIN = "cloud.lab.test";
/** Settings only the container start reads (secrets, Redis, image), which the lab never runs. */
const NOT_RUN_IN_LAB = "not-run-in-the-lab";

export const WEB_HOSTS = HOSTS.filter((h) => h.role === "web").map((h) => h.name);

export function labWebNodePlan(): WebNodePlan {
    return webNodePlan({
        galeraNodes: HOSTS.filter((h) => h.role === "db").map((h) => ({ name: h.name, address: h.ip })),
        glusterServers: HOSTS.filter((h) => h.role === "fs").map((h) => h.ip),
        glusterVolume: DEFAULT_VOLUME,
        mountPoint: DEFAULT_MOUNT_POINT,
        domain: LAB_DOMAIN,
        protocol: "http",
        owncloudImage: NOT_RUN_IN_LAB,
        redis: { host: NOT_RUN_IN_LAB, port: REDIS_PORT, clusterMode: false },
        secrets: { region: NOT_RUN_IN_LAB, dbSecretArn: NOT_RUN_IN_LAB, redisSecretArn: NOT_RUN_IN_LAB, adminSecretArn: NOT_RUN_IN_LAB },
    });
}

/** The web hosts' node-local single-writer HAProxy (with the load balancer's health frontend), as on a cloud web node. */
export const labHaproxyPlan = (): BootstrapPlan => webNodePartPlan(labWebNodePlan(), "haproxy", WEB_HOSTS);
/** The shared volume's mount on the web hosts, as on a cloud web node. */
export const labGlusterMountPlan = (after: string[] = []): BootstrapPlan => webNodePartPlan(labWebNodePlan(), "glusterMount", WEB_HOSTS, after);
