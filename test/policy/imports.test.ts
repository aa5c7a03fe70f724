import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/**
 * The policy pack is its own package: the Pulumi CLI loads it with the pack's own @pulumi/pulumi.
 * If a policy imported a component module it would also load the program's @pulumi/aws and a second
 * @pulumi/pulumi, which the SDK does not support in one process. The pack may take from components/
 * only pure data: the tiers' port declarations (components/<tier>/ports.ts), which import nothing.
 */
describe("policy pack: what it loads", () => {
    it("loads no component module but the tiers' ports.ts, and no @pulumi/aws", function () {
        this.timeout(60_000);
        const root = path.join(__dirname, "..", "..");
        const modules = fs.readdirSync(path.join(root, "policy", "policies")).filter((f) => f.endsWith(".ts")).map((f) => `./policy/policies/${f}`);
        const script = [
            ...modules.map((m) => `require(${JSON.stringify(m)});`),
            "console.log(JSON.stringify(Object.keys(require.cache)));",
        ].join("\n");
        const r = spawnSync(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: root, encoding: "utf8" });
        expect(r.status, r.stderr).to.equal(0);
        const loaded: string[] = JSON.parse(r.stdout.trim().split("\n").pop()!);
        const components = loaded.filter((f) => f.startsWith(path.join(root, "components") + path.sep)).map((f) => path.relative(root, f));
        expect(components.sort()).to.deep.equal(["components/cache/ports.ts", "components/database/ports.ts", "components/storage/ports.ts"]);
        for (const f of components) expect(fs.readFileSync(path.join(root, f), "utf8"), f).not.to.match(/^(import|export .* from |.*require\()/m);
        expect(loaded.filter((f) => f.includes(`${path.sep}@pulumi${path.sep}aws${path.sep}`))).to.deep.equal([]);
    });
});
