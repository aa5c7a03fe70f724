/**
 * User-level scenarios: users upload and download files through the front door (the ALB stand-in,
 * scripts/lab/front-door.ts) while one part of the platform fails. Each records every acknowledged
 * upload and checks it comes back intact afterwards; the figures are the failed user requests and
 * their window, and the lost or corrupt files (which must be 0).
 */
import { ALB_STANDIN_HOST, REDIS_ENDPOINT_ADDRESS, REDIS_STANDIN_HOSTS, WebBoot } from "../web-boot";
import { Traffic, TrafficFigures, frontDoor } from "../front-door";
import { designatedWriter, galeraNodeStatus, DB_NODES } from "../galera-lab";
import { killGlusterHost, startGlusterd, waitHealed } from "../gluster-lab";
import { HAPROXY_ADMIN_SOCKET } from "../alb-standin";
import { HOSTS, Lab, run, sleep } from "../lab-core";
import { Scenario, ScenarioResult } from "../types";
import { waitFor } from "./galera";
import { FAILOVER_FAILED_PROBES, FAILOVER_PROBE_INTERVAL_SECONDS } from "../elasticache-standin";
import { REDIS_PORT } from "../../../components/cache/ports";

const r2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The ALB's view of a target: its server in the stand-in's forwarding backend (not the -check-
 * backends, not the fail-open backups): status (UP, DOWN, MAINT, …) and the requests' sessions it
 * has served (`show stat` fields 17 and 7).
 */
async function albTarget(lab: Lab, target: string): Promise<{ status: string; sessions: number }> {
    const r = await run([...lab.booted.nsenterArgs(ALB_STANDIN_HOST.name), "bash", "-c", `echo 'show stat' | socat -t2 stdio UNIX-CONNECT:${HAPROXY_ADMIN_SOCKET}`], { timeoutMs: 10_000 });
    const row = r.stdout.split("\n").map((l) => l.split(",")).find((c) => c[1] === target && !c[0].includes("-check-") && c[0] !== "stats");
    return row ? { status: row[17], sessions: Number(row[7]) } : { status: `unknown (${r.stderr.trim() || "no row"})`, sessions: -1 };
}
const albTargetStatus = async (lab: Lab, target: string) => (await albTarget(lab, target)).status;

/**
 * Runs `fault` while users work through the front door: traffic for `leadSeconds`, the fault, then
 * `recover` (which returns once the platform is whole again), then `tailSeconds` of traffic; every
 * acknowledged file is then read back. Passes with 0 lost and 0 corrupt files and no failed request
 * after the recovery.
 */
async function underTraffic(
    lab: Lab,
    name: string,
    body: {
        fault: (figures: ScenarioResult["figures"], notes: string[]) => Promise<void>;
        recover: (figures: ScenarioResult["figures"], notes: string[]) => Promise<void>;
    },
    opts: { leadSeconds?: number; tailSeconds?: number } = {},
): Promise<ScenarioResult> {
    const figures: ScenarioResult["figures"] = {};
    const notes: string[] = [];
    const t0 = Date.now();
    let ok = false;
    const traffic = new Traffic(frontDoor(lab.recording(), ALB_STANDIN_HOST.address), `lab-${name}-${Date.now()}`, { maxSeconds: 600 });
    try {
        await traffic.start();
        await sleep((opts.leadSeconds ?? 10) * 1000);
        const tFault = Date.now();
        await body.fault(figures, notes);
        await body.recover(figures, notes);
        const tRecovered = Date.now();
        figures.faultToRecoveredSeconds = r2((tRecovered - tFault) / 1000);
        await sleep((opts.tailSeconds ?? 10) * 1000);
        await traffic.stop();
        const f: TrafficFigures = await traffic.verify();
        // a request in flight at the recovery may still fail; one started 2 s after it must not
        const failedAfterRecovery = traffic.failedSince(tRecovered + 2000);
        Object.assign(figures, {
            requests: f.requests,
            failedRequests: f.failedRequests,
            failureWindowSeconds: f.failureWindowSeconds,
            ackedUploads: f.ackedUploads,
            lostFiles: f.lostFiles,
            corruptFiles: f.corruptFiles,
            failedAfterRecovery,
        });
        if (f.failures.length) notes.push(`first failed requests (seconds after traffic start): ${f.failures.join("; ")}`);
        ok = f.lostFiles === 0 && f.corruptFiles === 0 && f.ackedUploads > 0 && failedAfterRecovery === 0;
    } catch (e) {
        notes.push(`ERROR: ${(e as Error).message}`);
        await traffic.stop();
    }
    return { name, ok, figures, notes, durationSeconds: r2((Date.now() - t0) / 1000) };
}

