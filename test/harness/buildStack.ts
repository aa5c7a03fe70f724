/**
 * Builds a real stack (dev or prod) offline for the tests: the values users deploy, from
 * Pulumi.<stack>.yaml, fed through pulumi config exactly as `pulumi up` would, under the one mock
 * engine (./mocks). The offline plan has its own loader (scripts/plan/build.ts: it also applies
 * Pulumi.yaml defaults, other config files and other programs).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { loadPlatformConfig, PlatformConfig } from "../../stacks/config";
import { buildPlatform, Platform } from "../../stacks/platform";
import { readStackConfig } from "../../stacks/program";
import { MockEngine } from "./mocks";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export function readYaml(file: string): any {
    return YAML.parse(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"));
}

export const PROJECT: string = readYaml("Pulumi.yaml").name;

/** The stack file's `config:` map, with values as the CLI hands them to the program (strings; lists as JSON). */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const file = readYaml(`Pulumi.${stack}.yaml`);
    const merged: Record<string, unknown> = { ...(file.config ?? {}), ...overrides };
    return Object.fromEntries(
        Object.entries(merged)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
}

export interface BuiltStack {
    engine: MockEngine;
    config: PlatformConfig;
    platform: Platform;
}

/**
 * Builds `stack` under mocks. `overrides` are full config keys (`owncloud-ha:natStrategy`) to
 * change on top of the stack file.
 */
let last: MockEngine | undefined;

/** The engine of the most recent buildStack call, also when that call threw (to see what got registered). */
export function lastEngine(): MockEngine {
    if (!last) throw new Error("buildStack has not run");
    return last;
}

export async function buildStack(stack: string, overrides: Record<string, unknown> = {}): Promise<BuiltStack> {
    const all = stackConfig(stack, overrides);
    const engine = new MockEngine(all["aws:region"] ?? "us-east-1");
    last = engine;
    await engine.install(PROJECT, stack);
    pulumi.runtime.setAllConfig(all);
    const config = loadPlatformConfig(stack, readStackConfig(), PROJECT);
    const platform = await buildPlatform(config);
    await engine.settle();
    return { engine, config, platform };
}
