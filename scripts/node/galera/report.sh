#!/usr/bin/env bash
# Report this node's Galera state on one line of key=value pairs (stdout), for decide.sh:
#   node=NAME running=0|1 status=Primary|non-Primary|- state=N|- uuid=UUID|- seqno=N safe=0|1|-
#   recovered=N|- gvwstate=0|1 datadir=empty|data|unmounted recover=none|ok|failed sst=0|1
#   cluster=UUID|-
#
# What each field means (and why it is reported this way):
# - running: 1 when mariadbd exists in ANY state (active, activating during SST or while waiting for
#   a Primary Component, deactivating), not only when it answers SQL. A node in SST is not "down".
# - uuid/seqno/safe: grastate.dat as Galera wrote it; the running cluster's state UUID when running.
# - recovered: the committed position recovered from InnoDB (`mariadbd --wsrep-recover`) when
#   grastate.dat has no seqno (crash); '-' when it could not be recovered (recover=failed).
#   MariaDB prints the position as `uuid:seqno` or `uuid:seqno,gtid`: both parse.
# - gvwstate: 1 only for a NON-EMPTY gvwstate.dat (an empty one cannot re-form a Primary Component).
# - datadir: 'unmounted' when /etc/fstab declares a volume for the datadir that is not mounted (the
#   daemon would see the root filesystem, not the node's data); 'empty' when it holds no database;
#   'data' otherwise.
# - sst: 1 when Galera marked this node's state as unusable (grastate.dat with the zero UUID in a
#   datadir that holds data: SavedState::mark_corrupt/mark_unsafe in galera), or grastate.dat is
#   missing beside data: the node must get a full SST and never be a bootstrap source.
# - cluster: the cluster UUID this node recorded on its data volume after it was last Synced
#   (start.sh); survives crashes and tells a replaced (empty) node's peers which cluster is the real one.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_NODE_NAME
ZERO=00000000-0000-0000-0000-000000000000
DATADIR="${GALERA_DATADIR:-/var/lib/mysql}"

running=0; status=-; state=-
if mariadb_process_alive; then
    running=1
    status="$(galera_status wsrep_cluster_status)"; status="${status:--}"
    state="$(galera_status wsrep_local_state)"; state="${state:--}"
fi

datadir=data
if fstab_declares "$DATADIR" && ! mountpoint -q "$DATADIR"; then
    datadir=unmounted
elif datadir_is_empty "$DATADIR"; then
    datadir=empty
fi

uuid=-; seqno=-1; safe=-; sst=0; recovered=-; recover=none; gvw=0; cluster=-
if [ "$datadir" != unmounted ]; then
    cluster="$(recorded_cluster_uuid "$DATADIR")"; cluster="${cluster:--}"
    uuid="$(grastate_field uuid)"; uuid="${uuid:--}"
    seqno="$(grastate_field seqno)"; seqno="${seqno:--1}"
    safe="$(grastate_field safe_to_bootstrap)"; safe="${safe:--}"
    [ -s "$DATADIR/gvwstate.dat" ] && gvw=1
    if [ "$datadir" = data ] && { [ ! -f "$DATADIR/grastate.dat" ] || [ "$uuid" = "$ZERO" ]; }; then sst=1; fi
    if [ "$running" = 1 ]; then
        live="$(galera_status wsrep_cluster_state_uuid)"
        if [ -n "$live" ]; then uuid="$live"; fi
    fi
    recovered="$seqno"
    if [ "$running" = 0 ] && [ "$datadir" = data ] && [ "$seqno" = -1 ]; then
        recover=failed; recovered=-
        logf="$(mktemp /tmp/wsrep-recover.XXXXXX)"
        chown mysql "$logf" 2>/dev/null || true
        # Bounded: a recovery that hangs (e.g. a frozen volume) is "unknown", never "absent".
        if timeout "${GALERA_RECOVER_TIMEOUT:-120}" "${GALERA_MARIADBD:-/usr/sbin/mariadbd}" --user=mysql --datadir="$DATADIR" \
            --wsrep-recover --log-error="$logf" >/dev/null 2>&1; then
            pos="$(sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$logf" | tail -n1)"
            if parsed="$(parse_recovered_position "$pos")"; then
                recover=ok
                recovered="${parsed#* }"
                # Keep Galera's marker: a zero UUID in grastate.dat stays visible as sst=1; the
                # recovered UUID is only used to tell which cluster the InnoDB position belongs to.
                if [ "$uuid" = - ] || [ "$uuid" = "$ZERO" ]; then uuid="${parsed%% *}"; fi
            else
                warn "mariadbd --wsrep-recover printed no usable position ('${pos}'); see $logf"
            fi
        else
            warn "mariadbd --wsrep-recover failed or timed out; see $logf"
        fi
        if [ "$recover" = ok ]; then rm -f "$logf"; fi
    fi
fi
printf 'node=%s running=%s status=%s state=%s uuid=%s seqno=%s safe=%s recovered=%s gvwstate=%s datadir=%s recover=%s sst=%s cluster=%s\n' \
    "$GALERA_NODE_NAME" "$running" "$status" "$state" "$uuid" "$seqno" "$safe" "$recovered" "$gvw" "$datadir" "$recover" "$sst" "$cluster"
