#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Bring a replaced or wiped GlusterFS node back into its pool and volume (idempotent, safe to re-run;
# a no-op on a healthy node and on a first deployment). Runs on the node itself, after glusterd.sh.
#
#   GLUSTER_VOLUME     volume name
#   GLUSTER_SELF       this node's address (as the pool and the brick list name it)
#   GLUSTER_PEERS      the other nodes' addresses (space-separated)
#   GLUSTER_BRICK_DIR  this node's brick directory (a sub-directory of its data volume's mount)
# optional:
#   GLUSTER_WAIT_S     bound for every wait (peers, volume sync, brick online, heal), default 300
#   GLUSTERD_WORKDIR   glusterd's state directory, default /var/lib/glusterd
#   GLUSTER_HEAL_RETRY_S  a new `heal full` when nothing pends but the count of entries missing on
#                      the brick has not dropped for this long, default 60
#   GLUSTER_CHECK_DIR  where the private read-only client mount for the comparison goes, default /run
#
# 1. Peer identity. A new instance (or a wiped /var/lib/glusterd) starts glusterd with a new UUID,
#    while the pool still lists the OLD UUID for this address, so it is never let back in. The old
#    UUID is read from a running peer with the read-only `gluster --remote-host=PEER pool list`;
#    when it differs and this glusterd has no peers of its own, glusterd is stopped, the old UUID is
#    written to glusterd.info, the other peers are recorded as already-befriended peers
#    (peers/<uuid>, state=3, hostname1=ADDR: the "same hostname" replacement in the GlusterFS admin
#    guide) and glusterd is started again: it handshakes as the old member and imports the volumes.
#    Nobody in the pool knows this address -> first deployment, nothing to do (create-volume probes).
#    While this node ran with the new UUID, its peers' reconnects met a glusterd that did not know
#    them: it answered their friend requests with a reject, so they hold this node as "Peer
#    Rejected" until a later handshake is accepted (glusterd-sm.c: BEFRIENDED + RCVD_RJT ->
#    REJECTED, REJECTED + RCVD_ACC -> BEFRIENDED). Every peer checks the brick of a reset-brick
#    commit against its own view of this node ("Host X is not in 'Peer in Cluster' state",
#    glusterd-utils.c glusterd_new_brick_validate), so the script waits until every peer, asked
#    with its read-only `peer status`, holds this node as "Peer in Cluster (Connected)"; a peer
#    still rejecting it after that wait gets a new handshake (glusterd restarted here once).
# 2. Brick. A brick directory without the volume's `trusted.glusterfs.volume-id` xattr (new data
#    volume, or wiped) is refused by the brick process. When the directory is EMPTY it is given back
#    with `volume reset-brick VOL B start` + `reset-brick VOL B B commit force` (the documented way to
#    re-use the same brick path), then `volume heal VOL full` rebuilds its fragments, and the script
#    waits (bounded) until the brick is rebuilt (every brick online, nothing pending heal, every entry
#    of the volume present on this brick; see "rebuilt" below). A directory that carries
#    ANOTHER volume's id, or data without an id, is refused: `force` is never used on it.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env GLUSTER_VOLUME GLUSTER_SELF GLUSTER_PEERS GLUSTER_BRICK_DIR
vol="$GLUSTER_VOLUME"; self="$GLUSTER_SELF"; brick_dir="$GLUSTER_BRICK_DIR"
brick="$self:$brick_dir"
wait_s="${GLUSTER_WAIT_S:-300}"
retry_s="${GLUSTER_HEAL_RETRY_S:-60}"
workdir="${GLUSTERD_WORKDIR:-/var/lib/glusterd}"
read -r -a peers <<< "$GLUSTER_PEERS"
[[ "$wait_s" =~ ^[0-9]+$ ]] || die "GLUSTER_WAIT_S=$wait_s is not a number"
[[ "$retry_s" =~ ^[0-9]+$ ]] || die "GLUSTER_HEAL_RETRY_S=$retry_s is not a number"
[ "${#peers[@]}" -ge 1 ] || die "GLUSTER_PEERS is empty"

svc status glusterd >/dev/null 2>&1 || die "glusterd is not running here (run gluster/glusterd.sh first)"

local_uuid() { sed -n 's/^UUID=//p' "$workdir/glusterd.info" 2>/dev/null | head -n1; }
# Peers this glusterd knows (pool list minus its own `localhost` row and the header).
local_peer_count() { gl pool list 2>/dev/null | awk 'NR > 1 && $2 != "localhost"' | wc -l; }

