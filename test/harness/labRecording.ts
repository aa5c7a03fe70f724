import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { LabRecording } from "../../scripts/lab/replay/record";

const ROOT = path.resolve(__dirname, "..", "..");
let recording: Promise<LabRecording> | undefined;

/**
 * The real recording of Pulumi.lab.yaml, made once per test process and shared by the stand-in
 * tests: Pulumi's runtime is global, so it runs in its own process (record.ts), as `lab up` runs it.
 * Callers get a deep copy they may change.
 */
export async function labRecording(): Promise<LabRecording> {
    recording ??= (async () => {
        const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-rec-"));
        try {
            const { stdout } = await promisify(execFile)("npx", ["--no-install", "tsx", "scripts/lab/replay/record.ts", stateDir], { cwd: ROOT, maxBuffer: 64 << 20 });
            return JSON.parse(stdout) as LabRecording;
        } finally {
            fs.rmSync(stateDir, { recursive: true, force: true });
        }
    })();
    return structuredClone(await recording);
}
