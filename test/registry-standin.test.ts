import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { ImageContainerConfig, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER, MEDIA_TYPE_MANIFEST, packImage, rootfsStamp, validateContainerConfig } from "../scripts/lab/oci-image";
import { acceptsSchema2, loadRepositories, parseImageRef, registryMirrorDaemonJson, route, startRegistry } from "../scripts/lab/registry-standin";

/**
 * The Accept lines dockerd 20.10 sends for a manifest (distribution.ManifestMediaTypes(): every
 * registered manifest type, one header line each; the vendored docker/distribution client's
 * tags.Get and manifests.Get add them with req.Header.Add).
 */
const DOCKERD_ACCEPT = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/json",
];

const sha256 = (b: Buffer) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}
function request(url: string, method = "GET", headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
            res.on("error", reject);
        });
        req.on("error", reject);
        req.end();
    });
}
const errorCode = (r: Reply) => (JSON.parse(r.body.toString()) as { errors: { code: string }[] }).errors[0].code;

const CONFIG: ImageContainerConfig = {
    Entrypoint: ["/usr/bin/entrypoint"],
    Cmd: ["/usr/bin/owncloud", "server"],
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "OWNCLOUD_VOLUME_ROOT=/mnt/data"],
    ExposedPorts: { "8080/tcp": {} },
    Volumes: { "/mnt/data": {} },
    WorkingDir: "/var/www/owncloud",
};

/** A small tree with what an image root holds: a nested file, an executable, a symlink, /dev content that must stay out. */
function makeRootfs(dir: string) {
    fs.mkdirSync(path.join(dir, "var/www/owncloud/config"), { recursive: true });
    fs.writeFileSync(path.join(dir, "var/www/owncloud/config/config.php"), "<?php $CONFIG = [];\n");
    fs.chmodSync(path.join(dir, "var/www/owncloud/config/config.php"), 0o640);
    fs.mkdirSync(path.join(dir, "usr/bin"), { recursive: true });
    fs.writeFileSync(path.join(dir, "usr/bin/owncloud"), "#!/bin/sh\necho serving\n");
    fs.chmodSync(path.join(dir, "usr/bin/owncloud"), 0o755);
    fs.symlinkSync("owncloud", path.join(dir, "usr/bin/entrypoint"));
    fs.mkdirSync(path.join(dir, "dev"));
    fs.writeFileSync(path.join(dir, "dev/console-left-from-debootstrap"), "");
    fs.mkdirSync(path.join(dir, "mnt/data"), { recursive: true });
}

