/**
 * Registry stand-in for the lab: the read-only part of the Docker Registry HTTP API V2 that
 * dockerd's `docker pull` uses, serving images packed by `oci-image.ts` (`packImage`). The web
 * hosts' dockerd names it as its Docker Hub mirror (`registryMirrorDaemonJson`), so the user
 * data's unchanged `docker pull owncloud/server:<tag>` is answered here; Docker Hub itself is
 * unreachable from the lab.
 *
 * Routes: `GET /v2/`; `GET|HEAD /v2/<name>/manifests/<tag|digest>`; `GET|HEAD /v2/<name>/blobs/<digest>`
 * (with `Range: bytes=a-[b]`, which dockerd sends to resume a layer); `GET /v2/<name>/tags/list`.
 * Errors are the spec's JSON (`{"errors":[{"code":…,"message":…,"detail":…}]}`); every other
 * method or path is 405 UNSUPPORTED. Each request is logged to stdout, one line.
 *
 * Usage: tsx scripts/lab/registry-standin.ts ADDRESS PORT IMAGES_JSON
 *   IMAGES_JSON: a file (or inline JSON) mapping `name:tag` to a packImage output directory, e.g.
 *   {"owncloud/server:11.0.0": "/var/lib/oclab/images/owncloud-server"}; a single-component name
 *   (`nginx:1`) is Docker Hub's `library/nginx`, as dockerd asks for it.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { MEDIA_TYPE_MANIFEST, PackedImage, blobPath, readPackedImage } from "./oci-image";

/** Where the lab runs the stand-in (on the bridge address, like the S3 stand-in); the registry's customary port. */
export const REGISTRY_STANDIN_PORT = 5000;

export const API_VERSION_HEADER = "Docker-Distribution-API-Version";

/** One packed image as served: its repository, tag and pack. */
export interface ServedImage {
    name: string;
    tag: string;
    dir: string;
    packed: PackedImage;
    /** The manifest bytes: served as is, their sha256 is the manifest digest. */
    manifest: Buffer;
}

/** Repository name → tag → image. */
export type Repositories = Map<string, Map<string, ServedImage>>;

// The reference grammar of distribution's `reference` package: lowercase path components, tag, digest.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*";
const NAME = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * `owncloud/server:11.0.0` → repository `owncloud/server`, tag `11.0.0`, as dockerd names them on
 * the wire for Docker Hub: a single component gets `library/`, a `docker.io/` prefix is dropped.
 */
