/**
 * S3 stand-in for the lab: the subset of the S3 REST API (path-style) that the backup scripts'
 * `aws s3 cp`/`aws s3 ls`/`aws s3api list-objects-v2` calls use, storing objects as files. No
 * auth, no versioning, no lifecycle: those are bucket settings the Pulumi program creates and the
 * unit tests check; here only the node scripts' reads and writes matter.
 *
 * Operations: PutObject, GetObject (incl. `Range: bytes=a-b`), HeadObject, DeleteObject,
 * ListObjectsV2 (prefix, delimiter, max-keys, continuation-token), CreateMultipartUpload,
 * UploadPart, CompleteMultipartUpload, AbortMultipartUpload (`aws s3 cp -` streams in 8 MiB parts).
 *
 * Usage: tsx scripts/lab/s3-standin.ts ADDRESS PORT DATA_DIR
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

const [address, portArg, dataDir] = process.argv.slice(2);
if (!address || !portArg || !dataDir) {
    console.error("usage: s3-standin ADDRESS PORT DATA_DIR");
    process.exit(2);
}
const objectsDir = path.join(dataDir, "objects");
const uploadsDir = path.join(dataDir, "uploads");
fs.mkdirSync(objectsDir, { recursive: true });
fs.mkdirSync(uploadsDir, { recursive: true });

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** One file per object, its key encoded so that `a` and `a/b` can coexist. */
const objectFile = (bucket: string, key: string) => path.join(objectsDir, bucket, encodeURIComponent(key));

