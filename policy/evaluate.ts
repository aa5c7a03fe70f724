/**
 * Offline evaluator: runs the pack's policies over a list of resources the way the Pulumi engine
 * and @pulumi/policy's analyzer server (v1.21, server.js) do, without the CLI, plugins or a gRPC
 * server. Tests and the offline plan (resources collected under `pulumi.runtime.setMocks`) use it.
 *
 * Faithful to the server:
 *  - enforcement level = config[policy].enforcementLevel || policy.enforcementLevel || pack level
 *    ("advisory", as in index.ts); "disabled" skips; "remediate" reports as "mandatory";
 *  - resource policies get { type, props, urn, name, opts, provider?, stackTags, isType, asType,
 *    getConfig, notApplicable } with props wrapped in the same unknown-checking proxy;
 *  - a validateResource function carrying `__pulumiType` is skipped for other types;
 *  - stack policies get { resources, stackTags, getConfig, notApplicable } where each resource has
 *    parent, dependencies and propertyDependencies resolved to resource objects (missing URNs dropped);
 *  - reading an unknown value yields one advisory "can't run ... during preview" verdict;
 *  - notApplicable() ends that validation silently; any other exception is re-thrown.
 * The CLI also validates policy config and fills schema defaults: done here too (lightly).
 */
import {
    unknownCheckingProxy,
    UnknownValueError,
    type EnforcementLevel,
    type Policies,
    type PolicyConfigSchema,
    type PolicyPackConfig,
    type PolicyResource,
    type PolicyResourceOptions,
    type ReportViolation,
    type ResourceValidation,
    type ResourceValidationArgs,
    type ResourceValidationPolicy,
    type StackValidationArgs,
    type StackValidationPolicy,
} from "@pulumi/policy";
import { allPolicies } from "./policies";
import { stackPolicyConfig } from "./stack-config";

export { UNKNOWN } from "./lib";

// index.d.ts re-exports these from ./proxy, whose published typings are empty: give them types.
const checkUnknowns = unknownCheckingProxy as unknown as (v: unknown) => Record<string, unknown>;
const UnknownValueErrorClass = UnknownValueError as unknown as new (...args: never[]) => Error;

/** One resource as the engine sees it. URNs tie parent/dependencies/propertyDependencies together. */
export interface EvalResource {
    type: string;
    name: string;
    urn: string;
    /** Inputs (resource policies) = outputs (stack policies) here. Use UNKNOWN for unknown values. */
    props: Record<string, unknown>;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    provider?: { type: string; name: string; urn: string; props: Record<string, unknown> };
    opts?: Partial<PolicyResourceOptions>;
}

export interface EvalConfig {
    /** Stack name: its config from policy/stack-config.ts is applied beneath `policyConfig`. */
    stack?: string;
    /** Same shape as a --policy-pack-config file: { "<policy>": "mandatory" | { enforcementLevel?, ...props } }. */
    policyConfig?: PolicyPackConfig;
    /** Pack-wide default level (index.ts uses "advisory"). */
    packEnforcementLevel?: EnforcementLevel;
    stackTags?: Record<string, string>;
    /** Policies to run (default: all of the pack's). */
    policies?: Policies;
}

export interface Verdict {
    policyName: string;
    enforcementLevel: "advisory" | "mandatory";
    /** The resource in violation (always set for resource policies; optional for stack policies). */
    urn?: string;
    /** What the policy reported (the engine shows `description` + "\n" + message). */
    message: string;
    description: string;
    /** Set when the verdict only says the policy could not run because a value is unknown. */
    unknownValue?: boolean;
}

class NotApplicableError extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicableError(reason);
}

/** Deep copy of plain data (arrays/objects), like the server's fresh deserialisation per call. */
function copy(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(copy);
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = copy(x);
        return o;
    }
    return v;
}

function freezeMap(entries: Record<string, string> | undefined): ReadonlyMap<string, string> {
    return new Map(Object.entries(entries ?? {}));
}

