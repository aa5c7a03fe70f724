#!/usr/bin/env bash
# Verify this node: cluster size == GALERA_EXPECTED_SIZE, Primary, Synced, ready, health 200.
# The plan runs it on every node after the last join.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_EXPECTED_SIZE
galera_ports GALERA_HEALTH_PORT
deadline=$((SECONDS + ${GALERA_VERIFY_TIMEOUT:-60}))
while :; do
    size="$(galera_status wsrep_cluster_size)"
    state="$(galera_status wsrep_local_state_comment)"
    status="$(galera_status wsrep_cluster_status)"
    ready="$(galera_status wsrep_ready)"
    if [ "$size" = "$GALERA_EXPECTED_SIZE" ] && [ "$state" = Synced ] && [ "$status" = Primary ] && [ "$ready" = ON ]; then
        break
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "cluster not healthy: size=${size:-?}/${GALERA_EXPECTED_SIZE} state=${state:-?} status=${status:-?} ready=${ready:-?}"
    sleep 1
done
# Bounded retry: one probe right after a (re)start can see the socket not yet listening or the first
# heartbeat not yet committed (that once failed a rolling restart with "answered nothing").
galera_wait_health "${GALERA_HEALTH_TIMEOUT:-30}"
log "OK: size=$size state=$state status=$status health=200"
