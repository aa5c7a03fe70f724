/**
 * EC2 resource policies: encryption, IMDSv2, public IPs, security-group ingress, user data.
 * Each judges one resource's inputs; values unknown at preview are skipped, never guessed.
 */
import { gunzipSync } from "zlib";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { T, TAG_PUBLIC_EXEMPTION } from "../conventions";
import {
    asArray, asNumber, asString, at, configOf, coversPort, describePorts, forTypes, INGRESS_TYPES,
    ingressRulesOf, isKnown, isTrue, isUnknown, isVeryWide, isWorld, overlapsRange,
    parsePortSpec, tagValue, type ResourceCtx,
} from "../lib";

/** The reason recorded in the exemption tag, or undefined when the resource is not exempt. */
export function publicExemption(ctx: ResourceCtx): string | undefined {
    const v = tagValue(ctx.props, TAG_PUBLIC_EXEMPTION, ctx.providerProps);
    return v !== undefined && v.trim() !== "" ? v : undefined;
}

// --- EC2.3 / EC2.181 ---------------------------------------------------------------------------

export const ebsEncrypted: ResourceValidationPolicy = {
    name: "ec2-ebs-encrypted",
    description:
        "[AWS FSBP EC2.3, EC2.181] EBS volumes, instance root/data volumes and launch-template block " +
        "devices must be encrypted.",
    enforcementLevel: "mandatory",
    tags: ["EC2.3", "EC2.181", "encryption"],
    configSchema: {
        properties: {
            accountEncryptionByDefault: {
                type: "boolean",
                default: false,
                description: "Set true only if EBS encryption-by-default is enabled in the account and region.",
            },
        },
    },
    validateResource: forTypes(
        [T.ebsVolume, T.instance, T.launchTemplate, T.launchConfiguration],
        ({ type, props, args }, report) => {
            const { accountEncryptionByDefault } = configOf(args, { accountEncryptionByDefault: false });
            if (accountEncryptionByDefault) return;
            const bad = (what: string, v: unknown): void => {
                if (!isUnknown(v) && !isTrue(v)) report(`${what} is not encrypted: set encrypted = true.`);
            };
            if (type === T.ebsVolume) {
                bad("volume", at(props, "encrypted"));
                return;
            }
            if (type === T.instance || type === T.launchConfiguration) {
                const root = at(props, "rootBlockDevice");
                const fromTemplate = type === T.instance && isKnown(at(props, "launchTemplate"));
                if (isUnknown(root)) {
                    // judged when known
                } else if (root === undefined || root === null) {
                    if (!fromTemplate) {
                        report("root volume is not encrypted: declare rootBlockDevice with encrypted = true.");
                    }
                } else {
                    bad("rootBlockDevice", at(root, "encrypted"));
                }
                (asArray(at(props, "ebsBlockDevices")) ?? []).forEach((d, i) => {
                    bad(`ebsBlockDevices[${i}]`, at(d, "encrypted"));
                });
                return;
            }
            // Launch template: EBS mappings carry "true"/"false" strings.
            const maps = at(props, "blockDeviceMappings");
            if (isUnknown(maps)) return;
            const list = asArray(maps) ?? [];
            const ebs = list.filter((m) => at(m, "ebs") !== undefined && at(m, "ebs") !== null);
            if (ebs.length === 0) {
                report(
                    "launch template declares no EBS block device mapping, so the root volume inherits the " +
                        "AMI snapshot's (unencrypted) setting: map the root device with ebs.encrypted = \"true\".",
                );
            }
            list.forEach((m, i) => {
                const e = at(m, "ebs");
                if (e === undefined || e === null) return;
                bad(`blockDeviceMappings[${i}] (${asString(at(m, "deviceName")) ?? "?"})`, at(e, "encrypted"));
            });
        },
    ),
};

// --- EC2.8 / EC2.170 / AutoScaling.3 -------------------------------------------------------------

