#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Mount a node's dedicated data volume (an EBS volume in the cloud; a loop-file disk per db host in
# the lab). Runs before any package that writes to the mount point is installed.
#
#   DATA_DEVICE  block device of the volume (in AWS the NVMe by-id path that names the EBS volume ID)
#   DATA_MOUNT   where it is mounted, e.g. /var/lib/mysql
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/volume.sh
. "$(dirname "$0")/../lib/volume.sh"

require_env DATA_DEVICE DATA_MOUNT
ensure_xfs_mount "$DATA_DEVICE" "$DATA_MOUNT"
log "data volume ready at $DATA_MOUNT"
