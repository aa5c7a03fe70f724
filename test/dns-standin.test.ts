import { expect } from "chai";
import * as dgram from "dgram";
import { Resolver } from "dns/promises";
import { DNS_TTL_S, normaliseRecords, serveDns } from "../scripts/lab/dns-standin";

describe("scripts/lab/dns-standin.ts (the VPC resolver's answers for the lab's AWS names)", () => {
    let sock: dgram.Socket;
    let resolver: Resolver;
    const records = { "secretsmanager.us-east-1.amazonaws.com": "198.18.0.1", "Master.Lab-Redis.mock.cache.amazonaws.com.": "198.18.0.50" };
    before(async () => {
        sock = await serveDns("127.0.0.1", 0, records);
        resolver = new Resolver({ timeout: 2000, tries: 1 });
        resolver.setServers([`127.0.0.1:${sock.address().port}`]);
    });
    after(() => sock.close());

    it("answers a lab name with its stand-in's address and a short TTL, whatever the case", async () => {
        expect(await resolver.resolve4("secretsmanager.us-east-1.amazonaws.com", { ttl: true })).to.deep.equal([{ address: "198.18.0.1", ttl: DNS_TTL_S }]);
        expect(await resolver.resolve4("master.lab-redis.MOCK.cache.amazonaws.com")).to.deep.equal(["198.18.0.50"]);
    });

    it("gives a known name no AAAA record (NODATA), as a name with only an A record", async () => {
        const err = await resolver.resolve6("secretsmanager.us-east-1.amazonaws.com").then(() => undefined, (e: NodeJS.ErrnoException) => e);
        expect(err?.code).to.equal("ENODATA");
    });

    it("resolves nothing outside the lab (SERVFAIL: the lab has no upstream)", async () => {
        const err = await resolver.resolve4("registry-1.docker.io").then(() => undefined, (e: NodeJS.ErrnoException) => e);
        expect(err?.code).to.equal("ESERVFAIL");
    });

    it("answers a malformed query with FORMERR and keeps serving", async () => {
        const c = dgram.createSocket("udp4");
        const reply = await new Promise<Buffer>((resolve) => {
            c.once("message", (m) => resolve(m));
            c.send(Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x02]), sock.address().port, "127.0.0.1");
        });
        c.close();
        expect(reply.readUInt16BE(0)).to.equal(0x1234);
        expect(reply.readUInt16BE(2) & 0x000f).to.equal(1);
        expect(await resolver.resolve4("secretsmanager.us-east-1.amazonaws.com")).to.deep.equal(["198.18.0.1"]);
    });

    it("refuses a record that is not an IPv4 address before serving", () => {
        expect(() => normaliseRecords({ "a.example": "198.18.0.300" })).to.throw(/a.example -> 198.18.0.300 is not an IPv4 address/);
        expect(() => normaliseRecords({ "a.example": "::1" })).to.throw(/not an IPv4 address/);
    });
});
