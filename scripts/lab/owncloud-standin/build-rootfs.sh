#!/usr/bin/env bash
# Builds the root filesystem of the lab's STAND-IN for the owncloud/server:11.0.0 image (Docker Hub is
# unreachable in the lab; the lab's registry packs this directory into an image served under the
# program's image name). Debian 12 with Apache + mod_php, the image's entrypoint contract
# (overlay/usr/bin, overlay/etc/entrypoint.d, overlay/etc/owncloud.d) and a small stand-in ownCloud in
# /var/www/owncloud: status.php, occ, a WebDAV subset with Redis file locking. Not ownCloud.
#
# Usage: build-rootfs.sh DEST CA_CERT_PEM
#   CA_CERT_PEM: the lab's CA certificate, trusted like the public CAs that sign ElastiCache's
#   certificates (the real image verifies Redis TLS against its system CAs).
#   DEST is built beside itself and renamed into place when complete; a complete DEST is kept.
set -euo pipefail

dest="${1:?usage: build-rootfs.sh DEST CA_CERT_PEM}"
ca="${2:?usage: build-rootfs.sh DEST CA_CERT_PEM}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mirror="http://deb.debian.org/debian"
marker=".oclab-owncloud-standin-complete"

[ -e "$dest/$marker" ] && exit 0
[ -r "$ca" ] || { echo "owncloud stand-in: CA certificate $ca is not readable" >&2; exit 1; }
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" \
    || { echo "owncloud stand-in: $ca is not a PEM certificate" >&2; exit 1; }

work="$dest.building"
cleanup() {
    if mountpoint -q "$work/proc" 2>/dev/null; then umount "$work/proc"; fi
}
trap cleanup EXIT
cleanup
rm -rf "$work"
mkdir -p "$(dirname "$dest")"

echo "owncloud stand-in: debootstrap --variant=minbase bookworm"
debootstrap --variant=minbase bookworm "$work" "$mirror" > "$dest.debootstrap.log" 2>&1 || {
    tail -20 "$dest.debootstrap.log" >&2
    echo "owncloud stand-in: debootstrap failed; whole log in $dest.debootstrap.log" >&2
    exit 1
}

# Packages: Apache with mod_php (the image's server), PHP CLI (occ), PDO MySQL (the database),
# phpredis (memcache.locking), wait-for-it (15-database.sh's waits), curl (its healthcheck),
# ca-certificates. setpriv (occ's privilege drop) is util-linux, Essential in Debian.
# No daemon may start inside the build root.
printf '#!/bin/sh\nexit 101\n' > "$work/usr/sbin/policy-rc.d"
chmod 755 "$work/usr/sbin/policy-rc.d"
mount -t proc proc "$work/proc"
echo "owncloud stand-in: installing apache2, libapache2-mod-php, php-cli, php-mysql, php-redis, wait-for-it"
chroot "$work" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -c 'set -euo pipefail
    apt-get update -q
    apt-get install -y -q --no-install-recommends apache2 libapache2-mod-php php-cli php-mysql php-redis \
        ca-certificates curl wait-for-it util-linux
    apt-get clean' > "$dest.install.log" 2>&1 || {
    tail -20 "$dest.install.log" >&2
    echo "owncloud stand-in: package install failed; whole log in $dest.install.log" >&2
    exit 1
}

# The lab CA joins the system store (/etc/ssl/certs, OpenSSL's default), where PHP's stream TLS looks.
install -m 644 "$ca" "$work/usr/local/share/ca-certificates/oclab-ca.crt"
chroot "$work" /usr/sbin/update-ca-certificates >> "$dest.install.log" 2>&1 || {
    tail -5 "$dest.install.log" >&2
    echo "owncloud stand-in: update-ca-certificates failed; whole log in $dest.install.log" >&2
    exit 1
}

# www-data is Debian's base-passwd account (uid 33, gid 33), the uid node-init chowns for.
[ "$(chroot "$work" id -u www-data)" = 33 ] \
    || { echo "owncloud stand-in: www-data is not uid 33 in the build root" >&2; exit 1; }

# The image's files, then Apache: the stand-in vhost only (Listen ${APACHE_LISTEN}), mod_php.
cp -a "$here/overlay/." "$work/"
chown -R root:root "$work/usr/bin" "$work/etc/entrypoint.d" "$work/etc/owncloud.d" "$work/etc/apache2"
chmod 755 "$work/usr/bin/entrypoint" "$work/usr/bin/owncloud" "$work/usr/bin/occ" "$work/usr/bin/cronjob" \
    "$work/usr/bin/server" "$work/usr/bin/healthcheck"
rm -f "$work/etc/apache2/sites-enabled/000-default.conf"
chroot "$work" /usr/sbin/a2ensite -q owncloud > /dev/null
# The server image chowns its code to www-data:root (server Dockerfile.multiarch).
chown -R 33:0 "$work/var/www/owncloud"
install -d -o 33 -g 0 -m 0775 "$work/mnt/data"

umount "$work/proc"
rm -f "$work/usr/sbin/policy-rc.d"
# Small: no package lists, caches, docs or man pages (nothing here reads them).
rm -rf "$work"/var/lib/apt/lists/* "$work"/var/cache/apt/*.bin "$work"/var/cache/debconf/*-old \
    "$work"/usr/share/doc/* "$work"/usr/share/man/* "$work"/usr/share/info/* "$work"/usr/share/locale/* \
    "$work"/var/log/*.log \
    "$work"/var/log/apt/* "$work"/var/www/html
: > "$work/etc/machine-id"

touch "$work/$marker"
rm -rf "$dest"
mv "$work" "$dest"
echo "owncloud stand-in: ready at $dest ($(du -sh "$dest" | cut -f1))"
