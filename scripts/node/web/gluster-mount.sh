#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Mount the GlusterFS volume on a web host (idempotent, safe to re-run).
#
#   GLUSTER_SERVERS      space-separated addresses of the Gluster nodes; the first is the primary
#                        volfile server, the others go to backup-volfile-servers (so the mount
#                        works while the first one is down)
#   GLUSTER_VOLUME       volume name, e.g. gfs_v_r5
#   GLUSTER_MOUNT_POINT  e.g. /mnt/owncloud-data
#   GLUSTERD_PORT        glusterd's management port (components/storage/ports.ts), probed before mounting
# optional:
#   GLUSTER_MOUNT_TIMEOUT_S  bound for the mount itself, default 90
#
# fstab: `_netdev` (wait for the network at boot), backup-volfile-servers. The volfile server is only
# used to fetch the volume layout; data then flows to every brick directly.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env GLUSTER_SERVERS GLUSTER_VOLUME GLUSTER_MOUNT_POINT GLUSTERD_PORT
[[ "$GLUSTERD_PORT" =~ ^[0-9]{1,5}$ ]] || die "GLUSTERD_PORT=$GLUSTERD_PORT is not a port number"
timeout_s="${GLUSTER_MOUNT_TIMEOUT_S:-90}"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || die "GLUSTER_MOUNT_TIMEOUT_S=$timeout_s is not a number"
read -r -a servers <<< "$GLUSTER_SERVERS"
[ "${#servers[@]}" -ge 1 ] || die "GLUSTER_SERVERS is empty"
case "$GLUSTER_MOUNT_POINT" in /?*) ;; *) die "GLUSTER_MOUNT_POINT=$GLUSTER_MOUNT_POINT must be an absolute path" ;; esac
mp="${GLUSTER_MOUNT_POINT%/}"

apt_install glusterfs-client

opts="defaults,_netdev"
if [ "${#servers[@]}" -gt 1 ]; then
    backups="$(IFS=:; echo "${servers[*]:1}")"
    opts="$opts,backup-volfile-servers=$backups"
fi
want="${servers[0]}:/$GLUSTER_VOLUME $mp glusterfs $opts 0 0"

# fstab: add when absent, rewrite in place only when the entry changed (server list), never
# duplicate; under flock(/etc/fstab) so concurrent runs cannot lose each other's lines.
exec 9</etc/fstab
flock -w 30 9 || die "could not lock /etc/fstab within 30s"
existing="$(awk -v mp="$mp" '$1 !~ /^#/ && $2 == mp' /etc/fstab)"
if [ -z "$existing" ]; then
    printf '%s\n' "$want" >> /etc/fstab
    log "fstab: added $want"
elif [ "$existing" != "$want" ]; then
    new_fstab="$(awk -v mp="$mp" -v want="$want" '$1 !~ /^#/ && $2 == mp { if (!done) print want; done = 1; next } { print }' /etc/fstab)"
    printf '%s\n' "$new_fstab" > /etc/fstab
    log "fstab: replaced '$existing' with '$want'"
fi
exec 9<&-

mkdir -p "$mp"
healthy() { timeout 20 stat -f "$mp" >/dev/null 2>&1 && [ "$(findmnt -n -o FSTYPE --mountpoint "$mp")" = fuse.glusterfs ]; }
if findmnt -n --mountpoint "$mp" >/dev/null 2>&1; then
    if healthy; then
        log "$mp already mounted and answering"
        exit 0
    fi
    warn "$mp is mounted but does not answer (stale FUSE mount?): lazy unmount and mount again"
    umount -l "$mp" || true
fi
# The fstab order is canonical, but a silently unreachable first server (instance gone, no TCP RST)
# costs ~42 s before glusterfs tries the next one (measured in the lab). So probe glusterd on each
# server (2 s each, bounded) and mount with the reachable ones first; fstab is left as it is.
reachable=() unreachable=()
for s in "${servers[@]}"; do
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash
    if timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$s" "$GLUSTERD_PORT" 2>/dev/null; then reachable+=("$s"); else unreachable+=("$s"); fi
done
order=("${reachable[@]}" "${unreachable[@]}")
if [ "${#reachable[@]}" -gt 0 ] && [ "${order[0]}" != "${servers[0]}" ]; then
    alt="defaults"
    if [ "${#order[@]}" -gt 1 ]; then alt="$alt,backup-volfile-servers=$(IFS=:; echo "${order[*]:1}")"; fi
    warn "first volfile server ${servers[0]} does not answer on $GLUSTERD_PORT: mounting from ${order[0]} (unreachable: ${unreachable[*]})"
    timeout "$timeout_s" mount -t glusterfs -o "$alt" "${order[0]}:/$GLUSTER_VOLUME" "$mp" \
        || die "mount $mp from ${order[0]} failed or took over ${timeout_s}s (servers: ${servers[*]})"
else
    [ "${#reachable[@]}" -gt 0 ] || warn "no volfile server answers on $GLUSTERD_PORT right now; trying the fstab order anyway"
    timeout "$timeout_s" mount "$mp" || die "mount $mp failed or took over ${timeout_s}s (servers: ${servers[*]})"
fi
wait_for "$mp answers" 30 healthy || die "$mp mounted but not answering"
log "mounted $(findmnt -n -o SOURCE --mountpoint "$mp") on $mp (fstab: ${servers[0]}, backup volfile servers: ${backups:-none})"
