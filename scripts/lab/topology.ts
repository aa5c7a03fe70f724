/**
 * The lab's hosts, read off the recording of the lab stack: the Galera and GlusterFS instances at
 * their recorded (fixed) private addresses with the data volumes their recorded steps name; the
 * bastion and the web nodes, whose addresses AWS picks at launch, at addresses the lab picks inside
 * the web VPC. The recorded NAT instances are not hosts: the egress stand-in takes their place.
 */
import * as crypto from "crypto";
import type { LabRecording, ReplayCommand } from "./replay/record";
import type { LabHost } from "./lab-core";

/** The bastion's lab address (in the lab stack's web VPC, 198.18.0.0/18). */
export const LAB_BASTION_IP = "198.18.0.10";
/** The web nodes' lab addresses (the web VPC: the range the database grants and the volume's auth-allow name). */
export const LAB_WEB_IPS = ["198.18.0.31", "198.18.0.32"];
/** The address of the web node the Auto Scaling group launches later (scale-out), in the same range. */
export const LAB_SCALE_OUT_WEB_IP = "198.18.0.33";

/** Recorded name of a cluster node instance → its index, e.g. `lab-galera-node2` → 2. */
function nodeIndex(name: string): number {
    const m = /-node(\d+)$/.exec(name);
    if (!m) throw new Error(`recorded instance ${name} is not named <cluster>-node<N>`);
    return Number(m[1]);
}

/** A stable instance ID per host and address: a host rebuilt from the same recording is the same instance. */
export function labInstanceId(name: string, ip: string, generation = 1): string {
    return `i-${crypto.createHash("sha256").update(`${name}/${ip}/${generation}`).digest("hex").slice(0, 17)}`;
}

/** The data device a host's recorded steps give their volume script (DATA_DEVICE or BRICK_DEVICE). */
export function recordedDataDevice(rec: LabRecording, ip: string): string {
    const devices = new Set<string>();
    for (const r of rec.resources) {
        if (r.type !== "command:remote:Command" || r.connection.host !== ip) continue;
        for (const m of (r as ReplayCommand).create.matchAll(/\b(?:DATA_DEVICE|BRICK_DEVICE)='([^']+)'/g)) devices.add(m[1]);
    }
    if (devices.size !== 1) throw new Error(`the recorded steps for ${ip} name ${devices.size} data devices (${[...devices].join(", ")}); expected one`);
    return [...devices][0];
}

export function topologyFromRecording(rec: LabRecording): LabHost[] {
    const hosts: LabHost[] = [{ name: "bastion", ip: LAB_BASTION_IP, role: "bastion", instanceId: labInstanceId("bastion", LAB_BASTION_IP) }];
    for (const [role, prefix, hostRole] of [["galera", "db", "db"], ["gluster", "fs", "fs"]] as const) {
        const nodes = rec.instances.filter((i) => i.role === role).sort((a, b) => nodeIndex(a.name) - nodeIndex(b.name));
        if (nodes.length === 0) throw new Error(`the recording has no ${role} instances`);
        for (const n of nodes) {
            if (!n.privateIp) throw new Error(`recorded ${role} instance ${n.name} has no fixed private address`);
            const name = `${prefix}${nodeIndex(n.name)}`;
            hosts.push({
                name,
                ip: n.privateIp,
                role: hostRole,
                instanceId: labInstanceId(name, n.privateIp),
                dataDevice: recordedDataDevice(rec, n.privateIp),
                nodeName: `node${nodeIndex(n.name)}`,
            });
        }
    }
    LAB_WEB_IPS.forEach((ip, i) => hosts.push({ name: `web${i + 1}`, ip, role: "web", instanceId: labInstanceId(`web${i + 1}`, ip) }));
    const scaleOut = `web${LAB_WEB_IPS.length + 1}`;
    hosts.push({ name: scaleOut, ip: LAB_SCALE_OUT_WEB_IP, role: "web", instanceId: labInstanceId(scaleOut, LAB_SCALE_OUT_WEB_IP), scaleOut: true });
    return hosts;
}

/**
 * The secret values the recorded steps hand their scripts on stdin (`NAME=value` lines), by name:
 * what the lab's own checks (root queries, its web-host steps) need, as the program generated them.
 */
export function recordedStepSecrets(rec: LabRecording): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of rec.resources) {
        if (r.type !== "command:remote:Command" || !(r as ReplayCommand).stdin) continue;
        for (const line of (r as ReplayCommand).stdin!.split("\n")) {
            const i = line.indexOf("=");
            if (i <= 0) continue;
            const [k, v] = [line.slice(0, i), line.slice(i + 1)];
            if (out[k] !== undefined && out[k] !== v) throw new Error(`recorded steps disagree on the value of ${k}`);
            out[k] = v;
        }
    }
    return out;
}
