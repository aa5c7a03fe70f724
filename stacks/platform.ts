import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Bastion } from "../components/bastion";
import { PeeredVpc } from "../components/peeredVpc";
import { VpcPeering } from "../components/vpcPeering";
import { ConfigError, PlatformConfig, TierName, TIERS } from "./config";

export interface Platform {
    vpcs: Record<TierName, PeeredVpc>;
    peerings: VpcPeering[];
    bastion: Bastion;
    /** What the stack exports. */
    outputs: Record<string, unknown>;
}

/** Tags every resource carries (the policy pack requires them). */
export function platformTags(environment: string): Record<string, string> {
    return { Project: "owncloud-ha", Environment: environment, ManagedBy: "pulumi" };
}

/** Zones from config, or the region's first available default zones (an invoke: works in preview). */
async function resolveZones(cfg: PlatformConfig): Promise<string[]> {
    const needed = Math.max(...TIERS.map((t) => cfg.network[t].azCount));
    if (cfg.availabilityZones.length > 0) return cfg.availabilityZones;
    const found = await aws.getAvailabilityZones({
        state: "available",
        filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
    });
    if (found.names.length < needed) {
        throw new ConfigError([
            `owncloud-ha:*AzCount: ${needed} availability zones requested but the region offers ${found.names.length} ` +
                `(${found.names.join(", ")}); lower the counts or choose another region`,
        ]);
    }
    return found.names;
}

/**
 * Composes the platform for one environment. Only composition lives here: every decision about a
 * resource is made (and tested) in its component.
 */
export async function buildPlatform(cfg: PlatformConfig): Promise<Platform> {
    const env = cfg.environment;
    const tags = platformTags(env);
    const zones = await resolveZones(cfg);

    const vpcs = {} as Record<TierName, PeeredVpc>;
    for (const tier of TIERS) {
        const net = cfg.network[tier];
        vpcs[tier] = new PeeredVpc(`${env}-${tier}`, {
            cidrBlock: net.cidr,
            availabilityZones: zones.slice(0, net.azCount),
            privateSubnetPrefixLength: net.privateSubnetPrefixLength,
            publicSubnetPrefixLength: net.publicSubnetPrefixLength,
            natStrategy: cfg.natStrategy,
            flowLogRetentionDays: cfg.flowLogRetentionDays,
            tags,
        });
    }

    // The web tier talks to both data tiers; db and fs never talk to each other, so they are not
    // peered (peering is not transitive, so nothing reaches fs from db through web either).
    const peerings = (["db", "fs"] as const).map(
        (other) =>
            new VpcPeering(`${env}-web-${other}`, {
                requesterVpcId: vpcs.web.vpcId,
                requesterCidrBlock: vpcs.web.cidrBlock,
                requesterRouteTableIds: vpcs.web.routeTableIds,
                accepterVpcId: vpcs[other].vpcId,
                accepterCidrBlock: vpcs[other].cidrBlock,
                accepterRouteTableIds: vpcs[other].routeTableIds,
                tags,
            }),
    );

    const bastion = new Bastion(`${env}-bastion`, {
        vpcId: vpcs.web.vpcId,
        subnetId: vpcs.web.publicSubnetIds[0],
        adminCidrs: cfg.adminCidrs,
        sshTargetCidrs: TIERS.map((t) => vpcs[t].cidrBlock),
        instanceType: cfg.bastion.instanceType,
        amiId: cfg.bastion.amiId,
        tags,
    });

    const outputs: Record<string, unknown> = {
        vpcIds: { web: vpcs.web.vpcId, db: vpcs.db.vpcId, fs: vpcs.fs.vpcId },
        subnetIds: Object.fromEntries(
            TIERS.map((t) => [t, { public: vpcs[t].publicSubnetIds, private: vpcs[t].privateSubnetIds }]),
        ),
        availabilityZones: zones,
        bastionPublicIp: bastion.publicIp,
        bastionPrivateKey: bastion.privateKeyOpenssh,
        bastionSshCommand: pulumi.interpolate`pulumi stack output --show-secrets bastionPrivateKey > bastion.key && chmod 600 bastion.key && ssh -i bastion.key ${bastion.sshUser}@${bastion.publicIp}`,
    };
    return { vpcs, peerings, bastion, outputs };
}