export function parseImageRef(ref: string): { name: string; tag: string } {
    const m = /^(.+):([^:/]+)$/.exec(ref);
    if (!m) throw new Error(`image "${ref}": give name:tag (e.g. owncloud/server:11.0.0)`);
    let name = m[1].replace(/^(docker\.io|index\.docker\.io)\//, "");
    if (!name.includes("/")) name = `library/${name}`;
    if (!NAME.test(name)) throw new Error(`image "${ref}": "${name}" is not a repository name (lowercase components separated by /)`);
    if (!TAG.test(m[2])) throw new Error(`image "${ref}": "${m[2]}" is not a tag`);
    return { name, tag: m[2] };
}

/** Reads every pack the map names; one error listing each image whose pack is missing or incomplete. */
export function loadRepositories(images: Record<string, string>): Repositories {
    const repos: Repositories = new Map();
    const problems: string[] = [];
    for (const [ref, dir] of Object.entries(images)) {
        let parsed: { name: string; tag: string };
        try {
            parsed = parseImageRef(ref);
        } catch (e) {
            problems.push((e as Error).message);
            continue;
        }
        const packed = readPackedImage(dir);
        if (!packed) {
            problems.push(`image "${ref}": ${dir} holds no complete pack (packed.json and its blobs): pack the rootfs with packImage first`);
            continue;
        }
        const manifest = fs.readFileSync(`${dir}/manifest.json`);
        const tags = repos.get(parsed.name) ?? new Map<string, ServedImage>();
        tags.set(parsed.tag, { ...parsed, dir, packed, manifest });
        repos.set(parsed.name, tags);
    }
    if (problems.length) throw new Error(`registry stand-in: ${problems.join("; ")}`);
    return repos;
}

export type Route =
    | { kind: "base" }
    | { kind: "manifest" | "blob"; name: string; reference: string }
    | { kind: "tags"; name: string }
    | { kind: "unsupported" };

/** Which API route a request is; only GET and HEAD are served (GET only for the base and tags). */
export function route(method: string, pathname: string): Route {
    if (method !== "GET" && method !== "HEAD") return { kind: "unsupported" };
    if (pathname === "/v2/" || pathname === "/v2") return method === "GET" ? { kind: "base" } : { kind: "unsupported" };
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(pathname);
    if (tags) return method === "GET" ? { kind: "tags", name: tags[1] } : { kind: "unsupported" };
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(pathname);
    if (m) return { kind: m[2] === "manifests" ? "manifest" : "blob", name: m[1], reference: m[3] };
    return { kind: "unsupported" };
}

/**
 * Whether the client's Accept header(s) name the schema2 manifest type. dockerd sends every type
 * it knows as separate `Accept` lines (Node joins them with ", "); like distribution's manifest
 * handler, media type parameters are ignored and `*\/*` does not count.
 */
export function acceptsSchema2(accept: string | string[] | undefined): boolean {
    const values = (Array.isArray(accept) ? accept : [accept ?? ""]).flatMap((v) => v.split(","));
    return values.some((v) => v.split(";")[0].trim().toLowerCase() === MEDIA_TYPE_MANIFEST);
}

/** The daemon.json of a web host whose dockerd pulls Docker Hub images through `mirrorUrl`. */
export function registryMirrorDaemonJson(mirrorUrl: string): string {
    let u: URL;
    try {
        u = new URL(mirrorUrl);
    } catch {
        throw new Error(`registry mirror "${mirrorUrl}" is not a URL: give http://ADDRESS:PORT`);
    }
    // The checks of dockerd's ValidateMirror (registry/config.go), so the daemon does not refuse to start on it.
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`registry mirror "${mirrorUrl}": the scheme must be http or https`);
    if ((u.pathname !== "" && u.pathname !== "/") || u.search || u.hash) throw new Error(`registry mirror "${mirrorUrl}": no path, query or fragment (dockerd refuses them)`);
    if (u.username || u.password) throw new Error(`registry mirror "${mirrorUrl}": no credentials in the URL (dockerd refuses them)`);
    return `${JSON.stringify({ "registry-mirrors": [`${u.protocol}//${u.host}`] }, null, 2)}\n`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(data.length), ...headers });
    res.end(data); // Node sends no body for HEAD
}
function sendError(res: http.ServerResponse, status: number, code: string, message: string, detail?: unknown) {
    sendJson(res, status, { errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] });
}

/** Blob reads: the whole blob, or `bytes=a-` / `bytes=a-b` as 206 (dockerd resumes a layer with `bytes=<offset>-`). */
function sendBlob(req: http.IncomingMessage, res: http.ServerResponse, file: string, size: number, digest: string): void {
    const headers: Record<string, string> = {
        "Content-Type": "application/octet-stream",
        "Docker-Content-Digest": digest,
        ETag: `"${digest}"`,
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
        const m = /^bytes=(\d+)-(\d*)$/.exec(range);
        if (!m || Number(m[1]) >= size || (m[2] !== "" && Number(m[2]) < Number(m[1]))) {
            res.writeHead(416, { "Content-Range": `bytes */${size}`, "Content-Length": "0" });
            res.end();
            return;
        }
        start = Number(m[1]);
        end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
        status = 206;
        headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["Content-Length"] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === "HEAD" || size === 0) {
        res.end();
        return;
    }
    const stream = fs.createReadStream(file, { start, end });
    stream.on("error", () => res.destroy());
    stream.pipe(res);
}

