#!/usr/bin/env bash
# Report this node's Galera state on one line of key=value pairs (stdout), for decide.sh:
#   node= running=0|1 status=Primary|non-Primary|- state=N uuid= seqno= safe=0|1|- recovered=N gvwstate=0|1
# When mariadb is stopped and grastate.dat has seqno -1 (crash), the position is recovered from
# InnoDB with `mariadbd --wsrep-recover` (read-only for the cluster; takes a few seconds).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_NODE_NAME
running=0; status=-; state=-
if svc status mariadb; then
    running=1
    status="$(galera_status wsrep_cluster_status)"; status="${status:--}"
    state="$(galera_status wsrep_local_state)"; state="${state:--}"
fi
uuid="$(grastate_field uuid)"; uuid="${uuid:--}"
seqno="$(grastate_field seqno)"; seqno="${seqno:--1}"
safe="$(grastate_field safe_to_bootstrap)"; safe="${safe:--}"
gvw=0; [ -f /var/lib/mysql/gvwstate.dat ] && gvw=1
recovered="$seqno"
if [ "$running" = 0 ] && [ "$seqno" = -1 ] && [ -d /var/lib/mysql/mysql ]; then
    logf="$(mktemp /tmp/wsrep-recover.XXXXXX)"
    chown mysql "$logf"
    if timeout 120 /usr/sbin/mariadbd --user=mysql --wsrep-recover --log-error="$logf" >/dev/null 2>&1; then
        pos="$(sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$logf" | tail -n1)"
        if [ -n "$pos" ]; then
            recovered="${pos##*:}"
            [ "$uuid" = - ] || [ "$uuid" = "00000000-0000-0000-0000-000000000000" ] && uuid="${pos%:*}"
        fi
    else
        warn "mariadbd --wsrep-recover failed; see $logf"
    fi
    rm -f "$logf"
fi
printf 'node=%s running=%s status=%s state=%s uuid=%s seqno=%s safe=%s recovered=%s gvwstate=%s\n' \
    "$GALERA_NODE_NAME" "$running" "$status" "$state" "$uuid" "$seqno" "$safe" "$recovered" "$gvw"