export const imdsv2Required: ResourceValidationPolicy = {
    name: "ec2-imdsv2-required",
    description:
        "[AWS FSBP EC2.8, EC2.170, AutoScaling.3] Instances, launch templates and launch configurations " +
        "must require IMDSv2 (httpTokens = required) with a PUT response hop limit of at most 1.",
    enforcementLevel: "mandatory",
    tags: ["EC2.8", "EC2.170", "AutoScaling.3", "imds"],
    configSchema: {
        properties: {
            maxHopLimit: {
                type: "integer", minimum: 1, maximum: 64, default: 1,
                description: "Largest httpPutResponseHopLimit allowed (2 lets containers on a bridge network reach IMDS).",
            },
        },
    },
    validateResource: forTypes([T.instance, T.launchTemplate, T.launchConfiguration], ({ type, props, args }, report) => {
        const { maxHopLimit } = configOf(args, { maxHopLimit: 1 });
        const mo = at(props, "metadataOptions");
        if (isUnknown(mo)) return;
        if (mo === undefined || mo === null) {
            if (type === T.instance && isKnown(at(props, "launchTemplate"))) return; // the template is checked
            report("metadataOptions is not set: IMDSv1 stays enabled. Set httpTokens = \"required\" and httpPutResponseHopLimit = 1.");
            return;
        }
        const endpoint = at(mo, "httpEndpoint");
        if (endpoint === "disabled") return;
        const tokens = at(mo, "httpTokens");
        if (!isUnknown(tokens) && tokens !== "required") {
            report(`metadataOptions.httpTokens is ${JSON.stringify(tokens ?? "unset (optional)")}: set it to "required" (IMDSv2 only).`);
        }
        const hop = at(mo, "httpPutResponseHopLimit");
        if (isUnknown(hop)) return;
        const n = asNumber(hop);
        if (n === undefined) {
            report(`metadataOptions.httpPutResponseHopLimit is not set (the AMI decides): set it to at most ${maxHopLimit}.`);
        } else if (n > maxHopLimit) {
            report(`metadataOptions.httpPutResponseHopLimit is ${n}: at most ${maxHopLimit} is allowed.`);
        }
    }),
};

// --- EC2.9 ----------------------------------------------------------------------------------------

export const instanceNoPublicIp: ResourceValidationPolicy = {
    name: "ec2-instance-no-public-ip",
    description:
        `[AWS FSBP EC2.9] Instances must not have a public IPv4 address unless tagged ` +
        `"${TAG_PUBLIC_EXEMPTION}" with the reason (the bastion only).`,
    enforcementLevel: "mandatory",
    tags: ["EC2.9", "exposure"],
    validateResource: forTypes([T.instance, T.launchConfiguration], (ctx, report) => {
        const v = at(ctx.props, "associatePublicIpAddress");
        if (isTrue(v) && publicExemption(ctx) === undefined) {
            report(
                `associatePublicIpAddress = true without an exemption: set it to false, or tag the resource ` +
                    `"${TAG_PUBLIC_EXEMPTION}" = <reason> if it really must be reachable (bastion).`,
            );
        }
    }),
};

// --- EC2.25 ---------------------------------------------------------------------------------------

export const launchTemplateNoPublicIp: ResourceValidationPolicy = {
    name: "ec2-launch-template-no-public-ip",
    description:
        `[AWS FSBP EC2.25] Launch templates must not assign public IPs to network interfaces (exemption tag ` +
        `"${TAG_PUBLIC_EXEMPTION}" honoured).`,
    enforcementLevel: "mandatory",
    tags: ["EC2.25", "exposure"],
    validateResource: forTypes([T.launchTemplate], (ctx, report) => {
        if (publicExemption(ctx) !== undefined) return;
        (asArray(at(ctx.props, "networkInterfaces")) ?? []).forEach((ni, i) => {
            if (isTrue(at(ni, "associatePublicIpAddress"))) {
                report(`networkInterfaces[${i}].associatePublicIpAddress = "true": launched instances would be public.`);
            }
        });
    }),
};

