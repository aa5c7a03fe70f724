/**
 * EC2 resource policies: encryption, IMDSv2, public IPs, security-group ingress, user data.
 * Each judges one resource's inputs; values unknown at preview are skipped, never guessed.
 */
import { gunzipSync } from "zlib";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { INSTANCE_TYPES, T, TAG_PUBLIC_EXEMPTION } from "../conventions";
import {
    asArray, asNumber, asString, at, configOf, coversPort, describePorts, forTypes, INGRESS_TYPES,
    ingressRulesOf, isFalse, isKnown, isPublicRange, isTrue, isUnknown, isVeryWide, isWorldLike, overlapsRange,
    parsePortSpec, tagValue, type PortRange, type ResourceCtx,
} from "../lib";
import { DATA_PORTS, DEFAULT_BRICK_PORTS, OTHER_DATA_PORTS } from "./ports";

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
        [T.ebsVolume, ...INSTANCE_TYPES, T.launchTemplate, T.launchConfiguration],
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
            if (INSTANCE_TYPES.includes(type) || type === T.launchConfiguration) {
                const root = at(props, "rootBlockDevice");
                const fromTemplate = INSTANCE_TYPES.includes(type) && isKnown(at(props, "launchTemplate"));
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
    validateResource: forTypes([...INSTANCE_TYPES, T.launchTemplate, T.launchConfiguration], ({ type, props, args }, report) => {
        const { maxHopLimit } = configOf(args, { maxHopLimit: 1 });
        const mo = at(props, "metadataOptions");
        if (isUnknown(mo)) return;
        if (mo === undefined || mo === null) {
            if (INSTANCE_TYPES.includes(type) && isKnown(at(props, "launchTemplate"))) return; // the template is checked
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
    validateResource: forTypes([...INSTANCE_TYPES, T.launchConfiguration], (ctx, report) => {
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
    description:
        "[AWS FSBP EC2.13, EC2.14] Security groups must not allow ingress to port 22 or 3389 from the world: 0.0.0.0/0, ::/0 " +
        "or any public range as wide as a /8 (e.g. 0.0.0.0/1 + 128.0.0.0/1).",
    enforcementLevel: "mandatory",
    tags: ["EC2.13", "EC2.14", "exposure"],
    validateResource: forTypes(INGRESS_TYPES, ({ type, props }, report) => {
        for (const rule of ingressRulesOf(type, props)) {
            for (const cidr of rule.cidrs.filter(isWorldLike)) {
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
export { DEFAULT_BRICK_PORTS };
export const FSBP_HIGH_RISK_PORTS: readonly number[] = [
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601,
    8080, 8088, 8888, 9200, 9300,
];

export const highRiskPortsRestricted: ResourceValidationPolicy = {
    name: "ec2-high-risk-ports-restricted",
    description:
        "[AWS FSBP EC2.19] Data and replication ports (MariaDB/Galera 3306, 4444, 4567, 4568, 9200-9202; GlusterFS " +
        "24007-24008 and the brick range; Redis 6379; NFS, portmapper, other databases) must not accept any public " +
        "source, however narrow; the other FSBP high-risk ports must not be open to the world or to ranges as wide as a /8.",
    enforcementLevel: "mandatory",
    tags: ["EC2.19", "exposure"],
    configSchema: {
        properties: {
            brickPorts: {
                type: "string", default: DEFAULT_BRICK_PORTS,
                description: "GlusterFS brick port range when it differs from the component's default (the stack's own rules are read too).",
            },
            extraPorts: { type: "array", items: { type: "string" }, default: [], description: "More data ports or ranges (\"8443\", \"7000-7001\")." },
        },
    },
    validateResource: forTypes(INGRESS_TYPES, ({ type, props, args }, report) => {
        const cfg = configOf(args, { brickPorts: DEFAULT_BRICK_PORTS, extraPorts: [] as string[] });
        const dataPorts: PortRange[] = [
            ...DATA_PORTS, ...OTHER_DATA_PORTS, parsePortSpec(cfg.brickPorts), ...cfg.extraPorts.map((p) => parsePortSpec(p)),
        ];
        const riskPorts = FSBP_HIGH_RISK_PORTS.map((p) => parsePortSpec(p));
        const name = (r: PortRange): string => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`);
        for (const rule of ingressRulesOf(type, props)) {
            for (const cidr of rule.cidrs) {
                const publicSource = isPublicRange(cidr);
                const wide = isVeryWide(cidr);
                if (!publicSource && !wide) continue;
                // Data ports: any public source. Other high-risk ports: only the world or a /8-wide range.
                const hits = [
                    ...dataPorts.filter((r) => overlapsRange(rule.ports, r)),
                    ...(wide ? riskPorts.filter((r) => overlapsRange(rule.ports, r)) : []),
                ];
                if (hits.length === 0) continue;
                const list = [...new Set(hits.map(name))];
                const what = wide ? (publicSource ? "the world" : "a range as wide as a /8") : "a public range";
                report(
                    `${rule.where}: ${describePorts(rule.ports)} from ${cidr} (${what}) opens high-risk or data port(s) ${list.slice(0, 12).join(", ")}` +
                        `${list.length > 12 ? ", ..." : ""}; use a security-group source or a narrow private CIDR.`,
                );
            }
        }
    }),
};

// --- CKV_AWS_46 -----------------------------------------------------------------------------------

interface SecretPattern { name: string; re: RegExp }

/** A literal value: not $VAR, ${VAR}, $(cmd), `cmd`, a template placeholder, a path or an ARN. */
const LITERAL = String.raw`["']?(?![$` + "`" + String.raw`{<%/]|arn:)[^\s"'` + "`" + String.raw`]{3,}`;

/** Names that mention a secret but hold something else (a lifetime, a size, where the secret lives). */
const NOT_A_SECRET_SUFFIX = String.raw`(?:_FILE|_ARN|_ID|_NAME|_PATH|_URL|_LENGTH|_TTL|_TIMEOUT|_EXPIRY|_EXPIRES|_SECONDS|_MINUTES|_HOURS|_DAYS|_SIZE|_COUNT|_HEADER|_TYPE|_VERSION|_REGION|_ENDPOINT|_PARAMETER|_KEY_ID)\b`;

/** A Secrets Manager / Parameter Store name such as owncloud-ha/prod/galera: names a secret, is not one. */
const SECRET_REFERENCE = String.raw`[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9._-]+)+(?:["'\s]|$)`;

export const SECRET_PATTERNS: readonly SecretPattern[] = [
    { name: "AWS access key ID", re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
    { name: "AWS secret access key", re: /aws_?secret_?access_?key\s*[=:]\s*["']?[A-Za-z0-9/+]{40}\b/i },
    { name: "private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/ },
    { name: "GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
    { name: "Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
    {
        // NAME=value / NAME: value (MYSQL_PWD=…, OWNCLOUD_ADMIN_PASSWORD=…, redis_password: …) with a
        // literal value; not inside an ARN or a host name, not a name that only points at a secret.
        name: "password/secret/token assignment",
        re: new RegExp(
            String.raw`(?<![:/.@-])\b[A-Za-z0-9_]*(?:PASSWORD|PASSWD|PWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|AUTH_?KEY)(?![A-Za-z0-9_]*${NOT_A_SECRET_SUFFIX})` +
                String.raw`[A-Za-z0-9_]*["']?\s*[=:]\s*(?!${SECRET_REFERENCE})(?!\s|["'](?:\s|$))${LITERAL}`,
            "i",
        ),
    },
    {
        // --password X, --admin-pass=X, --database-pass "X", --requirepass X (occ maintenance:install, redis-server…)
        name: "password option on a command line",
        re: new RegExp(String.raw`(?:^|\s)--[a-z0-9-]*pass(?:word|wd|phrase)?(?:=|\s+)${LITERAL}`, "im"),
    },
    {
        // mysql -pX / mariadb -pX (no space: a space makes the client prompt instead).
        name: "password on a MySQL/MariaDB command line",
        re: new RegExp(String.raw`\b(?:mysql|mariadb|mysqladmin|mariadb-admin|mysqldump|mariadb-dump)\b[^\n]*\s-p(?![$` + "`" + String.raw`"'\s])\S{3,}`, "i"),
    },
    { name: "password on a redis-cli command line", re: new RegExp(String.raw`\bredis-cli\b[^\n]*\s-a\s+${LITERAL}`, "i") },
    { name: "Redis requirepass/masterauth", re: new RegExp(String.raw`\b(?:requirepass|masterauth)\s+${LITERAL}`, "i") },
    { name: "SQL password literal", re: /\bIDENTIFIED\s+(?:BY|WITH\s+\S+\s+(?:BY|AS))\s+(?:PASSWORD\s*\(\s*)?['"](?![$`{])[^'"]{3,}['"]/i },
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
    validateResource: forTypes([...INSTANCE_TYPES, T.launchTemplate, T.launchConfiguration], ({ props }, report) => {
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

// --- EC2.17 ---------------------------------------------------------------------------------------

export const singleNetworkInterface: ResourceValidationPolicy = {
    name: "ec2-single-network-interface",
    description:
        "[AWS FSBP EC2.17] Instances must not use multiple network interfaces (a second ENI bridges subnets and " +
        "bypasses the placement the security groups were written for).",
    enforcementLevel: "advisory",
    tags: ["EC2.17", "network"],
    validateResource: forTypes([...INSTANCE_TYPES, T.networkInterfaceAttachment], ({ type, props }, report) => {
        if (type === T.networkInterfaceAttachment) {
            const idx = asNumber(at(props, "deviceIndex"));
            if (idx !== undefined && idx > 0) report(`attaches a network interface at device index ${idx}: the instance gets a second ENI.`);
            return;
        }
        const nis = asArray(at(props, "networkInterfaces")) ?? [];
        if (nis.length > 1) report(`declares ${nis.length} network interfaces; use one per instance.`);
    }),
};

// --- EC2.24 ---------------------------------------------------------------------------------------

/** Instance families that can run paravirtual (PV) AMIs: all previous generation. */
export const PARAVIRTUAL_FAMILIES: readonly string[] = ["c1", "c3", "hs1", "m1", "m2", "m3", "t1"];

export const noParavirtualTypes: ResourceValidationPolicy = {
    name: "ec2-no-paravirtual-instance-types",
    description:
        `[AWS FSBP EC2.24] Instances must not use a paravirtual-capable previous-generation type ` +
        `(${PARAVIRTUAL_FAMILIES.join(", ")}); use an HVM current-generation type.`,
    enforcementLevel: "advisory",
    tags: ["EC2.24"],
    validateResource: forTypes([...INSTANCE_TYPES, T.launchTemplate, T.launchConfiguration], ({ props }, report) => {
        const it = asString(at(props, "instanceType"));
        const family = it?.split(".")[0];
        if (family && PARAVIRTUAL_FAMILIES.includes(family)) report(`instanceType ${it} is a previous-generation type that can run paravirtual AMIs.`);
    }),
};

// --- EC2.180 --------------------------------------------------------------------------------------

export const sourceDestCheck: ResourceValidationPolicy = {
    name: "ec2-source-dest-check",
    description:
        "[AWS FSBP EC2.180] Network interfaces and instances must keep source/destination checking on " +
        "(only NAT or routing appliances turn it off, and this platform uses NAT gateways).",
    enforcementLevel: "advisory",
    tags: ["EC2.180", "network"],
    validateResource: forTypes([...INSTANCE_TYPES, T.networkInterface], ({ props }, report) => {
        if (isFalse(at(props, "sourceDestCheck"))) report("sourceDestCheck = false: the interface may forward traffic for other addresses.");
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
    singleNetworkInterface,
    noParavirtualTypes,
    sourceDestCheck,
];
