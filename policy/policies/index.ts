/**
 * Every policy of the pack, in one array. Importing this module has no side effects (unlike
 * constructing a PolicyPack, which starts a gRPC server): tests and the offline evaluator use it.
 */
import type { Policies } from "@pulumi/policy";
import { autoscalingPolicies } from "./autoscaling";
import { ec2Policies } from "./ec2";
import { elasticachePolicies } from "./elasticache";
import { elbPolicies } from "./elb";
import { hygienePolicies } from "./hygiene";
import { iamPolicies } from "./iam";
import { networkPolicies, networkResourcePolicies } from "./network";
import { s3Policies } from "./s3";
import { secretsPolicies } from "./secrets";

export const allPolicies: Policies = [
    ...ec2Policies,
    ...networkResourcePolicies,
    ...networkPolicies,
    ...elbPolicies,
    ...autoscalingPolicies,
    ...elasticachePolicies,
    ...iamPolicies,
    ...hygienePolicies,
    ...s3Policies,
    ...secretsPolicies,
];

export {
    autoscalingPolicies, ec2Policies, elasticachePolicies, elbPolicies, hygienePolicies, iamPolicies, networkPolicies,
    networkResourcePolicies, s3Policies, secretsPolicies,
};
