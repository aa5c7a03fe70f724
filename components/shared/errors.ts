/**
 * One problem with a component's arguments: the argument(s) it concerns and what to do. Kept
 * structured so a caller that fed the arguments from somewhere else (the stack's config) can name
 * its own setting without parsing the message.
 */
export interface ArgProblem {
    /** The argument names, as in the component's `…Args` (a rule between two names both). */
    args: readonly string[];
    /** The problem and the fix, without the argument name(s). */
    message: string;
    /**
     * The whole sentence, for a rule that weaves the names of its arguments in (`minSize 5 is above
     * maxSize 4: …`): a caller that knows them under other names (a stack's config keys) passes its own.
     */
    render?: (nameOf: (arg: string) => string) => string;
}

/** `problem("nodeCount", "4 is even…")`; a rule between arguments: `problem(["minSize", "maxSize"], …)`. */
export function problem(arg: string | readonly string[], message: string): ArgProblem {
    return { args: typeof arg === "string" ? [arg] : arg, message };
}

/** A rule between arguments whose sentence names them itself: `render(nameOf)` writes it with whatever names the reader knows. */
export function problemBetween(args: readonly string[], render: (nameOf: (arg: string) => string) => string): ArgProblem {
    return { args, message: render((a) => a), render };
}

/** The text users read for one problem: `nodeCount: 4 is even…`, `a/b: …` for a rule between two. */
export function describeProblem(p: ArgProblem): string {
    return p.render ? p.render((a) => a) : `${p.args.join("/")}: ${p.message}`;
}

/**
 * Thrown by a component's validate/resolve function before it creates anything: the arguments
 * cannot produce a working deployment. The message names each bad argument and the fix.
 */
export class InvalidArgsError extends Error {
    /** The problems as text, each starting with the argument name(s). */
    public readonly problems: string[];

    constructor(
        public readonly component: string,
        public readonly resourceName: string,
        public readonly issues: readonly ArgProblem[],
    ) {
        const problems = issues.map(describeProblem);
        super(`${component} "${resourceName}": ${problems.join("; ")}`);
        this.problems = problems;
        this.name = "InvalidArgsError";
    }
}

/**
 * A settings check followed by the wiring's own problems, reported together (one error lists every
 * problem): `resolve…Args` = `resolve…Settings` + the checks that need IDs or resources.
 */
export function withWiringProblems<T>(component: string, name: string, resolveSettings: () => T, wiringProblems: readonly ArgProblem[]): T {
    let resolved: T | undefined;
    let settingProblems: readonly ArgProblem[] = [];
    try {
        resolved = resolveSettings();
    } catch (e) {
        if (!(e instanceof InvalidArgsError)) throw e;
        settingProblems = e.issues;
    }
    const all = [...settingProblems, ...wiringProblems];
    if (all.length > 0 || resolved === undefined) throw new InvalidArgsError(component, name, all);
    return resolved;
}
