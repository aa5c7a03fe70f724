#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Prepare one GlusterFS brick on a dedicated block device (idempotent, safe to re-run).
#
#   BRICK_DEVICE  block device of the dedicated data volume (EBS in the cloud, a loop device in the lab)
#   BRICK_MOUNT   where the device's XFS is mounted, e.g. /data/glusterfs/gfs_v_r5/brick_a
#   BRICK_DIR     the brick itself: a sub-directory of BRICK_MOUNT, e.g. $BRICK_MOUNT/brick
#
# - mkfs.xfs -i size=512 ONLY when the device carries no filesystem and no partition table; a device
#   with anything else on it is refused, never overwritten.
# - fstab entry by UUID (added when the mount point has none; an entry naming a device that no
#   longer exists is replaced; one naming another existing device is refused).
#   `nofail`: a node whose data volume is missing still boots, and because the brick is a
#   sub-directory of the mount, glusterd then finds no brick directory (and no volume-id xattr) and
#   refuses to start the brick instead of silently filling the root filesystem.
# - The brick is a sub-directory, so `gluster volume create` never needs `force`.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env BRICK_DEVICE BRICK_MOUNT BRICK_DIR

case "$BRICK_MOUNT" in /?*) ;; *) die "BRICK_MOUNT=$BRICK_MOUNT must be an absolute path" ;; esac
BRICK_MOUNT="${BRICK_MOUNT%/}"
case "$BRICK_DIR" in
    "$BRICK_MOUNT"/?*) ;;
    *) die "BRICK_DIR=$BRICK_DIR must be a sub-directory of BRICK_MOUNT=$BRICK_MOUNT (so 'force' is never needed)" ;;
esac
[ -b "$BRICK_DEVICE" ] || die "BRICK_DEVICE=$BRICK_DEVICE is not a block device"

apt_install xfsprogs

# 1. Filesystem: create only on an empty device.
rc=0
probe="$(blkid -p -o export "$BRICK_DEVICE" 2>/dev/null)" || rc=$?
if [ "$rc" -eq 2 ]; then
    log "$BRICK_DEVICE carries no filesystem: mkfs.xfs -i size=512"
    mkfs.xfs -q -i size=512 "$BRICK_DEVICE"
elif [ "$rc" -ne 0 ]; then
    die "blkid could not probe $BRICK_DEVICE (exit $rc)"
else
    fstype="$(printf '%s\n' "$probe" | sed -n 's/^TYPE=//p')"
    pttype="$(printf '%s\n' "$probe" | sed -n 's/^PTTYPE=//p')"
    if [ -n "$pttype" ]; then
        die "$BRICK_DEVICE has a partition table ($pttype); refusing to touch it"
    fi
    if [ "$fstype" != xfs ]; then
        die "$BRICK_DEVICE already carries a '${fstype:-unknown}' filesystem; refusing to format it"
    fi
    log "$BRICK_DEVICE already carries XFS: keeping it"
fi
uuid="$(blkid -p -o value -s UUID "$BRICK_DEVICE")"
[ -n "$uuid" ] || die "no UUID on $BRICK_DEVICE after mkfs"

# 2. fstab entry. All edits happen under flock(/etc/fstab) and rewrite the file in place, so
# concurrent runs (several lab hosts share one /etc/fstab) cannot lose each other's lines. An entry
# for this mount point that names a UUID no device carries any more (data volume replaced, lab
# re-created) is replaced; one naming another existing device is refused.
want="UUID=$uuid $BRICK_MOUNT xfs defaults,noatime,inode64,nofail 0 0"
exec 9</etc/fstab
flock -w 30 9 || die "could not lock /etc/fstab within 30s"
existing="$(awk -v mp="$BRICK_MOUNT" '$1 !~ /^#/ && $2 == mp' /etc/fstab)"
if [ -z "$existing" ]; then
    printf '%s\n' "$want" >> /etc/fstab
    log "fstab: added $want"
elif [ "$existing" != "$want" ]; then
    old_src="$(printf '%s\n' "$existing" | awk 'NR == 1 {print $1}')"
    if [ "$old_src" != "UUID=$uuid" ] && blkid -U "${old_src#UUID=}" >/dev/null 2>&1; then
        die "/etc/fstab already mounts another existing device at $BRICK_MOUNT: $existing"
    fi
    new_fstab="$(awk -v mp="$BRICK_MOUNT" -v want="$want" '$1 !~ /^#/ && $2 == mp { if (!done) print want; done = 1; next } { print }' /etc/fstab)"
    printf '%s\n' "$new_fstab" > /etc/fstab
    log "fstab: replaced stale '$existing' with '$want'"
fi
exec 9<&-

# 3. Mount.
mkdir -p "$BRICK_MOUNT"
if mountpoint -q "$BRICK_MOUNT"; then
    src_uuid="$(findmnt -n -o UUID --mountpoint "$BRICK_MOUNT" || true)"
    [ "$src_uuid" = "$uuid" ] || die "$BRICK_MOUNT is mounted from another device (UUID ${src_uuid:-?}, want $uuid)"
else
    mount "$BRICK_MOUNT"
    log "mounted $BRICK_DEVICE on $BRICK_MOUNT"
fi
mountpoint -q "$BRICK_MOUNT" || die "$BRICK_MOUNT is not a mount point after mount"

# 4. Brick directory, only ever inside the mounted filesystem.
mkdir -p "$BRICK_DIR"
isize="$(xfs_info "$BRICK_MOUNT" | sed -n 's/.*isize=\([0-9]*\).*/\1/p' | head -n1)"
[ "$isize" = 512 ] || warn "XFS on $BRICK_DEVICE has inode size ${isize:-?}, GlusterFS wants 512"
log "brick ready: $BRICK_DIR on $BRICK_DEVICE (UUID $uuid)"
