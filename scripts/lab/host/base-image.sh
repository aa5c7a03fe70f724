#!/usr/bin/env bash
# Builds the lab hosts' Debian 12 root once per machine: what the program's AMI (Debian 12 cloud
# image) is where it matters to the program — systemd as PID 1, cloud-init (NoCloud here, the lab's
# datasource), OpenSSH with the SFTP subsystem, sudo for the default user `admin` (the Debian AMIs'
# login user, created by cloud-init from meta-data's public keys), apt with the three bookworm
# suites and EMPTY package lists, nothing else installed. Every lab host boots its own overlay of it.
#
# Usage: base-image.sh DEST EGRESS_PROXY_URL
#   DEST is built beside itself and renamed into place when complete, so an interrupted build never
#   leaves a half image that a later `up` would boot. A complete DEST is kept (exit 0 at once).
set -euo pipefail

dest="${1:?usage: base-image.sh DEST EGRESS_PROXY_URL}"
proxy="${2:?usage: base-image.sh DEST EGRESS_PROXY_URL}"
mirror="http://deb.debian.org/debian"

[ -e "$dest/.oclab-base-complete" ] && exit 0
work="$dest.building"
rm -rf "$work"

echo "base image: debootstrap --variant=minbase bookworm (a few minutes, once per machine)"
debootstrap --variant=minbase bookworm "$work" "$mirror" > "$dest.debootstrap.log" 2>&1 || {
    tail -20 "$dest.debootstrap.log" >&2
    echo "base image: debootstrap failed; whole log in $dest.debootstrap.log" >&2
    exit 1
}

# The cloud image's sources: bookworm, bookworm-updates and the security suite (deb822).
rm -f "$work/etc/apt/sources.list"
cat > "$work/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Packages the program's scripts find on the AMI and do not install themselves. Installed through
# the same egress path the hosts use later (the build runs before any host exists, so it reaches the
# mirror directly). No daemon may start inside the build root.
printf '#!/bin/sh\nexit 101\n' > "$work/usr/sbin/policy-rc.d"
chmod 755 "$work/usr/sbin/policy-rc.d"
echo "base image: installing systemd, cloud-init, openssh-server, sudo"
systemd-nspawn --register=no --keep-unit --quiet -D "$work" --setenv=DEBIAN_FRONTEND=noninteractive -- \
    bash -c 'set -euo pipefail
        apt-get update -q
        apt-get install -y -q --no-install-recommends systemd-sysv dbus libpam-systemd openssh-server openssh-sftp-server \
            sudo cloud-init ca-certificates curl iproute2 ifupdown netbase less procps kmod gnupg locales
        apt-get clean' > "$dest.install.log" 2>&1 || {
    tail -20 "$dest.install.log" >&2
    echo "base image: package install failed; whole log in $dest.install.log" >&2
    exit 1
}
rm -f "$work/usr/sbin/policy-rc.d"

# cloud-init: the lab's datasource is a NoCloud seed each host gets in its overlay (EC2's metadata
# service cannot run here); the default user is the Debian AMIs' `admin` with passwordless sudo.
cat > "$work/etc/cloud/cloud.cfg.d/01_oclab_datasource.cfg" <<'EOF'
# Lab stand-in for the EC2 datasource: a NoCloud seed in /var/lib/cloud/seed/nocloud.
datasource_list: [ NoCloud, None ]
system_info:
  default_user:
    name: admin
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
    lock_passwd: true
# The image's locale without generating one (the build installs no locale data beyond C.UTF-8).
locale: C.UTF-8
# Stand-in for the VPC resolver, which answers for the instance's own name: cloud-init writes it to
# /etc/hosts (sudo looks it up on every call).
manage_etc_hosts: localhost
EOF

# Egress stand-in: apt reaches the mirrors only through the lab's proxy on the bridge (the NAT's
# place). A host whose tier has no egress is refused by the proxy, so apt fails there as in AWS.
printf 'Acquire::http::Proxy "%s";\n' "$proxy" > "$work/etc/apt/apt.conf.d/00oclab-egress"

# As shipped: no package lists, no host keys (cloud-init's ssh module makes them at first boot), no
# machine-id (systemd makes one per host at first boot), no cloud-init state.
rm -rf "$work"/var/lib/apt/lists/* "$work"/var/cache/apt/*.bin "$work"/var/lib/cloud "$work"/etc/ssh/ssh_host_*
: > "$work/etc/machine-id"
rm -f "$work/var/lib/dbus/machine-id"
# Containers have no console getty to wait for.
ln -sf /dev/null "$work/etc/systemd/system/console-getty.service"

touch "$work/.oclab-base-complete"
rm -rf "$dest"
mv "$work" "$dest"
echo "base image: ready at $dest"
