/**
 * Builds what the offline plan looks at: a stack (`buildPlatform` with a stack's config) or any
 * Pulumi TypeScript program, run under the mock engine, with every registration recorded together
 * with the physical ID the mock gave it (so IDs flowing into other resources' inputs — a security
 * group rule's `referencedSecurityGroupId`, a route's `gatewayId` — can be traced back to the
 * resource they name).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { InvalidArgsError } from "../../components/shared/errors";
import { ConfigError, parsePlatformConfig } from "../../stacks/config";
import { buildPlatform } from "../../stacks/platform";
import { readStackConfig } from "../../stacks/program";
import { MockEngine, type RecordedResource, type ResourceAnswers } from "./mockEngine";

/** The repository (the project directory of the platform program). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Wrong input from the user (stack, config file, config value, program arguments): exit status 2. */
export class PlanInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PlanInputError";
    }
}

/**
 * The program needs something the offline engine cannot answer (an invoke without a mock answer):
 * exit status 3, with one line naming it instead of the SDK's serialisation error.
 */
export class PlanUnsupportedError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PlanUnsupportedError";
    }
}

/** A recorded registration plus the ID the mock answered with (custom resources only). */
export interface PlanResource extends RecordedResource {
    id?: string;
}

/** MockEngine that also remembers the ID each resource got. */
class IdRecordingEngine extends MockEngine {
    readonly ids = new Map<string, string>();
    /** Invokes the mocks refused (their messages), in order. */
    readonly refusedInvokes: string[] = [];

    mocks(): pulumi.runtime.Mocks {
        const base = super.mocks();
        return {
            ...base,
            call: (args) => {
                try {
                    return base.call(args);
                } catch (e) {
                    this.refusedInvokes.push(args.token);
                    throw e;
                }
            },
            newResource: (args) => {
                const remember = (result: pulumi.runtime.MockResourceResult) => {
                    if (result.id !== undefined) this.ids.set(`${args.type}::${args.name}`, result.id);
                    return result;
                };
                const result = base.newResource(args);
                return result instanceof Promise ? result.then(remember) : remember(result);
            },
        };
    }
}

export interface BuildInput {
    stack: string;
    /** Stack config file (Pulumi.<stack>.yaml format). Default: Pulumi.<stack>.yaml in the project directory. */
    configFile?: string;
    /** A Pulumi TypeScript program to evaluate instead of the platform. */
    programFile?: string;
    /** Real outputs for some resources instead of the mock's (the lab's recording); default: none. */
    answers?: ResourceAnswers;
}

export interface Built {
    project: string;
    stack: string;
    region: string;
    /** Where the config came from (files, in merge order). */
    configSources: string[];
    /** The config as handed to the program (full keys, string values). */
    config: Record<string, string>;
    /** "platform" (buildPlatform) or the program file. */
    program: string;
    resources: PlanResource[];
}

function readYamlFile(file: string, what: string): Record<string, unknown> {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new PlanInputError(`${what} ${file} not found or not readable`);
    }
    try {
        const doc: unknown = YAML.parse(text);
        if (doc === null || doc === undefined) return {};
        if (typeof doc !== "object" || Array.isArray(doc)) throw new Error("the document is not a mapping");
        return doc as Record<string, unknown>;
    } catch (e) {
        throw new PlanInputError(`${what} ${file} is not valid YAML: ${(e as Error).message.split("\n")[0].replace(/:$/, "")}`);
    }
}

/** How the CLI hands a config value to a program: strings as they are, everything else as JSON. */
function configValue(key: string, v: unknown, file: string): string {
    if (typeof v === "string") return v;
    if (v && typeof v === "object" && !Array.isArray(v) && "secure" in v) {
        throw new PlanInputError(
            `${key} in ${file} is an encrypted secret, which the offline plan cannot decrypt; ` +
                "put a plain placeholder value in a copy of the file and pass it with --config",
        );
    }
    return JSON.stringify(v);
}

