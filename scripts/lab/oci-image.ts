/**
 * Packs a root filesystem directory into a one-layer Docker image (Image Manifest V2, Schema 2) that
 * the lab's registry stand-in (`registry-standin.ts`) serves to the web hosts' dockerd, in place of
 * the ownCloud image Docker Hub would serve.
 *
 * Output directory:
 *   blobs/sha256/<hex>   the gzip layer and the image config, named by the sha256 of their bytes
 *   manifest.json        the manifest, byte for byte as served (its digest is the sha256 of this file)
 *   packed.json          written last: what was packed (digests, sizes, the rootfs stamp); a pack
 *                        without it is incomplete and is redone
 *
 * The layer is GNU tar of the whole tree (`tar -C ROOTFS -c .`) with numeric owners kept (the
 * image has files owned by www-data, uid 33, whatever the packing machine calls that uid), names
 * sorted, POSIX format with PAX headers that name no process id and carry no atime/ctime, so an
 * unchanged tree packs to the same bytes. Only `security.capability` among the extended
 * attributes is kept, as dockerd's own archiver does. The contents of /dev, /proc and /sys are
 * left out: they are a container's mounts, and a device node in a layer is an mknod at pull time.
 */
import * as crypto from "crypto";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Transform } from "stream";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";

export const MEDIA_TYPE_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const MEDIA_TYPE_CONFIG = "application/vnd.docker.container.image.v1+json";
export const MEDIA_TYPE_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** Bumped whenever the packing changes what it writes for the same tree, so old packs are redone. */
const PACK_FORMAT = 1;

/** The container defaults of the image (the `config` object of the image config JSON). */
export interface ImageContainerConfig {
    /** The process to run (`ENTRYPOINT`), in exec form. */
    Entrypoint?: string[];
    /** Arguments to the entrypoint, or the process when there is none (`CMD`), in exec form. */
    Cmd?: string[];
    /** `NAME=value` environment entries (`ENV`). */
    Env?: string[];
    /** Ports the image listens on, keyed `8080/tcp` (`EXPOSE`). */
    ExposedPorts?: Record<string, Record<string, never>>;
    /** Paths the engine makes volumes of when none is mounted there (`VOLUME`). */
    Volumes?: Record<string, Record<string, never>>;
    /** Working directory of the process, absolute (`WORKDIR`). */
    WorkingDir?: string;
    /** User (name or uid[:gid]) the process runs as (`USER`). */
    User?: string;
    /** Image labels (`LABEL`). */
    Labels?: Record<string, string>;
    /** Signal that stops the container (`STOPSIGNAL`). */
    StopSignal?: string;
}

