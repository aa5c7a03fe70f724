#!/usr/bin/env bash
# Galera start decision procedure. Pure: reads one report.sh line per node on stdin, prints ONE
# decision line on stdout and never touches a node. The caller (the lab, or an operator) acts on it:
#   join NODE                 NODE runs in a Primary Component: start every stopped node normally,
#                             ONE AT A TIME, each waiting for Synced (start.sh GALERA_MODE=join)
#   bootstrap NODE fresh      no node has cluster state: bootstrap the designated node
#   pc-recovery               every node crashed with a saved view (gvwstate.dat): start all nodes
#                             normally at once and let pc.recovery re-form the Primary Component
#   bootstrap-force NODE WHY  full stop/crash: bootstrap NODE (safe_to_bootstrap: 1, else highest
#                             seqno of the common cluster UUID), then join the others one at a time
#   wait WHY                  nodes run but have no Primary yet (pc.recovery in progress)
#   refuse WHY                no safe automatic choice (exit 3)
# Environment: GALERA_NODES (all node names, comma-separated, in plan order), GALERA_DESIGNATED,
#   GALERA_TRY_PC_RECOVERY (default 1; 0 after a pc-recovery attempt failed).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env GALERA_NODES GALERA_DESIGNATED
IFS=',' read -r -a NODES <<<"$GALERA_NODES"
declare -A RUN STATUS UUID SEQ SAFE REC GVW
while IFS= read -r line || [ -n "$line" ]; do
    [ -z "$line" ] && continue
    declare -A kv=()
    for pair in $line; do kv["${pair%%=*}"]="${pair#*=}"; done
    n="${kv[node]:-}"
    [ -n "$n" ] || continue
    RUN[$n]="${kv[running]:-0}"; STATUS[$n]="${kv[status]:--}"; UUID[$n]="${kv[uuid]:--}"
    SEQ[$n]="${kv[seqno]:--1}"; SAFE[$n]="${kv[safe]:--}"; REC[$n]="${kv[recovered]:--1}"
    GVW[$n]="${kv[gvwstate]:-0}"
    unset kv
done

refuse() { printf 'refuse %s\n' "$*"; exit 3; }
ZERO=00000000-0000-0000-0000-000000000000

# 1. A Primary Component exists: never bootstrap, join it.
for n in "${NODES[@]}"; do
    if [ "${RUN[$n]:-0}" = 1 ] && [ "${STATUS[$n]:-}" = Primary ]; then printf 'join %s\n' "$n"; exit 0; fi
done
# 2. Every node must have reported.
for n in "${NODES[@]}"; do
    [ -n "${RUN[$n]:-}" ] || refuse "no report from $n: every node must report before a bootstrap decision"
done
# 3. Some node runs without a Primary Component.
running=(); for n in "${NODES[@]}"; do [ "${RUN[$n]}" = 1 ] && running+=("$n"); done
if [ "${#running[@]}" -gt 0 ]; then
    if [ "${#running[@]}" -eq "${#NODES[@]}" ]; then printf 'wait all nodes run without a Primary Component yet (pc.recovery may still form it)\n'; exit 0; fi
    refuse "node(s) ${running[*]} run without a Primary Component: never bootstrap while a node runs; stop them, then decide again"
fi
# 4. Fresh cluster.
uuids=()
for n in "${NODES[@]}"; do
    u="${UUID[$n]}"
    if [ "$u" != - ] && [ "$u" != "$ZERO" ]; then
        case " ${uuids[*]} " in *" $u "*) ;; *) uuids+=("$u") ;; esac
    fi
done
if [ "${#uuids[@]}" -eq 0 ]; then printf 'bootstrap %s fresh\n' "$GALERA_DESIGNATED"; exit 0; fi
[ "${#uuids[@]}" -eq 1 ] || refuse "nodes disagree on the cluster UUID (${uuids[*]}): a human must choose"
# 5. Full crash with saved views everywhere: let pc.recovery try first.
if [ "${GALERA_TRY_PC_RECOVERY:-1}" = 1 ]; then
    all=1; for n in "${NODES[@]}"; do [ "${GVW[$n]}" = 1 ] || all=0; done
    if [ "$all" = 1 ]; then printf 'pc-recovery\n'; exit 0; fi
fi
# 6. safe_to_bootstrap: 1 (the last node to leave cleanly).
for n in "${NODES[@]}"; do
    if [ "${SAFE[$n]}" = 1 ] && [ "${UUID[$n]}" = "${uuids[0]}" ]; then printf 'bootstrap-force %s safe_to_bootstrap\n' "$n"; exit 0; fi
done
# 7. Highest seqno (grastate, else recovered) of that cluster UUID; ties: designated, else plan order.
best=""; bestseq=-1
for n in "${NODES[@]}"; do
    [ "${UUID[$n]}" = "${uuids[0]}" ] || continue
    s="${SEQ[$n]}"; [ "$s" = -1 ] && s="${REC[$n]}"
    [[ "$s" =~ ^-?[0-9]+$ ]] || continue
    if [ "$s" -gt "$bestseq" ] || { [ "$s" -eq "$bestseq" ] && [ "$n" = "$GALERA_DESIGNATED" ]; }; then best="$n"; bestseq="$s"; fi
done
if [ -z "$best" ] || [ "$bestseq" -lt 0 ]; then refuse "no node has a known position (seqno) for cluster ${uuids[0]}"; fi
printf 'bootstrap-force %s highest-seqno=%s\n' "$best" "$bestseq"