# remote_pool PEER: `pool list` as PEER's glusterd sees it (read-only CLI over its management port),
# as "UUID ADDRESS" lines, PEER's own `localhost` row named PEER. Fails when PEER does not answer.
remote_pool() {
    local out
    out="$(timeout 20 gluster --mode=script --remote-host="$1" pool list 2>/dev/null)" || return 1
    # A UUID is 8-4-4-4-12 hex digits. Written without {n} intervals: Debian's default awk (mawk
    # 1.3.4, on the AMI) does not support them, and its `~` silently matches nothing.
    printf '%s\n' "$out" | awk -v me="$1" '
        length($1) == 36 && $1 ~ /^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/ && substr($1, 9, 1) == "-" && substr($1, 14, 1) == "-" && substr($1, 19, 1) == "-" && substr($1, 24, 1) == "-" { print $1, ($2 == "localhost" ? me : $2) }'
}

# restart_glusterd: restart this node's glusterd and wait (bounded) until its CLI answers.
restart_glusterd() {
    svc restart glusterd
    wait_glusterd_answers || die "glusterd does not answer after its restart"
}

# connected: this glusterd holds every peer as "Peer in Cluster (Connected)".
connected() { [ "$(gl peer status 2>/dev/null | grep -c 'State: Peer in Cluster (Connected)' || true)" -ge "${#peers[@]}" ]; }
# peer_view PEER UUID: the state PEER's glusterd holds for UUID, e.g. "Peer in Cluster (Connected)"
# (read-only `peer status` over PEER's management port); nothing when PEER does not answer.
peer_view() {
    timeout 20 gluster --mode=script --remote-host="$1" peer status 2>/dev/null \
        | awk -v u="$2" '$1 == "Uuid:" { cur = ($2 == u) } cur && /^State: / { sub(/^State: /, ""); print; exit }'
}
# seen_in_cluster UUID: every peer holds UUID as "Peer in Cluster (Connected)".
seen_in_cluster() {
    local p
    for p in "${peers[@]}"; do [ "$(peer_view "$p" "$1")" = "Peer in Cluster (Connected)" ] || return 1; done
}
peer_views() { local p; for p in "${peers[@]}"; do printf '%s: %s; ' "$p" "$(peer_view "$p" "$1")"; done; }
# wait_seen_in_cluster UUID: wait (bounded) until every peer holds this node in the cluster; a peer
# that still rejects it then gets one new handshake (glusterd restarted here).
wait_seen_in_cluster() {
    wait_for "every peer holds $self ($1) as 'Peer in Cluster (Connected)'" "$wait_s" seen_in_cluster "$1" && return 0
    local views
    views="$(peer_views "$1")"
    if ! grep -q 'Peer Rejected' <<< "$views"; then
        die "not every peer holds $self as 'Peer in Cluster (Connected)' after ${wait_s}s (${views}); re-run once they reconnect"
    fi
    log "a peer still rejects $self (${views}): restarting glusterd here for a new handshake"
    restart_glusterd
    wait_for "every peer holds $self ($1) as 'Peer in Cluster (Connected)'" "$wait_s" seen_in_cluster "$1" \
        || die "not every peer holds $self as 'Peer in Cluster (Connected)' after a new handshake ($(peer_views "$1")); inspect 'gluster peer status' on each peer"
}

# ---------------------------------------------------------------- 1. peer identity
pool=""; asked=""
for p in "${peers[@]}"; do
    if pool="$(remote_pool "$p")" && [ -n "$pool" ]; then asked="$p"; break; fi
done
mine="$(local_uuid)"
if [ -z "$asked" ]; then
    # Nobody answers: a first deployment whose peers are still coming up, or the whole pool is down.
    # Nothing can be restored from here; create-volume/verify-volume report a pool that stays down.
    log "no peer answers (${peers[*]}): nothing to compare this node's identity with"
