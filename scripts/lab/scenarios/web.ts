/**
 * The web tier's cluster-wide locks (scripts/node/web/node-init.sh): the first ownCloud start (install or
 * upgrade) and the cron job each take a flock on a file of the shared GlusterFS volume, so only one
 * web node installs at a time and cron runs on one node at a time. These scenarios prove flock is
 * honoured ACROSS FUSE clients, and measure how long a dead holder keeps the lock.
 */
import { HEALTH_PORT } from "../../../components/web/ports";
import { MOUNT_POINT, cutNetwork, isMounted, restoreNetwork } from "../gluster-lab";
import { designatedWriter, haproxyWriter } from "../galera-lab";
import { Lab, hostByName, sleep } from "../lab-core";
import { Scenario, ScenarioResult } from "../types";

const DIR = "/mnt/owncloud-data/.owncloud-ha";
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Starts a lock holder on `host`; resolves once it holds the lock. The holder `exec`s into sleep so its PID owns the fd. */
async function holdLock(lab: Lab, host: string, file: string, seconds: number): Promise<{ done: Promise<unknown> }> {
    const script = `mkdir -p ${DIR}; exec 8>${DIR}/${file}; flock -w 30 8 || exit 3; echo $$ > /tmp/lock-holder.pid; date +%s.%N > /tmp/lock-got; exec sleep ${seconds}`;
    // A previous holder's marker would make the wait below return before this one holds the lock.
    await lab.sh(host, "rm -f /tmp/lock-holder.pid /tmp/lock-got");
    const done = lab.exec(host, ["bash", "-c", script], { timeoutMs: (seconds + 40) * 1000 });
    for (let i = 0; i < 100; i++) {
        if ((await lab.exec(host, ["test", "-s", "/tmp/lock-got"])).code === 0) return { done };
        await sleep(100);
    }
    throw new Error(`${host} did not get ${file} within 10 s`);
}

/** Tries the lock on `host`: non-blocking, or waiting up to `waitSeconds`. Returns seconds waited, or -1 when refused. */
async function tryLock(lab: Lab, host: string, file: string, waitSeconds: number): Promise<number> {
    const t0 = Date.now();
    const flag = waitSeconds === 0 ? "-n" : `-w ${waitSeconds}`;
    const r = await lab.exec(host, ["bash", "-c", `mkdir -p ${DIR}; exec 8>${DIR}/${file}; flock ${flag} 8`], { timeoutMs: (waitSeconds + 20) * 1000 });
    return r.code === 0 ? (Date.now() - t0) / 1000 : -1;
}

async function cleanup(lab: Lab): Promise<void> {
    for (const h of ["web1", "web2"]) {
        await lab.sh(h, "if [ -s /tmp/lock-holder.pid ]; then kill -9 \"$(cat /tmp/lock-holder.pid)\" 2>/dev/null || true; fi; rm -f /tmp/lock-holder.pid /tmp/lock-got");
    }
}

function wrap(name: string, body: (figures: ScenarioResult["figures"], notes: string[]) => Promise<boolean>): (lab: Lab) => Promise<ScenarioResult> {
    return async (lab) => {
        const figures: ScenarioResult["figures"] = {};
        const notes: string[] = [];
        const t0 = Date.now();
        let ok = false;
        try {
            await cleanup(lab);
            ok = await body(figures, notes);
        } catch (e) {
            notes.push(`ERROR: ${(e as Error).message}`);
        } finally {
            await cleanup(lab);
        }
        return { name, ok, figures, notes, durationSeconds: r2((Date.now() - t0) / 1000) };
    };
}

/** HTTP status of a web host's health frontend as the ALB sees it (from the other web host, Host header = an IP). */
async function health(lab: Lab, web = "web1"): Promise<number> {
    const from = web === "web1" ? "web2" : "web1";
    const r = await lab.exec(from, ["curl", "-s", "-o", "/dev/null", "-m", "3", "-w", "%{http_code}", `http://${hostByName(web).ip}:${HEALTH_PORT}/healthz`], { timeoutMs: 10_000 });
    return Number(r.stdout.trim()) || 0;
}

async function waitHealth(lab: Lab, want: number, timeoutMs = 20_000): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
        if ((await health(lab)) === want) return (Date.now() - t0) / 1000;
        await sleep(250);
    }
    return -1;
}

