#!/usr/bin/env bash
# Galera start decision procedure. Pure: reads one report.sh line per node on stdin, prints ONE
# decision line on stdout and never touches a node. The caller (the lab, or an operator) acts on it:
#   join NODE                 NODE runs in a Primary Component of the recorded cluster: start every
#                             stopped node normally, ONE AT A TIME, each waiting for Synced
#   bootstrap NODE fresh      no node has ever held data of a cluster: bootstrap the designated node
#   pc-recovery               every node crashed with a saved view (gvwstate.dat): start all nodes
#                             normally at once and let pc.recovery re-form the Primary Component
#   bootstrap-force NODE WHY  full stop/crash: bootstrap NODE (safe_to_bootstrap: 1, else highest
#                             committed seqno of the cluster), then join the others one at a time
#   wait WHY                  every node runs but there is no Primary yet (pc.recovery in progress)
#   refuse WHY                no choice is provably safe (exit 3): WHY says what to do
#
# The rule that never changes: a node that might be ahead is never overruled. A bootstrap happens
# only when EVERY node reported a known committed position (seqno >= 0) or is provably empty; a
# failed or timed-out --wsrep-recover, an unmounted datadir or a missing report is "unknown" and
# stops the decision. Same rules as the peers: Pacemaker's galera agent (waits for every node,
# distrusts safe_to_bootstrap without a seqno or with the zero UUID, ignores an empty
# gvwstate.dat, avoids nodes that need SST) and mariadb-operator (parses uuid:seqno,gtid).
#
# Environment: GALERA_NODES (all node names, comma-separated, in plan order), GALERA_DESIGNATED,
#   GALERA_TRY_PC_RECOVERY (default 1; 0 after a pc-recovery attempt failed).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env GALERA_NODES GALERA_DESIGNATED
IFS=',' read -r -a NODES <<<"$GALERA_NODES"
declare -A RUN STATUS UUID SEQ SAFE REC GVW DATADIR RECOVER SST CLUSTER
REQUIRED=(running status uuid seqno safe recovered gvwstate datadir recover sst cluster)
refuse() { printf 'refuse %s\n' "$*"; exit 3; }

while IFS= read -r line || [ -n "$line" ]; do
    [ -z "$line" ] && continue
    declare -A kv=()
    for pair in $line; do kv["${pair%%=*}"]="${pair#*=}"; done
    n="${kv[node]:-}"
    [ -n "$n" ] || continue
    for k in "${REQUIRED[@]}"; do
        [ -n "${kv[$k]:-}" ] || refuse "the report of $n has no '$k' field: run the same version of galera/report.sh on every node"
    done
    RUN[$n]="${kv[running]}"; STATUS[$n]="${kv[status]}"; UUID[$n]="${kv[uuid]}"
    SEQ[$n]="${kv[seqno]}"; SAFE[$n]="${kv[safe]}"; REC[$n]="${kv[recovered]}"
    GVW[$n]="${kv[gvwstate]}"; DATADIR[$n]="${kv[datadir]}"; RECOVER[$n]="${kv[recover]}"
    SST[$n]="${kv[sst]}"; CLUSTER[$n]="${kv[cluster]}"
    unset kv
done

ZERO=00000000-0000-0000-0000-000000000000
is_uuid() { [[ "$1" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] && [ "$1" != "$ZERO" ]; }
add_unique() { local -n arr="$1"; case " ${arr[*]} " in *" $2 "*) ;; *) arr+=("$2") ;; esac; }

# 0. The cluster UUID the nodes recorded while Synced (from every report received so far).
recorded=()
for n in "${!CLUSTER[@]}"; do is_uuid "${CLUSTER[$n]}" && add_unique recorded "${CLUSTER[$n]}"; done
[ "${#recorded[@]}" -le 1 ] || refuse "nodes recorded different cluster UUIDs (${recorded[*]}): a node once joined another cluster; a human must choose which data is real"

# 1. A Primary Component exists: never bootstrap; join it — if it is the recorded cluster.
for n in "${NODES[@]}"; do
    if [ "${RUN[$n]:-0}" = 1 ] && [ "${STATUS[$n]:-}" = Primary ]; then
        if [ "${#recorded[@]}" -eq 1 ] && [ "${UUID[$n]}" != "${recorded[0]}" ]; then
            refuse "$n runs a Primary Component of cluster ${UUID[$n]}, but the nodes recorded cluster ${recorded[0]}: a node started a new cluster; stop $n (its data is not the cluster's), then decide again"
        fi
        printf 'join %s\n' "$n"; exit 0
    fi
done
# 2. Every node must have reported.
for n in "${NODES[@]}"; do
    [ -n "${RUN[$n]:-}" ] || refuse "no report from $n: every node must report before a bootstrap decision (an unreachable node may be the one that is ahead)"
done
# 3. Some node runs (in any state) without a Primary Component.
running=(); for n in "${NODES[@]}"; do [ "${RUN[$n]}" = 1 ] && running+=("$n"); done
if [ "${#running[@]}" -gt 0 ]; then
    if [ "${#running[@]}" -eq "${#NODES[@]}" ]; then printf 'wait all nodes run without a Primary Component yet (pc.recovery may still form it)\n'; exit 0; fi
    refuse "node(s) ${running[*]} run without a Primary Component (possibly in SST or waiting for a Primary): never bootstrap while a node runs; wait for them or stop them, then decide again"
