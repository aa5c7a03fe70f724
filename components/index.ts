/**
 * owncloud-ha components: import one into any Pulumi TypeScript project.
 *
 *     import { GaleraCluster } from "owncloud-ha";
 *
 * Every component takes plain IDs and CIDRs (not our VPC type), so it works in any VPC, including
 * one built with awsx.
 */
export { debian12Ami, instanceArchitecture, DEBIAN_AMI_OWNER } from "./ami";
export { BackupBucket, resolveBackupBucketArgs } from "./backupBucket";
export type { BackupBucketArgs, ClusterBackupArgs } from "./backupBucket";
export { Bastion, connectionThrough, resolveBastionArgs } from "./bastion";
export type { BastionArgs, BastionAccess } from "./bastion";
export type { BootstrapPlan, BootstrapStep } from "./bootstrap/plan";
export type { BackupSettings } from "./bootstrap/backup";
export { galeraPlan, haproxyPlan, GALERA_SECRETS } from "./bootstrap/galera";
export type { GaleraPlanSettings, HaproxyPlanSettings } from "./bootstrap/galera";
export { glusterPlan, glusterClientPlan } from "./bootstrap/gluster";
export type { GlusterSettings, GlusterClientSettings } from "./bootstrap/gluster";
export { cidrsOverlap, planSubnets } from "./cidr";
export { TAG_PUBLIC_EXEMPTION, TAG_SUBNET_TIER, TAG_TIER } from "./conventions";
export { InvalidArgsError } from "./errors";
export { GaleraCluster, GALERA_PORTS, resolveGaleraClusterArgs } from "./galeraCluster";
export type { GaleraClusterArgs } from "./galeraCluster";
export { GlusterDisperseVolume, resolveGlusterArgs } from "./glusterDisperseVolume";
export type { GlusterDisperseVolumeArgs } from "./glusterDisperseVolume";
export { Observability } from "./observability";
export type { ObservabilityArgs, ObservedInstance } from "./observability";
export { OwnCloudWebTier, resolveWebTierArgs } from "./ownCloudWebTier";
export type { OwnCloudWebTierArgs } from "./ownCloudWebTier";
export { PeeredVpc, resolvePeeredVpcArgs } from "./peeredVpc";
export type { NatStrategy, PeeredVpcArgs } from "./peeredVpc";
export { RedisCluster, resolveRedisClusterArgs } from "./redisCluster";
export type { RedisClusterArgs } from "./redisCluster";
export { VpcPeering, validateVpcPeeringArgs } from "./vpcPeering";
export type { VpcPeeringArgs } from "./vpcPeering";
