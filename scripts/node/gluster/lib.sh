# shellcheck shell=bash
# Helpers shared by the GlusterFS node scripts. Source after ../lib/common.sh.

gl() { gluster --mode=script "$@"; }

# wait_glusterd_answers: wait (bounded, 60 s) until this node's glusterd answers its CLI (`pool list`,
# a read-only request); false when it never does.
wait_glusterd_answers() { wait_for "glusterd answers" 60 gl pool list; }

# gl_locked ARGS…: `gl ARGS…` for a command that changes a volume, run again while glusterd answers
# that another transaction holds the volume's cluster-wide lock. glusterd takes that lock by volume
# NAME for any command naming it, a volume not created yet included (glusterd-handler.c,
# glusterd_mgmt_v3_lock: "Another transaction is in progress for VOL"), so a concurrent `volume
# status VOL` on any peer (the metrics timer, an operator) makes a create or set fail at random.
# A transaction that fails before its unlock phase (a peer handshaking meanwhile) leaves the lock
# held on a peer until glusterd's lock timer frees it, 180 s after it was taken (glusterd-locks.c
# glusterd_mgmt_v3_lock, GF_LOCK_TIMER; seen in the lab: "Unable to release lock for VOL"), so the
# default bound outlasts that timer. Bounded by GLUSTER_LOCK_WAIT_S (default 200),
# GLUSTER_LOCK_RETRY_S apart (default 2). Prints the command's output; returns its status.
gl_locked() {
    local out rc deadline=$((SECONDS + ${GLUSTER_LOCK_WAIT_S:-200}))
    while :; do
        rc=0
        out="$(gl "$@" 2>&1)" || rc=$?
        if [ "$rc" -eq 0 ] || ! grep -q 'Another transaction is in progress' <<< "$out" || [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\n' "$out"
            return "$rc"
        fi
        log "gluster $1 $2 $3: another transaction holds the lock; retrying"
        sleep "${GLUSTER_LOCK_RETRY_S:-2}"
    done
}

# volume_exists VOL: true when glusterd knows the volume (bricks also remember it in xattrs, so
# creating it again would fail; this is the only test used before `volume create`).
volume_exists() { gl volume info "$1" >/dev/null 2>&1; }

# volume_field VOL FIELD: value of "FIELD: value" from `volume info` (e.g. Type, Status).
volume_field() {
    gl volume info "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n1
}

# bricks_online VOL: prints "ONLINE TOTAL" for the volume's bricks (self-heal daemon excluded).
bricks_online() {
    local xml
    xml="$(gl volume status "$1" --xml 2>/dev/null)" || { echo "0 ?"; return 0; }
    printf '%s\n' "$xml" | awk '
        /<node>/ { inb = 0; st = "" }
        /<path>\// { inb = 1 }
        /<status>/ { gsub(/.*<status>|<\/status>.*/, ""); st = $0 }
        /<\/node>/ { if (inb) { total++; if (st == "1") on++ } inb = 0 }
        END { printf "%d %d\n", on, total }'
}

# online_brick_hosts VOL: the host (as the volume names it: the address given at create) of every
# brick whose process is online, one per line. Peers' names in `pool list` are not usable for this:
# the node that probed the others appears there under its host name, not its address.
online_brick_hosts() {
    local xml
    xml="$(timeout 30 gluster --mode=script volume status "$1" --xml 2>/dev/null)" || return 0
    printf '%s\n' "$xml" | awk '
        /<node>/ { h = ""; inb = 0; st = "" }
        /<hostname>/ { gsub(/.*<hostname>|<\/hostname>.*/, ""); h = $0 }
        /<path>\// { inb = 1 }
        /<status>/ { gsub(/.*<status>|<\/status>.*/, ""); st = $0 }
        /<\/node>/ { if (inb && st == "1") print h; inb = 0 }'
}

# total_bricks VOL: number of bricks the volume is defined with.
total_bricks() {
    gl volume info "$1" 2>/dev/null | sed -n 's/^Number of Bricks: .*= *\([0-9]*\)$/\1/p; s/^Number of Bricks: \([0-9]*\)$/\1/p' | head -n1
}

# pending_heals VOL: prints the sum of entries needing heal over all bricks, or "?" when a brick
# cannot report (down/unreachable): an unknown count is never reported as 0.
pending_heals() {
    local out
    out="$(timeout 60 gluster --mode=script volume heal "$1" info summary 2>/dev/null)" || { echo "?"; return 0; }
    printf '%s\n' "$out" | awk '
        /^Brick / { bricks++ }
        /^Total Number of entries:/ { v = $NF; if (v ~ /^[0-9]+$/) { sum += v; ok++ } else bad++ }
        END { if (bricks == 0 || bad > 0 || ok < bricks) print "?"; else print sum }'
}

# brick_volume_id DIR: the volume id a brick directory carries (trusted.glusterfs.volume-id, hex
# without 0x, as `volume info` prints it minus dashes), or nothing when it has none.
brick_volume_id() {
    local out
    out="$(getfattr --absolute-names -n trusted.glusterfs.volume-id -e hex "$1" 2>/dev/null)" || return 0
    printf '%s\n' "$out" | sed -n 's/^trusted.glusterfs.volume-id=0x//p' | head -n1
}