else
    known="$(printf '%s\n' "$pool" | awk -v a="$self" '$2 == a { print $1 }' | head -n1)"
    if [ -z "$known" ]; then
        log "the pool (asked $asked) does not know $self yet: first deployment, create-volume probes it"
    elif [ "$known" = "$mine" ]; then
        log "peer identity $mine matches what the pool knows for $self"
    elif [ "$(local_peer_count)" -gt 0 ]; then
        die "this glusterd (UUID ${mine:-none}) already has peers, but the pool knows $self as $known: two identities for one address; not changing anything (inspect 'gluster pool list' here and on $asked)"
    else
        log "replaced node: glusterd here has UUID ${mine:-none}, the pool knows $self as $known; restoring it"
        svc stop glusterd
        wait_for "glusterd stopped" 60 bash -c '! gluster --mode=script pool list' \
            || die "glusterd did not stop"
        info="$workdir/glusterd.info"
        { grep -v '^UUID=' "$info" 2>/dev/null || true; echo "UUID=$known"; } | write_root_file "$info" 600
        mkdir -p "$workdir/peers"
        while read -r uuid addr; do
            [ "$uuid" = "$known" ] && continue
            printf 'uuid=%s\nstate=3\nhostname1=%s\n' "$uuid" "$addr" | write_root_file "$workdir/peers/$uuid" 600
        done <<< "$pool"
        svc start glusterd
        wait_glusterd_answers || die "glusterd does not answer after restoring UUID $known"
        if ! wait_for "all ${#peers[@]} peers connected" "$wait_s" connected; then
            gl peer status >&2 || true
            die "peers not all connected ${wait_s}s after restoring UUID $known"
        fi
        log "peer identity $known restored; ${#peers[@]} peers connected"
        restored=1
    fi
fi

# ---------------------------------------------------------------- 2. the brick
if [ -n "$asked" ] && [ -n "${known:-}" ]; then
    # glusterd imports the volume from its peers after the handshake: wait for it (bounded).
    wait_for "volume $vol known here" "$wait_s" volume_exists "$vol" \
        || die "the pool knows $self but volume $vol did not reach this node within ${wait_s}s"
fi
if [ "${restored:-0}" = 1 ]; then
    # The volumes imported during the handshake name their bricks by address only; glusterd ties
    # each brick to a peer UUID when it starts (resolving all bricks), and reset-brick needs this
    # node's brick tied to its own UUID (else it calls the brick "new": measured in the lab). So
    # restart it once, as the manual same-hostname replacement does after the probe.
    restart_glusterd
    wait_for "all ${#peers[@]} peers connected" "$wait_s" connected || die "peers not all connected ${wait_s}s after restarting glusterd"
    wait_for "volume $vol known here" "$wait_s" volume_exists "$vol" || die "volume $vol missing after restarting glusterd"
fi
if ! volume_exists "$vol"; then
    log "volume $vol does not exist (yet): no brick to check"
    exit 0
fi
if ! gl volume info "$vol" 2>/dev/null | sed -n 's/^Brick[0-9][0-9]*: //p' | grep -qxF "$brick"; then
    log "$brick is not a brick of $vol: nothing to check"
    exit 0