function handle(repos: Repositories, req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader(API_VERSION_HEADER, "registry/2.0");
    const { pathname } = new URL(req.url ?? "/", "http://registry.lab");
    const r = route(req.method ?? "", pathname);
    if (r.kind === "unsupported") return sendError(res, 405, "UNSUPPORTED", "The operation is unsupported.", { method: req.method, path: pathname, note: "read-only registry stand-in" });
    if (r.kind === "base") return sendJson(res, 200, {});
    const tags = repos.get(r.name);
    if (!tags) return sendError(res, 404, "NAME_UNKNOWN", "repository name not known to registry", { name: r.name });
    if (r.kind === "tags") return sendJson(res, 200, { name: r.name, tags: [...tags.keys()].sort() });
    const images = [...tags.values()];
    if (r.kind === "manifest") {
        const byDigest = DIGEST.test(r.reference);
        const image = byDigest ? images.find((i) => i.packed.manifestDigest === r.reference) : tags.get(r.reference);
        if (!image) return sendError(res, 404, "MANIFEST_UNKNOWN", "manifest unknown", { name: r.name, reference: r.reference });
        // By tag, distribution serves a schema2 manifest only to a client that accepts it (others get a schema1 rewrite, which this stand-in does not make).
        if (!byDigest && !acceptsSchema2(req.headers.accept)) {
            return sendError(res, 404, "MANIFEST_UNKNOWN", `schema2 manifest found, but the Accept header does not name ${MEDIA_TYPE_MANIFEST}`, { name: r.name, reference: r.reference });
        }
        res.writeHead(200, {
            "Content-Type": MEDIA_TYPE_MANIFEST,
            "Content-Length": String(image.manifest.length),
            "Docker-Content-Digest": image.packed.manifestDigest,
            ETag: `"${image.packed.manifestDigest}"`,
        });
        res.end(image.manifest);
        return;
    }
    if (!DIGEST.test(r.reference)) return sendError(res, 400, "DIGEST_INVALID", "a blob is named by its digest, sha256:<64 hex digits>", { digest: r.reference });
    // A blob is served from the repositories that link it, as in a registry.
    for (const i of images) {
        if (r.reference === i.packed.configDigest) return sendBlob(req, res, blobPath(i.dir, r.reference), i.packed.configSize, r.reference);
        if (r.reference === i.packed.layerDigest) return sendBlob(req, res, blobPath(i.dir, r.reference), i.packed.layerSize, r.reference);
    }
    return sendError(res, 404, "BLOB_UNKNOWN", "blob unknown to registry", { digest: r.reference });
}

/** The registry as an HTTP server (not listening yet); `log` gets one line per request when it has been answered. */
export function createRegistryServer(repos: Repositories, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): http.Server {
    return http.createServer((req, res) => {
        res.on("finish", () => log(`${new Date().toISOString()} ${req.socket.remoteAddress ?? "-"} "${req.method} ${req.url}" ${res.statusCode} ${res.getHeader("Content-Length") ?? "-"}`));
        try {
            handle(repos, req, res);
        } catch (e) {
            if (!res.headersSent) sendError(res, 500, "UNKNOWN", (e as Error).message);
            else res.destroy();
        }
    });
}

/** Starts the registry on address:port (port 0: any free one); resolves with the server and its base URL. */
export async function startRegistry(images: Record<string, string>, address: string, port: number, log?: (line: string) => void): Promise<{ server: http.Server; url: string }> {
    const server = createRegistryServer(loadRepositories(images), log);
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, address, () => resolve());
    });
    const a = server.address() as net.AddressInfo;
    return { server, url: `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}` };
}

if (require.main === module) {
    const [address, portArg, imagesArg] = process.argv.slice(2);
    if (!address || !portArg || !imagesArg) {
        console.error("usage: registry-standin ADDRESS PORT IMAGES_JSON (a file or inline JSON: {\"name:tag\": \"packImage output dir\"})");
        process.exit(2);
    }
    const images = JSON.parse(imagesArg.trim().startsWith("{") ? imagesArg : fs.readFileSync(imagesArg, "utf8")) as Record<string, string>;
    startRegistry(images, address, Number(portArg)).then(
        ({ url }) => console.error(`registry-standin listening on ${url}, images: ${Object.keys(images).join(", ")}`),
        (e: Error) => {
            console.error(e.message);
            process.exit(1);
        },
    );
}