describe("lab image stand-in: packImage and the registry stand-in", function () {
    this.timeout(60_000);
    let tmp: string;
    let rootfs: string;
    let outDir: string;
    let url: string;
    let server: http.Server;
    const logLines: string[] = [];

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "registry-standin-"));
        rootfs = path.join(tmp, "rootfs");
        outDir = path.join(tmp, "image");
        fs.mkdirSync(rootfs);
        makeRootfs(rootfs);
        await packImage(rootfs, CONFIG, outDir);
        ({ server, url } = await startRegistry({ "owncloud/server:11.0.0": outDir, "busybox:1": outDir }, "127.0.0.1", 0, (l) => logLines.push(l)));
    });
    after(() => {
        server?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("answers the version check dockerd makes before anything else", async () => {
        const r = await request(`${url}/v2/`);
        assert.equal(r.status, 200);
        assert.equal(r.headers["docker-distribution-api-version"], "registry/2.0");
    });

    it("serves a pull as dockerd makes it: HEAD by tag, manifest by digest, config and layer verified against it", async () => {
        // tags.Get: HEAD with every manifest type accepted; the descriptor comes from the headers.
        const head = await request(`${url}/v2/owncloud/server/manifests/11.0.0`, "HEAD", { Accept: DOCKERD_ACCEPT });
        assert.equal(head.status, 200);
        assert.equal(head.body.length, 0, "a HEAD has no body");
        assert.equal(head.headers["content-type"], MEDIA_TYPE_MANIFEST);
        const digest = String(head.headers["docker-content-digest"]);
        const size = Number(head.headers["content-length"]);
        assert.match(digest, /^sha256:[a-f0-9]{64}$/);

        // manifestStore.Get: GET by the digest from the HEAD; containerd's content store commits it under that digest.
        const m = await request(`${url}/v2/owncloud/server/manifests/${digest}`, "GET", { Accept: DOCKERD_ACCEPT });
        assert.equal(m.status, 200);
        assert.equal(m.headers["content-type"], MEDIA_TYPE_MANIFEST);
        assert.equal(sha256(m.body), digest, "the manifest's bytes hash to the digest the HEAD announced");
        assert.equal(m.body.length, size);
        assert.equal(m.headers["docker-content-digest"], digest);
        const manifest = JSON.parse(m.body.toString()) as {
            schemaVersion: number;
            mediaType: string;
            config: { mediaType: string; size: number; digest: string };
            layers: { mediaType: string; size: number; digest: string }[];
        };
        assert.equal(manifest.schemaVersion, 2);
        assert.equal(manifest.mediaType, MEDIA_TYPE_MANIFEST, "schema2's UnmarshalJSON refuses a body whose mediaType is not schema2's");
        assert.equal(manifest.config.mediaType, MEDIA_TYPE_CONFIG);
        assert.equal(manifest.layers.length, 1);
        assert.equal(manifest.layers[0].mediaType, MEDIA_TYPE_LAYER);

        // pullSchema2Config: the config's bytes must hash to the manifest's digest ("image config verification failed").
        const c = await request(`${url}/v2/owncloud/server/blobs/${manifest.config.digest}`);
        assert.equal(c.status, 200);
        assert.equal(sha256(c.body), manifest.config.digest);
        assert.equal(c.body.length, manifest.config.size);
        assert.equal(c.headers["docker-content-digest"], manifest.config.digest);
        const config = JSON.parse(c.body.toString()) as { architecture: string; os: string; config: ImageContainerConfig; rootfs: { type: string; diff_ids: string[] }; history: unknown[] };
        assert.equal(config.architecture, "amd64");
        assert.equal(config.os, "linux");
        assert.deepEqual(config.config.Entrypoint, CONFIG.Entrypoint);
        assert.deepEqual(config.config.Cmd, CONFIG.Cmd);
        assert.deepEqual(config.config.Env, CONFIG.Env);
        assert.deepEqual(config.config.ExposedPorts, { "8080/tcp": {} });
        assert.deepEqual(config.config.Volumes, { "/mnt/data": {} });
        assert.equal(config.config.WorkingDir, "/var/www/owncloud");
        assert.equal(config.rootfs.type, "layers");
        assert.equal(config.history.length, 1);

        // The layer: its gzip bytes hash to the manifest's digest ("filesystem layer verification failed"),
        // the tar inside to the config's diff_id (else "layers from manifest don't match image configuration").
        const l = await request(`${url}/v2/owncloud/server/blobs/${manifest.layers[0].digest}`);
        assert.equal(l.status, 200);
        assert.equal(sha256(l.body), manifest.layers[0].digest);
        assert.equal(l.body.length, manifest.layers[0].size);
        assert.equal(Number(l.headers["content-length"]), manifest.layers[0].size);
        assert.deepEqual(config.rootfs.diff_ids, [sha256(zlib.gunzipSync(l.body))]);

        const layerFile = path.join(tmp, "layer.tar.gz");
        fs.writeFileSync(layerFile, l.body);
        const listing = execFileSync("tar", ["-tzvf", layerFile, "--numeric-owner"], { encoding: "utf8" }).split("\n");
        const entry = (name: string) => listing.find((line) => line.endsWith(` ${name}`) || line.includes(` ${name} -> `));
        const owner = `${process.getuid!()}/${process.getgid!()}`;
        assert.match(entry("./var/www/owncloud/config/config.php") ?? "", new RegExp(`^-rw-r----- ${owner} `));
        assert.match(entry("./usr/bin/owncloud") ?? "", new RegExp(`^-rwxr-xr-x ${owner} `));
        assert.match(entry("./usr/bin/entrypoint") ?? "", /^lrwxrwxrwx .* \.\/usr\/bin\/entrypoint -> owncloud$/);
        assert.match(entry("./mnt/data/") ?? "", /^drwx/, "the volume's directory is in the image");
        assert.match(entry("./dev/") ?? "", /^drwx/, "/dev stays as a directory");
        assert.equal(entry("./dev/console-left-from-debootstrap"), undefined, "what is under /dev stays out of the layer");
    });

    it("answers a HEAD of a blob with its size and digest and no body", async () => {
        const packed = JSON.parse(fs.readFileSync(path.join(outDir, "packed.json"), "utf8")) as { layerDigest: string; layerSize: number };
        const r = await request(`${url}/v2/owncloud/server/blobs/${packed.layerDigest}`, "HEAD");
        assert.equal(r.status, 200);
        assert.equal(Number(r.headers["content-length"]), packed.layerSize);
        assert.equal(r.headers["docker-content-digest"], packed.layerDigest);
        assert.equal(r.body.length, 0);
    });

    it("resumes a layer from an offset with 206 and the Content-Range dockerd's reader checks", async () => {
        const packed = JSON.parse(fs.readFileSync(path.join(outDir, "packed.json"), "utf8")) as { layerDigest: string; layerSize: number };
        const whole = fs.readFileSync(path.join(outDir, "blobs", "sha256", packed.layerDigest.slice(7)));
        const r = await request(`${url}/v2/owncloud/server/blobs/${packed.layerDigest}`, "GET", { Range: "bytes=100-" });
        assert.equal(r.status, 206);
        assert.equal(r.headers["content-range"], `bytes 100-${packed.layerSize - 1}/${packed.layerSize}`);
        assert.deepEqual(r.body, whole.subarray(100));
        const beyond = await request(`${url}/v2/owncloud/server/blobs/${packed.layerDigest}`, "GET", { Range: `bytes=${packed.layerSize}-` });
        assert.equal(beyond.status, 416);
    });

    it("serves a single-component name under library/, as dockerd asks Docker Hub for it", async () => {
        const r = await request(`${url}/v2/library/busybox/manifests/1`, "GET", { Accept: DOCKERD_ACCEPT });
        assert.equal(r.status, 200);
        assert.equal(sha256(r.body), r.headers["docker-content-digest"]);
        const tags = await request(`${url}/v2/library/busybox/tags/list`);
        assert.deepEqual(JSON.parse(tags.body.toString()), { name: "library/busybox", tags: ["1"] });
    });

    it("answers what it does not hold with the spec's 404 codes (dockerd then falls back to Docker Hub)", async () => {
        const tag = await request(`${url}/v2/owncloud/server/manifests/10.16.4`, "GET", { Accept: DOCKERD_ACCEPT });
        assert.equal(tag.status, 404);
        assert.equal(errorCode(tag), "MANIFEST_UNKNOWN");
        const headTag = await request(`${url}/v2/owncloud/server/manifests/10.16.4`, "HEAD", { Accept: DOCKERD_ACCEPT });
        assert.equal(headTag.status, 404);
        assert.equal(headTag.headers["docker-content-digest"], undefined, "a failed HEAD carries no digest: dockerd then GETs for the error");
        const digest = await request(`${url}/v2/owncloud/server/manifests/sha256:${"0".repeat(64)}`, "GET", { Accept: DOCKERD_ACCEPT });
        assert.equal(errorCode(digest), "MANIFEST_UNKNOWN");
        const blob = await request(`${url}/v2/owncloud/server/blobs/sha256:${"1".repeat(64)}`);
        assert.equal(blob.status, 404);
        assert.equal(errorCode(blob), "BLOB_UNKNOWN");
        const name = await request(`${url}/v2/library/hello-world/manifests/latest`, "GET", { Accept: DOCKERD_ACCEPT });
        assert.equal(name.status, 404);
        assert.equal(errorCode(name), "NAME_UNKNOWN");
        const notSchema2 = await request(`${url}/v2/owncloud/server/manifests/11.0.0`, "GET", { Accept: "application/vnd.docker.distribution.manifest.v1+prettyjws" });
        assert.equal(notSchema2.status, 404, "a client that cannot read schema2 gets no schema2 manifest by tag");
        assert.equal(errorCode(notSchema2), "MANIFEST_UNKNOWN");
    });

    it("is read-only: writes are 405 UNSUPPORTED", async () => {
        for (const [method, p] of [
            ["PUT", "/v2/owncloud/server/manifests/11.0.0"],
            ["POST", "/v2/owncloud/server/blobs/uploads/"],
            ["DELETE", "/v2/owncloud/server/manifests/11.0.0"],
        ]) {
            const r = await request(`${url}${p}`, method);
            assert.equal(r.status, 405, `${method} ${p}`);
            assert.equal(errorCode(r), "UNSUPPORTED");
        }
    });

    it("logs one line per request with its method, path and status", async () => {
        logLines.length = 0;
        await request(`${url}/v2/owncloud/server/manifests/nope`, "GET", { Accept: DOCKERD_ACCEPT });
        assert.equal(logLines.length, 1);
        assert.match(logLines[0], /"GET \/v2\/owncloud\/server\/manifests\/nope" 404 /);
    });
});

