#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Print the state of a GlusterFS volume as KEY=VALUE lines (for humans, the lab's `status` and the
# fault scenarios). Read-only; never fails because the volume is unhealthy (exit 0 with what it
# could learn; exit 1 only when glusterd does not answer).
#
#   GLUSTER_VOLUME   volume name
# output: volume= type= status= bricks_online= bricks_total= pending_heals= (pending "?" = unknown)
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env GLUSTER_VOLUME
vol="$GLUSTER_VOLUME"
timeout 20 gluster --mode=script pool list >/dev/null 2>&1 || { echo "volume=$vol"; echo "error=glusterd not answering"; exit 1; }
if ! volume_exists "$vol"; then
    printf 'volume=%s\ntype=absent\nstatus=absent\nbricks_online=0\nbricks_total=0\npending_heals=?\n' "$vol"
    exit 0
fi
read -r on total <<< "$(bricks_online "$vol")"
printf 'volume=%s\ntype=%s\nstatus=%s\nbricks_online=%s\nbricks_total=%s\npending_heals=%s\n' \
    "$vol" "$(volume_field "$vol" Type)" "$(volume_field "$vol" Status)" "$on" "$(total_bricks "$vol")" \
    "$(pending_heals "$vol")"
: "$total"
