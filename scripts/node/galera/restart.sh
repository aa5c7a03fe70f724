#!/usr/bin/env bash
# Rolling-restart step for ONE node (e.g. to apply a changed configuration): graceful stop, start as
# a joiner, wait until Synced AND its health endpoint answers 200 (bounded retry: the answer lags the
# Synced state for a moment after a start), so the next node stops only once this one serves again.
# The plan runs it on one node at a time, the active writer last.
# Refuses when this node is the only member of the Primary Component (that would be a full stop).
#
# Environment: GALERA_PEERS (comma-separated addresses of the other nodes), GALERA_SYNC_TIMEOUT (seconds to wait for Synced),
#              GALERA_HEALTH_TIMEOUT (optional, seconds for the health answer after Synced, default 60)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_PEERS GALERA_SYNC_TIMEOUT
if svc status mariadb; then
    galera_is_synced_primary || die "this node is not Synced in a Primary component: fix that before a rolling restart"
    size="$(galera_status wsrep_cluster_size)"
    [ "${size:-0}" -ge 2 ] || die "this node is the only member of the cluster (size ${size:-?}): a restart would stop the cluster"
    log "graceful stop (cluster size $size)"
    svc stop mariadb
fi
env GALERA_MODE=join bash "$(dirname "$0")/start.sh" || die "start.sh failed (its messages above say why): the node is not back"
galera_is_synced_primary || die "start.sh returned but the node is not Synced in a Primary component (state=$(galera_status wsrep_local_state_comment) status=$(galera_status wsrep_cluster_status))"
galera_wait_health "${GALERA_HEALTH_TIMEOUT:-60}"
log "restarted: Synced in a cluster of $(galera_status wsrep_cluster_size), health 200"
