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
code="$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 socat - TCP:127.0.0.1:"$GALERA_HEALTH_PORT" 2>/dev/null | head -n1 | awk '{print $2}')" || true
[ "$code" = 200 ] || die "health endpoint on $GALERA_HEALTH_PORT answered '${code:-nothing}', expected 200"
log "OK: size=$size state=$state status=$status health=200"