function send(res: http.ServerResponse, status: number, body = "", headers: Record<string, string> = {}) {
    res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body).toString(), ...headers });
    res.end(body);
}
function error(res: http.ServerResponse, status: number, code: string, message: string) {
    send(res, status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`);
}
function readBody(req: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => resolve(Buffer.concat(chunks)));
        req.on("error", reject);
    });
}
const md5 = (b: Buffer) => crypto.createHash("md5").update(b).digest("hex");

/** Writes atomically: a reader never sees half an object. */
function writeObject(file: string, data: Buffer) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
}

function listObjects(res: http.ServerResponse, bucket: string, q: URLSearchParams) {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = Math.min(Number(q.get("max-keys") ?? 1000) || 1000, 1000);
    const after = q.get("continuation-token") ?? q.get("start-after") ?? "";
    const dir = path.join(objectsDir, bucket);
    const keys = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
        .filter((f) => !f.includes(".tmp-"))
        .map((f) => decodeURIComponent(f))
        .filter((k) => k.startsWith(prefix))
        .sort();
    const contents: string[] = [];
    const prefixes = new Set<string>();
    let truncated = false;
    let last = "";
    for (const k of keys) {
        if (after && k <= after) continue;
        if (contents.length + prefixes.size >= maxKeys) {
            truncated = true;
            break;
        }
        const rest = k.slice(prefix.length);
        const cut = delimiter ? rest.indexOf(delimiter) : -1;
        if (cut >= 0) {
            prefixes.add(prefix + rest.slice(0, cut + delimiter.length));
        } else {
            const st = fs.statSync(objectFile(bucket, k));
            contents.push(
                `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${st.mtime.toISOString()}</LastModified>` +
                    `<ETag>"${md5(fs.readFileSync(objectFile(bucket, k)))}"</ETag><Size>${st.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
            );
        }
        last = k;
    }
    const body =
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${contents.length + prefixes.size}</KeyCount>` +
        `<MaxKeys>${maxKeys}</MaxKeys>${delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : ""}<IsTruncated>${truncated}</IsTruncated>` +
        (truncated ? `<NextContinuationToken>${xmlEscape(last)}</NextContinuationToken>` : "") +
        contents.join("") +
        [...prefixes].map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`).join("") +
        `</ListBucketResult>`;
    send(res, 200, body);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://s3.lab");
    const parts = url.pathname.split("/").slice(1);
    const bucket = decodeURIComponent(parts[0] ?? "");
    const key = parts.slice(1).map(decodeURIComponent).join("/");
    const q = url.searchParams;
    if (!bucket) return error(res, 400, "InvalidRequest", "path-style requests only: /BUCKET/KEY");
    if (!key) {
        if (req.method === "GET") return listObjects(res, bucket, q);
        if (req.method === "HEAD" || req.method === "PUT") return send(res, 200);
        return error(res, 405, "MethodNotAllowed", `${req.method} on a bucket`);
    }
    const file = objectFile(bucket, key);
    const uploadId = q.get("uploadId");
    if (req.method === "POST" && q.has("uploads")) {
        const id = crypto.randomBytes(12).toString("hex");
        fs.mkdirSync(path.join(uploadsDir, id), { recursive: true });
        fs.writeFileSync(path.join(uploadsDir, id, "key"), `${bucket}\n${key}`);
        return send(res, 200, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (uploadId !== null) {
        const dir = path.join(uploadsDir, path.basename(uploadId));
        if (!fs.existsSync(dir)) return error(res, 404, "NoSuchUpload", uploadId);
        if (req.method === "PUT") {
            const n = Number(q.get("partNumber"));
            if (!Number.isInteger(n) || n < 1 || n > 10000) return error(res, 400, "InvalidArgument", "partNumber");
            const data = await readBody(req);
            fs.writeFileSync(path.join(dir, `part-${String(n).padStart(5, "0")}`), data);
            return send(res, 200, "", { ETag: `"${md5(data)}"` });
        }
        if (req.method === "POST") {
            await readBody(req);
            const partFiles = fs.readdirSync(dir).filter((f) => f.startsWith("part-")).sort();
            const data = Buffer.concat(partFiles.map((f) => fs.readFileSync(path.join(dir, f))));
            writeObject(file, data);
            fs.rmSync(dir, { recursive: true, force: true });
            return send(res, 200, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>"${md5(data)}-${partFiles.length}"</ETag></CompleteMultipartUploadResult>`);
        }
        if (req.method === "DELETE") {
            fs.rmSync(dir, { recursive: true, force: true });
            return send(res, 204);
        }
    }
    if (req.method === "PUT") {
        if (req.headers["x-amz-copy-source"]) return error(res, 501, "NotImplemented", "CopyObject");
        const data = await readBody(req);
        writeObject(file, data);
        return send(res, 200, "", { ETag: `"${md5(data)}"` });
    }
    if (req.method === "DELETE") {
        fs.rmSync(file, { force: true });
        return send(res, 204);
    }
    if (req.method === "GET" || req.method === "HEAD") {
        if (!fs.existsSync(file)) {
            if (req.method === "HEAD") return send(res, 404);
            return error(res, 404, "NoSuchKey", key);
        }
        const data = fs.readFileSync(file);
        const st = fs.statSync(file);
        const headers: Record<string, string> = {
            "Content-Type": "application/octet-stream",
            ETag: `"${md5(data)}"`,
            "Last-Modified": st.mtime.toUTCString(),
            "Accept-Ranges": "bytes",
        };
        let body = data;
        let status = 200;
        const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
        if (range) {
            const start = Number(range[1]);
            const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
            body = data.subarray(start, end + 1);
            headers["Content-Range"] = `bytes ${start}-${end}/${data.length}`;
            status = 206;
        }
        headers["Content-Length"] = String(body.length);
        res.writeHead(status, headers);
        return res.end(req.method === "HEAD" ? undefined : body);
    }
    return error(res, 405, "MethodNotAllowed", String(req.method));
}

const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
        console.error(`s3-standin: ${req.method} ${req.url}: ${(e as Error).message}`);
        if (!res.headersSent) error(res, 500, "InternalError", (e as Error).message);
        else res.destroy();
    });
});
server.listen(Number(portArg), address, () => console.error(`s3-standin listening on ${address}:${portArg}, data in ${dataDir}`));
