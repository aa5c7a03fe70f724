/**
 * Where CopyToRemote puts the scripts, derived from the copy's recorded inputs with the provider's
 * own rule, against the path every step runs (pulumi-command v1.2.1, remote/copyController.go
 * sftpCopy: a directory source without a trailing slash lands in remotePath/<basename>, with one
 * in remotePath itself; a file source lands at remotePath unless that is an existing directory).
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { GaleraCluster } from "../components/database/galeraCluster";
import { GlusterDisperseVolume } from "../components/storage/glusterDisperseVolume";
import { MockEngine, RecordedResource, underMocks } from "./harness/mocks";
import { GALERA_NODE_FILES, GLUSTER_NODE_FILES } from "./fixtures/shipped-files";

const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const bastion = { host: "192.0.2.10", securityGroupId: "sg-bastion", keyPairName: "kp", privateKey: "KEY" };

/** The provider's landing rule for a path-backed archive whose source is a directory (remote path not yet a file). */
function landingDir(sourcePath: string, remotePath: string): string {
    return sourcePath.endsWith("/") ? remotePath : path.posix.join(remotePath, path.basename(sourcePath));
}

function filesUnder(dir: string, prefix = ""): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
        .sort();
}

function copySource(copy: RecordedResource): string {
    const source = copy.rawInputs.source;
    expect(source?.[SIG_KEY], `${copy.name}: source must be an archive`).to.equal(ARCHIVE_SIG);
    expect(source.path, `${copy.name}: the provider only takes path-backed archives`).to.be.a("string");
    expect(fs.statSync(source.path).isDirectory()).to.equal(true);
    return source.path;
}

async function clusters(): Promise<MockEngine> {
    return underMocks(() => {
        new GaleraCluster("g", {
            vpcId: "vpc-db",
            subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
            subnetCidrs: ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"],
            clientCidrs: ["10.0.0.0/16"],
            bastion,
        });
        new GlusterDisperseVolume("fs", {
            vpcId: "vpc-fs",
            subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
            subnetCidrs: ["10.2.0.0/20", "10.2.16.0/20", "10.2.32.0/20"],
            clientCidrs: ["10.0.0.0/16"],
            bastion,
        });
    });
}

describe("bootstrap copy (CopyToRemote → remote.Command)", () => {
    let engine: MockEngine;
    before(async () => {
        engine = await clusters();
    });

    it("every step runs a script at the path its host's copy lands it", () => {
        const copies = engine.ofType("command:remote:CopyToRemote");
        const commands = engine.ofType("command:remote:Command");
        expect(copies).to.have.length(6);
        for (const copy of copies) {
            const source = copySource(copy);
            const landing = landingDir(source, copy.inputs.remotePath);
            const steps = commands.filter((c) => c.dependencies.includes(copy.urn));
            expect(steps.length, copy.name).to.be.greaterThan(0);
            for (const step of steps) {
                const script = /\bbash '([^']+)'$/.exec(step.inputs.create)?.[1];
                expect(script, `${step.name}: ${step.inputs.create}`).to.be.a("string");
                expect(script!.startsWith(`${landing}/`), `${step.name} runs ${script}, the copy lands in ${landing}`).to.equal(true);
                expect(fs.existsSync(path.join(source, script!.slice(landing.length + 1))), `${script} is shipped`).to.equal(true);
            }
        }
    });

    it("ships exactly the node files each host needs: no lab, plan tool or CI script", () => {
        const shipped = (name: string) => filesUnder(copySource(engine.byName(name)));
        expect(shipped("g-scripts-node1")).to.deep.equal(shipped("g-scripts-node3"));
        expect(shipped("g-scripts-node1")).to.deep.equal(GALERA_NODE_FILES);
        expect(shipped("fs-scripts-node2")).to.deep.equal(GLUSTER_NODE_FILES);
    });

    it("ships the files' current content", () => {
        const source = copySource(engine.byName("g-scripts-node1"));
        const repo = path.resolve(__dirname, "..", "scripts", "node");
        for (const f of filesUnder(source)) expect(fs.readFileSync(path.join(source, f), "utf8"), f).to.equal(fs.readFileSync(path.join(repo, f), "utf8"));
    });
});
