/** Scenario registry: Galera scenarios (galera.ts), then the Gluster (gluster.ts), web (web.ts), user-level (user.ts) and restore-drill (backup.ts) ones. */
import * as fs from "fs";
import * as path from "path";
import { Lab, log } from "../lab-core";
import { Scenario, ScenarioResult } from "../types";
import { scenarios as galera } from "./galera";

export async function allScenarios(): Promise<Scenario[]> {
    const list = [...galera];
    for (const extra of ["gluster", "web", "user", "backup"]) {
        const f = path.join(__dirname, `${extra}.ts`);
        if (fs.existsSync(f)) {
            const m = await import(f);
            if (Array.isArray(m.scenarios)) list.push(...(m.scenarios as Scenario[]));
        }
    }
    return list;
}

export async function runScenarios(lab: Lab, names: string[]): Promise<ScenarioResult[]> {
    const all = await allScenarios();
    const unknown = names.filter((n) => !all.some((s) => s.name === n));
    if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(", ")} (known: ${all.map((s) => s.name).join(", ")})`);
    const chosen = names.length ? all.filter((s) => names.includes(s.name)) : all;
    const results: ScenarioResult[] = [];
    for (const s of chosen) {
        log(`=== scenario ${s.name}: ${s.description}`);
        results.push(await s.run(lab));
    }
    return results;
}

export function printResults(results: ScenarioResult[]): void {
    for (const r of results) {
        console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.name}  (${r.durationSeconds ?? "?"} s)`);
        for (const [k, v] of Object.entries(r.figures)) console.log(`        ${k}: ${v}`);
        for (const n of r.notes) console.log(`        - ${n}`);
    }
    const failed = results.filter((r) => !r.ok).length;
    console.log(`${results.length - failed}/${results.length} scenarios passed`);
}
