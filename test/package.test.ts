import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import * as components from "../components";
import { underMocks } from "./harness/mocks";

const ROOT = path.resolve(__dirname, "..");

describe("the library other projects import", () => {
    it("exports every component from components/index.ts", () => {
        for (const name of ["PeeredVpc", "VpcPeering", "Bastion", "GaleraCluster", "GlusterDisperseVolume", "RedisCluster", "OwnCloudWebTier", "Observability"]) {
            expect((components as Record<string, unknown>)[name], name).to.be.a("function");
            expect(((components as Record<string, unknown>)[name] as { prototype: unknown }).prototype).to.be.instanceOf(pulumi.ComponentResource);
        }
    });

    it("builds to JavaScript with .d.ts declarations that package.json points at, and finds its scripts from there", function () {
        this.timeout(120000);
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "owncloud-ha-build-"));
        try {
            execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", out], { cwd: ROOT });
            const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
            const rel = (p: string) => path.relative("bin", p);
            expect(fs.existsSync(path.join(out, rel(pkg.types))), pkg.types).to.equal(true);
            expect(fs.existsSync(path.join(out, rel(pkg.main))), pkg.main).to.equal(true);
            expect(pkg.exports["."].types).to.equal(`./${pkg.types}`);
            const dts = fs.readFileSync(path.join(out, rel(pkg.types)), "utf8");
            for (const name of ["GaleraClusterArgs", "OwnCloudWebTierArgs", "RedisClusterArgs", "GlusterDisperseVolumeArgs"]) expect(dts).to.contain(name);
            expect(pkg.files).to.include("scripts/node");
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });

    it("builds the awsx example program under mocks: two components inside an awsx.ec2.Vpc", async () => {
        const engine = await underMocks(() => {
            pulumi.runtime.setAllConfig({
                "aws:region": "eu-central-1",
                "test:appSecurityGroupId": "sg-app",
                "test:bastionHost": "203.0.113.5",
                "test:bastionSecurityGroupId": "sg-jump",
                "test:keyPairName": "ops",
                "test:sshPrivateKey": "KEY",
            });
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require("../examples/awsx-vpc/index");
        });
        expect(engine.ofType("awsx:ec2:Vpc")).to.have.length(1);
        expect(engine.ofType("owncloud-ha:database:GaleraCluster")).to.have.length(1);
        expect(engine.ofType("owncloud-ha:cache:RedisCluster")).to.have.length(1);
        const instances = engine.ofType("aws:ec2/instance:Instance");
        expect(instances.map((i) => i.inputs.subnetId)).to.deep.equal(["shared-private-0", "shared-private-1", "shared-private-2"]);
        expect(engine.ofType("aws:elasticache/subnetGroup:SubnetGroup")[0].inputs.subnetIds).to.deep.equal(["shared-private-0", "shared-private-1", "shared-private-2"]);
    });
});
