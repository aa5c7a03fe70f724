#!/usr/bin/env bash
# Stop this node's mariadbd (a clean shutdown: Galera saves its state in grastate.dat). Used by the
# recovery procedure (scripts/ops/galera-recovery.ts) when pc.recovery did not form a Primary
# Component: every node is stopped before the decision procedure runs again without it.
# Idempotent: a stopped node stays stopped. Bounded: GALERA_STOP_TIMEOUT seconds (default 300).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

TIMEOUT="${GALERA_STOP_TIMEOUT:-300}"
if ! mariadb_process_alive; then
    log "mariadbd is not running"
    exit 0
fi
svc stop mariadb || warn "stopping mariadb returned an error; checking whether it is gone"
# mariadb_process_alive, not pgrep: it looks at this node's own mariadbd (its PID file and unit).
mariadb_stopped() { ! mariadb_process_alive; }
wait_for "mariadbd stopped" "$TIMEOUT" mariadb_stopped \
    || die "mariadbd still runs ${TIMEOUT}s after the stop request: look at the MariaDB error log"
log "mariadbd stopped"
