#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Install and run this node's brick watchdog (brick-watchdog.sh): its own copy of the script under
# /opt/owncloud-ha/brick-watchdog (a re-deploy replaces the shipped scripts, never the file a running
# bash reads), its settings in /etc/owncloud-ha/brick-watchdog.env, and the service — a systemd unit
# (Restart=always) on the nodes, the lab launcher's service of the same name elsewhere. Idempotent:
# files are rewritten and the service restarted only when something changed.
#
#   GLUSTER_VOLUME, GLUSTER_BRICK_DIR, GLUSTER_WATCHDOG_KILL_AFTER_S, GLUSTER_WATCHDOG_INTERVAL_S,
#   GLUSTER_WATCHDOG_DEADLINE_S, GLUSTER_WATCHDOG_MIN_MISSES   see brick-watchdog.sh
#   GLUSTER_WATCHDOG_SERVICE        service name (components/storage/plan.ts BRICK_WATCHDOG_SERVICE)
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env GLUSTER_VOLUME GLUSTER_BRICK_DIR GLUSTER_WATCHDOG_KILL_AFTER_S GLUSTER_WATCHDOG_INTERVAL_S \
    GLUSTER_WATCHDOG_DEADLINE_S GLUSTER_WATCHDOG_MIN_MISSES GLUSTER_WATCHDOG_SERVICE
for v in GLUSTER_WATCHDOG_KILL_AFTER_S GLUSTER_WATCHDOG_MIN_MISSES; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v=${!v} must be a whole number"
done
for v in GLUSTER_WATCHDOG_INTERVAL_S GLUSTER_WATCHDOG_DEADLINE_S; do
    [[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v} must be a number of seconds"
done
case "$GLUSTER_BRICK_DIR" in /*) ;; *) die "GLUSTER_BRICK_DIR must be an absolute path" ;; esac
[[ "$GLUSTER_WATCHDOG_SERVICE" =~ ^[a-z0-9-]+$ ]] || die "GLUSTER_WATCHDOG_SERVICE=$GLUSTER_WATCHDOG_SERVICE is not a service name"
svc_name="$GLUSTER_WATCHDOG_SERVICE"
home="${OCHA_WATCHDOG_HOME:-/opt/owncloud-ha/brick-watchdog}"
env_file="${OCHA_WATCHDOG_ENV_FILE:-/etc/owncloud-ha/brick-watchdog.env}"
unit_dir="${OCHA_SYSTEMD_DIR:-/etc/systemd/system}"

changed=0
# put DEST MODE: stdin to DEST (root-owned) only when the content or mode differs.
put() {
    local dest="$1" mode="$2" tmp
    tmp="$(mktemp)"
    cat > "$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c '%a' "$dest")" = "$mode" ]; then
        rm -f "$tmp"; return 0
    fi
    install -d -m 755 "$(dirname "$dest")"
    write_root_file "$dest" "$mode" < "$tmp"
    rm -f "$tmp"
    log "wrote $dest"
    changed=1
}

put "$home/lib/common.sh" 644 < "$(dirname "$0")/../lib/common.sh"
put "$home/gluster/brick-watchdog.sh" 755 < "$(dirname "$0")/brick-watchdog.sh"
put "$env_file" 644 <<ENV
GLUSTER_VOLUME=$GLUSTER_VOLUME
GLUSTER_BRICK_DIR=$GLUSTER_BRICK_DIR
GLUSTER_WATCHDOG_KILL_AFTER_S=$GLUSTER_WATCHDOG_KILL_AFTER_S
GLUSTER_WATCHDOG_INTERVAL_S=$GLUSTER_WATCHDOG_INTERVAL_S
GLUSTER_WATCHDOG_DEADLINE_S=$GLUSTER_WATCHDOG_DEADLINE_S
GLUSTER_WATCHDOG_MIN_MISSES=$GLUSTER_WATCHDOG_MIN_MISSES
ENV

if is_systemd; then
    # The brick it restarts is started by glusterd (its child, in glusterd's cgroup): stopping or
    # restarting this unit never stops a brick.
    put "$unit_dir/$svc_name.service" 644 <<UNIT
[Unit]
Description=owncloud-ha: SIGKILL this node's GlusterFS brick when it stops answering pings, so clients never wait on a frozen brick
After=glusterd.service
[Service]
Type=simple
EnvironmentFile=$env_file
ExecStart=/bin/bash $home/gluster/brick-watchdog.sh
Restart=always
RestartSec=5
[Install]
WantedBy=multi-user.target
UNIT
    [ "$changed" = 0 ] || systemctl daemon-reload
fi
svc enable "$svc_name"
if [ "$changed" = 1 ] && svc status "$svc_name" >/dev/null 2>&1; then
    svc restart "$svc_name"
    log "$svc_name restarted with the new settings"
else
    svc start "$svc_name"
fi
svc status "$svc_name" >/dev/null 2>&1 || die "$svc_name is not running after start"
log "$svc_name watches $GLUSTER_BRICK_DIR ($GLUSTER_VOLUME): kill after ${GLUSTER_WATCHDOG_KILL_AFTER_S} s without an answer"
