/**
 * Thrown by a component's validate/resolve function before it creates anything: the arguments
 * cannot produce a working deployment. The message names each bad argument and the fix.
 */
export class InvalidArgsError extends Error {
    constructor(
        public readonly component: string,
        public readonly resourceName: string,
        public readonly problems: string[],
    ) {
        super(`${component} "${resourceName}": ${problems.join("; ")}`);
        this.name = "InvalidArgsError";
    }
}
