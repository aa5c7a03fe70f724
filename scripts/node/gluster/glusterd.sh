#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Install and start glusterd with a bounded brick port range (idempotent, safe to re-run).
#
#   GLUSTER_BASE_PORT  first port glusterd hands to bricks (glusterd.vol `base-port`)
#   GLUSTER_MAX_PORT   last one (glusterd.vol `max-port`)
#   GLUSTERD_PORT_FROM GLUSTERD_PORT_TO  glusterd's own ports (components/storage/ports.ts): the range must avoid them
#   GLUSTER_METRICS_VOLUME, GLUSTER_METRICS_BRICK_MOUNT, OCHA_METRICS_NAMESPACE, OCHA_METRICS_CLUSTER,
#   OCHA_METRICS_NODE  CloudWatch metrics timer (systemd hosts only; see metrics.sh, ../lib/metrics.sh)
#
# The security group then opens 24007-24008 plus exactly this range. Port allocation happens when a
# brick starts, so a changed range applies to bricks started afterwards; glusterd is restarted here
# only when the file changed (restarting glusterd does not stop running bricks).
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/metrics.sh
. "$(dirname "$0")/../lib/metrics.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env GLUSTER_BASE_PORT GLUSTER_MAX_PORT GLUSTERD_PORT_FROM GLUSTERD_PORT_TO
for v in GLUSTER_BASE_PORT GLUSTER_MAX_PORT GLUSTERD_PORT_FROM GLUSTERD_PORT_TO; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v=${!v} is not a port number"
done
if [ "$GLUSTER_BASE_PORT" -lt 1024 ] || [ "$GLUSTER_MAX_PORT" -gt 65535 ] \
    || [ "$GLUSTER_BASE_PORT" -gt "$GLUSTER_MAX_PORT" ]; then
    die "brick port range $GLUSTER_BASE_PORT-$GLUSTER_MAX_PORT is invalid (need 1024 <= base <= max <= 65535)"
fi
if [ "$GLUSTER_BASE_PORT" -le "$GLUSTERD_PORT_TO" ] && [ "$GLUSTER_MAX_PORT" -ge "$GLUSTERD_PORT_FROM" ]; then
    die "brick port range $GLUSTER_BASE_PORT-$GLUSTER_MAX_PORT overlaps glusterd's $GLUSTERD_PORT_FROM-$GLUSTERD_PORT_TO"
fi

apt_install glusterfs-server

vol=/etc/glusterfs/glusterd.vol
[ -f "$vol" ] || die "$vol missing after installing glusterfs-server"
# Replace (or add before end-volume) the two options; everything else of Debian's file is kept.
new="$(awk -v base="$GLUSTER_BASE_PORT" -v max="$GLUSTER_MAX_PORT" '
    /^[[:space:]]*#?[[:space:]]*option[[:space:]]+base-port[[:space:]]/ { next }
    /^[[:space:]]*#?[[:space:]]*option[[:space:]]+max-port[[:space:]]/ { next }
    /^[[:space:]]*end-volume/ && !done {
        printf "    option base-port %s\n    option max-port %s\n", base, max; done = 1 }
    { print }' "$vol")"
changed=0
if [ "$new" != "$(cat "$vol")" ]; then
    printf '%s\n' "$new" | write_root_file "$vol" 644
    changed=1
    log "glusterd.vol: brick ports $GLUSTER_BASE_PORT-$GLUSTER_MAX_PORT"
fi

svc enable glusterd
if svc status glusterd >/dev/null 2>&1; then
    if [ "$changed" = 1 ]; then
        log "glusterd running with an old port range: restarting it (bricks keep running)"
        svc restart glusterd
    fi
else
    svc start glusterd
fi
wait_glusterd_answers || die "glusterd does not answer 'gluster pool list'"
# Bricks online, pending heals and brick free space to CloudWatch every minute (no-op without systemd).
if is_systemd; then
    require_env GLUSTER_METRICS_VOLUME GLUSTER_METRICS_BRICK_MOUNT
    metrics_install gluster "GLUSTER_METRICS_VOLUME=$GLUSTER_METRICS_VOLUME" "GLUSTER_METRICS_BRICK_MOUNT=$GLUSTER_METRICS_BRICK_MOUNT"
fi
log "glusterd up (brick ports $GLUSTER_BASE_PORT-$GLUSTER_MAX_PORT)"
