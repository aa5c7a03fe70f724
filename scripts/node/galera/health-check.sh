#!/usr/bin/env bash
# Galera health answers for the web hosts' HAProxy. Two parts, so a check costs a file read:
#
#   galera-health QUESTION   one HTTP exchange on stdin/stdout (a systemd socket unit with
#                            Accept=yes per port): answers the latest verdict for QUESTION, or 503
#                            when that verdict is older than GALERA_HEALTH_STALE_S (default 2 s):
#                            the evaluation is stuck (mariadbd frozen, its disk hung). It never
#                            talks to MariaDB itself.
#   galera-health evaluator  the evaluation loop (galera-health-eval.service): every
#                            GALERA_HEALTH_EVAL_MS (default 500) one `evaluate`.
#   galera-health evaluate   one evaluation of all three questions, written atomically to
#                            $STATE_DIR/verdict ("at <epoch µs>" and one "QUESTION CODE TEXT" line each).
#
# Why: every web host's HAProxy checks every node on three ports twice a second. Evaluating per
# check (a bash and 1-3 mariadb clients each, 12 checks a second per node with two web hosts, more
# with each web host added) took 50-550 ms a check on the lab's loaded 2-core machine; checks over
# their 1 s timeout marked healthy nodes down and HAProxy closed the writer's sessions under the
# users ("MySQL server has gone away"). Now the cost per node is one evaluation per interval,
# whatever the number of web hosts.
#
# The questions (each has its own port: components/ports.ts GALERA_PORTS, written by configure.sh):
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
# role: the evaluation commits one a second, so 3 s without one means the node failed its
# evaluations (down, not Synced, disk full, cannot commit) or left the cluster, not a slow one.
WRITER_STALE_S=3
STATE_DIR="${GALERA_HEALTH_STATE_DIR:-/run/galera-health}"
VERDICT="$STATE_DIR/verdict"
# Below this much free space on the data volume the node stops taking writes (503), so the writer
# role moves before MariaDB fails commits on a full disk.
MIN_FREE_MB="${GALERA_HEALTH_MIN_FREE_MB:-1024}"
# Another evaluation is writing the heartbeat: how old its last success may be before this one says 503.
MAX_COMMIT_AGE_S=3
EVAL_MS="${GALERA_HEALTH_EVAL_MS:-500}"
# A verdict older than this is no answer: the evaluation hangs (its own queries give up after 2-3 s).
STALE_S="${GALERA_HEALTH_STALE_S:-2}"

# now_us: the wall clock in microseconds (bash 5's EPOCHREALTIME, no fork).
now_us() { local t="$EPOCHREALTIME"; echo "${t/./}"; }

reply() {
    local code="$1" text="$2" body="$3"
    printf 'HTTP/1.1 %s %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %s\r\n\r\n%s' \
        "$code" "$text" "$((${#body} + 1))" "$body"
    printf '\n'
}

# ---------------------------------------------------------------- the answer (one per check)
respond() {
    local at line code text age_ms i now
    # No process is started here (a check costs this bash and a file read).
    # Consume the request line and headers (bounded), so the client sees a clean response.
    for ((i = 0; i < 50; i++)); do
        IFS= read -r -t 1 line || break
        line="${line%$'\r'}"
        [ -z "$line" ] && break
    done
    case "$MODE" in synced|donor|writer) ;; *)
        reply 503 "Service Unavailable" "Galera node not ready: unknown health question '$MODE' (synced, donor or writer)"; return 0 ;;
    esac
    if ! [ -r "$VERDICT" ]; then
        reply 503 "Service Unavailable" "Galera node not ready: no health verdict yet (is galera-health-eval.service running?)"
        return 0
    fi
    at="" line=""
    while IFS= read -r l; do
        case "$l" in "at "*) at="${l#at }" ;; "$MODE "*) line="${l#"$MODE" }" ;; esac
    done < "$VERDICT"
    if ! [[ "$at" =~ ^[0-9]+$ ]] || [ -z "$line" ]; then
        reply 503 "Service Unavailable" "Galera node not ready: unreadable health verdict $VERDICT"
        return 0
    fi
    [[ "$STALE_S" =~ ^[0-9]+$ ]] || STALE_S=2
    now="$EPOCHREALTIME"; now="${now/./}"
    age_ms=$(( (now - at) / 1000 ))
    if [ "$age_ms" -gt $((STALE_S * 1000)) ]; then
        reply 503 "Service Unavailable" "Galera node not ready: the latest health verdict is ${age_ms} ms old (over ${STALE_S} s): its evaluation hangs (mariadbd or its disk not answering?)"
        return 0
    fi
    code="${line%% *}"; text="${line#* }"
    if [ "$code" = 200 ]; then reply 200 OK "$text"; else reply 503 "Service Unavailable" "Galera node not ready: $text"; fi
}