/** Project defaults from Pulumi.yaml's `config:` block (keys without a namespace belong to the project). */
function projectDefaults(projectYaml: Record<string, unknown>, project: string): Record<string, string> {
    const out: Record<string, string> = {};
    const block = (projectYaml.config ?? {}) as Record<string, unknown>;
    for (const [k, decl] of Object.entries(block)) {
        const full = k.includes(":") ? k : `${project}:${k}`;
        const v = decl && typeof decl === "object" && !Array.isArray(decl) ? (decl as { default?: unknown; value?: unknown }) : { value: decl };
        const value = "value" in v ? v.value : v.default;
        if (value !== undefined) out[full] = configValue(full, value, "Pulumi.yaml");
    }
    return out;
}

function stackFileConfig(file: string): Record<string, string> {
    const doc = readYamlFile(file, "config file");
    const cfg = doc.config ?? {};
    if (typeof cfg !== "object" || Array.isArray(cfg)) {
        throw new PlanInputError(`config file ${file}: "config:" must be a mapping of keys to values (the Pulumi.<stack>.yaml format)`);
    }
    for (const k of Object.keys(doc)) {
        if (!["config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"].includes(k)) {
            throw new PlanInputError(`config file ${file}: unknown top-level key "${k}"; stack settings go under "config:"`);
        }
    }
    return Object.fromEntries(
        Object.entries(cfg as Record<string, unknown>)
            .filter(([, v]) => v !== undefined && v !== null)
            .map(([k, v]) => [k, configValue(k, v, file)]),
    );
}

function knownStacks(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}

/** Resolves the config the program would see: Pulumi.yaml defaults, then the stack file. */
export function resolveConfig(input: BuildInput): { project: string; config: Record<string, string>; sources: string[] } {
    const projectDir = input.programFile ? findProjectDir(path.dirname(path.resolve(input.programFile))) : REPO_ROOT;
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    const projectYaml = fs.existsSync(projectFile) ? readYamlFile(projectFile, "project file") : {};
    const project = typeof projectYaml.name === "string" ? projectYaml.name : "program";
    const sources: string[] = [];
    const config: Record<string, string> = {};
    if (fs.existsSync(projectFile)) {
        Object.assign(config, projectDefaults(projectYaml, project));
        sources.push(path.relative(process.cwd(), projectFile) || projectFile);
    }
    let stackFile = input.configFile ? path.resolve(input.configFile) : path.join(projectDir, `Pulumi.${input.stack}.yaml`);
    if (input.configFile && !fs.existsSync(stackFile)) throw new PlanInputError(`config file ${input.configFile} does not exist`);
    if (!fs.existsSync(stackFile)) {
        if (!input.programFile) {
            const known = knownStacks(projectDir);
            throw new PlanInputError(
                `unknown stack "${input.stack}": there is no Pulumi.${input.stack}.yaml in ${projectDir}` +
                    (known.length > 0 ? `; known stacks: ${known.join(", ")}` : "") +
                    "; or pass a config file with --config FILE",
            );
        }
        stackFile = "";
    }
    if (stackFile) {
        Object.assign(config, stackFileConfig(stackFile));
        sources.push(path.relative(process.cwd(), stackFile) || stackFile);
    }
    return { project, config, sources };
}

/** The nearest directory at or above `dir` with a Pulumi.yaml, or `dir` itself. */
function findProjectDir(dir: string): string {
    for (let d = dir; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml"))) return d;
        if (path.dirname(d) === d) return dir;
    }
}

/** Errors a Pulumi program raises for bad config or arguments: reported as input errors (exit 2). */
function asInputError(e: unknown): PlanInputError | undefined {
    if (e instanceof PlanInputError) return e;
    if (e instanceof ConfigError || e instanceof InvalidArgsError) return new PlanInputError(e.message);
    if (e instanceof Error && (e.name === "ConfigError" || e.name === "InvalidArgsError" || e.name === "RunError")) {
        return new PlanInputError(e.message);
    }
    if (e instanceof Error && e.constructor?.name === "ConfigMissingError") return new PlanInputError(e.message);
    return undefined;
}

