#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Form the trusted pool and create/start the dispersed volume. Runs on node 1 only, after every
# node ran prepare-brick.sh and glusterd.sh. Idempotent: re-running on a healthy cluster changes
# nothing (an option is set only when its value differs, because every `volume set` pushes a new
# volfile to every client).
#
#   GLUSTER_VOLUME        volume name, e.g. gfs_v_r5
#   GLUSTER_PEERS         space-separated addresses of the OTHER nodes (probed from here)
#   GLUSTER_BRICKS        space-separated ADDRESS:/brick/dir, one per node, in brick order
#   GLUSTER_DISPERSE      bricks in the disperse set (N)
#   GLUSTER_REDUNDANCY    bricks that may fail (R); N > 2R
#   GLUSTER_AUTH_ALLOW    comma-separated client addresses/CIDRs for auth.allow
#   GLUSTER_PING_TIMEOUT  network.ping-timeout in seconds (see components/storage/plan.ts)
# optional:
#   GLUSTER_TCP_USER_TIMEOUT  seconds; client.tcp-user-timeout and server.tcp-user-timeout (TCP_USER_TIMEOUT:
#                         the kernel drops a connection whose sent data stays unacknowledged that long).
#                         The ping timer alone bounds a silent stall only to (ping-timeout, 2 x ping-timeout]
#                         and beyond (it re-arms while messages arrived or finished sending in the last
#                         period); this bounds a vanished node's stall below ping-timeout. A frozen brick
#                         process (its kernel still ACKs) is bounded by brick-watchdog.sh instead.
#                         Applies to connections made after it is set (create sets it before start).
#   GLUSTER_OWNER_UID / GLUSTER_OWNER_GID   owner of the volume root (storage.owner-uid/gid)
#   GLUSTER_WAIT_S        bound for each wait (peers connected, bricks online), default 120
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env GLUSTER_VOLUME GLUSTER_PEERS GLUSTER_BRICKS GLUSTER_DISPERSE GLUSTER_REDUNDANCY \
    GLUSTER_AUTH_ALLOW GLUSTER_PING_TIMEOUT
wait_s="${GLUSTER_WAIT_S:-120}"
vol="$GLUSTER_VOLUME"
read -r -a peers <<< "$GLUSTER_PEERS"
read -r -a bricks <<< "$GLUSTER_BRICKS"
n="$GLUSTER_DISPERSE"; r="$GLUSTER_REDUNDANCY"
for v in GLUSTER_DISPERSE GLUSTER_REDUNDANCY GLUSTER_PING_TIMEOUT wait_s; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v=${!v} is not a non-negative integer"
done
[ "$r" -ge 1 ] || die "GLUSTER_REDUNDANCY must be >= 1"
[ "$n" -gt $((2 * r)) ] || die "disperse $n redundancy $r refused: GlusterFS needs N > 2R"
[ "${#bricks[@]}" -eq "$n" ] || die "GLUSTER_BRICKS lists ${#bricks[@]} bricks, GLUSTER_DISPERSE is $n"
[ "${#peers[@]}" -eq $((n - 1)) ] || die "GLUSTER_PEERS lists ${#peers[@]} nodes, expected $((n - 1)) (one brick per node)"

svc status glusterd >/dev/null 2>&1 || die "glusterd is not running here (run gluster/glusterd.sh first)"

# 1. Trusted pool: probe every other node (a no-op when already a peer), wait until all connected.
connected_peers() { gl peer status 2>/dev/null | grep -c 'State: Peer in Cluster (Connected)' || true; }
deadline=$((SECONDS + wait_s))
while [ "$(connected_peers)" -lt "${#peers[@]}" ]; do
    for p in "${peers[@]}"; do
        gl peer probe "$p" >/dev/null 2>&1 || true
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
        gl peer status >&2 || true
        die "peers not all connected after ${wait_s}s (want ${#peers[@]}: ${peers[*]})"
    fi
    sleep 1
done
log "trusted pool: ${#peers[@]} peers connected"