describe("packImage", function () {
    this.timeout(60_000);
    let tmp: string;
    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pack-image-"));
        fs.mkdirSync(path.join(tmp, "rootfs"));
        makeRootfs(path.join(tmp, "rootfs"));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("reuses a complete pack of an unchanged tree, and packs again (dropping the old layer) when the tree changed", async () => {
        const rootfs = path.join(tmp, "rootfs");
        const out = path.join(tmp, "image");
        const first = await packImage(rootfs, CONFIG, out);
        const layerFile = path.join(out, "blobs", "sha256", first.layerDigest.slice(7));
        const inode = fs.statSync(layerFile).ino;
        const again = await packImage(rootfs, CONFIG, out);
        assert.deepEqual(again, first);
        assert.equal(fs.statSync(layerFile).ino, inode, "the layer was not written again");

        fs.writeFileSync(path.join(rootfs, "usr/bin/owncloud"), "#!/bin/sh\necho serving v2\n");
        const changed = await packImage(rootfs, CONFIG, out);
        assert.notEqual(changed.layerDigest, first.layerDigest);
        assert.equal(fs.existsSync(layerFile), false, "the old layer is gone");
        assert.deepEqual(fs.readdirSync(path.join(out, "blobs", "sha256")).sort(), [changed.configDigest.slice(7), changed.layerDigest.slice(7)].sort());
    });

    it("packs again when packed.json is missing (an interrupted pack)", async () => {
        const rootfs = path.join(tmp, "rootfs");
        const out = path.join(tmp, "image");
        await packImage(rootfs, CONFIG, out);
        fs.rmSync(path.join(out, "packed.json"));
        const layerBefore = fs.readdirSync(path.join(out, "blobs", "sha256"));
        const repacked = await packImage(rootfs, CONFIG, out);
        assert.ok(fs.existsSync(path.join(out, "packed.json")));
        assert.deepEqual(fs.readdirSync(path.join(out, "blobs", "sha256")).sort(), layerBefore.sort());
        assert.equal(repacked.stamp, rootfsStamp(rootfs, CONFIG));
    });

    it("makes the same layer from the same tree whatever the access times and the packing process", async () => {
        const rootfs = path.join(tmp, "rootfs");
        const a = await packImage(rootfs, CONFIG, path.join(tmp, "a"));
        // Reading a file moves its atime; GNU tar's POSIX format records atime and ctime unless told not to.
        // (touch -a: only the atime, and the ctime with it; Node's utimes would round the mtime to microseconds.)
        execFileSync("touch", ["-a", "-d", "2001-01-01T00:00:00Z", path.join(rootfs, "usr/bin/owncloud")]);
        const b = await packImage(rootfs, CONFIG, path.join(tmp, "b"));
        assert.equal(b.layerDigest, a.layerDigest);
        assert.equal(b.manifestDigest, a.manifestDigest);
    });

    it("refuses a bad container config before packing, naming the field", async () => {
        assert.throws(() => validateContainerConfig({ ExposedPorts: { "http/tcp": {} } }), /ExposedPorts: "http\/tcp"/);
        assert.throws(() => validateContainerConfig({ Volumes: { "mnt/data": {} } }), /Volumes: "mnt\/data" is not an absolute path/);
        assert.throws(() => validateContainerConfig({ Env: ["NOEQUALS"] }), /Env: "NOEQUALS"/);
        await assert.rejects(packImage(path.join(tmp, "missing"), CONFIG, path.join(tmp, "x")), /is not a directory: build the image's root filesystem first/);
        assert.equal(fs.existsSync(path.join(tmp, "x")), false);
    });
});

describe("registry stand-in helpers", () => {
    it("names images as dockerd asks Docker Hub for them", () => {
        assert.deepEqual(parseImageRef("owncloud/server:11.0.0"), { name: "owncloud/server", tag: "11.0.0" });
        assert.deepEqual(parseImageRef("nginx:1.25"), { name: "library/nginx", tag: "1.25" });
        assert.deepEqual(parseImageRef("docker.io/owncloud/server:10.16.4"), { name: "owncloud/server", tag: "10.16.4" });
        assert.throws(() => parseImageRef("owncloud/server"), /give name:tag/);
        assert.throws(() => parseImageRef("ownCloud/Server:1"), /not a repository name/);
    });

    it("refuses to start on a pack that is missing, naming the image and the fix", () => {
        assert.throws(() => loadRepositories({ "owncloud/server:11.0.0": "/nonexistent/pack" }), /owncloud\/server:11\.0\.0.*no complete pack.*pack the rootfs with packImage first/);
    });

    it("routes only the read API", () => {
        assert.deepEqual(route("GET", "/v2/"), { kind: "base" });
        assert.deepEqual(route("HEAD", "/v2/owncloud/server/manifests/11.0.0"), { kind: "manifest", name: "owncloud/server", reference: "11.0.0" });
        assert.deepEqual(route("GET", "/v2/a/b/c/blobs/sha256:ab"), { kind: "blob", name: "a/b/c", reference: "sha256:ab" });
        assert.deepEqual(route("PATCH", "/v2/a/blobs/uploads/x"), { kind: "unsupported" });
        assert.deepEqual(route("GET", "/v2/_catalog"), { kind: "unsupported" });
    });

    it("reads schema2 support from the Accept lines as distribution does", () => {
        assert.equal(acceptsSchema2(DOCKERD_ACCEPT.join(", ")), true);
        assert.equal(acceptsSchema2(["application/json", "application/vnd.docker.distribution.manifest.v2+json; q=0.9"]), true);
        assert.equal(acceptsSchema2("*/*"), false);
        assert.equal(acceptsSchema2(undefined), false);
    });

    it("writes the web hosts' daemon.json naming the stand-in as Docker Hub's mirror, and refuses what dockerd's ValidateMirror refuses", () => {
        assert.deepEqual(JSON.parse(registryMirrorDaemonJson("http://198.18.0.1:5000")), { "registry-mirrors": ["http://198.18.0.1:5000"] });
        assert.deepEqual(JSON.parse(registryMirrorDaemonJson("http://198.18.0.1:5000/")), { "registry-mirrors": ["http://198.18.0.1:5000"] });
        assert.throws(() => registryMirrorDaemonJson("198.18.0.1:5000"), /scheme must be http or https|not a URL/);
        assert.throws(() => registryMirrorDaemonJson("ftp://198.18.0.1:5000"), /scheme must be http or https/);
        assert.throws(() => registryMirrorDaemonJson("http://198.18.0.1:5000/v2"), /no path, query or fragment/);
        assert.throws(() => registryMirrorDaemonJson("http://u:p@198.18.0.1:5000"), /no credentials/);
    });
});
