import type { Lab } from "./lab-core";

export interface ScenarioResult {
    name: string;
    ok: boolean;
    /** Measured figures, e.g. ackedWrites, lostAckedWrites, writerOutageSeconds. */
    figures: Record<string, number | string | boolean>;
    notes: string[];
    durationSeconds?: number;
}

export interface Scenario {
    name: string;
    description: string;
    run(lab: Lab): Promise<ScenarioResult>;
}
