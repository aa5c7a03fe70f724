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
import * as fs from "fs";
import * as path from "path";
import { build, PlanInputError, PlanUnsupportedError } from "./build";
import { REPO_ROOT } from "./stackBuild";
import { renderDiagram } from "./diagram";
import { formatText, makeReport } from "./report";

export const USAGE = "usage: npm run plan -- <stack> [--json] [--config FILE] [--program FILE] [--out DIR]";

export interface PlanArgs {
    stack: string;
    json: boolean;
    configFile?: string;
    programFile?: string;
    outDir: string;
}

export function parseArgs(argv: readonly string[]): PlanArgs {
    let stack: string | undefined;
    let json = false;
    let configFile: string | undefined;
    let programFile: string | undefined;
    let outDir: string | undefined;
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
    };
}

/** Runs the plan; returns the exit status and what to print. */
export async function runPlan(argv: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    try {
        const args = parseArgs(argv);
        const built = await build({ stack: args.stack, configFile: args.configFile, programFile: args.programFile });
        const report = await makeReport(built);
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
