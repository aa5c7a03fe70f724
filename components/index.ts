/**
 * owncloud-ha components: import one into any Pulumi TypeScript project.
 *
 *     import { GaleraCluster } from "owncloud-ha";
 *
 * Every component takes plain IDs and CIDRs (not our VPC type), so it works in any VPC, including
 * one built with awsx.
 */
export { debian12Ami, instanceArchitecture, DEBIAN_AMI_OWNER } from "./shared/ami";
export { BackupBucket, resolveBackupBucketArgs } from "./backup/backupBucket";
export type { BackupBucketArgs, ClusterBackupArgs } from "./backup/backupBucket";
export { Bastion, connectionThrough, resolveBastionArgs } from "./access/bastion";
export type { BastionArgs, BastionAccess } from "./access/bastion";
export type { BootstrapPlan, BootstrapStep } from "./shared/bootstrapPlan";
export type { BackupSettings } from "./shared/backupPlan";
export { galeraPlan, haproxyPlan, GALERA_SECRETS } from "./database/plan";
export type { GaleraPlanSettings, HaproxyPlanSettings } from "./database/plan";
export { glusterPlan, glusterClientPlan } from "./storage/plan";
export type { GlusterSettings, GlusterClientSettings } from "./storage/plan";
export { cidrsOverlap, planSubnets } from "./shared/cidr";
export { TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER } from "./shared/conventions";
export { InvalidArgsError } from "./shared/errors";
export { GaleraCluster, GALERA_PORTS, resolveGaleraClusterArgs } from "./database/galeraCluster";
export type { GaleraClusterArgs } from "./database/galeraCluster";
export { GlusterDisperseVolume, resolveGlusterArgs } from "./storage/glusterDisperseVolume";
export type { GlusterDisperseVolumeArgs } from "./storage/glusterDisperseVolume";
export { Observability } from "./monitoring/observability";
export type { ObservabilityArgs, ObservedInstance } from "./monitoring/observability";
export { OwnCloudWebTier, resolveWebTierArgs } from "./web/ownCloudWebTier";
export { webNodePlan } from "./web/plan";
export type { WebNodePlan, WebNodeSettings } from "./web/plan";
export type { OwnCloudWebTierArgs } from "./web/ownCloudWebTier";
export { PeeredVpc, resolvePeeredVpcArgs } from "./network/peeredVpc";
export type { NatStrategy, PeeredVpcArgs } from "./network/peeredVpc";
export { RedisCluster, resolveRedisClusterArgs } from "./cache/redisCluster";
export type { RedisClusterArgs } from "./cache/redisCluster";
export { VpcPeering, validateVpcPeeringArgs } from "./network/vpcPeering";
export type { VpcPeeringArgs } from "./network/vpcPeering";