# ---------------------------------------------------------------- the evaluation
# Each question's verdict, "CODE TEXT".
V_synced="" V_donor="" V_writer=""
all_fail() { V_synced="503 $*"; V_donor="503 $*"; V_writer="503 $*"; }

write_verdict() {
    local tmp
    install -d -m 700 "$STATE_DIR"
    tmp="$(mktemp "$STATE_DIR/.verdict.XXXXXX")" || return 1
    if ! { printf 'at %s\nsynced %s\ndonor %s\nwriter %s\n' "$(now_us)" "$V_synced" "$V_donor" "$V_writer" > "$tmp" && mv -f "$tmp" "$VERDICT"; }; then
        rm -f "$tmp"
        return 1
    fi
}

# evaluate_writer ME: V_writer for a node that passed every other test.
evaluate_writer() {
    local me="$1" rows rc writer fresh candidate now_writer kind a b n order
    # The designated writer and every node's heartbeat age, by this node's clock (the nodes' clocks
    # are NTP-synced; the 3 s bound dwarfs their skew). wsrep_sync_wait=0: a read that waits for the
    # cluster would stall the evaluation under flow control; the claim below is certified anyway.
    rows="$(timeout 2 mariadb --defaults-extra-file="$CNF" --connect-timeout=1 -N -B -e \
        "SET SESSION wsrep_sync_wait=0;
         SELECT 'writer', node FROM owncloud_ha.writer WHERE id = 1;
         SELECT 'beat', node, TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) DIV 1000 FROM owncloud_ha.heartbeat" 2>&1)" && rc=0 || rc=$?
    if [ "$rc" != 0 ]; then
        # No table yet (users.sh runs after configure.sh on a first deploy): no designated writer;
        # HAProxy serves from the ordered Synced backups meanwhile.
        V_writer="503 cannot read the designated writer (exit $rc): $(printf '%s' "$rows" | tail -n1)"
        return 0
    fi
    writer="" fresh=" "
    if ! [[ "$me" =~ ^[a-z][a-z0-9-]*$ ]]; then V_writer="503 unexpected wsrep_node_name '$me'"; return 0; fi
    while IFS=$'\t' read -r kind a b; do
        case "$kind" in
            writer) [[ "$a" =~ ^[a-z][a-z0-9-]*$ ]] && writer="$a" ;;
            beat) if [ -n "$b" ] && [ "$b" -le $((WRITER_STALE_S * 1000)) ]; then fresh+="$a "; fi ;;
        esac
    done <<<"$rows"
    if [ "$writer" = "$me" ]; then V_writer="200 Galera node $me is the designated writer"; return 0; fi
    if [ -n "$writer" ] && [[ "$fresh" == *" $writer "* ]]; then
        V_writer="503 the designated writer is $writer"; return 0
    fi
    # The designated writer is stale (or none yet): the first node of the order with a fresh
    # heartbeat takes the role, every other node waits for it. Two claims at once are certified:
    # Galera aborts one of them (the row is the same), so exactly one node ends up designated.
    if [ -z "${GALERA_WRITER_ORDER:-}" ]; then V_writer="503 GALERA_WRITER_ORDER missing from $ENV_FILE: run galera/configure.sh"; return 0; fi
    candidate=""
    IFS=',' read -r -a order <<<"$GALERA_WRITER_ORDER"
    for n in "${order[@]}"; do
        if [[ "$fresh" == *" $n "* ]]; then candidate="$n"; break; fi
    done
    if [ "$candidate" != "$me" ]; then
        V_writer="503 the designated writer ${writer:-(none)} has no heartbeat for over ${WRITER_STALE_S} s; ${candidate:-no node} takes over"
        return 0
    fi
    now_writer="$(timeout 2 mariadb --defaults-extra-file="$CNF" --connect-timeout=1 -N -B -e \
        "SET SESSION innodb_lock_wait_timeout=1, lock_wait_timeout=1;
         INSERT INTO owncloud_ha.writer (id, node, since) VALUES (1, '$me', NOW(6))
           ON DUPLICATE KEY UPDATE since = IF(node <=> '$writer', VALUES(since), since), node = IF(node <=> '$writer', VALUES(node), node);
         SELECT node FROM owncloud_ha.writer WHERE id = 1" 2>&1)" || now_writer="claim failed: $(printf '%s' "$now_writer" | tail -n1)"
    if [ "$now_writer" = "$me" ]; then
        V_writer="200 Galera node $me took over as the designated writer from ${writer:-(none)}"
    else
        V_writer="503 taking over the writer role from ${writer:-(none)}: ${now_writer}"
    fi
}

