/**
 * The owncloud-ha CrossGuard policy pack. This is the ONLY module that constructs the PolicyPack
 * (construction starts the analyzer's gRPC server); policies live in ./policies and are tested
 * through ./evaluate without it.
 *
 *   pulumi preview --policy-pack policy [--policy-pack-config policy/config/<stack>.json]
 *
 * Enforcement levels: each policy has a default (mandatory where a violation would make data
 * reachable from the internet or leave it unencrypted, advisory for hygiene); override any of them
 * in the policy config file: { "<policy-name>": { "enforcementLevel": "advisory" } } or "all".
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

new PolicyPack("owncloud-ha", {
    description: "AWS FSBP / CIS / Checkov controls for the HA ownCloud platform (owncloud-ha).",
    provider: "aws",
    enforcementLevel: "advisory",
    policies: allPolicies,
});