function pulumiTypeOf(x: unknown): string | undefined {
    const t = (x as { __pulumiType?: unknown } | undefined)?.__pulumiType;
    return typeof t === "string" && t.length > 0 ? t : undefined;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
    const t = pulumiTypeOf(resourceClass);
    if (t) return type === t;
    const isInstance = (resourceClass as { isInstance?: unknown })?.isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function optsOf(r: EvalResource): PolicyResourceOptions {
    const o: PolicyResourceOptions = {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.opts ?? {}),
    };
    if (r.parent) o.parent = r.parent;
    return o;
}

function isResourcePolicy(p: Policies[number]): p is ResourceValidationPolicy {
    const v = (p as ResourceValidationPolicy).validateResource;
    return typeof v === "function" || (Array.isArray(v) && v.every((f) => typeof f === "function"));
}

function isStackPolicy(p: Policies[number]): p is StackValidationPolicy {
    return typeof (p as StackValidationPolicy).validateStack === "function";
}

interface ResolvedPolicyConfig {
    enforcementLevel?: EnforcementLevel;
    props: Record<string, unknown>;
}

/** Merges stack config and explicit config, normalises "level" shorthands and "all", fills schema defaults. */
export function resolveConfig(policies: Policies, config: EvalConfig): Map<string, ResolvedPolicyConfig> {
    const layers = [stackPolicyConfig(config.stack), config.policyConfig ?? {}];
    const names = new Set(policies.map((p) => p.name));
    const merged: Record<string, Record<string, unknown>> = {};
    for (const layer of layers) {
        for (const [name, v] of Object.entries(layer)) {
            if (name !== "all" && !names.has(name)) {
                throw new Error(`policy config names unknown policy "${name}"; known: ${[...names].join(", ")}`);
            }
            const obj = typeof v === "string" ? { enforcementLevel: v } : { ...(v as object) };
            merged[name] = { ...(merged[name] ?? {}), ...obj };
        }
    }
    const all = merged["all"]?.enforcementLevel as EnforcementLevel | undefined;
    const out = new Map<string, ResolvedPolicyConfig>();
    for (const p of policies) {
        const { enforcementLevel, ...rest } = merged[p.name] ?? {};
        const props: Record<string, unknown> = {};
        const schema: PolicyConfigSchema | undefined = p.configSchema;
        for (const [k, s] of Object.entries(schema?.properties ?? {})) {
            if (typeof s === "object" && s.default !== undefined) props[k] = copy(s.default);
        }
        for (const [k, v] of Object.entries(rest)) {
            if (schema && !(k in (schema.properties ?? {}))) {
                throw new Error(`policy "${p.name}" has no config property "${k}"`);
            }
            props[k] = v;
        }
        for (const req of schema?.required ?? []) {
            if (props[req] === undefined) throw new Error(`policy "${p.name}" requires config property "${req}"`);
        }
        out.set(p.name, { enforcementLevel: (enforcementLevel as EnforcementLevel | undefined) ?? all, props });
    }
    return out;
}

/**
 * Runs every resource policy on every resource, then every stack policy on the whole list, and
 * returns the violations (advisory and mandatory) in that order.
 */
