/**
 * The lab's user client at the front door (scripts/lab/front-door.ts), against a small WebDAV
 * server in this process that can refuse requests for a while, lose a file or corrupt one: what the
 * user-level scenarios count must be what happened.
 */
import { expect } from "chai";
import * as http from "http";
import type { AddressInfo } from "net";
import { Traffic, dav, type FrontDoor } from "../scripts/lab/front-door";

describe("lab front door client (Traffic)", function () {
    this.timeout(30_000);
    const files = new Map<string, Buffer>();
    let failing = false;
    let seenAuth = "";
    let seenHost = "";
    let server: http.Server;
    let fd: FrontDoor;

    before(async () => {
        server = http.createServer((req, res) => {
            seenAuth = req.headers.authorization ?? "";
            seenHost = req.headers.host ?? "";
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                const key = req.url ?? "";
                const body = files.get(key);
                if (failing) res.writeHead(503).end();
                else if (req.method === "MKCOL") res.writeHead(201).end();
                else if (req.method === "PUT") {
                    files.set(key, Buffer.concat(chunks));
                    res.writeHead(201).end();
                } else if (!body) res.writeHead(404).end();
                else res.writeHead(200).end(body);
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        fd = { address: "127.0.0.1", port: (server.address() as AddressInfo).port, domain: "cloud.example.test", user: "admin", password: "pw with: colon" };
    });
    after(() => server.close());

    it("sends the program's domain as Host and the admin's credentials as Basic auth", async () => {
        const r = await dav(fd, "PUT", "a dir/f.bin", Buffer.from("x"));
        expect(r.status).to.equal(201);
        expect(seenHost).to.equal("cloud.example.test");
        expect(Buffer.from(seenAuth.replace(/^Basic /, ""), "base64").toString()).to.equal("admin:pw with: colon");
        expect([...files.keys()]).to.include("/remote.php/webdav/a%20dir/f.bin");
    });

    it("counts the requests that failed during a fault and none after it; every acknowledged upload comes back", async () => {
        const t = new Traffic(fd, "run1", { workers: 2, size: 1024, pauseMs: 5 });
        await t.start();
        await new Promise((r) => setTimeout(r, 150));
        failing = true;
        await new Promise((r) => setTimeout(r, 150));
        failing = false;
        const recovered = Date.now();
        await new Promise((r) => setTimeout(r, 150));
        await t.stop();
        const f = await t.verify(0);
        expect(f.failedRequests).to.be.greaterThan(0);
        expect(f.failureWindowSeconds).to.be.within(0, 0.3);
        expect(t.failedSince(recovered + 50)).to.equal(0);
        expect(f.ackedUploads).to.be.greaterThan(0);
        expect([f.lostFiles, f.corruptFiles]).to.deep.equal([0, 0]);
        expect(f.failures[0]).to.match(/^\d+\.\ds (PUT|GET) 503$/);
    });

    it("reports an acknowledged upload that is gone as lost, and one that changed as corrupt", async () => {
        const t = new Traffic(fd, "run2", { workers: 1, size: 512, pauseMs: 5 });
        await t.start();
        await new Promise((r) => setTimeout(r, 100));
        await t.stop();
        const mine = [...files.keys()].filter((k) => k.includes("/run2/"));
        expect(mine.length).to.be.greaterThan(2);
        files.delete(mine[0]);
        const changed = Buffer.from(files.get(mine[1])!);
        changed[0] ^= 0xff;
        files.set(mine[1], changed);
        const f = await t.verify(0);
        expect([f.lostFiles, f.corruptFiles]).to.deep.equal([1, 1]);
    });
});
