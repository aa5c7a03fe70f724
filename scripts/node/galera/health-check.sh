#!/usr/bin/env bash
# Galera health answers for the web hosts' HAProxy, one HTTP exchange on stdin/stdout (a systemd
# socket unit with Accept=yes per port in the cloud, socat fork in the lab). The first argument is
# the question; each has its own port (components/ports.ts GALERA_PORTS, written by configure.sh):
#   synced  (health, 9200)      200 only when the node is Synced (wsrep_local_state=4) in a Primary
#                               component, wsrep_ready=ON, writable (read_only=OFF), has space on its
#                               data volume and can commit (a heartbeat row); 503 otherwise.
#   donor   (healthDonor, 9201) the same, but a Donor/Desynced node (state 2) also answers 200: the
#                               last resort HAProxy lists after every Synced node, so an SST that
#                               desyncs the only Synced node does not leave it without a server.
#   writer  (writer, 9202)      the synced answer, and 200 only on the node the cluster designates as
#                               the single writer (owncloud_ha.writer, a replicated row): sticky, so
#                               every web host's HAProxy converges on the same node and a node that
#                               comes back does not take the writes back (see "Galera writer" in the
#                               README). The designation moves only when the designated node has not
#                               committed a heartbeat for WRITER_STALE_S; it moves to the FIRST node
#                               of GALERA_WRITER_ORDER with a fresh heartbeat, which is the node
#                               HAProxy's ordered Synced backups already serve meanwhile.
# Credentials: /etc/mysql/galera-health.cnf (mode 600); the node order: /etc/mysql/galera-health.env
# (both written by configure.sh).
set -uo pipefail
CNF=/etc/mysql/galera-health.cnf
MODE="${1:-synced}"
ENV_FILE="${GALERA_HEALTH_ENV:-/etc/mysql/galera-health.env}"
# shellcheck disable=SC1090 # written by configure.sh: GALERA_WRITER_ORDER=db1,db2,db3
if [ -r "$ENV_FILE" ]; then . "$ENV_FILE"; fi
# How long the designated writer may go without a committed heartbeat before another node takes the
# role: every web host checks every node several times a second and each check commits at most one
# heartbeat a second, so 3 s without one means the node failed its checks (down, not Synced, disk
# full, cannot commit) or left the cluster, not a slow check.
WRITER_STALE_S=3
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
case "$MODE" in synced|donor|writer) ;; *) fail "unknown health question '$MODE' (synced, donor or writer)" ;; esac

out="$(timeout 3 mariadb --defaults-extra-file="$CNF" --connect-timeout=2 -N -B -e \
    "SET SESSION wsrep_sync_wait=0; SELECT
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_local_state'),
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_ready'),
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_cluster_status'),
       @@global.read_only, @@wsrep_node_name, @@global.datadir" 2>/dev/null)" || out=""
read -r state ready cluster ro me datadir <<<"${out:-x x x x x x}"
# Synced (4); for the donor question also Donor/Desynced (2), which still holds all data and commits.
state_ok=0
if [ "$state" = 4 ] || { [ "$MODE" = donor ] && [ "$state" = 2 ]; }; then state_ok=1; fi
if ! { [ "$state_ok" = 1 ] && [ "$ready" = ON ] && [ "$cluster" = Primary ] && [ "$ro" = 0 ]; }; then
    fail "local_state=${state} ready=${ready} cluster_status=${cluster} read_only=${ro}"
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

if [ "$MODE" = writer ]; then
    # The designated writer and every node's heartbeat age, by this node's clock (the nodes' clocks
    # are NTP-synced; the 3 s bound dwarfs their skew). wsrep_sync_wait=0: a read that waits for the
    # cluster would stall the check under flow control; the claim below is certified anyway.
    rows="$(timeout 2 mariadb --defaults-extra-file="$CNF" --connect-timeout=1 -N -B -e \
        "SET SESSION wsrep_sync_wait=0;
         SELECT 'writer', node FROM owncloud_ha.writer WHERE id = 1;
         SELECT 'beat', node, TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) DIV 1000 FROM owncloud_ha.heartbeat" 2>&1)" && rc=0 || rc=$?
    if [ "$rc" != 0 ]; then
        # No table yet (users.sh runs after configure.sh on a first deploy): no designated writer;
        # HAProxy serves from the ordered Synced backups meanwhile.
        fail "cannot read the designated writer (exit $rc): $(printf '%s' "$rows" | tail -n1)"
    fi
    writer="" fresh=" "
    [[ "$me" =~ ^[a-z][a-z0-9-]*$ ]] || fail "unexpected wsrep_node_name '$me'"
    while IFS=$'\t' read -r kind a b; do
        case "$kind" in
            writer) [[ "$a" =~ ^[a-z][a-z0-9-]*$ ]] && writer="$a" ;;
            beat) if [ -n "$b" ] && [ "$b" -le $((WRITER_STALE_S * 1000)) ]; then fresh+="$a "; fi ;;
        esac
    done <<<"$rows"
    if [ "$writer" = "$me" ]; then reply 200 OK "Galera node $me is the designated writer"; exit 0; fi
    if [ -n "$writer" ] && [[ "$fresh" == *" $writer "* ]]; then
        fail "the designated writer is $writer"
    fi
    # The designated writer is stale (or none yet): the first node of the order with a fresh
    # heartbeat takes the role, every other node waits for it. Two claims at once are certified:
    # Galera aborts one of them (the row is the same), so exactly one node ends up designated.
    [ -n "${GALERA_WRITER_ORDER:-}" ] || fail "GALERA_WRITER_ORDER missing from $ENV_FILE: run galera/configure.sh"
    candidate=""
    IFS=',' read -r -a order <<<"$GALERA_WRITER_ORDER"
    for n in "${order[@]}"; do
        if [[ "$fresh" == *" $n "* ]]; then candidate="$n"; break; fi
    done
    if [ "$candidate" != "$me" ]; then
        fail "the designated writer ${writer:-(none)} has no heartbeat for over ${WRITER_STALE_S} s; ${candidate:-no node} takes over"
    fi
    now_writer="$(timeout 2 mariadb --defaults-extra-file="$CNF" --connect-timeout=1 -N -B -e \
        "SET SESSION innodb_lock_wait_timeout=1, lock_wait_timeout=1;
         INSERT INTO owncloud_ha.writer (id, node, since) VALUES (1, '$me', NOW(6))
           ON DUPLICATE KEY UPDATE since = IF(node <=> '$writer', VALUES(since), since), node = IF(node <=> '$writer', VALUES(node), node);
         SELECT node FROM owncloud_ha.writer WHERE id = 1" 2>&1)" || now_writer="claim failed: $(printf '%s' "$now_writer" | tail -n1)"
    if [ "$now_writer" = "$me" ]; then
        reply 200 OK "Galera node $me took over as the designated writer from ${writer:-(none)}"
        exit 0
    fi
    fail "taking over the writer role from ${writer:-(none)}: ${now_writer}"
fi
if [ "$MODE" = donor ] && [ "$state" = 2 ]; then reply 200 OK "Galera node is a Donor (last resort): writable and committing"; exit 0; fi
reply 200 OK "Galera node is Synced, writable and committing"
