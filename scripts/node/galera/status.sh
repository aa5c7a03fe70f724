#!/usr/bin/env bash
# Print this Galera node's state on one line of key=value pairs (stdout), for the operators'
# `npm run ops -- <stack> status` and `replace-node` checks. Read-only and fast: it never runs
# `mariadbd --wsrep-recover` (report.sh does, for the recovery decision) and never fails because the
# node is unhealthy (exit 0 with what it could learn).
#   running=0|1 cluster_status=Primary|non-Primary|- state=N|- state_comment=Synced|…|-
#   cluster_size=N|- ready=ON|OFF|- health=HTTP-CODE|-
# health is what the health check (health-check.sh, the one HAProxy uses) answers right now.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

running=0; cstatus=-; state=-; comment=-; size=-; ready=-
if mariadb_process_alive; then
    running=1
    v="$(galera_status wsrep_cluster_status)"; cstatus="${v:--}"
    v="$(galera_status wsrep_local_state)"; state="${v:--}"
    v="$(galera_status wsrep_local_state_comment)"; comment="${v:--}"
    v="$(galera_status wsrep_cluster_size)"; size="${v:--}"
    v="$(galera_status wsrep_ready)"; ready="${v:--}"
fi
health=""
if (galera_ports GALERA_HEALTH_PORT) 2>/dev/null; then
    galera_ports GALERA_HEALTH_PORT
    health="$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 socat - TCP:127.0.0.1:"$GALERA_HEALTH_PORT" 2>/dev/null | head -n1 | awk '{print $2}')" || true
fi
printf 'running=%s cluster_status=%s state=%s state_comment=%s cluster_size=%s ready=%s health=%s\n' \
    "$running" "$cstatus" "$state" "${comment// /_}" "$size" "$ready" "${health:--}"