/** The web node the Auto Scaling group launches in the scale-out scenario. */
const SCALE_OUT_HOST = HOSTS.find((h) => h.role === "web" && h.scaleOut)?.name ?? "web3";

/** Long enough for users' requests to meet the lost brick host; each second down is heal work afterwards. */
const BRICK_HOST_DOWN_S = 10;

export const scenarios: Scenario[] = [
    {
        name: "user-web-node-power-loss",
        description:
            "users upload and download through the front door while web1 loses power; the ALB stops sending to it after its failed health checks, and web1 boots again and serves (its ownCloud starts from its units, not from user data)",
        run: (lab) =>
            underTraffic(lab, "user-web-node-power-loss", {
                fault: async (figures) => {
                    await lab.booted.kill("web1");
                    const down = await waitFor("the ALB marking web1 down", 120_000, async () => (await albTargetStatus(lab, "web1")).startsWith("DOWN"));
                    figures.albMarkedDownSeconds = r2(down);
                },
                recover: async (figures) => {
                    const t = Date.now();
                    await new WebBoot(lab, lab.recording()).restartWebHost("web1");
                    figures.bootSeconds = r2((Date.now() - t) / 1000);
                    await waitFor("the ALB marking web1 up again", 300_000, async () => (await albTargetStatus(lab, "web1")).startsWith("UP"));
                    figures.servingAgainAfterPowerOnSeconds = r2((Date.now() - t) / 1000);
                },
            }),
    },
    {
        name: "user-galera-writer-crash",
        description: "users upload and download through the front door while the designated Galera writer's mariadb is SIGKILLed (its unit restarts it and it rejoins)",
        run: (lab) =>
            underTraffic(lab, "user-galera-writer-crash", {
                fault: async (figures) => {
                    const writer = (await designatedWriter(lab)) || DB_NODES[0].name;
                    figures.writer = writer;
                    await lab.svc(writer, "kill", "mariadb");
                },
                recover: async (figures) => {
                    const writer = String(figures.writer);
                    const s = await waitFor(`${writer} Synced again`, 300_000, async () => {
                        const st = await galeraNodeStatus(lab, writer);
                        return st.state === "Synced" && st.clusterSize === DB_NODES.length;
                    });
                    figures.writerSyncedAgainSeconds = r2(s);
                    figures.designatedAfter = await designatedWriter(lab);
                },
            }),
    },
    {
        name: "user-redis-primary-failover",
        description:
            `users upload and download through the front door while the Redis primary loses power; as ElastiCache does, the replica is promoted after ${FAILOVER_FAILED_PROBES} failed probes ${FAILOVER_PROBE_INTERVAL_SECONDS} s apart and the endpoint name follows it; the old primary boots again and follows the new one`,
        run: (lab) =>
            underTraffic(lab, "user-redis-primary-failover", {
                fault: async (figures) => {
                    const primary = await new WebBoot(lab, lab.recording()).redisEndpointHolder();
                    if (!primary) throw new Error(`no Redis stand-in host holds the endpoint address ${REDIS_ENDPOINT_ADDRESS}`);
                    figures.oldPrimary = primary;
                    await lab.booted.kill(primary);
                },
                recover: async (figures) => {
                    const wb = new WebBoot(lab, lab.recording());
                    const old = String(figures.oldPrimary);
                    const next = REDIS_STANDIN_HOSTS.find((h) => h.name !== old)!.name;
                    const t = Date.now();
                    // ElastiCache's detection, modelled: FAILOVER_FAILED_PROBES failed probes of the primary in a row
                    const address = REDIS_STANDIN_HOSTS.find((h) => h.name === old)!.address;
                    let missed = 0;
                    for (let i = 0; i < 60 && missed < FAILOVER_FAILED_PROBES; i++) {
                        const p = await run([...lab.booted.nsenterArgs(next), "timeout", String(FAILOVER_PROBE_INTERVAL_SECONDS), "bash", "-c", `exec 3<>/dev/tcp/${address}/${REDIS_PORT}`], { timeoutMs: 5000 });
                        missed = p.code === 0 ? 0 : missed + 1;
                        await sleep(FAILOVER_PROBE_INTERVAL_SECONDS * 1000);
                    }
                    await wb.redisFailover("take", next);
                    figures.newPrimary = next;
                    figures.promotedAfterSeconds = r2((Date.now() - t) / 1000);
                    await wb.restartStandinHost(old);
                    await wb.redisFailover("release", old, next);
                    figures.oldPrimaryFollowsAfterSeconds = r2((Date.now() - t) / 1000);
                },
            }),
    },
    {
        name: "user-gluster-brick-host-down",
        description: `users upload and download through the front door while fs3's GlusterFS processes are killed for ${BRICK_HOST_DOWN_S} s (a brick host lost: disperse 2+1 keeps serving), then fs3 comes back and heals`,
        run: (lab) =>
            underTraffic(
                lab,
                "user-gluster-brick-host-down",
                {
                    fault: async (figures) => {
                        await waitHealed(lab, 300);
                        figures.killed = (await killGlusterHost(lab, "fs3")).length;
                        await sleep(BRICK_HOST_DOWN_S * 1000);
                    },
                    recover: async (figures) => {
                        await startGlusterd(lab, "fs3");
                        figures.healSeconds = r2(await waitHealed(lab, 600));
                    },
                },
                { tailSeconds: 5 },
            ),
    },
    {
        name: "user-web-node-scale-out",
        description: `users upload and download through the front door while the Auto Scaling group launches a new web node (${SCALE_OUT_HOST}) from the launch template's user data and the target group registers it at once; the ALB holds it unhealthy until its checks pass, then it serves users; then it is scaled in (deregistered, terminated)`,
        run: async (lab) => {
            const wb = new WebBoot(lab, lab.recording());
            const host = SCALE_OUT_HOST;
            let launchedAt = 0;
            let result: ScenarioResult;
            try {
                result = await underTraffic(
                    lab,
                    "user-web-node-scale-out",
                    {
                        fault: async () => {
                            launchedAt = Date.now();
                            wb.launchWebHost(host);
                            // no lifecycle hook in the program: the group registers an instance as it enters service
                            await wb.registerTarget(host);
                        },
                        recover: async (figures) => {
                            const status = await albTargetStatus(lab, host);
                            if (!status.startsWith("DOWN")) throw new Error(`${host} registered: the ALB must hold it unhealthy until its checks pass, found ${status}`);
                            await wb.waitLaunched(host, 1_500_000);
                            figures.userDataDoneSeconds = r2((Date.now() - launchedAt) / 1000);
                            await waitFor(`the ALB marking ${host} healthy`, 300_000, async () => (await albTargetStatus(lab, host)).startsWith("UP"));
                            figures.healthyAfterLaunchSeconds = r2((Date.now() - launchedAt) / 1000);
                        },
                    },
                    { tailSeconds: 20 },
                );
                const served = (await albTarget(lab, host)).sessions;
                result.figures.requestsServedByNewNode = served;
                if (served <= 0) {
                    result.ok = false;
                    result.notes.push(`${host} is healthy but served no request in 20 s of traffic`);
                }
            } finally {
                // scale-in: the target group stops sending to it, the group terminates it
                await wb.deregisterTarget(host).catch(() => undefined);
                await lab.booted.remove(host);
            }
            return result;
        },
    },
];
