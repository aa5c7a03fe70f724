/**
 * Example: two owncloud-ha components in a VPC built with awsx, the way many Pulumi users build
 * VPCs. The components only need plain IDs and CIDRs, so they do not care who built the network.
 *
 * In your own project: `npm install <this repository>` and import from "owncloud-ha" instead of
 * "../../components". Deploy with `pulumi up` in this folder after setting the config in
 * Pulumi.yaml; or see what it would create, offline, with the sample values:
 *   npm run plan -- example --config examples/awsx-vpc/Pulumi.example.yaml --program examples/awsx-vpc/index.ts
 */
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { GaleraCluster, RedisCluster } from "../../components";

const config = new pulumi.Config();
const privateCidrs = ["10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"];

const vpc = new awsx.ec2.Vpc("shared", {
    cidrBlock: "10.20.0.0/16",
    numberOfAvailabilityZones: 3,
    natGateways: { strategy: awsx.ec2.NatGatewayStrategy.Single },
    subnetSpecs: [
        { type: awsx.ec2.SubnetType.Private, cidrBlocks: privateCidrs },
        { type: awsx.ec2.SubnetType.Public, cidrBlocks: ["10.20.96.0/24", "10.20.97.0/24", "10.20.98.0/24"] },
    ],
});
const privateSubnetIds = [0, 1, 2].map((i) => vpc.privateSubnetIds.apply((ids) => ids[i]));

// Your application's security group and your existing jump host (bastion) for the SSH bootstrap.
const appSecurityGroupId = config.require("appSecurityGroupId");
const bastion = {
    host: config.require("bastionHost"),
    securityGroupId: config.require("bastionSecurityGroupId"),
    keyPairName: config.require("keyPairName"),
    privateKey: config.requireSecret("sshPrivateKey"),
};

const db = new GaleraCluster("orders-db", {
    vpcId: vpc.vpcId,
    subnetIds: privateSubnetIds,
    subnetCidrs: privateCidrs,
    clientSecurityGroupIds: [appSecurityGroupId],
    clientCidrs: ["10.20.0.0/16"],
    bastion,
});

const cache = new RedisCluster("orders-cache", {
    vpcId: vpc.vpcId,
    subnetIds: privateSubnetIds,
    clientSecurityGroupIds: [appSecurityGroupId],
});

export const galeraWriterOrder = db.writerOrder;
export const galeraSecretArn = db.secretArn;
export const redisEndpoint = cache.endpoint;