// --- EC2.15 ---------------------------------------------------------------------------------------

export const subnetNoAutoPublicIp: ResourceValidationPolicy = {
    name: "ec2-subnet-no-auto-public-ip",
    description: "[AWS FSBP EC2.15] Subnets must not auto-assign public IPv4 addresses (mapPublicIpOnLaunch).",
    enforcementLevel: "mandatory",
    tags: ["EC2.15", "exposure"],
    validateResource: forTypes([T.subnet], ({ props }, report) => {
        if (isTrue(at(props, "mapPublicIpOnLaunch"))) {
            report("mapPublicIpOnLaunch = true: every instance launched here gets a public IP. Set it to false; give the bastion its address explicitly.");
        }
    }),
};

// --- EC2.13 / EC2.14 ------------------------------------------------------------------------------

export const noAdminPortsFromWorld: ResourceValidationPolicy = {
    name: "ec2-no-admin-ports-from-world",
    description: "[AWS FSBP EC2.13, EC2.14] Security groups must not allow ingress to port 22 or 3389 from 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    tags: ["EC2.13", "EC2.14", "exposure"],
    validateResource: forTypes(INGRESS_TYPES, ({ type, props }, report) => {
        for (const rule of ingressRulesOf(type, props)) {
            for (const cidr of rule.cidrs.filter(isWorld)) {
                for (const port of [22, 3389]) {
                    if (coversPort(rule.ports, port)) {
                        report(`${rule.where}: ${describePorts(rule.ports)} from ${cidr} exposes port ${port}; allow admin CIDRs or the bastion SG only.`);
                    }
                }
            }
        }
    }),
};

// --- EC2.19 ---------------------------------------------------------------------------------------

/** AWS FSBP EC2.19's list of high-risk ports. */
export const FSBP_HIGH_RISK_PORTS: readonly number[] = [
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601,
    8080, 8088, 8888, 9200, 9300,
];

/** This stack's own service ports (MariaDB/Galera, health check, GlusterFS, Redis, NFS, portmapper). */
export const STACK_PORTS: readonly string[] = [
    "3306", "4444", "4567", "4568", "9200", "24007-24008", "6379", "2049", "111",
];

/** Default GlusterFS brick port range (glusterd's base-port 49152 with a bounded max-port). */
export const DEFAULT_BRICK_PORTS = "49152-49251";

export const highRiskPortsRestricted: ResourceValidationPolicy = {
    name: "ec2-high-risk-ports-restricted",
    description:
        "[AWS FSBP EC2.19] High-risk ports and this stack's service ports (3306, 4444, 4567, 4568, 9200, " +
        "24007-24008, the Gluster brick range, 6379, 2049, 111) must not be open to the world or to ranges " +
        "as wide as a /8.",
    enforcementLevel: "mandatory",
    tags: ["EC2.19", "exposure"],
    configSchema: {
        properties: {
            brickPorts: { type: "string", default: DEFAULT_BRICK_PORTS, description: "GlusterFS brick port range, e.g. 49152-49251." },
            extraPorts: { type: "array", items: { type: "string" }, default: [], description: "More ports or ranges (\"8443\", \"7000-7001\")." },
        },
    },
    validateResource: forTypes(INGRESS_TYPES, ({ type, props, args }, report) => {
        const cfg = configOf(args, { brickPorts: DEFAULT_BRICK_PORTS, extraPorts: [] as string[] });
        const ranges = [
            ...FSBP_HIGH_RISK_PORTS.map((p) => parsePortSpec(p)),
            ...STACK_PORTS.map((p) => parsePortSpec(p)),
            parsePortSpec(cfg.brickPorts),
            ...cfg.extraPorts.map((p) => parsePortSpec(p)),
        ];
        for (const rule of ingressRulesOf(type, props)) {
            for (const cidr of rule.cidrs.filter(isVeryWide)) {
                const hits = ranges.filter((r) => overlapsRange(rule.ports, r));
                if (hits.length === 0) continue;
                const list = [...new Set(hits.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)))];
                report(
                    `${rule.where}: ${describePorts(rule.ports)} from ${cidr} opens high-risk port(s) ${list.slice(0, 12).join(", ")}` +
                        `${list.length > 12 ? ", ..." : ""}; use a security-group source or a narrow CIDR.`,
                );
            }
        }
    }),
};

