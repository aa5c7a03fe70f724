#!/usr/bin/env bash
# This Galera node's metrics (see ../lib/metrics.sh): `--print` prints them, `--publish` sends them.
#   WsrepClusterSize   wsrep_cluster_size as this node sees it; 0 when mariadbd does not answer
#   WsrepLocalState    wsrep_local_state (4 = Synced); 0 when mariadbd does not answer
#   FlowControlPaused  fraction of the time since the previous read that replication was paused by
#                      flow control, from the cumulative wsrep_flow_control_paused_ns (omitted on
#                      the first read and after a restart reset the counter)
#   DataFreePercent    free space on the file system of the data directory
#   BackupAgeSeconds   seconds since this node's last complete full backup (only on nodes that took one)
# Reads with the health user (/etc/mysql/galera-health.cnf): SHOW STATUS needs no privilege, and
# FLUSH STATUS (which resets wsrep_flow_control_paused for every reader) is never issued.
#   GALERA_METRICS_STATE_DIR  where the previous flow-control sample is kept, default /var/lib/owncloud-ha/metrics
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/metrics.sh
. "$(dirname "$0")/../lib/metrics.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"

CNF=/etc/mysql/galera-health.cnf
STATE_DIR="${GALERA_METRICS_STATE_DIR:-/var/lib/owncloud-ha/metrics}"

metrics_read_galera() {
    local out size state paused datadir now prev_paused prev_now
    out="$(timeout 10 mariadb --defaults-extra-file="$CNF" --connect-timeout=3 -N -B -e \
        "SET SESSION wsrep_sync_wait=0; SELECT
           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_cluster_size'),
           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_local_state'),
           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_flow_control_paused_ns'),
           @@global.datadir" 2>/dev/null)" || out=""
    read -r size state paused datadir <<<"${out:-x x x x}"
    [[ "$size" =~ ^[0-9]+$ ]] || size=0
    [[ "$state" =~ ^[0-9]+$ ]] || state=0
    echo "WsrepClusterSize $size"
    echo "WsrepLocalState $state"
    if [[ "$paused" =~ ^[0-9]+$ ]]; then
        now="$(date +%s%N)"
        install -d -m 700 "$STATE_DIR"
        if read -r prev_paused prev_now 2>/dev/null < "$STATE_DIR/flow-control"; then
            # A smaller counter means mariadbd restarted: this sample only starts a new baseline.
            if [ "$paused" -ge "$prev_paused" ] && [ "$now" -gt "$prev_now" ]; then
                awk -v p="$((paused - prev_paused))" -v t="$((now - prev_now))" \
                    'BEGIN { f = p / t; if (f > 1) f = 1; printf "FlowControlPaused %.4f\n", f }'
            fi
        fi
        printf '%s %s\n' "$paused" "$now" > "$STATE_DIR/flow-control"
    fi
    metrics_free_percent "${datadir:-/var/lib/mysql}" 2>/dev/null | sed 's/^/DataFreePercent /' \
        || metrics_free_percent /var/lib/mysql | sed 's/^/DataFreePercent /' || true
    backup_age_metric galera BackupAgeSeconds
}

metrics_main galera "$@"
