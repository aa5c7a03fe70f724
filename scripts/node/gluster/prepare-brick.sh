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
#   refuses to start the brick instead of silently filling the root filesystem; glusterd.service is
#   ordered after the mount (drop-in RequiresMountsFor=) so a reboot brings the brick back online.
# - The brick is a sub-directory, so `gluster volume create` never needs `force`.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/volume.sh
. "$(dirname "$0")/../lib/volume.sh"

require_env BRICK_DEVICE BRICK_MOUNT BRICK_DIR

case "$BRICK_MOUNT" in /?*) ;; *) die "BRICK_MOUNT=$BRICK_MOUNT must be an absolute path" ;; esac
BRICK_MOUNT="${BRICK_MOUNT%/}"
case "$BRICK_DIR" in
    "$BRICK_MOUNT"/?*) ;;
    *) die "BRICK_DIR=$BRICK_DIR must be a sub-directory of BRICK_MOUNT=$BRICK_MOUNT (so 'force' is never needed)" ;;
esac

ensure_xfs_mount "$BRICK_DEVICE" "$BRICK_MOUNT" 512
# After a reboot glusterd must not start the brick before its volume is mounted (it would refuse
# the brick, missing its volume-id, and leave it offline until a manual `volume start force`).
require_mounts_for glusterd.service "$BRICK_MOUNT"
uuid="$(findmnt -n -o UUID --mountpoint "$BRICK_MOUNT")"

# The brick directory, only ever inside the mounted filesystem.
mkdir -p "$BRICK_DIR"
isize="$(xfs_info "$BRICK_MOUNT" | sed -n 's/.*isize=\([0-9]*\).*/\1/p' | head -n1)"
[ "$isize" = 512 ] || warn "XFS on $BRICK_DEVICE has inode size ${isize:-?}, GlusterFS wants 512"
log "brick ready: $BRICK_DIR on $BRICK_DEVICE (UUID $uuid)"
