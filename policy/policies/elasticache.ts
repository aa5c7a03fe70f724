/** ElastiCache (Redis/Valkey replication group) policies, AWS FSBP ElastiCache.1-7. */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { T } from "../conventions";
import { asArray, asNumber, asString, at, configOf, forTypes, isKnown, isTrue, isUnknown, ofTypes, propsOf, referenced, type Props } from "../lib";

const rg = (check: (props: Props, report: (m: string) => void, cfg: { minimumRetentionDays: number }) => void) =>
    forTypes([T.replicationGroup], ({ props, args }, report) =>
        check(props, (m) => report(m), configOf(args, { minimumRetentionDays: 1 })),
    );

/** Unknown counts as "set": a value computed from another resource (a subnet group, a token) exists. */
const present = (v: unknown): boolean => isUnknown(v) || (isKnown(v) && v !== "");

export const ecBackups: ResourceValidationPolicy = {
    name: "elasticache-automatic-backups",
    description: "[AWS FSBP ElastiCache.1] Replication groups must keep automatic snapshots (snapshotRetentionLimit >= 1).",
    enforcementLevel: "advisory",
    tags: ["ElastiCache.1", "backup"],
    configSchema: { properties: { minimumRetentionDays: { type: "integer", minimum: 1, default: 1 } } },
    validateResource: rg((props, report, cfg) => {
        const v = at(props, "snapshotRetentionLimit");
        if (isUnknown(v)) return;
        const n = asNumber(v) ?? 0;
        if (n < cfg.minimumRetentionDays) report(`snapshotRetentionLimit is ${n}: keep at least ${cfg.minimumRetentionDays} day(s).`);
    }),
};

export const ecMinorUpgrades: ResourceValidationPolicy = {
    name: "elasticache-auto-minor-upgrade",
    description: "[AWS FSBP ElastiCache.2] Replication groups must apply minor engine upgrades automatically.",
    enforcementLevel: "advisory",
    tags: ["ElastiCache.2"],
    validateResource: rg((props, report) => {
        const v = at(props, "autoMinorVersionUpgrade");
        if (v === false || v === "false") report("autoMinorVersionUpgrade = false: leave it true.");
    }),
};

export const ecAutomaticFailover: ResourceValidationPolicy = {
    name: "elasticache-automatic-failover",
    description: "[AWS FSBP ElastiCache.3] Replication groups must have automatic failover (and so at least one replica).",
    enforcementLevel: "advisory",
    tags: ["ElastiCache.3", "availability"],
    validateResource: rg((props, report) => {
        const v = at(props, "automaticFailoverEnabled");
        if (!isUnknown(v) && !isTrue(v)) report("set automaticFailoverEnabled = true (with multiAzEnabled and a replica per AZ).");
    }),
};

export const ecAtRest: ResourceValidationPolicy = {
    name: "elasticache-encryption-at-rest",
    description: "[AWS FSBP ElastiCache.4] Replication groups must be encrypted at rest.",
    enforcementLevel: "mandatory",
    tags: ["ElastiCache.4", "encryption"],
    validateResource: rg((props, report) => {
        const v = at(props, "atRestEncryptionEnabled");
        if (!isUnknown(v) && !isTrue(v)) report("set atRestEncryptionEnabled = true.");
    }),
};

export const ecInTransit: ResourceValidationPolicy = {
    name: "elasticache-encryption-in-transit",
    description: "[AWS FSBP ElastiCache.5] Replication groups must require TLS in transit.",
    enforcementLevel: "mandatory",
    tags: ["ElastiCache.5", "encryption"],
    validateResource: rg((props, report) => {
        const v = at(props, "transitEncryptionEnabled");
        if (!isUnknown(v) && !isTrue(v)) {
            report("set transitEncryptionEnabled = true.");
            return;
        }
        const mode = asString(at(props, "transitEncryptionMode"));
        if (mode !== undefined && mode !== "required") {
            report(`transitEncryptionMode is "${mode}", which still accepts plaintext clients: use "required".`);
        }
    }),
};

/**
 * How an ElastiCache user authenticates: "password", "iam", or "none" when it needs no password
 * (authenticationMode.type "no-password-required", or the older noPasswordRequired flag).
 * undefined when not known at preview.
 */
