/**
 * A user's client at the lab's front door (the ALB stand-in): WebDAV uploads and downloads with the
 * admin account the program stores, the Host header of the program's domain, over the lab segment
 * from this machine (the internet's place). The password stays in this process: never an argument.
 */
import * as crypto from "crypto";
import * as http from "http";
import { type LabRecording, userDataSetting, webUserData } from "./replay/record";

export interface FrontDoor {
    address: string;
    port: number;
    /** The Host header: the program's domain (OWNCLOUD_DOMAIN in the web user data). */
    domain: string;
    user: string;
    password: string;
}

/** The front door of a recording at `address` (the ALB stand-in's): the user data's domain, the admin secret its ARN names. */
export function frontDoor(rec: LabRecording, address: string): FrontDoor {
    const ud = webUserData(rec);
    const domain = userDataSetting(ud, "OWNCLOUD_DOMAIN");
    const adminArn = userDataSetting(ud, "ADMIN_SECRET_ARN");
    const secret = Object.values(rec.secrets).find((s) => s.arn === adminArn);
    if (!domain || !adminArn || !secret) throw new Error("the recorded web user data names no OWNCLOUD_DOMAIN or ADMIN_SECRET_ARN of a recorded secret");
    const admin = JSON.parse(secret.secretString) as { username: string; password: string };
    return { address, port: 80, domain, user: admin.username, password: admin.password };
}

export interface DavResult {
    status: number;
    body: Buffer;
    /** Set when the request failed below HTTP (refused, reset, timed out). */
    error?: string;
    /** The AWSALB stickiness cookie the front door set, if any. */
    cookie?: string;
}

/** One WebDAV request through the front door, bounded by `timeoutMs`. */
export function dav(fd: FrontDoor, method: "PUT" | "GET" | "DELETE" | "MKCOL", file: string, body?: Buffer, timeoutMs = 30_000): Promise<DavResult> {
    return new Promise((resolve) => {
        const req = http.request(
            {
                host: fd.address,
                port: fd.port,
                method,
                path: `/remote.php/webdav/${file.split("/").map(encodeURIComponent).join("/")}`,
                headers: {
                    Host: fd.domain,
                    Authorization: `Basic ${Buffer.from(`${fd.user}:${fd.password}`).toString("base64")}`,
                    ...(body ? { "Content-Length": body.length } : {}),
                },
                timeout: timeoutMs,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const cookie = (res.headers["set-cookie"] ?? []).find((c) => c.startsWith("AWSALB="));
                    resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ...(cookie ? { cookie } : {}) });
                });
                res.on("error", (e) => resolve({ status: 0, body: Buffer.alloc(0), error: e.message }));
            },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
        req.on("error", (e) => resolve({ status: 0, body: Buffer.alloc(0), error: e.message }));
        req.end(body);
    });
}

export const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

/** Upload `size` random bytes as `file`, download it, compare: what `up` proves at the end. */
export async function roundTrip(fd: FrontDoor, file: string, size: number): Promise<{ put: number; get: number; intact: boolean; ms: number }> {
    const data = crypto.randomBytes(size);
    const t0 = Date.now();
    const put = await dav(fd, "PUT", file, data);
    const got = await dav(fd, "GET", file);
    return { put: put.status, get: got.status, intact: got.status === 200 && sha256(got.body) === sha256(data), ms: Date.now() - t0 };
}

export interface TrafficFigures {
    requests: number;
    /** Requests that did not succeed (transport errors, 5xx, refused locks). */
    failedRequests: number;
    /** Seconds from the first to the last failed request, by when each was sent (0 when none failed). */
    failureWindowSeconds: number;
    /** Uploads the front door acknowledged (201/204): each must come back intact. */
    ackedUploads: number;
    lostFiles: number;
    corruptFiles: number;
    /** The first few failures: "<seconds since start>s <method> <status or error>". */
    failures: string[];
}

