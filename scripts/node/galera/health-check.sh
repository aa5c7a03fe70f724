#!/usr/bin/env bash
# Galera health endpoint (port 9200), one HTTP exchange on stdin/stdout (systemd socket unit with
# Accept=yes in the cloud, socat fork in the lab). 200 only when the node is Synced
# (wsrep_local_state=4), wsrep_ready=ON, writable (read_only=OFF), has space on its data volume and
# can commit (a heartbeat row); 503 otherwise.
# Credentials: /etc/mysql/galera-health.cnf (mode 600, written by configure.sh).
set -uo pipefail
CNF=/etc/mysql/galera-health.cnf
STATE_DIR="${GALERA_HEALTH_STATE_DIR:-/run/galera-health}"
# Below this much free space on the data volume the node stops taking writes (503), so the writer
# role moves before MariaDB fails commits on a full disk.
MIN_FREE_MB="${GALERA_HEALTH_MIN_FREE_MB:-1024}"
# Another check is writing the heartbeat: how old its last success may be before this one says 503.
MAX_COMMIT_AGE_S=3

# Consume the request line and headers (bounded), so the client sees a clean response.
for _ in $(seq 1 50); do
    IFS= read -r -t 1 line || break
    line="${line%$'\r'}"
    [ -z "$line" ] && break
done

reply() {
    local code="$1" text="$2" body="$3"
    printf 'HTTP/1.1 %s %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %s\r\n\r\n%s' \
        "$code" "$text" "$((${#body} + 1))" "$body"
    printf '\n'
}

fail() { reply 503 "Service Unavailable" "Galera node not ready: $*"; exit 0; }

out="$(timeout 3 mariadb --defaults-extra-file="$CNF" --connect-timeout=2 -N -B -e \
    "SET SESSION wsrep_sync_wait=0; SELECT
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_local_state'),
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_ready'),
       @@global.read_only, @@global.datadir" 2>/dev/null)" || out=""
read -r state ready ro datadir <<<"${out:-x x x x}"
if ! { [ "$state" = 4 ] && [ "$ready" = ON ] && [ "$ro" = 0 ]; }; then
    fail "local_state=${state} ready=${ready} read_only=${ro}"
fi

# Gray failures a status query cannot see:
# 1. A full (or nearly full) data volume: writes will fail or hang while the node still says Synced.
avail_mb="$(df -Pm "$datadir" 2>/dev/null | awk 'NR == 2 {print $4}')"
if ! { [ -n "$avail_mb" ] && [ "$avail_mb" -ge "$MIN_FREE_MB" ]; }; then
    fail "data volume has ${avail_mb:-?} MiB free (< ${MIN_FREE_MB} MiB)"
fi

# 2. A node that cannot commit (frozen disk, stuck locks, flow control that never ends): write this
#    node's heartbeat row with 1 s lock timeouts, at most once a second however many load balancers
#    ask (a flock picks one writer, the others judge by its last success).
install -d -m 700 "$STATE_DIR"
now="$(date +%s)"
last="$(stat -c %Y "$STATE_DIR/committed" 2>/dev/null || echo 0)"
if [ "$((now - last))" -ge 1 ]; then
    exec 7>"$STATE_DIR/lock"
    if flock -n 7; then
        hb_err="$(timeout 2 mariadb --defaults-extra-file="$CNF" --connect-timeout=1 -N -B -e \
            "SET SESSION innodb_lock_wait_timeout=1, lock_wait_timeout=1;
             INSERT INTO owncloud_ha.heartbeat (node, beat) VALUES (@@wsrep_node_name, NOW(6))
               ON DUPLICATE KEY UPDATE beat = VALUES(beat)" 2>&1)" && hb=0 || hb=$?
        if [ "$hb" = 0 ]; then
            touch "$STATE_DIR/committed"
        elif [[ "$hb_err" == *"ERROR 1146"* || "$hb_err" == *"ERROR 1142"* ]]; then
            # The heartbeat table or its grant is not there yet (users.sh runs after configure.sh on
            # a first deploy or an upgrade): no evidence either way, so judge by the status alone.
            touch "$STATE_DIR/committed"
        else
            fail "heartbeat commit failed or took over 2 s (exit $hb)"
        fi
    elif [ "$((now - last))" -gt "$MAX_COMMIT_AGE_S" ]; then
        fail "no heartbeat committed for $((now - last)) s"
    fi
fi
reply 200 OK "Galera node is Synced, writable and committing"