/** What `packed.json` records. */
export interface PackedImage {
    packFormat: number;
    /** Fingerprint of the packed tree (every entry's path, type, mode, owner, size, mtime, link target) and the config. */
    stamp: string;
    manifestDigest: string;
    manifestSize: number;
    configDigest: string;
    configSize: number;
    layerDigest: string;
    layerSize: number;
    /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids[0]`. */
    diffId: string;
    uncompressedSize: number;
}

export interface PackOptions {
    /** The image's `created` time (ISO 8601); fixed by default so a pack of the same tree is the same image. */
    created?: string;
    /** What the history entry says made the layer. */
    createdBy?: string;
}

/** Paths (relative to the rootfs, tar's `./` form) whose contents stay out of the layer; the directories themselves stay. */
const EXCLUDED_CONTENTS = ["./dev/*", "./proc/*", "./sys/*"];

const EXPOSED_PORT = /^[0-9]{1,5}(\/(tcp|udp|sctp))?$/;

/** Checks the container config before anything is packed: one error naming each bad field and the fix. */
export function validateContainerConfig(config: ImageContainerConfig): void {
    const problems: string[] = [];
    const execForm = (field: "Entrypoint" | "Cmd") => {
        const v = config[field];
        if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== "string"))) problems.push(`${field}: give the exec form, an array of strings`);
    };
    execForm("Entrypoint");
    execForm("Cmd");
    for (const e of config.Env ?? []) {
        if (!/^[^=]+=/.test(e)) problems.push(`Env: "${e}" is not NAME=value`);
    }
    for (const p of Object.keys(config.ExposedPorts ?? {})) {
        if (!EXPOSED_PORT.test(p) || Number(p.split("/")[0]) > 65535) problems.push(`ExposedPorts: "${p}" is not PORT/tcp, PORT/udp or PORT/sctp`);
    }
    for (const v of Object.keys(config.Volumes ?? {})) {
        if (!v.startsWith("/")) problems.push(`Volumes: "${v}" is not an absolute path`);
    }
    if (config.WorkingDir !== undefined && !config.WorkingDir.startsWith("/")) problems.push(`WorkingDir: "${config.WorkingDir}" is not an absolute path`);
    if (problems.length) throw new Error(`image config: ${problems.join("; ")}`);
}

/**
 * Fingerprint of a tree: every entry's relative path, type, mode, uid, gid, size, mtime (ns) and
 * symlink target, sorted, plus the config and the pack format. Reading metadata only, it is cheap
 * next to packing, and any change `tar` would carry changes it (content changes move mtime).
 */
export function rootfsStamp(rootfsDir: string, config: ImageContainerConfig, options: PackOptions = {}): string {
    const h = crypto.createHash("sha256");
    h.update(JSON.stringify({ PACK_FORMAT, config, options, excluded: EXCLUDED_CONTENTS }));
    const walk = (rel: string) => {
        const abs = path.join(rootfsDir, rel);
        const st = fs.lstatSync(abs, { bigint: true });
        const link = st.isSymbolicLink() ? fs.readlinkSync(abs) : "";
        h.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.isDirectory() ? 0 : st.size}\0${st.mtimeNs}\0${link}\n`);
        if (st.isDirectory() && !EXCLUDED_CONTENTS.includes(`./${rel}/*`)) {
            for (const name of fs.readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
        }
    };
    walk("");
    return `sha256:${h.digest("hex")}`;
}

const sha256 = (b: Buffer | string) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;
/** Where a pack keeps the blob of `digest` (`sha256:<hex>`). */
export const blobPath = (outDir: string, digest: string) => path.join(outDir, "blobs", "sha256", digest.replace(/^sha256:/, ""));

/** The pack in outDir, if it is complete: packed.json and every blob it names, at its recorded size. */
export function readPackedImage(outDir: string): PackedImage | undefined {
    let packed: PackedImage;
    try {
        packed = JSON.parse(fs.readFileSync(path.join(outDir, "packed.json"), "utf8")) as PackedImage;
    } catch {
        return undefined;
    }
    const sizeOf = (f: string) => {
        try {
            return fs.statSync(f).size;
        } catch {
            return -1;
        }
    };
    if (packed.packFormat !== PACK_FORMAT) return undefined;
    if (sizeOf(path.join(outDir, "manifest.json")) !== packed.manifestSize) return undefined;
    if (sizeOf(blobPath(outDir, packed.configDigest)) !== packed.configSize) return undefined;
    if (sizeOf(blobPath(outDir, packed.layerDigest)) !== packed.layerSize) return undefined;
    return packed;
}

/** The tar the layer is made of, to stdout. */
export function layerTarArgs(rootfsDir: string): string[] {
    return [
        "--create",
        "--file=-",
        `--directory=${rootfsDir}`,
        "--numeric-owner",
        "--sort=name",
        "--format=posix",
        // PAX extended headers named without the packing process' id and without atime/ctime, so the bytes depend on the tree only.
        "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
        "--xattrs",
        "--xattrs-include=security.capability",
        "--anchored",
        ...EXCLUDED_CONTENTS.map((p) => `--exclude=${p}`),
        ".",
    ];
}

