/**
 * Writes the `config:` schema of Pulumi.yaml from stacks/config.ts (the loader's CONFIG_SCHEMA), so
 * the two never drift: `npm run config:schema` after adding a setting. A test checks they agree.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { CONFIG_SCHEMA, ConfigKey } from "../../stacks/config";

const file = path.resolve(__dirname, "..", "..", "Pulumi.yaml");
const text = fs.readFileSync(file, "utf8");
const header = text
    .split("\n")
    .filter((l) => l.startsWith("#"))
    .join("\n");
const project = YAML.parse(text);
project.config = Object.fromEntries(
    Object.entries(CONFIG_SCHEMA as Record<string, ConfigKey>).map(([k, v]) => [
        k,
        { type: v.type, ...(v.type === "array" ? { items: { type: "string" } } : {}), description: v.description, ...(v.default !== undefined ? { default: v.default } : {}) },
    ]),
);
fs.writeFileSync(file, `${header}\n${YAML.stringify(project, { lineWidth: 0 })}`);
console.log(`wrote ${Object.keys(project.config).length} settings to Pulumi.yaml`);