fi
# 4. Every position must be known: an unmounted datadir or a failed recovery is "unknown", never "absent".
for n in "${NODES[@]}"; do
    case "${DATADIR[$n]}" in
        unmounted) refuse "$n: its data volume is not mounted, so its position is unknown: mount it (check /etc/fstab and the EBS attachment), then report again" ;;
        empty|data) ;;
        *) refuse "$n: unknown datadir state '${DATADIR[$n]}'" ;;
    esac
    if [ "${DATADIR[$n]}" = data ] && [ "${RECOVER[$n]}" = failed ]; then
        refuse "$n: mariadbd --wsrep-recover failed or timed out, so its committed position is unknown: read its log, fix the cause, then report again"
    fi
done
# 5. Fresh cluster: no node holds data and none recorded a cluster. A recorded UUID with every
#    datadir empty means the data is gone, not that the cluster is new.
with_data=(); for n in "${NODES[@]}"; do [ "${DATADIR[$n]}" = data ] && with_data+=("$n"); done
if [ "${#with_data[@]}" -eq 0 ]; then
    [ "${#recorded[@]}" -eq 0 ] || refuse "every datadir is empty but the nodes recorded cluster ${recorded[0]}: the data is missing (wrong volumes attached?); restore from backup rather than start an empty cluster"
    printf 'bootstrap %s fresh\n' "$GALERA_DESIGNATED"; exit 0
fi
# 6. One cluster: the UUIDs of the nodes that hold data (and the recorded one) must agree.
uuids=(); for n in "${with_data[@]}"; do is_uuid "${UUID[$n]}" && add_unique uuids "${UUID[$n]}"; done
[ "${#recorded[@]}" -eq 0 ] || add_unique uuids "${recorded[0]}"
[ "${#uuids[@]}" -le 1 ] || refuse "nodes disagree on the cluster UUID (${uuids[*]}): a human must choose"
[ "${#uuids[@]}" -eq 1 ] || refuse "no node that holds data knows its cluster UUID: a human must choose"
cluster="${uuids[0]}"
# 7. Full crash with saved views everywhere: let pc.recovery try first.
if [ "${GALERA_TRY_PC_RECOVERY:-1}" = 1 ]; then
    all=1; for n in "${NODES[@]}"; do [ "${GVW[$n]}" = 1 ] || all=0; done
    if [ "$all" = 1 ]; then printf 'pc-recovery\n'; exit 0; fi
fi
# 8. Positions. A node that holds data must have a known committed position of this cluster.
declare -A POS
for n in "${with_data[@]}"; do
    s="${SEQ[$n]}"; [ "$s" = -1 ] && s="${REC[$n]}"
    [[ "$s" =~ ^[0-9]+$ ]] || refuse "$n holds data but reported no committed position (seqno ${SEQ[$n]}, recovered ${REC[$n]}): report again after fixing it; never bootstrap past a node that may be ahead"
    if is_uuid "${UUID[$n]}" && [ "${UUID[$n]}" != "$cluster" ]; then
        refuse "$n holds data of cluster ${UUID[$n]}, not $cluster: a human must choose"
    fi
    POS[$n]="$s"
done
# 9. safe_to_bootstrap: 1 (the last node to leave cleanly) — trusted only with a real position and
#    UUID, on a node that does not need SST, and only when no other node is ahead of it.
max=-1; for n in "${with_data[@]}"; do [ "${POS[$n]}" -gt "$max" ] && max="${POS[$n]}"; done
for n in "${with_data[@]}"; do
    if [ "${SAFE[$n]}" = 1 ] && [ "${SEQ[$n]}" != -1 ] && [ "${UUID[$n]}" = "$cluster" ] && [ "${SST[$n]}" = 0 ] && [ "${POS[$n]}" -ge "$max" ]; then
        printf 'bootstrap-force %s safe_to_bootstrap\n' "$n"; exit 0
    fi
done
# 10. Highest committed seqno among nodes that do not need SST; ties: designated, else plan order.
best=""; bestseq=-1
for n in "${NODES[@]}"; do
    if ! { [ "${DATADIR[$n]}" = data ] && [ "${SST[$n]}" = 0 ]; }; then continue; fi
    s="${POS[$n]}"
    if [ "$s" -gt "$bestseq" ] || { [ "$s" -eq "$bestseq" ] && [ "$n" = "$GALERA_DESIGNATED" ]; }; then best="$n"; bestseq="$s"; fi
done
[ -n "$best" ] || refuse "every node that holds data needs SST (Galera marked its state unusable): no node can serve as the source; restore from backup or let a human choose"
# A node Galera marked for SST may still hold commits the others lack: never overrule it silently.
for n in "${with_data[@]}"; do
    if [ "${SST[$n]}" = 1 ] && [ "${POS[$n]}" -gt "$bestseq" ]; then
        refuse "$n is marked for SST by Galera but its InnoDB position ${POS[$n]} is ahead of the best clean node $best ($bestseq): a human must decide whether $n's commits are real"
    fi
done
printf 'bootstrap-force %s highest-seqno=%s\n' "$best" "$bestseq"
