#!/usr/bin/env bash
# Start this Galera node, as the cluster bootstrap node or as a joiner, and wait until it is Synced.
# Idempotent: a running node is left running (only waited for).
#
# Environment:
#   GALERA_MODE          bootstrap | join
#   GALERA_PEERS         comma-separated addresses of the OTHER nodes
#   GALERA_SYNC_TIMEOUT  seconds to wait for Synced (SST can be slow); every plan passes the
#                        component's syncTimeoutSeconds, so the node keeps no second default
#   GALERA_FORCE_BOOTSTRAP  optional, 1 = this node was chosen by the decision procedure
#                        (decide.sh) after a full-cluster stop: mark it safe_to_bootstrap.
#
#   GALERA_PEER_WAIT     optional, seconds to wait for every peer to answer definitively before a
#                        bootstrap (default 120)
#
# Safety: bootstrap (--wsrep-new-cluster) happens only when every peer PROVABLY runs no Galera node
# (its host answers with a TCP reset on 4567). A peer that accepts is a running cluster, which is
# joined instead (that is how a replaced bootstrap node comes back: its bootstrap step runs again and
# joins); a peer that does not answer at all (slow, rebooting, partitioned) is unknown, and unknown
# never becomes a new cluster: the script waits (bounded), then refuses. After the decision procedure
# picked this node (GALERA_FORCE_BOOTSTRAP=1), a running peer means the picture changed and it
# refuses. Bootstrap is also refused on a node with existing cluster state that is not
# safe_to_bootstrap unless GALERA_FORCE_BOOTSTRAP=1. Never uses galera_new_cluster.
# Once Synced, the node records the cluster UUID on its data volume (report.sh/decide.sh use it).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_MODE GALERA_PEERS GALERA_SYNC_TIMEOUT
TIMEOUT="$GALERA_SYNC_TIMEOUT"

start_health() {
    local u
    # the evaluation first: the answers read its verdict
    svc enable galera-health-eval.service
    svc start galera-health-eval.service
    for u in galera-health galera-health-donor galera-health-writer; do
        svc enable "$u.socket"
        svc start "$u.socket"
    done
}

wait_synced() {
    wait_for "node Synced in a Primary component" "$TIMEOUT" galera_is_synced_primary \
        || die "node did not reach Synced/Primary within ${TIMEOUT}s (state=$(galera_status wsrep_local_state_comment) status=$(galera_status wsrep_cluster_status))"
    log "node is Synced (cluster size $(galera_status wsrep_cluster_size))"
    record_cluster_uuid
}

# peers_verdict PEER… : 'accept ADDR' as soon as one peer runs Galera, 'refused' when every peer
# provably runs none, 'unknown ADDR…' when some never answered within GALERA_PEER_WAIT seconds.
peers_verdict() {
    local deadline=$((SECONDS + ${GALERA_PEER_WAIT:-120})) p r pending
    while :; do
        pending=()
        for p in "$@"; do
            [ -z "$p" ] && continue
            r="$(peer_probe "$p" 2)"
            if [ "$r" = accept ]; then echo "accept $p"; return 0; fi
            [ "$r" = refused ] || pending+=("$p")
        done
        if [ "${#pending[@]}" -eq 0 ]; then echo refused; return 0; fi
        if [ "$SECONDS" -ge "$deadline" ]; then echo "unknown ${pending[*]}"; return 0; fi
        sleep 2
    done
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
        verdict="$(peers_verdict "${peers[@]}")"
        case "$verdict" in
            unknown*) die "refusing to start a new cluster: peer(s) ${verdict#unknown } did not answer on their Galera port within ${GALERA_PEER_WAIT:-120}s, so a running cluster cannot be ruled out; make them reachable (or run the recovery procedure: galera/report.sh on every node, then galera/decide.sh), then re-run" ;;
        esac
        running=""
        case "$verdict" in accept*) running="${verdict#accept }" ;; esac
        if [ -n "$running" ]; then
            if [ "${GALERA_FORCE_BOOTSTRAP:-0}" = 1 ]; then
                die "refusing --wsrep-new-cluster: peer $running runs a Galera node (port $GALERA_REPLICATION_PORT open) although the decision procedure expected every node down; run it again"
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