export async function evaluate(resources: readonly EvalResource[], config: EvalConfig = {}): Promise<Verdict[]> {
    const policies = config.policies ?? allPolicies;
    const cfg = resolveConfig(policies, config);
    const packLevel = config.packEnforcementLevel ?? "advisory";
    const stackTags = freezeMap(config.stackTags);
    const verdicts: Verdict[] = [];

    const seen = new Set<string>();
    for (const r of resources) {
        if (seen.has(r.urn)) throw new Error(`duplicate URN ${r.urn}`);
        seen.add(r.urn);
    }

    const levelOf = (p: Policies[number]): EnforcementLevel | "skip" => {
        const l = cfg.get(p.name)?.enforcementLevel || p.enforcementLevel || packLevel;
        if (l === "disabled") return "skip";
        return l === "remediate" ? "mandatory" : l;
    };
    const getConfigFor = (name: string) =>
        function getConfig<T extends object>(): T {
            return copy(cfg.get(name)?.props ?? {}) as T;
        };
    const reporter = (p: Policies[number], level: "advisory" | "mandatory", defaultUrn?: string): ReportViolation =>
        (message: string, urn?: string) => {
            verdicts.push({
                policyName: p.name,
                enforcementLevel: level,
                urn: defaultUrn ?? urn,
                message: message || p.description,
                description: p.description,
            });
        };
    const handle = (e: unknown, p: Policies[number], what: string, urn?: string): void => {
        if (e instanceof UnknownValueErrorClass) {
            verdicts.push({
                policyName: p.name,
                enforcementLevel: "advisory",
                urn,
                message: `can't run policy '${p.name}' during preview: ${e.message}`,
                description: p.description,
                unknownValue: true,
            });
        } else if (!(e instanceof NotApplicableError)) {
            const err = e instanceof Error ? e : new Error(String(e));
            err.message = `Error validating ${what} with policy '${p.name}': ${err.message}`;
            throw err;
        }
    };

    // --- resource policies (the engine's Analyze call, once per resource) ---
    for (const r of resources) {
        for (const p of policies) {
            const level = levelOf(p);
            if (level === "skip" || !isResourcePolicy(p) || !p.validateResource) continue;
            if (!Array.isArray(p.validateResource)) {
                const t = pulumiTypeOf(p.validateResource);
                if (t && t !== r.type) continue;
            }
            const validations: ResourceValidation[] = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
            const report = reporter(p, level as "advisory" | "mandatory", r.urn);
            for (const validation of validations) {
                const props = checkUnknowns(copy(r.props));
                const args: ResourceValidationArgs = {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: optsOf(r),
                    stackTags,
                    isType: (cls) => isTypeOf(r.type, cls),
                    asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
                    getConfig: getConfigFor(p.name),
                    notApplicable: throwNotApplicable,
                };
                if (r.provider) {
                    args.provider = { ...r.provider, props: checkUnknowns(copy(r.provider.props)) };
                }
                try {
                    await Promise.resolve(validation(args, report));
                } catch (e) {
                    handle(e, p, `resource ${r.urn}`, r.urn);
                }
            }
        }
    }

    // --- stack policies (the engine's AnalyzeStack call, once at the end) ---
    for (const p of policies) {
        const level = levelOf(p);
        if (level === "skip" || !isStackPolicy(p)) continue;
        const t = pulumiTypeOf(p.validateStack);
        if (t && !resources.some((r) => r.type === t)) continue;
        const built = resources.map((r) => {
            const props = checkUnknowns(copy(r.props));
            const res: PolicyResource = {
                type: r.type,
                props,
                urn: r.urn,
                name: r.name,
                opts: optsOf(r),
                dependencies: [],
                propertyDependencies: {},
                isType: (cls) => isTypeOf(r.type, cls),
                asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
            };
            if (r.provider) {
                res.provider = { ...r.provider, props: checkUnknowns(copy(r.provider.props)) };
            }
            return { src: r, res };
        });
        const byUrn = new Map(built.map((b) => [b.res.urn, b.res]));
        for (const { src, res } of built) {
            if (src.parent && byUrn.has(src.parent)) res.parent = byUrn.get(src.parent);
            res.dependencies = (src.dependencies ?? []).map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
            for (const [k, urns] of Object.entries(src.propertyDependencies ?? {})) {
                res.propertyDependencies[k] = urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
            }
        }
        const args: StackValidationArgs = {
            resources: built.map((b) => b.res),
            getConfig: getConfigFor(p.name),
            stackTags,
            notApplicable: throwNotApplicable,
        };
        try {
            await Promise.resolve(p.validateStack(args, reporter(p, level as "advisory" | "mandatory")));
        } catch (e) {
            handle(e, p, "stack");
        }
    }
    return verdicts;
}

/** Verdicts that would block `pulumi preview`/`up`. */
export function mandatory(verdicts: readonly Verdict[]): Verdict[] {
    return verdicts.filter((v) => v.enforcementLevel === "mandatory");
}

/** One line per verdict, for logs and the offline plan. */
export function formatVerdicts(verdicts: readonly Verdict[]): string {
    return verdicts
        .map((v) => `${v.enforcementLevel.toUpperCase()} ${v.policyName}${v.urn ? ` ${v.urn}` : ""}: ${v.message}`)
        .join("\n");
}
