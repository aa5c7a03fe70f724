import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { shellQuote, SCRIPTS_DIR } from "./remoteBootstrap";

/**
 * User data for nodes that boot without an SSH bootstrap (the web tier's Auto Scaling group): a
 * bash script carrying the scripts it needs as a gzipped tar, plus non-secret settings. Built
 * deterministically (fixed mtimes, sorted files) so an unchanged configuration never produces a
 * new launch template version, and therefore never an instance refresh.
 */

/** EC2's limit on user data before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

interface TarEntry {
    name: string;
    content: Buffer;
    mode: number;
}

function octal(value: number, width: number): string {
    return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** A POSIX ustar archive (enough for plain files; GNU tar and busybox read it). */
export function tar(entries: TarEntry[]): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
        if (Buffer.byteLength(e.name) > 100) throw new Error(`tar: path too long: ${e.name}`);
        const header = Buffer.alloc(512);
        header.write(e.name, 0, 100, "utf8");
        header.write(octal(e.mode, 8), 100, 8, "ascii");
        header.write(octal(0, 8), 108, 8, "ascii");
        header.write(octal(0, 8), 116, 8, "ascii");
        header.write(octal(e.content.length, 12), 124, 12, "ascii");
        header.write(octal(0, 12), 136, 12, "ascii");
        header.write("        ", 148, 8, "ascii");
        header.write("0", 156, 1, "ascii");
        header.write("ustar\u000000", 257, 8, "ascii");
        let sum = 0;
        for (const byte of header) sum += byte;
        header.write(octal(sum, 7) + " ", 148, 8, "ascii");
        blocks.push(header, e.content, Buffer.alloc((512 - (e.content.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
}

/**
 * A node file as user data carries it: without its comment lines (a line whose first non-blank
 * character is `#`, except the `#!` on line 1). EC2 caps user data at 16 KiB and the web node's
 * scripts are mostly commentary; the code and every line that is not a comment are unchanged (a
 * trailing comment stays), and the unpacked files on the node are still valid bash, HAProxy
 * configuration and systemd units (whose heredoc comments go too).
 */
export function withoutCommentLines(text: string): string {
    return text
        .split("\n")
        .filter((line, i) => !/^\s*#/.test(line) || (i === 0 && line.startsWith("#!")))
        .join("\n");
}

/** The scripts a web node needs, relative to scripts/node, as user data carries them (`withoutCommentLines`). */
export function bundleScripts(relPaths: string[], root = SCRIPTS_DIR): string {
    const entries = [...relPaths].sort().map((rel) => ({
        name: `scripts/${rel}`,
        content: Buffer.from(withoutCommentLines(fs.readFileSync(path.join(root, rel), "utf8"))),
        mode: rel.endsWith(".sh") ? 0o755 : 0o644,
    }));
    // Node writes gzip headers with mtime 0, so equal input gives equal output.
    return zlib.gzipSync(tar(entries), { level: 9 }).toString("base64");
}

/**
 * A first-boot script: unpack the bundled scripts under /opt/owncloud-ha and run `entry` with the
 * given environment. Values must not be secrets (user data is readable by anyone who can describe
 * the instance); nodes fetch secrets themselves with their instance role.
 */
export function bootScript(bundleBase64: string, entry: string, env: Record<string, string>): string {
    const exports = Object.keys(env)
        .sort()
        .map((k) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`user data: bad variable name ${k}`);
            return `export ${k}=${shellQuote(env[k])}`;
        });
    const lines = [
        "#!/usr/bin/env bash",
        "# ownCloud HA node first boot: unpack the bundled scripts, then run the entry script.",
        "set -euo pipefail",
        "exec > >(tee -a /var/log/owncloud-ha-init.log) 2>&1",
        ...exports,
        "install -d -m 755 /opt/owncloud-ha",
        "base64 -d <<'BUNDLE' | tar -xzf - -C /opt/owncloud-ha",
        ...(bundleBase64.match(/.{1,76}/g) ?? []),
        "BUNDLE",
        `exec bash ${shellQuote(`/opt/owncloud-ha/scripts/${entry}`)}`,
        "",
    ];
    return lines.join("\n");
}
