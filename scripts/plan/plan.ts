/**
 * Offline plan: `npm run plan -- <stack> [--json] [--config FILE] [--program FILE] [--out DIR]`.
 *
 * Builds the stack (or a Pulumi TypeScript program) under Pulumi mocks — no cloud, CLI or plugins —
 * and reports the resource tree, counts by type, every policy verdict, an estimated monthly cost,
 * the estimated deployment critical path, and writes `<out>/<stack>.json` and an architecture
 * diagram `<out>/<stack>.svg` (default out: `plan/` in the project root, gitignored).
 *
 * The program runs as in a preview (`isDryRun()` is true), is called the way Pulumi's runner calls it
 * (an exported function is called and awaited), and is waited for until it is idle.
 *
 * Exit status: 0 no mandatory violation; 1 a mandatory policy violation; 2 invalid input (unknown
 * stack, missing file, invalid config or component arguments); 3 the plan could not be made (the
 * program needs an invoke the offline engine cannot answer, registers no resource, never becomes
 * idle, or an unexpected error). Seeing nothing is never a pass.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { build, PlanInputError, PlanUnsupportedError, REPO_ROOT } from "./build";
import { renderDiagram } from "./diagram";
import { compareCosts, loadUsage, UsageFileError, USAGE_FILE } from "./cost";
import { formatText, makeReport, type PlanReport } from "./report";

export const USAGE = "usage: npm run plan -- <stack> [--json] [--config FILE] [--program FILE] [--out DIR] [--usage FILE] [--compare STACK|CONFIG.yaml|PLAN.json]";

export interface PlanArgs {
    stack: string;
    json: boolean;
    configFile?: string;
    programFile?: string;
    outDir: string;
    usageFile: string;
    /** Another stack name, stack config file or plan JSON to compare the cost and resources with. */
    compare?: string;
}

export function parseArgs(argv: readonly string[]): PlanArgs {
    let stack: string | undefined;
    let json = false;
    let configFile: string | undefined;
    let programFile: string | undefined;
    let outDir: string | undefined;
    let usageFile: string | undefined;
    let compare: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (flag: string) => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new PlanInputError(`${flag} needs a value; ${USAGE}`);
            return v;
        };
        if (a === "--json") json = true;
        else if (a === "--config") configFile = value(a);
        else if (a.startsWith("--config=")) configFile = a.slice(9);
        else if (a === "--program") programFile = value(a);
        else if (a.startsWith("--program=")) programFile = a.slice(10);
        else if (a === "--out") outDir = value(a);
        else if (a.startsWith("--out=")) outDir = a.slice(6);
        else if (a === "--usage") usageFile = value(a);
        else if (a.startsWith("--usage=")) usageFile = a.slice(8);
        else if (a === "--compare") compare = value(a);
        else if (a.startsWith("--compare=")) compare = a.slice(10);
        else if (a === "-h" || a === "--help") throw new PlanInputError(USAGE);
        else if (a.startsWith("-")) throw new PlanInputError(`unknown option ${a}; ${USAGE}`);
        else if (stack === undefined) stack = a;
        else throw new PlanInputError(`unexpected argument "${a}"; ${USAGE}`);
    }
    if (!stack) throw new PlanInputError(`missing the stack name; ${USAGE}`);
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PlanInputError(`stack name "${stack}" may only contain letters, digits, _ . and -`);
    // `npm run` starts scripts in the package root; paths the user typed are relative to where they
    // typed them (npm passes that directory as INIT_CWD).
    const base = process.env.INIT_CWD ?? process.cwd();
    const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));
    return {
        stack,
        json,
        configFile: abs(configFile),
        programFile: abs(programFile),
        outDir: abs(outDir) ?? path.join(REPO_ROOT, "plan"),
        usageFile: abs(usageFile) ?? USAGE_FILE,
        // A bare stack name stays a name; anything that looks like a file is resolved like the others.
        compare: compare === undefined || /^[A-Za-z0-9_.-]+$/.test(compare) && !/\.(json|ya?ml)$/.test(compare) ? compare : abs(compare),
    };
}