# 2. Create only if absent. Never `force`: each brick is a sub-directory of its own mount, and a
# brick that already belongs to a volume (trusted.glusterfs.volume-id xattr) makes create fail
# loudly instead of being reused silently.
if volume_exists "$vol"; then
    type="$(volume_field "$vol" Type)"
    count="$(total_bricks "$vol")"
    [ "$type" = Disperse ] || die "volume $vol exists with type '$type', expected Disperse; not touching it"
    [ "$count" = "$n" ] || die "volume $vol exists with $count bricks, expected $n; not touching it"
    log "volume $vol already exists ($type, $count bricks)"
else
    log "creating $vol: disperse $n redundancy $r ${bricks[*]}"
    gl_locked volume create "$vol" disperse "$n" redundancy "$r" transport tcp "${bricks[@]}" >&2 \
        || die "volume create $vol failed (see gluster's answer above; a brick that remembers another volume in its xattrs is refused on purpose)"
fi

# 3. Options, each set only when different.
was_started=0
[ "$(volume_field "$vol" Status)" = Started ] && was_started=1
socket_opt_changed=0
set_opt() {
    local key="$1" want="$2" cur
    cur="$(gl volume get "$vol" "$key" 2>/dev/null | awk -v k="$key" '$1 == k { $1 = ""; sub(/^ +/, ""); print }')"
    if [ "$cur" != "$want" ]; then
        gl_locked volume set "$vol" "$key" "$want" >/dev/null || die "volume set $vol $key $want failed"
        log "set $key = $want (was: ${cur:-unset})"
        case "$key" in *tcp-user-timeout) socket_opt_changed=1 ;; esac
    fi
}
set_opt auth.allow "$GLUSTER_AUTH_ALLOW"
set_opt network.ping-timeout "$GLUSTER_PING_TIMEOUT"
if [ -n "${GLUSTER_HEAL_THREADS:-}" ]; then
    [[ "$GLUSTER_HEAL_THREADS" =~ ^[0-9]+$ ]] || die "GLUSTER_HEAL_THREADS=$GLUSTER_HEAL_THREADS is not a number"
    set_opt disperse.shd-max-threads "$GLUSTER_HEAL_THREADS"
fi
if [ -n "${GLUSTER_TCP_USER_TIMEOUT:-}" ]; then
    [[ "$GLUSTER_TCP_USER_TIMEOUT" =~ ^[0-9]+$ ]] || die "GLUSTER_TCP_USER_TIMEOUT=$GLUSTER_TCP_USER_TIMEOUT is not a number"
    set_opt client.tcp-user-timeout "$GLUSTER_TCP_USER_TIMEOUT"
    set_opt server.tcp-user-timeout "$GLUSTER_TCP_USER_TIMEOUT"
fi
if [ -n "${GLUSTER_OWNER_UID:-}" ]; then set_opt storage.owner-uid "$GLUSTER_OWNER_UID"; fi
if [ -n "${GLUSTER_OWNER_GID:-}" ]; then set_opt storage.owner-gid "$GLUSTER_OWNER_GID"; fi

# 4. Start if not started.
status="$(volume_field "$vol" Status)"
if [ "$status" != Started ]; then
    gl_locked volume start "$vol" >/dev/null || die "volume start $vol failed"
    log "started $vol"
fi

# 5. Every brick online (bounded).
all_online() { local on total; read -r on total <<< "$(bricks_online "$vol")"; [ "$on" = "$n" ] && [ "$total" = "$n" ]; }
if ! wait_for "all $n bricks of $vol online" "$wait_s" all_online; then
    gl volume status "$vol" >&2 || true
    die "not all bricks of $vol are online after ${wait_s}s"
fi
if [ "$was_started" = 1 ] && [ "$socket_opt_changed" = 1 ]; then
    warn "tcp-user-timeout changed on a running volume: it applies to new connections only; remount clients and restart bricks (one node at a time, heal in between) for it to take effect"
fi
log "volume $vol started, $n/$n bricks online"