// --- CKV_AWS_46 -----------------------------------------------------------------------------------

interface SecretPattern { name: string; re: RegExp }

export const SECRET_PATTERNS: readonly SecretPattern[] = [
    { name: "AWS access key ID", re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
    { name: "AWS secret access key", re: /aws_?secret_?access_?key\s*[=:]\s*["']?[A-Za-z0-9/+]{40}\b/i },
    { name: "private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/ },
    { name: "GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
    { name: "Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
    {
        // NAME=value / NAME: value with a literal value (not $VAR, ${VAR}, $(cmd), a path or an ARN).
        name: "password/secret/token assignment",
        // Not inside an ARN or a host name (arn:aws:secretsmanager:… names a secret, it is not one).
        re: /(?<![:/.@-])\b[A-Za-z0-9_]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|AUTH_?KEY)(?![A-Za-z0-9_]*(?:_FILE|_ARN|_ID|_NAME|_PATH|_URL|_LENGTH)\b)[A-Za-z0-9_]*["']?\s*[=:]\s*["']?(?![$`{<%/]|arn:|\s|["'])[^\s"'`]{3,}/i,
    },
    { name: "password on a command line", re: /(?:--password[= ]|\bmysql\b[^\n]*\s-p)(?![$`"'\s])\S{3,}/i },
    { name: "credentials in a URL", re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@$]+:(?![$`{])[^\s@/$]{3,}@/i },
    { name: "Galera SST credentials", re: /wsrep_sst_auth\s*=\s*["']?[^:\s"']+:(?![$`{"'\s])\S{3,}/i },
];

function decodedVariants(text: string): string[] {
    const out = [text];
    const compact = text.replace(/\s+/g, "");
    if (compact.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) {
        const buf = Buffer.from(compact, "base64");
        if (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
            try { out.push(gunzipSync(buf).toString("utf8")); } catch { /* not gzip after all */ }
        } else {
            out.push(buf.toString("utf8"));
        }
    }
    return out;
}

/** Names of secret patterns found in a user-data string (plain, base64 or gzip+base64). */
export function findSecrets(userData: string): string[] {
    const found = new Set<string>();
    for (const text of decodedVariants(userData)) {
        for (const p of SECRET_PATTERNS) if (p.re.test(text)) found.add(p.name);
    }
    return [...found];
}

export const noSecretsInUserData: ResourceValidationPolicy = {
    name: "ec2-no-secrets-in-user-data",
    description:
        "[Checkov CKV_AWS_46] User data must not contain secrets (passwords, tokens, AWS keys, private keys); " +
        "nodes read secrets from Secrets Manager with their instance role.",
    enforcementLevel: "mandatory",
    tags: ["CKV_AWS_46", "secrets"],
    validateResource: forTypes([T.instance, T.launchTemplate, T.launchConfiguration], ({ props }, report) => {
        for (const key of ["userData", "userDataBase64"]) {
            const v = at(props, key);
            if (typeof v !== "string" || isUnknown(v)) continue;
            const found = findSecrets(v);
            if (found.length > 0) {
                report(`${key} appears to contain: ${found.join(", ")}. Fetch secrets at boot (Secrets Manager) instead.`);
            }
        }
    }),
};

export const ec2Policies: ResourceValidationPolicy[] = [
    ebsEncrypted,
    imdsv2Required,
    instanceNoPublicIp,
    launchTemplateNoPublicIp,
    subnetNoAutoPublicIp,
    noAdminPortsFromWorld,
    highRiskPortsRestricted,
    noSecretsInUserData,
];