/**
 * The plan to compare with: a plan JSON as written by an earlier run, or a stack (name or config
 * file) planned now in a separate process (Pulumi's runtime is global: one program per process).
 */
function comparisonPlan(target: string, usageFile: string, stack: string): PlanReport {
    if (target.endsWith(".json")) {
        if (!fs.existsSync(target)) throw new PlanInputError(`--compare: ${target} does not exist`);
        try {
            const report = JSON.parse(fs.readFileSync(target, "utf8")) as PlanReport;
            if (!report.cost || !report.countsByType) throw new Error("no cost or countsByType");
            return report;
        } catch (e) {
            throw new PlanInputError(`--compare: ${target} is not a plan JSON written by npm run plan (${(e as Error).message})`);
        }
    }
    const isFile = /\.ya?ml$/.test(target);
    if (isFile && !fs.existsSync(target)) throw new PlanInputError(`--compare: ${target} does not exist`);
    // Another stack brings its own usage section; another config file of this stack is planned
    // under this stack's name, so both sides share the usage figures and only the layout differs.
    const otherStack = isFile ? stack : target;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-compare-"));
    try {
        const args = [...process.execArgv, __filename, otherStack, "--json", "--out", out, "--usage", usageFile, ...(isFile ? ["--config", target] : [])];
        const child = spawnSync(process.execPath, args, { encoding: "utf8", cwd: REPO_ROOT, env: { ...process.env, INIT_CWD: REPO_ROOT }, maxBuffer: 64 * 1024 * 1024 });
        if (child.status === 2) throw new PlanInputError(`--compare ${target}: ${child.stderr.replace(/^plan: /, "").trim()}`);
        if (child.status !== 0 && child.status !== 1) throw new Error(`planning ${target} for --compare failed (exit ${child.status}):\n${child.stderr}`);
        return JSON.parse(child.stdout) as PlanReport;
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}

/** Runs the plan; returns the exit status and what to print. */
export async function runPlan(argv: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    try {
        const args = parseArgs(argv);
        const built = await build({ stack: args.stack, configFile: args.configFile, programFile: args.programFile });
        let usage;
        try {
            usage = loadUsage(args.stack, args.usageFile);
        } catch (e) {
            if (e instanceof UsageFileError) throw new PlanInputError(e.message);
            throw e;
        }
        const report = await makeReport(built, usage);
        if (args.compare !== undefined) {
            const other = comparisonPlan(args.compare, args.usageFile, args.stack);
            report.compare = compareCosts(other, report, other.stack === args.stack ? path.basename(args.compare) : other.stack);
        }
        fs.mkdirSync(args.outDir, { recursive: true });
        const shown = (f: string) => path.relative(process.env.INIT_CWD ?? process.cwd(), f) || f;
        const jsonFile = path.join(args.outDir, `${args.stack}.json`);
        const svgFile = path.join(args.outDir, `${args.stack}.svg`);
        const json = JSON.stringify(report, null, 2) + "\n";
        fs.writeFileSync(jsonFile, json);
        fs.writeFileSync(svgFile, await renderDiagram(report));
        const status = report.summary.mandatoryViolations > 0 ? 1 : 0;
        return { status, stdout: args.json ? json : formatText(report, [shown(jsonFile), shown(svgFile)]), stderr: "" };
    } catch (e) {
        if (e instanceof PlanInputError) return { status: 2, stdout: "", stderr: `plan: ${e.message}\n` };
        if (e instanceof PlanUnsupportedError) return { status: 3, stdout: "", stderr: `plan: cannot evaluate offline: ${e.message}\n` };
        return { status: 3, stdout: "", stderr: `plan: unexpected error (a bug, please report it):\n${(e as Error)?.stack ?? String(e)}\n` };
    }
}

if (require.main === module) {
    void runPlan(process.argv.slice(2)).then(({ status, stdout, stderr }) => {
        if (stderr) process.stderr.write(stderr);
        // Exit only once stdout is flushed (a large --json would be cut off in a pipe otherwise).
        process.stdout.write(stdout, () => process.exit(status));
    });
}