/**
 * Loads a program module and runs it the way Pulumi's Node.js runner does (@pulumi/pulumi
 * cmd/run/run.js): a default export replaces the named exports; an exported function is called;
 * the result is awaited.
 */
export async function runProgramModule(file: string): Promise<unknown> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    let exported: unknown = require(file);
    if (exported !== null && typeof exported === "object" && Object.getOwnPropertyDescriptor(exported, "default") !== undefined) {
        if (Object.keys(exported).length !== 1) {
            throw new PlanInputError(`program ${file}: expected either a default export or named exports, not both (Pulumi refuses both)`);
        }
        exported = (exported as { default: unknown }).default;
    }
    const result = exported instanceof Function ? (exported as () => unknown)() : exported;
    return await result;
}

function unsupported(engine: IdRecordingEngine): PlanUnsupportedError | undefined {
    if (engine.refusedInvokes.length === 0) return undefined;
    const tokens = [...new Set(engine.refusedInvokes)].join(", ");
    return new PlanUnsupportedError(
        `the program calls ${tokens}, which the offline engine has no deterministic answer for; ` +
            "add one to the mocks' call() in scripts/plan/mockEngine.ts (or pass the value in as config)",
    );
}

/**
 * Builds the stack (or the program) under mocks and returns every registration. Runs once per
 * process: Pulumi's runtime state is global.
 */
export async function build(input: BuildInput): Promise<Built> {
    const { project, config, sources } = resolveConfig(input);
    const region = config["aws:region"] ?? "us-east-1";
    const engine = new IdRecordingEngine(region, input.answers);
    // The offline plan is a preview (`pulumi preview --policy-pack`): programs see isDryRun() = true.
    await engine.install(project, input.stack, true);
    pulumi.runtime.setAllConfig(config);

    // Errors raised inside applies surface as unhandled rejections: collect them instead of crashing.
    const asyncErrors: unknown[] = [];
    const onRejection = (e: unknown) => asyncErrors.push(e);
    process.on("unhandledRejection", onRejection);
    try {
        if (input.programFile) {
            const file = path.resolve(input.programFile);
            if (!fs.existsSync(file)) throw new PlanInputError(`program ${input.programFile} does not exist`);
            await runProgramModule(file);
        } else {
            // The config's problems and the components' are reported together (buildPlatform's preflight).
            const parsed = parsePlatformConfig(input.stack, readStackConfig(), project);
            await buildPlatform(parsed.config, parsed);
        }
        try {
            await engine.settle();
        } catch (e) {
            throw new PlanUnsupportedError((e as Error).message);
        }
    } catch (e) {
        throw asInputError(e) ?? unsupported(engine) ?? e;
    } finally {
        process.off("unhandledRejection", onRejection);
    }
    if (asyncErrors.length > 0) throw asInputError(asyncErrors[0]) ?? unsupported(engine) ?? asyncErrors[0];

    const resources: PlanResource[] = engine.resources.map((r) => ({ ...r, id: engine.ids.get(`${r.type}::${r.name}`) }));
    if (!resources.some((r) => r.custom && !r.type.startsWith("pulumi:providers:"))) {
        // Nothing to judge is not a pass: the program did not run the way the offline engine ran it.
        throw new PlanUnsupportedError(
            `${input.programFile ? `the program ${path.relative(process.cwd(), path.resolve(input.programFile))}` : "the stack"} registered no ` +
                "cloud resource, so there is nothing to evaluate; a Pulumi program declares resources when its module loads or " +
                "when its exported (async) function runs",
        );
    }
    return {
        project,
        stack: input.stack,
        region,
        configSources: sources,
        config,
        program: input.programFile ? path.relative(process.cwd(), path.resolve(input.programFile)) : "platform",
        resources,
    };
}
