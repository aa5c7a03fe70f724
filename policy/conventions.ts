/**
 * Tag conventions and resource type tokens shared by the policy pack and (by value) the components.
 *
 * Policies judge facts that are known at `pulumi preview` time. Resource IDs are not, so the
 * components label what matters with tags:
 *
 * | tag key                         | values                                           | on                              |
 * |---------------------------------|--------------------------------------------------|---------------------------------|
 * | `owncloud-ha:tier`              | bastion, web, galera, gluster, redis, alb, network, backup | instances, ASGs, SGs, LBs, backup buckets |
 * | `owncloud-ha:subnet-tier`       | public, private                                  | every aws.ec2.Subnet            |
 * | `owncloud-ha:public-exemption`  | free text: why this resource may have a public IPv4 | the bastion instance only     |
 * | `Project`, `Environment`, `ManagedBy` | free text (Environment: dev, prod, ...)    | every taggable resource         |
 *
 * These strings must stay equal to `components/shared/conventions.ts` (a test checks it). The pack imports
 * from the components only their port declarations (policies/ports.ts), so a port has one home.
 */

export const TAG_TIER = "owncloud-ha:tier";
export const TAG_SUBNET_TIER = "owncloud-ha:subnet-tier";
/** Present (its value = the reason) only on resources allowed a public IPv4 address (EC2.9/EC2.25). */
export const TAG_PUBLIC_EXEMPTION = "owncloud-ha:public-exemption";

/**
 * Present (its value = the reason) only on a load balancer allowed to serve plain HTTP without a
 * certificate: a dev or test stack. Never honoured in production (see elb-https-required).
 */
export const TAG_HTTP_EXEMPTION = "owncloud-ha:http-exemption";

export const TIERS = ["bastion", "web", "galera", "gluster", "redis", "alb", "network", "backup"] as const;
export type Tier = (typeof TIERS)[number];
export const SUBNET_TIERS = ["public", "private"] as const;
export type SubnetTier = (typeof SUBNET_TIERS)[number];

/** Tiers that hold data: their security groups never accept a public source. */
export const DATA_TIERS: readonly Tier[] = ["galera", "gluster", "redis"];

/** Tiers whose nodes must sit in private subnets. */
export const PRIVATE_TIERS: readonly Tier[] = ["web", "galera", "gluster", "redis"];
/** The tier value that marks a backup bucket: versioned and encrypted on top of every bucket's rules. */
export const BACKUP_TIER: Tier = "backup";
/** The tier value that marks the ALB's security group, the only one allowed world ingress (EC2.18). */
export const ALB_TIER: Tier = "alb";

export const REQUIRED_TAG_KEYS = ["Project", "Environment", "ManagedBy"] as const;
export const TAG_ENVIRONMENT = "Environment";

/** Pulumi type tokens (the `__pulumiType` of the @pulumi/aws v7 classes). */
export const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    route: "aws:ec2/route:Route",
    routeTable: "aws:ec2/routeTable:RouteTable",
    flowLog: "aws:ec2/flowLog:FlowLog",
    peering: "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    defaultSecurityGroup: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    sgIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    launchConfiguration: "aws:ec2/launchConfiguration:LaunchConfiguration",
    eip: "aws:ec2/eip:Eip",
    eipAssociation: "aws:ec2/eipAssociation:EipAssociation",
    ebsVolume: "aws:ebs/volume:Volume",
    lbLoadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    albLoadBalancer: "aws:alb/loadBalancer:LoadBalancer",
    lbListener: "aws:lb/listener:Listener",
    albListener: "aws:alb/listener:Listener",
    asg: "aws:autoscaling/group:Group",
    replicationGroup: "aws:elasticache/replicationGroup:ReplicationGroup",
    cacheCluster: "aws:elasticache/cluster:Cluster",
    iamPolicy: "aws:iam/policy:Policy",
    iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
    iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
    iamGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
    iamRole: "aws:iam/role:Role",
    iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    iamUserPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    iamGroupPolicyAttachment: "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    iamPolicyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    spotInstanceRequest: "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
    networkInterface: "aws:ec2/networkInterface:NetworkInterface",
    networkInterfaceAttachment: "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment",
    networkAcl: "aws:ec2/networkAcl:NetworkAcl",
    networkAclRule: "aws:ec2/networkAclRule:NetworkAclRule",
    defaultNetworkAcl: "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
    prefixList: "aws:ec2/managedPrefixList:ManagedPrefixList",
    prefixListEntry: "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry",
    vpcEndpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    classicLoadBalancer: "aws:elb/loadBalancer:LoadBalancer",
    lbTargetGroup: "aws:lb/targetGroup:TargetGroup",
    albTargetGroup: "aws:alb/targetGroup:TargetGroup",
    cacheUser: "aws:elasticache/user:User",
    cacheUserGroup: "aws:elasticache/userGroup:UserGroup",
    cacheUserGroupAssociation: "aws:elasticache/userGroupAssociation:UserGroupAssociation",
    secret: "aws:secretsmanager/secret:Secret",
    secretRotation: "aws:secretsmanager/secretRotation:SecretRotation",
    certificate: "aws:acm/certificate:Certificate",
    s3Bucket: "aws:s3/bucket:Bucket",
    s3BucketV2: "aws:s3/bucketV2:BucketV2",
    s3PublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    s3BucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    s3OwnershipControls: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    s3BucketAcl: "aws:s3/bucketAcl:BucketAcl",
    s3BucketAclV2: "aws:s3/bucketAclV2:BucketAclV2",
    s3BucketLogging: "aws:s3/bucketLogging:BucketLogging",
    s3BucketLoggingV2: "aws:s3/bucketLoggingV2:BucketLoggingV2",
    s3BucketVersioning: "aws:s3/bucketVersioning:BucketVersioning",
    s3BucketVersioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
    s3Encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    s3EncryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
} as const;

/** Everything that launches an EC2 instance directly (instance policies apply to each). */
export const INSTANCE_TYPES: readonly string[] = [T.instance, T.spotInstanceRequest];
export const TARGET_GROUP_TYPES: readonly string[] = [T.lbTargetGroup, T.albTargetGroup];
export const BUCKET_TYPES: readonly string[] = [T.s3Bucket, T.s3BucketV2];

export const LOAD_BALANCER_TYPES: readonly string[] = [T.lbLoadBalancer, T.albLoadBalancer];
export const LISTENER_TYPES: readonly string[] = [T.lbListener, T.albListener];

/**
 * Resource types that accept `tags` and are expected to carry the required tags. Any other
 * resource that sets `tags` at all is checked too.
 */
export const TAGGABLE_TYPES: readonly string[] = [
    T.vpc, T.subnet, T.routeTable, T.flowLog, T.peering, T.securityGroup, T.defaultSecurityGroup,
    T.sgIngressRule, T.instance, T.launchTemplate, T.eip, T.ebsVolume, T.lbLoadBalancer,
    T.albLoadBalancer, T.lbListener, T.albListener, T.asg, T.replicationGroup, T.iamPolicy, T.iamRole,
    T.logGroup,
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/networkAcl:NetworkAcl",
    "aws:ec2/keyPair:KeyPair",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:lb/targetGroup:TargetGroup",
    "aws:alb/targetGroup:TargetGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:elasticache/parameterGroup:ParameterGroup",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:secretsmanager/secret:Secret",
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sns/topic:Topic",
];