evaluate() {
    local out state ready cluster ro me datadir avail_mb now last hb_err hb
    out="$(timeout 3 mariadb --defaults-extra-file="$CNF" --connect-timeout=2 -N -B -e \
        "SET SESSION wsrep_sync_wait=0; SELECT
           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_local_state'),
           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_ready'),
           (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_cluster_status'),
           @@global.read_only, @@wsrep_node_name, @@global.datadir" 2>/dev/null)" || out=""
    read -r state ready cluster ro me datadir <<<"${out:-x x x x x x}"
    # Synced (4) for every question; Donor/Desynced (2), which still holds all data and commits,
    # for the donor question only.
    if ! { { [ "$state" = 4 ] || [ "$state" = 2 ]; } && [ "$ready" = ON ] && [ "$cluster" = Primary ] && [ "$ro" = 0 ]; }; then
        all_fail "local_state=${state} ready=${ready} cluster_status=${cluster} read_only=${ro}"
        return 0
    fi

    # Gray failures a status query cannot see:
    # 1. A full (or nearly full) data volume: writes will fail or hang while the node still says Synced.
    avail_mb="$(df -Pm "$datadir" 2>/dev/null | awk 'NR == 2 {print $4}')"
    if ! { [ -n "$avail_mb" ] && [ "$avail_mb" -ge "$MIN_FREE_MB" ]; }; then
        all_fail "data volume has ${avail_mb:-?} MiB free (< ${MIN_FREE_MB} MiB)"
        return 0
    fi

    # 2. A node that cannot commit (frozen disk, stuck locks, flow control that never ends): write this
    #    node's heartbeat row with 1 s lock timeouts, at most once a second (a flock picks one
    #    writer when an operator's `evaluate` runs beside the loop; the other judges by its last success).
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
                exec 7>&-
                all_fail "heartbeat commit failed or took over 2 s (exit $hb)"
                return 0
            fi
        elif [ "$((now - last))" -gt "$MAX_COMMIT_AGE_S" ]; then
            all_fail "no heartbeat committed for $((now - last)) s"
            return 0
        fi
        exec 7>&-
    fi

    if [ "$state" = 2 ]; then
        V_donor="200 Galera node is a Donor (last resort): writable and committing"
        V_synced="503 local_state=${state} ready=${ready} cluster_status=${cluster} read_only=${ro}"
        V_writer="$V_synced"
        return 0
    fi
    V_synced="200 Galera node is Synced, writable and committing"
    V_donor="$V_synced"
    evaluate_writer "$me"
}

case "$MODE" in
    evaluate)
        evaluate
        write_verdict || { echo "galera-health: cannot write $VERDICT" >&2; exit 1; }
        ;;
    evaluator)
        if ! [[ "$EVAL_MS" =~ ^[0-9]+$ ]] || [ "$EVAL_MS" -lt 100 ]; then
            echo "galera-health: GALERA_HEALTH_EVAL_MS must be a number of ms >= 100 (got '$EVAL_MS')" >&2
            exit 2
        fi
        # Runs until systemd stops it; every evaluation is bounded by its queries' timeouts.
        while :; do
            t0="$(now_us)"
            evaluate
            write_verdict || echo "galera-health: cannot write $VERDICT" >&2
            left_ms=$(( EVAL_MS - ($(now_us) - t0) / 1000 ))
            [ "$left_ms" -ge 50 ] || left_ms=50
            sleep "$(printf '%d.%03d' $((left_ms / 1000)) $((left_ms % 1000)))"
        done
        ;;
    *) respond ;;
esac