/**
 * Users at the front door while a fault happens: `workers` clients each upload files of `size`
 * random bytes in a loop and read back an acknowledged one every third turn; every acknowledged
 * upload is recorded with its checksum. `stop()` ends the loops; `verify()` downloads every
 * acknowledged file once more. Each request is bounded (30 s); the loops end at `stop()` or after
 * `maxSeconds`.
 */
export class Traffic {
    private readonly acked = new Map<string, string>();
    private readonly failureTimes: number[] = [];
    private readonly failureLines: string[] = [];
    private requests = 0;
    private corrupt = 0;
    private running = false;
    private loops: Promise<void>[] = [];
    private t0 = 0;

    /** How many of the failed requests were sent at or after `epochMs`. */
    failedSince(epochMs: number): number {
        return this.failureTimes.filter((t) => this.t0 + t * 1000 >= epochMs).length;
    }

    constructor(
        private readonly fd: FrontDoor,
        private readonly dir: string,
        private readonly opts: { workers?: number; size?: number; maxSeconds?: number; pauseMs?: number } = {},
    ) {}

    /** A failed request, timed by when it was sent (a request sent during a fault may end long after it). */
    private fail(method: string, r: DavResult, sentAt: number): void {
        const t = (sentAt - this.t0) / 1000;
        this.failureTimes.push(t);
        if (this.failureLines.length < 8) this.failureLines.push(`${t.toFixed(1)}s ${method} ${r.error ?? r.status}`);
    }

    async start(): Promise<void> {
        const made = await dav(this.fd, "MKCOL", this.dir);
        if (![201, 405].includes(made.status)) throw new Error(`MKCOL ${this.dir} through the front door: ${made.error ?? made.status}`);
        this.running = true;
        this.t0 = Date.now();
        const deadline = this.t0 + (this.opts.maxSeconds ?? 900) * 1000;
        const size = this.opts.size ?? 64 * 1024;
        const pause = this.opts.pauseMs ?? 100;
        this.loops = Array.from({ length: this.opts.workers ?? 3 }, async (_, w) => {
            for (let i = 0; this.running && Date.now() < deadline; i++) {
                const name = `${this.dir}/w${w}-${i}.bin`;
                const data = crypto.randomBytes(size);
                this.requests++;
                const putAt = Date.now();
                const put = await dav(this.fd, "PUT", name, data);
                if (put.status === 201 || put.status === 204) this.acked.set(name, sha256(data));
                else this.fail("PUT", put, putAt);
                if (i % 3 === 2 && this.acked.size > 0) {
                    const names = [...this.acked.keys()];
                    const pick = names[Math.floor(Math.random() * names.length)];
                    this.requests++;
                    const getAt = Date.now();
                    const got = await dav(this.fd, "GET", pick);
                    if (got.status !== 200) this.fail("GET", got, getAt);
                    else if (sha256(got.body) !== this.acked.get(pick)) this.corrupt++;
                }
                await new Promise((r) => setTimeout(r, pause));
            }
        });
    }

    async stop(): Promise<void> {
        this.running = false;
        await Promise.all(this.loops);
    }

    /** Downloads every acknowledged upload (retrying a failed request for up to `retrySeconds`) and returns the figures. */
    async verify(retrySeconds = 60): Promise<TrafficFigures> {
        let lost = 0;
        for (const [name, sum] of this.acked) {
            let got = await dav(this.fd, "GET", name);
            const until = Date.now() + retrySeconds * 1000;
            while (got.status !== 200 && got.status !== 404 && Date.now() < until) {
                await new Promise((r) => setTimeout(r, 1000));
                got = await dav(this.fd, "GET", name);
            }
            if (got.status !== 200) lost++;
            else if (sha256(got.body) !== sum) this.corrupt++;
        }
        const f = this.failureTimes;
        return {
            requests: this.requests,
            failedRequests: f.length,
            failureWindowSeconds: f.length ? Math.round((Math.max(...f) - Math.min(...f)) * 100) / 100 : 0,
            ackedUploads: this.acked.size,
            lostFiles: lost,
            corruptFiles: this.corrupt,
            failures: [...this.failureLines],
        };
    }
}