fi
want="$(gl volume info "$vol" | sed -n 's/^Volume ID: //p' | tr -d '-' | head -n1)"
[[ "$want" =~ ^[0-9a-f]{32}$ ]] || die "could not read the Volume ID of $vol"
[ -d "$brick_dir" ] || die "brick directory $brick_dir is missing (run gluster/prepare-brick.sh first)"
# When is the reset brick rebuilt? (xlators/cluster/ec/src/ec-heald.c, ec-heal.c)
# - `heal VOL full` is sent to ONE self-heal daemon per disperse set (glusterd picks the node of a
#   set's brick by position, xlators/mgmt/glusterd/src/glusterd-op-sm.c
#   _select_hxlators_for_full_self_heal), which crawls its local brick and heals every inode it meets.
#   When that brick is the reset one (the lab's fs3), the crawl rebuilds it top-down: healing a
#   directory creates its entries here, then the crawl descends into them; an entry heal skipped on
#   the way (e.g. a lock held by a writing client) leaves a subtree nobody lists. The daemon crawls
#   only while it is connected to more bricks than the data fragments (here: every brick); a `heal
#   full` issued before that is a silent no-op ("finished full sweep" without a start). Hence: wait
#   until every node's daemon is connected to every brick, and a new `heal full` when nothing pends
#   but entries stay missing.
# - Entry heal creates missing names on the brick and marks them dirty on the good bricks, so they
#   stay in `heal info` until their data is rebuilt; `heal info` does NOT list files the crawl has
#   not reached yet. So: rebuilt = 0 entries pending on every brick AND every entry of the volume
#   (as a client sees it) present on this brick. A disperse brick holds every file and directory
#   (a fragment of each file), so the lists must match. Inode counts are no measure: the other
#   bricks keep the emptied .glusterfs/xx/yy directories of every file ever deleted.
check_parent="${GLUSTER_CHECK_DIR:-/run}"
check_mnt=""; check_mounted=0
scratch="$(mktemp -d)"
cleanup() {
    if [ "$check_mounted" = 1 ]; then umount "$check_mnt" 2>/dev/null || umount -l "$check_mnt" 2>/dev/null || true; fi
    [ -z "$check_mnt" ] || rmdir "$check_mnt" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
# A private read-only client mount of the volume on this node, for the namespace comparison. Its
# volfile comes from this node's own glusterd, which hands local clients the "trusted" volfile (the
# one the self-heal daemon uses), so auth.allow (web subnets only) does not refuse it.
mount_volume() {
    [ "$check_mounted" = 1 ] && return 0
    [ -n "$check_mnt" ] || check_mnt="$(mktemp -d "$check_parent/gluster-rejoin-check.XXXXXX")"
    timeout 120 mount -t glusterfs -o ro,log-file=/var/log/glusterfs/rejoin-check.log "$self:/$vol" "$check_mnt" || return 1
    check_mounted=1
}
# missing_on_brick: writes (NUL-separated) the volume's entries this brick lacks to $scratch/missing
# and prints their count. An entry created or removed while the lists are taken is checked again.
missing_on_brick() {
    # bounded: a partial list only makes entries look missing, and the next poll lists again
    (cd "$check_mnt" || exit 0; timeout "$wait_s" find . -mindepth 1 -print0 2>/dev/null || true) | LC_ALL=C sort -z > "$scratch/volume"
    (cd "$brick_dir" || exit 0; timeout "$wait_s" find . -mindepth 1 \( -path ./.glusterfs -prune \) -o -print0 2>/dev/null || true) \
        | LC_ALL=C sort -z > "$scratch/brick"
    LC_ALL=C comm -z -23 "$scratch/volume" "$scratch/brick" | while IFS= read -r -d '' e; do
        { [ -e "$check_mnt/$e" ] || [ -L "$check_mnt/$e" ]; } || continue
        { [ -e "$brick_dir/$e" ] || [ -L "$brick_dir/$e" ]; } || printf '%s\0' "$e"
    done > "$scratch/missing"
    tr -cd '\0' < "$scratch/missing" | wc -c
}
n="$(total_bricks "$vol")"
all_online() { local on total; read -r on total <<< "$(bricks_online "$vol")"; [ "$on" = "$n" ] && [ "$total" = "$n" ]; }
nodes=("$self" "${peers[@]}")
# "BRICK ADDRESS" for every client connection of every brick (each node's self-heal daemon is one).
brick_clients() {
    gl volume status "$vol" clients 2>/dev/null | awk '
        /^Brick : / { sub(/^Brick : /, ""); cur = $0; next }
        cur != "" && $1 ~ /^[0-9a-fA-F.:\[\]]+:[0-9]+$/ { a = $1; sub(/:[0-9]+$/, "", a); gsub(/[\[\]]/, "", a); print cur, a }' | sort -u
}
shds_connected() {
    local have b a
    have="$(brick_clients)"
    while read -r b; do
        for a in "${nodes[@]}"; do printf '%s\n' "$have" | grep -qxF "$b $a" || return 1; done
    done < <(gl volume info "$vol" 2>/dev/null | sed -n 's/^Brick[0-9][0-9]*: //p')
}
pending=""; n_missing=""
rebuilt() {
    pending="$(pending_heals "$vol")"; n_missing="?"
    [ "$pending" = 0 ] && all_online || return 1
    mount_volume || { warn "could not mount $vol read-only to compare its entries with $brick_dir"; return 1; }
    n_missing="$(missing_on_brick)"
    [ "$n_missing" = 0 ]
}
evidence() {
    {
        echo "--- heal info summary"; timeout 60 gluster --mode=script volume heal "$vol" info summary || true
        if [ "$n_missing" = "?" ] && mount_volume; then n_missing="$(missing_on_brick)"; fi
        echo "--- entries of $vol missing on $brick_dir: ${n_missing} (first 10)"
        # head reads the file itself: in a pipe it would end early and SIGPIPE the writer, which
        # pipefail turns into this script's exit (141) instead of the message below
        if [ -s "$scratch/missing" ]; then head -z -n 10 "$scratch/missing" | tr '\0' '\n'; fi
        echo "--- clients of every brick (a self-heal daemon of every node must be among them: ${nodes[*]})"
        brick_clients || true
        echo "--- full sweeps logged by this node's self-heal daemon"
        grep -h "full sweep" /var/log/glusterfs/glustershd.log 2>/dev/null | tail -n 6 || true
    } >&2
}
# heal_full_and_wait: (re)start the full crawl once the daemons reach every brick; wait (bounded) for
# the rebuild; when nothing pends but entries are missing and that count has not dropped for
# $retry_s seconds, the crawl ended (or never ran): start it again.
heal_full_and_wait() {
    local deadline=$((SECONDS + wait_s)) last_missing="" last_trigger
    if ! wait_for "every node's self-heal daemon connected to every brick" "$(( wait_s < 120 ? wait_s : 120 ))" shds_connected; then
        warn "not every node's self-heal daemon is connected to every brick yet (connections: $(brick_clients | tr '\n' ',')); starting the full heal anyway"
    fi
    gl_locked volume heal "$vol" full >&2 || warn "volume heal $vol full failed; waiting for a running heal"
    last_trigger=$SECONDS
    local polled_at=$SECONDS
    while ! rebuilt; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            evidence
            die "$brick not rebuilt ${wait_s}s after 'heal full' (pending heal entries: $pending, entries missing on the brick: $n_missing); self-heal goes on in the background, re-run to wait again"
        fi
        if [ "$pending" = 0 ] && [ "$n_missing" != "?" ] && [ "$n_missing" != 0 ]; then
            if [ "$n_missing" != "$last_missing" ]; then
                last_missing="$n_missing"; last_trigger=$SECONDS
            elif [ $((SECONDS - last_trigger)) -ge "$retry_s" ]; then
                log "nothing pending heal but $n_missing entries still missing on $brick for ${retry_s}s: full heal again"
                gl_locked volume heal "$vol" full >&2 || warn "volume heal $vol full failed"
                last_trigger=$SECONDS
            fi
        fi
        # `heal info` inspects every pending entry on every brick and takes the inode lock the
        # self-heal daemons take on each one it cannot judge unlocked (ec-heal.c ec_get_heal_info):
        # polled back to back it slows the rebuild it waits for. Pause at least as long as it took.
        local took=$((SECONDS - polled_at))
        sleep $(( took > 2 ? took : 2 ))
        polled_at=$SECONDS
    done
}

have="$(brick_volume_id "$brick_dir")"
if [ "$have" = "$want" ]; then
    if rebuilt; then
        log "brick $brick carries $vol's volume-id, nothing pends heal and it holds every entry of $vol: nothing to repair"
        exit 0
    fi
    # An earlier run reset the brick and timed out while the full heal went on: wait again (bounded).
    log "brick $brick carries $vol's volume-id but is not rebuilt yet (pending heal entries: $pending, entries missing on the brick: $n_missing): full heal, waiting"
    heal_full_and_wait
    log "brick $brick rebuilt: nothing pending heal, every entry of $vol present on it"
    exit 0
fi
if [ -n "$have" ]; then
    die "brick directory $brick_dir belongs to another volume (volume-id $have, $vol is $want): refusing to reset it; give this node an empty data volume or move that data away"
fi
if [ -n "$(ls -A "$brick_dir")" ]; then
    die "brick directory $brick_dir has no volume-id but is not empty: refusing to reset it over unknown data; empty it (or give this node an empty data volume) and re-run"
fi

log "brick $brick is empty (no volume-id): reset-brick, then a full heal"
wait_seen_in_cluster "$(local_uuid)"
# A start left over from an interrupted run fails ("already in progress"): the commit decides.
gl_locked volume reset-brick "$vol" "$brick" start >&2 || warn "reset-brick $vol $brick start failed; trying the commit"
gl_locked volume reset-brick "$vol" "$brick" "$brick" commit force >&2 || die "reset-brick $vol $brick commit force failed"
[ "$(brick_volume_id "$brick_dir")" = "$want" ] || die "reset-brick did not give $brick_dir $vol's volume-id"
wait_for "all $n bricks of $vol online" "$wait_s" all_online || die "not all bricks of $vol online ${wait_s}s after reset-brick"
heal_full_and_wait
log "brick $brick reset and rebuilt: nothing pending heal, every entry of $vol present on it; all $n bricks online"
