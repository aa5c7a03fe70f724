/**
 * What the lab's client processes (writer.ts, galera-probe.ts) share: they run inside a web host's
 * network namespace (nsenter --net), read their settings as one JSON document on stdin, and report
 * on stdout one line per event.
 */

/** How a client reaches the database: through the web host's HAProxy, as the app user. */
export interface AppConnectionCfg {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
}

/** Reads the settings from stdin, runs `main`, exits 0; on an error writes `<label>: <stack>` to stderr and exits 1. */
export function runClient<C>(label: string, main: (c: C) => Promise<void>): void {
    readStdin()
        .then(async (s) => {
            await main(JSON.parse(s) as C);
            process.exit(0);
        })
        .catch((e) => {
            process.stderr.write(`${label}: ${(e as Error).stack ?? (e as Error).message}\n`);
            process.exit(1);
        });
}
