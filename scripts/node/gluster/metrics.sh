#!/usr/bin/env bash
# This GlusterFS node's metrics (see ../lib/metrics.sh): `--print` prints them, `--publish` sends them.
#   BricksOnline      bricks of the volume whose process is online, as this node's glusterd sees
#                     them (`volume status --xml`); 0 when glusterd does not answer
#   PendingHeals      entries pending heal summed over the bricks (`volume heal info summary`);
#                     omitted when a brick cannot report (an unknown count is never published as 0)
#   BrickFreePercent  free space on the file system of this node's brick
#   FilesBackupAgeSeconds  seconds since this node's last complete file snapshot (only on nodes that took one)
#   GLUSTER_METRICS_VOLUME       the volume
#   GLUSTER_METRICS_BRICK_MOUNT  where this node's brick file system is mounted
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/metrics.sh
. "$(dirname "$0")/../lib/metrics.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

metrics_read_gluster() {
    require_env GLUSTER_METRICS_VOLUME GLUSTER_METRICS_BRICK_MOUNT
    local on total heals
    # `volume status` takes the volume's cluster-wide lock on every peer, and a transaction that
    # fails while the pool is still forming (first deployment, a replaced node) can leave it held
    # until glusterd's 180 s lock timer (glusterd-locks.c, GF_LOCK_TIMER) — long enough to fail the
    # `volume create` that needs it. Before the volume exists there is nothing to ask: `volume info`
    # is answered by the local glusterd without a lock.
    if ! volume_exists "$GLUSTER_METRICS_VOLUME"; then
        echo "BricksOnline 0"
    else
        read -r on total <<<"$(bricks_online "$GLUSTER_METRICS_VOLUME")"
        : "$total"
        echo "BricksOnline ${on:-0}"
        heals="$(pending_heals "$GLUSTER_METRICS_VOLUME")"
        if [[ "$heals" =~ ^[0-9]+$ ]]; then echo "PendingHeals $heals"; fi
    fi
    metrics_free_percent "$GLUSTER_METRICS_BRICK_MOUNT" | sed 's/^/BrickFreePercent /' || true
    backup_age_metric files FilesBackupAgeSeconds
}

metrics_main gluster "$@"
