/**
 * The lab's STAND-IN for the owncloud/server:11.0.0 image (Docker Hub is unreachable in the lab): the
 * image config the lab's registry serves with it, and the build of its root filesystem
 * (build-rootfs.sh: Debian 12, Apache + mod_php, the image's entrypoint contract in overlay/, and a
 * small stand-in ownCloud in /var/www/owncloud). Not ownCloud; what it honours and where the contract
 * comes from: docs/verified-against.md, "ownCloud container stand-in".
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const HERE = __dirname;
export const OWNCLOUD_STANDIN_BUILD_SCRIPT = path.join(HERE, "build-rootfs.sh");
export const OWNCLOUD_STANDIN_OVERLAY = path.join(HERE, "overlay");

/** The `config` object of the image's OCI/Docker image configuration (what `docker run` applies). */
export interface ImageRuntimeConfig {
    Entrypoint: string[];
    Cmd: string[];
    Env: string[];
    ExposedPorts: Record<string, Record<string, never>>;
    Volumes: Record<string, Record<string, never>>;
    WorkingDir: string;
}

/**
 * As owncloud/server:11.0.0 declares it (owncloud-docker/server v24.04/Dockerfile.multiarch, whose
 * instructions repeat its base's, owncloud-docker/base v24.04/Dockerfile.multiarch). No `User`: neither
 * server, base, php (owncloud-docker/php v24.04) nor ubuntu has a USER instruction, so the container
 * starts as root and the scripts drop to www-data themselves.
 */
export const OWNCLOUD_STANDIN_IMAGE_CONFIG: ImageRuntimeConfig = {
    // ENTRYPOINT ["/usr/bin/entrypoint"]
    Entrypoint: ["/usr/bin/entrypoint"],
    // CMD ["/usr/bin/owncloud", "server"]
    Cmd: ["/usr/bin/owncloud", "server"],
    // No ENV in server, base or php; owncloud-docker/ubuntu v24.04 sets DEBIAN_FRONTEND and TERM (its
    // tool versions are build arguments nothing reads at run time); PATH is Docker's default, which
    // the Ubuntu base image carries.
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "TERM=xterm"],
    // EXPOSE 8080 (Apache's Listen: APACHE_LISTEN, default 8080 in entrypoint.d/98-overwrite.sh)
    ExposedPorts: { "8080/tcp": {} },
    // VOLUME ["/mnt/data"]
    Volumes: { "/mnt/data": {} },
    // WORKDIR /var/www/owncloud
    WorkingDir: "/var/www/owncloud",
};

function overlayFiles(dir: string, rel = ""): string[] {
    return fs
        .readdirSync(path.join(dir, rel), { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap((e) => (e.isDirectory() ? overlayFiles(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/**
 * Where a built root lives: one per content of the build script, the overlay and the CA, so a
 * changed stand-in or a new lab CA is rebuilt and a built one is reused.
 */
export function owncloudStandinRootfsDir(caPem: string, cacheDir = process.env.OCLAB_CACHE ?? "/var/cache/oclab"): string {
    const h = crypto.createHash("sha256");
    h.update(fs.readFileSync(OWNCLOUD_STANDIN_BUILD_SCRIPT));
    for (const f of overlayFiles(OWNCLOUD_STANDIN_OVERLAY)) {
        const full = path.join(OWNCLOUD_STANDIN_OVERLAY, f);
        h.update(`\0${f}\0${fs.statSync(full).mode & 0o777}\0`).update(fs.readFileSync(full));
    }
    h.update("\0ca\0").update(caPem);
    return path.join(cacheDir, `owncloud-standin-${h.digest("hex").slice(0, 12)}`);
}

/** One PEM certificate, or an error naming the fix (checked before anything is built). */
export function validateCaPem(caPem: string): void {
    const certs = caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (certs.length !== 1) {
        throw new Error(
            `the ownCloud stand-in's CA must be exactly one PEM certificate (the lab CA that signs the Redis stand-in's certificate), got ${certs.length}`,
        );
    }
}

/**
 * Builds the stand-in's root filesystem at `dest` (root, network to deb.debian.org; a few minutes
 * once; a complete `dest` is kept) with `caPem` trusted as a system CA, as the real image trusts the
 * public CAs that sign ElastiCache's certificates.
 */
export function buildOwncloudStandinRootfs(dest: string, caPem: string): void {
    validateCaPem(caPem);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "oclab-owncloud-ca-"));
    try {
        const caFile = path.join(tmp, "ca.pem");
        fs.writeFileSync(caFile, caPem, { mode: 0o644 });
        const r = spawnSync("bash", [OWNCLOUD_STANDIN_BUILD_SCRIPT, dest, caFile], {
            stdio: ["ignore", "inherit", "inherit"],
            timeout: 1_800_000,
        });
        if (r.status !== 0) {
            throw new Error(`building the ownCloud stand-in's root filesystem at ${dest} failed (exit ${r.status ?? r.signal}); see the lines above`);
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}