export function userAuthentication(user: PolicyResource): "password" | "iam" | "none" | undefined {
    const p = propsOf(user);
    const mode = at(p, "authenticationMode");
    const type = at(mode, "type");
    const flag = at(p, "noPasswordRequired");
    if (isUnknown(mode) || isUnknown(type) || isUnknown(flag)) return undefined;
    if (type === "no-password-required" || isTrue(flag)) return "none";
    if (type === "iam") return "iam";
    const passwords = at(p, "passwords") ?? at(mode, "passwords");
    if (type === "password" || isUnknown(passwords) || (asArray(passwords)?.length ?? 0) > 0) return "password";
    return "none";
}

/** Users of a user group: its userIds and any UserGroupAssociation naming it. */
function usersOf(group: PolicyResource, all: readonly PolicyResource[]): PolicyResource[] {
    const users = new Set(referenced(group, "userIds", [T.cacheUser], all));
    for (const a of all.filter((r) => r.type === T.cacheUserGroupAssociation)) {
        if (referenced(a, "userGroupId", [T.cacheUserGroup], all).includes(group)) {
            for (const u of referenced(a, "userId", [T.cacheUser], all)) users.add(u);
        }
    }
    return [...users];
}

export const ecAuth: StackValidationPolicy = {
    name: "elasticache-auth",
    description:
        "[AWS FSBP ElastiCache.6] Replication groups must require authentication: an AUTH token, or RBAC user groups in " +
        "which every user needs a password or IAM (a user with no-password-required, such as an open \"default\" user, " +
        "lets any client in).",
    enforcementLevel: "mandatory",
    tags: ["ElastiCache.6", "access"],
    validateStack: (args, report) => {
        const all = args.resources;
        for (const rg of ofTypes(args, [T.replicationGroup])) {
            const p = propsOf(rg);
            const groups = at(p, "userGroupIds");
            const hasGroups = isUnknown(groups) || (asArray(groups)?.length ?? 0) > 0;
            if (!hasGroups) {
                if (!present(at(p, "authToken")) && !present(at(p, "authTokenWo"))) {
                    report(`replication group "${rg.name}": no authToken (or userGroupIds): clients connect without authentication.`, rg.urn);
                }
                continue;
            }
            for (const group of referenced(rg, "userGroupIds", [T.cacheUserGroup], all)) {
                for (const user of usersOf(group, all)) {
                    const access = asString(at(propsOf(user), "accessString"));
                    if (access !== undefined && /^\s*off\b/.test(access)) continue; // a disabled user lets nobody in
                    if (userAuthentication(user) === "none") {
                        const name = asString(at(propsOf(user), "userName")) ?? user.name;
                        report(
                            `replication group "${rg.name}": user group "${group.name}" contains user "${name}" (${user.name}), which ` +
                                `needs no password, so any client that reaches the port is let in; give it authenticationMode ` +
                                `{ type: "password" } or "iam", or turn it off (accessString "off").`,
                            rg.urn,
                        );
                    }
                }
            }
        }
    },
};

export const ecNoDefaultSubnetGroup: ResourceValidationPolicy = {
    name: "elasticache-no-default-subnet-group",
    description: "[AWS FSBP ElastiCache.7] Replication groups must use their own subnet group, not \"default\".",
    enforcementLevel: "advisory",
    tags: ["ElastiCache.7", "network"],
    validateResource: rg((props, report) => {
        const v = at(props, "subnetGroupName");
        if (!present(v) || (typeof v === "string" && v.toLowerCase() === "default")) {
            report("subnetGroupName is unset or \"default\": create an aws.elasticache.SubnetGroup over the private subnets.");
        }
    }),
};

export const ecReplicationGroupOnly: ResourceValidationPolicy = {
    name: "elasticache-redis-in-replication-group",
    description:
        "[AWS FSBP ElastiCache.3-6] Redis/Valkey must be deployed as aws.elasticache.ReplicationGroup: a standalone " +
        "aws.elasticache.Cluster cannot fail over, encrypt at rest or require AUTH.",
    enforcementLevel: "mandatory",
    tags: ["ElastiCache.3", "ElastiCache.4", "ElastiCache.5", "ElastiCache.6"],
    validateResource: forTypes([T.cacheCluster], ({ props }, report) => {
        const engine = at(props, "engine");
        if (isUnknown(engine) || present(at(props, "replicationGroupId"))) return;
        if (engine === "redis" || engine === "valkey") {
            report(`a standalone ${engine} cluster: use aws.elasticache.ReplicationGroup (TLS, AUTH, at-rest encryption, failover).`);
        }
    }),
};

export const elasticachePolicies = [
    ecReplicationGroupOnly,
    ecBackups, ecMinorUpgrades, ecAutomaticFailover, ecAtRest, ecInTransit, ecAuth, ecNoDefaultSubnetGroup,
];
