#!/usr/bin/env bash
# Start this Galera node, as the cluster bootstrap node or as a joiner, and wait until it is Synced.
# Idempotent: a running node is left running (only waited for).
#
# Environment:
#   GALERA_MODE          bootstrap | join
#   GALERA_PEERS         comma-separated addresses of the OTHER nodes
#   GALERA_SYNC_TIMEOUT  optional, seconds to wait for Synced (default 600; SST can be slow)
#   GALERA_FORCE_BOOTSTRAP  optional, 1 = this node was chosen by the decision procedure
#                        (decide.sh) after a full-cluster stop: mark it safe_to_bootstrap.
#
# Safety: bootstrap (--wsrep-new-cluster) never happens while any peer accepts connections on its
# Galera port 4567: a running cluster is joined instead (that is how a replaced bootstrap node comes
# back: its bootstrap step runs again and joins), except after the decision procedure picked this
# node (GALERA_FORCE_BOOTSTRAP=1), where a running peer means the picture changed and it refuses.
# Bootstrap is also refused on a node with existing cluster state that is not safe_to_bootstrap
# unless GALERA_FORCE_BOOTSTRAP=1. Never uses galera_new_cluster.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_MODE GALERA_PEERS
TIMEOUT="${GALERA_SYNC_TIMEOUT:-600}"

start_health() {
    svc enable galera-health.socket
    svc start galera-health.socket
}

wait_synced() {
    wait_for "node Synced in a Primary component" "$TIMEOUT" galera_is_synced_primary \
        || die "node did not reach Synced/Primary within ${TIMEOUT}s (state=$(galera_status wsrep_local_state_comment) status=$(galera_status wsrep_cluster_status))"
    log "node is Synced (cluster size $(galera_status wsrep_cluster_size))"
}

if svc status mariadb; then
    log "mariadb already running; waiting for Synced"
    wait_synced
    start_health
    exit 0
fi

case "$GALERA_MODE" in
    bootstrap)
        IFS=',' read -r -a peers <<<"$GALERA_PEERS"
        running=""
        for p in "${peers[@]}"; do
            [ -z "$p" ] && continue
            if peer_listening "$p"; then running="$p"; break; fi
        done
        if [ -n "$running" ]; then
            if [ "${GALERA_FORCE_BOOTSTRAP:-0}" = 1 ]; then
                die "refusing --wsrep-new-cluster: peer $running runs a Galera node (port 4567 open) although the decision procedure expected every node down; run it again"
            fi
            log "peer $running runs a Galera node: joining the running cluster instead of bootstrapping a new one"
            svc start mariadb
            wait_synced
            start_health
            exit 0
        fi
        uuid="$(grastate_field uuid)"
        safe="$(grastate_field safe_to_bootstrap)"
        if [ -n "$uuid" ] && [ "$uuid" != "00000000-0000-0000-0000-000000000000" ] && [ "$safe" != 1 ]; then
            if [ "${GALERA_FORCE_BOOTSTRAP:-0}" = 1 ]; then
                log "decision procedure chose this node (cluster $uuid): setting safe_to_bootstrap: 1"
                sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' /var/lib/mysql/grastate.dat
            else
                die "refusing to bootstrap: existing cluster state $uuid with safe_to_bootstrap: 0 — run the decision procedure (galera/decide.sh) and pass GALERA_FORCE_BOOTSTRAP=1 only to the node it picks"
            fi
        fi
        log "bootstrapping a new Primary Component on this node"
        svc start mariadb --wsrep-new-cluster ;;
    join)
        log "starting mariadb to join the cluster"
        svc start mariadb ;;
    *) die "GALERA_MODE must be bootstrap or join (got '$GALERA_MODE')" ;;
esac
wait_synced
start_health