/** Streams tar of the tree through gzip into `file`; returns the digests and sizes of both forms. */
async function writeLayer(rootfsDir: string, file: string): Promise<{ diffId: string; uncompressedSize: number; digest: string; size: number }> {
    const tar = spawn("tar", layerTarArgs(rootfsDir), { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    tar.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number>((resolve, reject) => {
        tar.on("error", reject);
        tar.on("close", (code) => resolve(code ?? 1));
    });
    const hashOf = (onDone: (hex: string, size: number) => void) => {
        const h = crypto.createHash("sha256");
        let size = 0;
        return new Transform({
            transform(chunk: Buffer, _enc, cb) {
                h.update(chunk);
                size += chunk.length;
                cb(null, chunk);
            },
            flush(cb) {
                onDone(h.digest("hex"), size);
                cb();
            },
        });
    };
    let diffId = "";
    let uncompressedSize = 0;
    let digest = "";
    let size = 0;
    await Promise.all([
        pipeline(
            tar.stdout,
            hashOf((hex, n) => ((diffId = `sha256:${hex}`), (uncompressedSize = n))),
            zlib.createGzip(),
            hashOf((hex, n) => ((digest = `sha256:${hex}`), (size = n))),
            fs.createWriteStream(file),
        ).catch((e: Error) => {
            tar.kill();
            throw e;
        }),
        exited.then((code) => {
            if (code !== 0) throw new Error(`tar of ${rootfsDir} failed (exit ${code}): ${stderr.trim()}`);
        }),
    ]);
    return { diffId, uncompressedSize, digest, size };
}

/**
 * Packs `rootfsDir` into `outDir` (see the file comment). Reuses a complete pack whose stamp is
 * the tree's and the config's; otherwise packs again and drops the blobs the new pack no longer names.
 */
export async function packImage(rootfsDir: string, config: ImageContainerConfig, outDir: string, options: PackOptions = {}): Promise<PackedImage> {
    validateContainerConfig(config);
    if (!fs.statSync(rootfsDir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`rootfs ${rootfsDir} is not a directory: build the image's root filesystem first`);
    const stamp = rootfsStamp(rootfsDir, config, options);
    const existing = readPackedImage(outDir);
    if (existing?.stamp === stamp) return existing;

    const blobsDir = path.join(outDir, "blobs", "sha256");
    fs.mkdirSync(blobsDir, { recursive: true });
    // packed.json goes first: from here until the new one is written, the pack is incomplete.
    fs.rmSync(path.join(outDir, "packed.json"), { force: true });
    const tmpLayer = path.join(blobsDir, `.layer-${process.pid}.tmp`);
    let layer: Awaited<ReturnType<typeof writeLayer>>;
    try {
        layer = await writeLayer(rootfsDir, tmpLayer);
    } catch (e) {
        fs.rmSync(tmpLayer, { force: true });
        throw e;
    }
    fs.renameSync(tmpLayer, blobPath(outDir, layer.digest));

    const created = options.created ?? "1970-01-01T00:00:00Z";
    const imageConfig = {
        architecture: "amd64",
        os: "linux",
        created,
        config,
        rootfs: { type: "layers", diff_ids: [layer.diffId] },
        history: [{ created, created_by: options.createdBy ?? `tar -C ${rootfsDir} -c . (lab image stand-in)` }],
    };
    const configBytes = Buffer.from(JSON.stringify(imageConfig));
    const configDigest = sha256(configBytes);
    writeAtomic(blobPath(outDir, configDigest), configBytes);

    const manifest = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPE_MANIFEST,
        config: { mediaType: MEDIA_TYPE_CONFIG, size: configBytes.length, digest: configDigest },
        layers: [{ mediaType: MEDIA_TYPE_LAYER, size: layer.size, digest: layer.digest }],
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 3));
    writeAtomic(path.join(outDir, "manifest.json"), manifestBytes);

    const packed: PackedImage = {
        packFormat: PACK_FORMAT,
        stamp,
        manifestDigest: sha256(manifestBytes),
        manifestSize: manifestBytes.length,
        configDigest,
        configSize: configBytes.length,
        layerDigest: layer.digest,
        layerSize: layer.size,
        diffId: layer.diffId,
        uncompressedSize: layer.uncompressedSize,
    };
    writeAtomic(path.join(outDir, "packed.json"), Buffer.from(JSON.stringify(packed, null, 2) + "\n"));
    const keep = new Set([configDigest, layer.digest].map((d) => d.replace(/^sha256:/, "")));
    for (const f of fs.readdirSync(blobsDir)) if (!keep.has(f)) fs.rmSync(path.join(blobsDir, f), { force: true });
    return packed;
}

function writeAtomic(file: string, data: Buffer) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
}
