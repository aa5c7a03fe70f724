import * as pulumi from "@pulumi/pulumi";
import { InvalidArgsError } from "../components/shared/errors";
import { CONFIG_SCHEMA, ConfigError, ConfigKeyName, isDocumentationCidr, isPlaceholderCertificateArn, parsePlatformConfig } from "./config";
import { buildPlatform } from "./platform";

/** Reads every key of the schema from stack config (raw strings; the loader parses and validates). */
export function readStackConfig(): Partial<Record<ConfigKeyName, unknown>> {
    const config = new pulumi.Config();
    const raw: Partial<Record<ConfigKeyName, unknown>> = {};
    for (const k of Object.keys(CONFIG_SCHEMA) as ConfigKeyName[]) {
        const v = config.get(k);
        if (v !== undefined) raw[k] = v;
    }
    // A misspelt key would otherwise be silently ignored while its default is used.
    const prefix = `${pulumi.getProject()}:`;
    for (const full of Object.keys(pulumi.runtime.allConfig())) {
        if (full.startsWith(prefix) && !(full.slice(prefix.length) in CONFIG_SCHEMA)) {
            raw[full.slice(prefix.length) as ConfigKeyName] = "";
        }
    }
    return raw;
}

/**
 * The Pulumi program: read and validate stack config, warn about placeholders, build the platform.
 * Returns the stack outputs. Separate from index.ts so tests can run it once per stack.
 */
export async function runProgram(): Promise<Record<string, unknown>> {
    try {
        // The config's own problems are reported together with the components' (buildPlatform's preflight).
        const parsed = parsePlatformConfig(pulumi.getStack(), readStackConfig(), pulumi.getProject());
        const cfg = parsed.config;
        const placeholders = cfg.adminCidrs.filter(isDocumentationCidr);
        if (placeholders.length > 0) {
            void pulumi.log.warn(
                `${pulumi.getProject()}:adminCidrs still holds the placeholder ${placeholders.join(", ")} (a documentation range that ` +
                    `routes nowhere): nobody will reach the bastion. Set your own: pulumi config set --path 'adminCidrs[0]' <your-ip>/32`,
            );
        }
        if (/(^|\.)example\.(com|org|net)$/.test(cfg.web.domain)) {
            void pulumi.log.warn(
                `${pulumi.getProject()}:domain is the placeholder ${cfg.web.domain}: set the host name your users will reach, ` +
                    `e.g. pulumi config set domain cloud.yourcompany.com`,
            );
        }
        if (isPlaceholderCertificateArn(cfg.web.certificateArn)) {
            const message =
                `${pulumi.getProject()}:certificateArn is the placeholder ${cfg.web.certificateArn} (account 000000000000 does not exist): ` +
                `set your certificate: pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id>, or set hostedZoneId instead`;
            // Previews (and the offline plan) may run with it; a deployment never does, and stops before creating anything.
            if (!pulumi.runtime.isDryRun()) throw new ConfigError([...parsed.problems, message]);
            void pulumi.log.warn(message);
        }
        return (await buildPlatform(cfg, parsed)).outputs;
    } catch (e) {
        // A RunError is printed as its message alone: a config mistake is not a bug, so no stack trace.
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        if (e instanceof InvalidArgsError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