export const scenarios: Scenario[] = [
    {
        name: "web-health-frontend",
        description:
            `the ALB's health check of a web node (HAProxy on ${HEALTH_PORT}, asking the running ownCloud's status.php with the right Host header): 200 while ownCloud is installed and out of maintenance, 503 in maintenance and while its container is stopped, whatever Host header the checker sends`,
        run: (lab) =>
            wrap("web-health-frontend", async (figures, notes) => {
                const occ = (flag: string) => lab.sh("web1", `docker exec -u www-data owncloud occ maintenance:mode ${flag}`, { timeoutMs: 60_000 });
                try {
                    figures.healthyAfterSeconds = r2(await waitHealth(lab, 200));
                    const on = await occ("--on");
                    if (on.code !== 0) throw new Error(`occ maintenance:mode --on failed: ${(on.stderr + on.stdout).trim()}`);
                    figures.unhealthyInMaintenanceAfterSeconds = r2(await waitHealth(lab, 503));
                    const off = await occ("--off");
                    if (off.code !== 0) throw new Error(`occ maintenance:mode --off failed: ${(off.stderr + off.stdout).trim()}`);
                    figures.healthyAgainAfterSeconds = r2(await waitHealth(lab, 200));
                    await lab.svc("web1", "stop", "owncloud");
                    figures.unhealthyWhenDownAfterSeconds = r2(await waitHealth(lab, 503));
                } finally {
                    // maintenance lives in the shared config.php: never leave it on for the other scenarios
                    await occ("--off");
                    await lab.svc("web1", "start", "owncloud");
                }
                figures.healthyAfterStartSeconds = r2(await waitHealth(lab, 200, 120_000));
                notes.push(`checker sends Host: ${hostByName("web1").ip}:${HEALTH_PORT} (an address, as the ALB does); status.php would answer 400 to it directly`);
                notes.push("maintenance through the container's occ (config.php on the shared volume); down = systemctl stop owncloud");
                return [figures.healthyAfterSeconds, figures.unhealthyInMaintenanceAfterSeconds, figures.healthyAgainAfterSeconds, figures.unhealthyWhenDownAfterSeconds, figures.healthyAfterStartSeconds].every((x) => (x as number) >= 0);
            })(lab),
    },
    {
        name: "web-shared-locks",
        description:
            "the install and cron locks of the web nodes: web1 holds a flock on the shared volume, web2 is refused (non-blocking) and gets it only after web1 releases; a kill -9 of the holder frees it",
        run: (lab) =>
            wrap("web-shared-locks", async (figures, notes) => {
                const held = 5;
                const holder = await holdLock(lab, "web1", "install.lock", held);
                figures.nonBlockingRefused = (await tryLock(lab, "web2", "install.lock", 0)) === -1;
                const waited = await tryLock(lab, "web2", "install.lock", 30);
                await holder.done;
                figures.web2WaitedSeconds = r2(waited);
                // web2 asked about 0.3 s after web1 took the lock, so it must have waited most of `held`.
                figures.waitedForRelease = waited >= held - 1.5;

                const killed = await holdLock(lab, "web1", "cron.lock", 120);
                const pid = (await lab.exec("web1", ["cat", "/tmp/lock-holder.pid"])).stdout.trim();
                if (!/^\d+$/.test(pid)) throw new Error(`no holder PID on web1 (${pid})`);
                const tKill = Date.now();
                await lab.sh("web1", `kill -9 ${pid}`);
                await killed.done;
                const afterKill = await tryLock(lab, "web2", "cron.lock", 30);
                figures.releaseAfterKillSeconds = r2(afterKill < 0 ? -1 : (Date.now() - tKill) / 1000);
                figures.releaseTargetSeconds = 5;
                notes.push("the same `exec 8>FILE; flock 8` the web nodes use, on the GlusterFS fuse mount of each web host");
                return figures.nonBlockingRefused === true && figures.waitedForRelease === true && afterKill >= 0 && (figures.releaseAfterKillSeconds as number) <= 5;
            })(lab),
    },
    {
        name: "web-lock-holder-cut",
        description:
            "web1 holds the cron lock and is cut off the network (a web node lost silently): the bricks release its lock once they declare it dead, and web2 takes over",
        run: (lab) =>
            wrap("web-lock-holder-cut", async (figures, notes) => {
                const holder = await holdLock(lab, "web1", "cron.lock", 120);
                await cutNetwork(lab, "web1");
                const tCut = Date.now();
                try {
                    const waited = await tryLock(lab, "web2", "cron.lock", 90);
                    figures.takeoverSeconds = r2(waited < 0 ? -1 : (Date.now() - tCut) / 1000);
                } finally {
                    await restoreNetwork(lab, "web1");
                }
                const pid = (await lab.exec("web1", ["cat", "/tmp/lock-holder.pid"])).stdout.trim();
                if (/^\d+$/.test(pid)) await lab.sh("web1", `kill -9 ${pid}`);
                await holder.done;
                figures.takeoverBoundSeconds = 90;
                notes.push("how long a vanished node keeps the install/cron lock: the bricks' ping-timeout (10 s) plus TCP timeouts");
                return (figures.takeoverSeconds as number) >= 0;
            })(lab),
    },
    {
        name: "web-reboot",
        description:
            "web2 reboots (`systemctl reboot` inside it, as an operator or an instance reboot does): it comes back with the shared volume mounted from its fstab entry, the data written before intact, and its HAProxy writing to the designated Galera writer",
        run: (lab) =>
            wrap("web-reboot", async (figures, notes) => {
                const host = "web2";
                const file = `${MOUNT_POINT}/.owncloud-ha/reboot-probe`;
                const sum = (await lab.sh(host, `mkdir -p ${MOUNT_POINT}/.owncloud-ha && head -c 1048576 /dev/urandom > ${file} && sync && sha256sum < ${file}`)).stdout.trim();
                if (!/^[0-9a-f]{64}/.test(sum)) throw new Error(`could not write the probe file on ${host}: ${sum}`);
                figures.rebootSeconds = r2(await lab.reboot(host));
                const t1 = Date.now();
                while (!(await isMounted(lab, host)) && Date.now() - t1 < 60_000) await sleep(500);
                figures.mountedAfterBootSeconds = (await isMounted(lab, host)) ? r2((Date.now() - t1) / 1000) : -1;
                const after = (await lab.sh(host, `sha256sum < ${file}`)).stdout.trim();
                figures.probeFileIntact = after === sum;
                // ownCloud serves again, and its container started only once the volume was mounted
                // (owncloud.service: RequiresMountsFor; a start on the empty mount point would install afresh)
                const t3 = Date.now();
                while ((await health(lab, host)) !== 200 && Date.now() - t3 < 180_000) await sleep(500);
                figures.servingAfterMountSeconds = (await health(lab, host)) === 200 ? r2((Date.now() - t3) / 1000 + (figures.mountedAfterBootSeconds as number)) : -1;
                const mountUnit = (await lab.exec(host, ["systemd-escape", "--path", "--suffix=mount", MOUNT_POINT])).stdout.trim();
                const mono = async (unit: string) => Number((await lab.exec(host, ["systemctl", "show", "-P", "ActiveEnterTimestampMonotonic", unit])).stdout.trim());
                const [mountAt, containerAt] = [await mono(mountUnit), await mono("owncloud.service")];
                figures.containerStartedAfterMount = mountAt > 0 && containerAt >= mountAt;
                // the cluster's designated writer, not db1: it keeps the role after a failover (no failback),
                // so earlier scenarios may have moved it; a rebooted HAProxy must follow the cluster's choice
                const designated = await designatedWriter(lab);
                let writer = "";
                const t2 = Date.now();
                while ((writer = await haproxyWriter(lab, host)) !== designated && Date.now() - t2 < 30_000) await sleep(500);
                figures.haproxyWriter = writer;
                figures.designatedWriter = designated || "(none recorded)";
                await lab.sh(host, `rm -f ${file}`);
                notes.push(`the mount comes from the fstab line gluster-mount.sh wrote (_netdev, backup volfile servers); ${lab.booted.dir(host)}/console.log has the boot`);
                return figures.mountedAfterBootSeconds !== -1 && figures.probeFileIntact === true && figures.servingAfterMountSeconds !== -1 && figures.containerStartedAfterMount === true && designated !== "" && writer === designated;
            })(lab),
    },
];
