/**
 * DNS stand-in for the lab: what the VPC's resolver (Route 53 Resolver at the VPC base + 2) answers
 * the nodes for the AWS names the program hands them — the Secrets Manager endpoint of the region,
 * the ElastiCache endpoints — each mapped to the lab address of its stand-in. Nothing else
 * resolves: the lab reaches no outside name, so any other question gets SERVFAIL (the resolver had
 * nowhere to ask), and a node that depends on a name the lab does not serve fails visibly.
 *
 * Only what a stub resolver (glibc, Go's, Python's) sends: one question, class IN, over UDP. A and
 * ANY get the address; every other type of a known name gets an empty answer (NOERROR/NODATA), as a
 * name with only an A record does. Names compare case-insensitively (RFC 4343).
 *
 * Usage: tsx scripts/lab/dns-standin.ts ADDRESS PORT RECORDS_JSON   (RECORDS_JSON: {"name": "a.b.c.d"})
 */
import * as dgram from "dgram";
import * as fs from "fs";

/** Seconds a stub may cache an answer: short, so a re-pointed name is seen soon (ElastiCache's endpoints use a short TTL too). */
export const DNS_TTL_S = 5;

const TYPE_A = 1;
const TYPE_ANY = 255;
const CLASS_IN = 1;
const RCODE = { noError: 0, formErr: 1, servFail: 2, notImp: 4 } as const;

export interface DnsQuestion {
    id: number;
    name: string;
    type: number;
    qclass: number;
    /** The question section as received (echoed in the answer). */
    raw: Buffer;
    recursionDesired: boolean;
}

/** Parses a query with exactly one question; undefined when it is not one (answered FORMERR). */
export function parseQuery(msg: Buffer): DnsQuestion | undefined {
    if (msg.length < 12) return undefined;
    const flags = msg.readUInt16BE(2);
    if (flags & 0x8000) return undefined; // a response, not a query
    if (msg.readUInt16BE(4) !== 1) return undefined;
    const labels: string[] = [];
    let i = 12;
    for (;;) {
        if (i >= msg.length) return undefined;
        const len = msg[i];
        if (len === 0) break;
        if (len > 63 || i + 1 + len > msg.length) return undefined; // no compression in a question
        labels.push(msg.subarray(i + 1, i + 1 + len).toString("latin1"));
        i += 1 + len;
    }
    if (i + 5 > msg.length) return undefined;
    const type = msg.readUInt16BE(i + 1);
    const qclass = msg.readUInt16BE(i + 3);
    return { id: msg.readUInt16BE(0), name: labels.join(".").toLowerCase(), type, qclass, raw: msg.subarray(12, i + 5), recursionDesired: (flags & 0x0100) !== 0 };
}

function header(id: number, rd: boolean, rcode: number, answers: number, questions = 1): Buffer {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(id, 0);
    // QR, opcode 0, AA (the resolver is authoritative for what it stands in for), RD echoed, RA, rcode
    h.writeUInt16BE(0x8000 | 0x0400 | (rd ? 0x0100 : 0) | 0x0080 | rcode, 2);
    h.writeUInt16BE(questions, 4);
    h.writeUInt16BE(answers, 6);
    return h;
}

/** The response to a parsed question, given the lab's records (lower-case names to IPv4 addresses). */
export function answer(q: DnsQuestion, records: Record<string, string>): Buffer {
    const address = records[q.name];
    if (q.qclass !== CLASS_IN) return Buffer.concat([header(q.id, q.recursionDesired, RCODE.notImp, 0), q.raw]);
    if (address === undefined) return Buffer.concat([header(q.id, q.recursionDesired, RCODE.servFail, 0), q.raw]);
    if (q.type !== TYPE_A && q.type !== TYPE_ANY) return Buffer.concat([header(q.id, q.recursionDesired, RCODE.noError, 0), q.raw]);
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(DNS_TTL_S, 6);
    rr.writeUInt16BE(4, 10);
    address.split(".").forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
    return Buffer.concat([header(q.id, q.recursionDesired, RCODE.noError, 1), q.raw, rr]);
}

/** Checks and lower-cases the records: names without a trailing dot, dotted-quad addresses. */
export function normaliseRecords(records: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, address] of Object.entries(records)) {
        if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(address) || address.split(".").some((o) => Number(o) > 255)) {
            throw new Error(`DNS stand-in: ${name} -> ${address} is not an IPv4 address`);
        }
        out[name.replace(/\.$/, "").toLowerCase()] = address;
    }
    return out;
}

/** Starts the stand-in; resolves once it listens. */
export function serveDns(address: string, port: number, records: Record<string, string>, log: (l: string) => void = () => {}): Promise<dgram.Socket> {
    const table = normaliseRecords(records);
    const sock = dgram.createSocket("udp4");
    sock.on("message", (msg, peer) => {
        const q = parseQuery(msg);
        let reply: Buffer;
        if (!q) {
            reply = header(msg.length >= 2 ? msg.readUInt16BE(0) : 0, false, RCODE.formErr, 0, 0);
        } else {
            reply = answer(q, table);
            log(`${peer.address} ${q.name} type ${q.type} -> ${table[q.name] ?? "SERVFAIL"}`);
        }
        sock.send(reply, peer.port, peer.address);
    });
    return new Promise((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(port, address, () => resolve(sock));
    });
}

if (require.main === module) {
    const [address, portArg, recordsFile] = process.argv.slice(2);
    if (!address || !portArg || !recordsFile) {
        console.error("usage: dns-standin ADDRESS PORT RECORDS_JSON");
        process.exit(2);
    }
    const records = JSON.parse(fs.readFileSync(recordsFile, "utf8")) as Record<string, string>;
    serveDns(address, Number(portArg), records, (l) => console.log(`${new Date().toISOString()} ${l}`)).then(
        () => console.log(`DNS stand-in on ${address}:${portArg}: ${Object.keys(records).length} names`),
        (e) => {
            console.error(`DNS stand-in: ${(e as Error).message}`);
            process.exit(1);
        },
    );
}
