#!/usr/bin/env bash
# LAB STAND-IN, not part of the program: installed by the lab as
# /etc/systemd/system-generators/oclab-fstab-devices on hosts given a data volume.
#
# On EC2, systemd-fstab-generator turns the program's `UUID=… /var/lib/mysql xfs …,nofail` line into
# var-lib-mysql.mount, and mariadb's RequiresMountsFor= drop-in orders the database after it. Inside
# systemd-nspawn, /sys is read-only and the generator skips every device line ("Running in a
# container, ignoring fstab device entry": fstab-generator.c parse_fstab, is_device_path() &&
# path_is_read_only_fs("/sys")), so after a reboot no mount unit exists, RequiresMountsFor= adds
# nothing (unit.c unit_add_mount_dependencies skips a path without a loaded mount unit) and the
# database would start on the root filesystem's empty directory.
#
# This generator gives the host what udev and a writable /sys give an instance, and nothing more:
# the /dev/disk/by-uuid link of each block device the lab bound in, then Debian's own
# systemd-fstab-generator run on the fstab's device lines only, in a private mount namespace that
# sees a writable (empty) /sys. The units it writes are the ones EC2 gets; PID 1 still sees a
# read-only /sys, so it adds no .device dependency and mounts at once (a missing device fails the
# mount without EC2's 90 s device wait).
set -euo pipefail
fstab="${SYSTEMD_FSTAB:-/etc/fstab}"
[ -r "$fstab" ] || exit 0
lines="$(awk '$1 !~ /^#/ && ($1 ~ /^(UUID|LABEL|PARTUUID|PARTLABEL)=/ || $1 ~ /^\/dev\//)' "$fstab")"
[ -n "$lines" ] || exit 0

dev_root="${OCLAB_GENERATOR_DEV:-/dev}" # tests only
# The container's /dev holds only what the lab bound in: the loop device, also at the EBS by-id path.
# `[ -b ]` stats each name: a bound device node sits on a placeholder file, whose directory entry
# type (what `find -type b` reads) is a regular file's.
for dev in "$dev_root"/* "$dev_root"/disk/by-id/*; do
    [ -b "$dev" ] || continue
    uuid="$(blkid -p -s UUID -o value "$dev" 2>/dev/null || true)"
    [ -n "$uuid" ] || continue
    mkdir -p "$dev_root/disk/by-uuid"
    ln -sfn "$dev" "$dev_root/disk/by-uuid/$uuid"
done

devices="$(mktemp)"
trap 'rm -f "$devices"' EXIT
printf '%s\n' "$lines" >"$devices"
SYSTEMD_FSTAB="$devices" unshare -m sh -c 'mount -t tmpfs oclab-sys /sys && exec /lib/systemd/system-generators/systemd-fstab-generator "$@"' oclab-fstab-devices "$@"
