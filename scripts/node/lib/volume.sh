#!/usr/bin/env bash
# shellcheck shell=bash
# ensure_xfs_mount DEVICE MOUNT [INODE_SIZE]: a dedicated data volume, formatted XFS only when it is
# blank, mounted at MOUNT through an fstab entry by UUID (nofail, so a missing volume never blocks
# boot). Refuses, never overwrites, a device that carries anything else. Idempotent. Needs common.sh.

ensure_xfs_mount() {
    local device="$1" mount_point="${2%/}" inode_size="${3:-512}"
    local rc=0 probe fstype pttype uuid want existing old_src new_fstab src_uuid
    case "$mount_point" in /?*) ;; *) die "mount point '$mount_point' must be an absolute path" ;; esac
    wait_for "block device $device" 120 test -b "$device" || die "$device is not a block device (is the volume attached?)"
    apt_install xfsprogs

    probe="$(blkid -p -o export "$device" 2>/dev/null)" || rc=$?
    if [ "$rc" -eq 2 ]; then
        log "$device carries no filesystem: mkfs.xfs -i size=$inode_size"
        mkfs.xfs -q -i "size=$inode_size" "$device"
    elif [ "$rc" -ne 0 ]; then
        die "blkid could not probe $device (exit $rc)"
    else
        fstype="$(printf '%s\n' "$probe" | sed -n 's/^TYPE=//p')"
        pttype="$(printf '%s\n' "$probe" | sed -n 's/^PTTYPE=//p')"
        [ -z "$pttype" ] || die "$device has a partition table ($pttype); refusing to touch it"
        [ "$fstype" = xfs ] || die "$device already carries a '${fstype:-unknown}' filesystem; refusing to format it"
        log "$device already carries XFS: keeping it"
    fi
    uuid="$(blkid -p -o value -s UUID "$device")"
    [ -n "$uuid" ] || die "no UUID on $device after mkfs"

    # Edits under flock, rewriting in place: concurrent runs sharing one fstab cannot lose lines.
    want="UUID=$uuid $mount_point xfs defaults,noatime,inode64,nofail 0 0"
    exec 9</etc/fstab
    flock -w 30 9 || die "could not lock /etc/fstab within 30s"
    existing="$(awk -v mp="$mount_point" '$1 !~ /^#/ && $2 == mp' /etc/fstab)"
    if [ -z "$existing" ]; then
        printf '%s\n' "$want" >> /etc/fstab
        log "fstab: added $want"
    elif [ "$existing" != "$want" ]; then
        old_src="$(printf '%s\n' "$existing" | awk 'NR == 1 {print $1}')"
        if [ "$old_src" != "UUID=$uuid" ] && uuid_device "${old_src#UUID=}" >/dev/null; then
            die "/etc/fstab already mounts another existing device at $mount_point: $existing"
        fi
        new_fstab="$(awk -v mp="$mount_point" -v want="$want" '$1 !~ /^#/ && $2 == mp { if (!done) print want; done = 1; next } { print }' /etc/fstab)"
        printf '%s\n' "$new_fstab" > /etc/fstab
        log "fstab: replaced stale '$existing' with '$want'"
    fi
    exec 9<&-

    mkdir -p "$mount_point"
    if mountpoint -q "$mount_point"; then
        src_uuid="$(findmnt -n -o UUID --mountpoint "$mount_point" || true)"
        [ "$src_uuid" = "$uuid" ] || die "$mount_point is mounted from another device (UUID ${src_uuid:-?}, want $uuid)"
    else
        mount "$mount_point"
        log "mounted $device on $mount_point"
    fi
    mountpoint -q "$mount_point" || die "$mount_point is not a mount point after mount"
}

# uuid_device UUID: the attached block device that carries filesystem UUID now, or exit 1. `blkid -U`
# alone returns whatever /dev/disk/by-uuid/UUID points at without probing it, so a device wiped a
# moment ago still "has" its old UUID until udev handles the change event (in the lab, whose links are
# made only when systemd runs generators, until the next boot or daemon-reload); the low-level probe
# of that device decides.
uuid_device() {
    local dev
    dev="$(blkid -U "$1" 2>/dev/null)" || return 1
    [ "$(blkid -p -o value -s UUID "$dev" 2>/dev/null)" = "$1" ] || return 1
    printf '%s\n' "$dev"
}

# require_mounts_for UNIT PATH…: a drop-in so that UNIT starts only after, and only with, the mounts
# under PATH (systemd.unit RequiresMountsFor= = Requires= + After= on those mount units). Needed
# because a `nofail` fstab entry is not ordered before local-fs.target (systemd.mount), so after a
# reboot the daemon could start on the empty directory of the root filesystem; with the drop-in it
# fails instead when the volume is missing. systemd only (the lab's hosts have no unit files).
require_mounts_for() {
    local unit="$1" dir file want
    shift
    is_systemd || return 0
    dir="${OCHA_SYSTEMD_DIR:-/etc/systemd/system}/$unit.d"
    file="$dir/10-owncloud-ha-mounts.conf"
    want="$(printf '# Written by owncloud-ha: start only with the data volume mounted.\n[Unit]\nRequiresMountsFor=%s\n' "$*")"
    [ -f "$file" ] && [ "$(cat "$file")" = "$want" ] && return 0
    mkdir -p "$dir"
    printf '%s\n' "$want" | write_root_file "$file" 644
    systemctl daemon-reload
    log "$unit: RequiresMountsFor=$*"
}
