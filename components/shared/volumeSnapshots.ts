import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_SNAPSHOT_RETENTION_COUNT } from "./backupPlan";
import { TAG_SNAPSHOT_POLICY } from "./conventions";

/**
 * Scheduled EBS snapshots of a cluster's data volumes with Data Lifecycle Manager.
 *
 * One policy per cluster component (not one per stack): the component owns its volumes and tags
 * them `TAG_SNAPSHOT_POLICY = <component name>`, so it works wherever it is imported, its
 * retention is its own (a database and a file store may keep different counts), and removing the
 * component removes its schedule. DLM snapshots are crash-consistent: what a power cut leaves,
 * which InnoDB and XFS recover from; the S3 backups are the consistent, point-in-time ones.
 */

/** Managed policy DLM's execution role needs for EBS snapshot policies (create, tag, delete snapshots). */
export const DLM_SERVICE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole";
/** Daily snapshot start (UTC, HH:MM): an hour after the default full backup, away from it. */
export const SNAPSHOT_TIME_UTC = "03:30";

/** Problems with a snapshot retention count (DLM keeps 1–1000 snapshots per schedule). */
export function snapshotRetentionProblem(count: number): string | undefined {
    return Number.isInteger(count) && count >= 1 && count <= 1000 ? undefined : `${count} must be a whole number of snapshots, 1–1000 (DLM's limit)`;
}

/** The DLM policy description: the API accepts only letters, digits, spaces, `_` and `-`. */
export function snapshotPolicyDescription(component: string): string {
    return `Daily snapshots of the data volumes of ${component}`.replace(/[^0-9A-Za-z _-]/g, "-").slice(0, 500);
}

/** The policy details: volumes tagged for `component`, daily at `SNAPSHOT_TIME_UTC`, the newest `retainCount` kept. */
export function snapshotPolicyDetails(component: string, retainCount: number = DEFAULT_SNAPSHOT_RETENTION_COUNT): aws.types.input.dlm.LifecyclePolicyPolicyDetails {
    return {
        resourceTypes: ["VOLUME"],
        targetTags: { [TAG_SNAPSHOT_POLICY]: component },
        schedules: [
            {
                name: "daily",
                createRule: { interval: 24, intervalUnit: "HOURS", times: SNAPSHOT_TIME_UTC },
                retainRule: { count: retainCount },
                copyTags: true,
                tagsToAdd: { "owncloud-ha:snapshot": "daily" },
            },
        ],
    };
}

/** Creates the DLM execution role and policy for the volumes tagged for `component`. */
export function createSnapshotPolicy(
    component: string,
    retainCount: number,
    tags: Record<string, string>,
    parent: pulumi.Resource,
): aws.dlm.LifecyclePolicy {
    const role = new aws.iam.Role(
        `${component}-snapshots-role`,
        {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
        },
        { parent },
    );
    const attachment = new aws.iam.RolePolicyAttachment(`${component}-snapshots-role-policy`, { role: role.name, policyArn: DLM_SERVICE_POLICY_ARN }, { parent: role });
    return new aws.dlm.LifecyclePolicy(
        `${component}-snapshots`,
        {
            description: snapshotPolicyDescription(component),
            executionRoleArn: role.arn,
            state: "ENABLED",
            policyDetails: snapshotPolicyDetails(component, retainCount),
            tags,
        },
        { parent, dependsOn: [attachment] },
    );
}
