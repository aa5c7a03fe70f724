#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Verify a GlusterFS volume is healthy: started, every brick online, self-heal has nothing pending.
# Bounded wait; exits non-zero naming what is wrong. Run on any node of the pool.
#
#   GLUSTER_VOLUME    volume name
#   GLUSTER_BRICKS_EXPECTED  number of bricks that must be online (N)
# optional:
#   GLUSTER_WAIT_S    bound for the wait, default 120
#   GLUSTER_REQUIRE_HEALED   1 (default) = pending heal entries must reach 0 as well
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env GLUSTER_VOLUME GLUSTER_BRICKS_EXPECTED
vol="$GLUSTER_VOLUME"; n="$GLUSTER_BRICKS_EXPECTED"
wait_s="${GLUSTER_WAIT_S:-120}"; healed="${GLUSTER_REQUIRE_HEALED:-1}"
[[ "$n" =~ ^[0-9]+$ ]] || die "GLUSTER_BRICKS_EXPECTED=$n is not a number"
[[ "$wait_s" =~ ^[0-9]+$ ]] || die "GLUSTER_WAIT_S=$wait_s is not a number"

volume_exists "$vol" || die "volume $vol does not exist"
[ "$(volume_field "$vol" Status)" = Started ] || die "volume $vol is not started"

state() {
    local on total heals
    read -r on total <<< "$(bricks_online "$vol")"
    heals="-"
    if [ "$healed" = 1 ]; then heals="$(pending_heals "$vol")"; fi
    printf 'bricks %s/%s online, pending heals %s' "$on" "$total" "$heals"
    [ "$on" = "$n" ] && [ "$total" = "$n" ] || return 1
    [ "$healed" != 1 ] || [ "$heals" = 0 ]
}
deadline=$((SECONDS + wait_s))
until msg="$(state)"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        gl volume status "$vol" >&2 || true
        die "volume $vol not healthy after ${wait_s}s: $msg"
    fi
    sleep 2
done
log "volume $vol healthy: $msg"
