# shellcheck shell=bash
# Galera helpers shared by the scripts in this directory (sourced after ../lib/common.sh).

# Connection budget: the application account may use at most GALERA_APP_MAX_CONNECTIONS of the
# server's max_connections, so the health check, SST, backups and an operator can always connect
# while ownCloud exhausts its share (a node that refuses its own health check looks dead).
# shellcheck disable=SC2034 # read by configure.sh and users.sh, which source this file
GALERA_MAX_CONNECTIONS=500
# shellcheck disable=SC2034
GALERA_APP_MAX_CONNECTIONS=450

# Binary logs (point-in-time restore): one path on every node, inside the datadir so they live on
# the data volume. GTID domains: the cluster's replicated writes use GALERA_CLUSTER_GTID_DOMAIN on
# every node; node i's local, non-replicated writes use GALERA_LOCAL_GTID_DOMAIN_BASE + i.
# shellcheck disable=SC2034 # read by configure.sh, binlog-ship.sh and restore.sh
GALERA_BINLOG_BASENAME="${GALERA_DATADIR:-/var/lib/mysql}/mariadb-bin"
# shellcheck disable=SC2034
GALERA_CLUSTER_GTID_DOMAIN=1
# shellcheck disable=SC2034
GALERA_LOCAL_GTID_DOMAIN_BASE=100

# Local SQL as root over the unix socket (root keeps unix_socket auth), SQL on stdin.
galera_sql_stdin() {
    mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -N -B
}

# gtid_seq LIST DOMAIN : the sequence number of DOMAIN in a GTID list like 1-1-42,101-1-3 (0 if absent).
gtid_seq() {
    local g gs
    IFS=',' read -r -a gs <<<"$1"
    for g in "${gs[@]}"; do
        g="${g// /}"
        if [ "${g%%-*}" = "$2" ]; then echo "${g##*-}"; return 0; fi
    done
    echo 0
}

# binlog_replay_start GTID_LIST FILE… : where a replay continues after a backup taken at GTID_LIST
# (each domain's last GTID, as mariabackup reports it) in these binary logs (in order): "INDEX
# OFFSET", INDEX the 0-based file holding the next transaction and OFFSET its byte position (the
# "# at" of its GTID event), or OFFSET 0 when the file ends there (the next file is read whole). The
# cut is after whichever of the list's GTIDs comes last in the log. Prints nothing unless the logs
# hold every GTID of a replicated domain (below GALERA_LOCAL_GTID_DOMAIN_BASE; a node's local
# domain is not in the others' logs): a chain without them would leave a gap. awk reads all of
# mariadb-binlog's output: with pipefail, a reader that quit early would fail the pipeline.
# By position, not by GTID: the log's commit order is the cluster's, whatever domain a transaction
# got. MariaDB 10.11 logged replicated transactions in domain 0 for a while after a full-cluster
# crash recovered by pc.recovery (lab: 0-1-1..0-1-9130 after galera-crash-all). `--start-position`
# with only the cluster domain's GTID let those through again onto a backup that held them (ERROR
# 1062), and a backup taken during such a stretch ends with a domain-0 transaction, after its last
# cluster-domain one.
binlog_replay_start() {
    local list="$1" i=0 f kind v pos="" t
    local -a targets=()
    local -A found=()
    shift
    for t in ${list//,/ }; do targets+=("${t%%-*}-${t##*-}"); done
    for f in "$@"; do
        while read -r kind v; do
            case "$kind" in
                found) found[$v]=1 ;;
                next) if [ "$v" = end ]; then pos="$((i + 1)) 0"; else pos="$i $v"; fi ;;
            esac
        done < <(TZ=UTC mariadb-binlog "$f" 2>/dev/null | awk -v t="${targets[*]}" '
            BEGIN { n = split(t, a, " "); for (k = 1; k <= n; k++) want[a[k]] = 1 }
            /^# at [0-9]+$/ { at = $3 }
            /[[:space:]]GTID [0-9]+-[0-9]+-[0-9]+( |$)/ {
                if (pending) { print "next " at; pending = 0 }
                match($0, /GTID [0-9]+-[0-9]+-[0-9]+/)
                split(substr($0, RSTART + 5, RLENGTH - 5), g, "-")
                if ((g[1] "-" g[3]) in want) { print "found " g[1] "-" g[3]; pending = 1 }
            }
            END { if (pending) print "next end" }')
        i=$((i + 1))
    done
    for t in "${targets[@]}"; do
        [ "${t%%-*}" -ge "$GALERA_LOCAL_GTID_DOMAIN_BASE" ] || [ -n "${found[$t]:-}" ] || return 0
    done
    [ -z "$pos" ] || echo "$pos"
}

# galera_sql_bounded SECONDS : like galera_sql_stdin, but gives up after SECONDS (connect 2 s).
galera_sql_bounded() {
    timeout "$1" mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -N -B --connect-timeout=2
}

# galera_status VAR : value of a global status variable ('' when the server does not answer)
galera_status() {
    timeout 5 mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -N -B --connect-timeout=2 -e \
        "SET SESSION wsrep_sync_wait=0; SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='$1'" \
        2>/dev/null || true
}

# galera_health_port : the local Synced health answer's port (the environment, else as configure.sh recorded it)
galera_health_port() {
    galera_ports GALERA_HEALTH_PORT
    echo "$GALERA_HEALTH_PORT"
}

# galera_health_answer PORT : one answer of the local health endpoint as "CODE BODY"; "nothing" when
# no HTTP answer came (not listening yet, or the check itself hung past 5 s)
galera_health_answer() {
    local out code
    out="$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 socat -t5 - "TCP:127.0.0.1:$1" 2>/dev/null | tr -d '\r')" || true
    code="$(printf '%s\n' "$out" | head -n1 | awk '{print $2}')"
    if [ -z "$code" ]; then echo nothing; return 0; fi
    echo "$code $(printf '%s\n' "$out" | sed '1,/^$/d' | head -n1)"
}

# galera_wait_health TIMEOUT_S : retry (every second, bounded) until the local Synced health answer is
# 200; on timeout die with the last answer, which says its cause (state, disk, commit, or nothing).
# Right after a start the answer can lag the Synced state: the socket is just being started, the
# first heartbeat commit waits for the node to apply what it received.
galera_wait_health() {
    local port deadline answer
    port="$(galera_health_port)"
    deadline=$((SECONDS + $1))
    while :; do
        answer="$(galera_health_answer "$port")"
        case "$answer" in 200*) log "health endpoint on $port: $answer"; return 0 ;; esac
        if [ "$SECONDS" -ge "$deadline" ]; then
            case "$answer" in
                nothing) die "health endpoint on $port answered nothing for ${1}s (is the galera-health socket listening? svc status galera-health.socket)" ;;
                *) die "health endpoint on $port did not answer 200 within ${1}s; last answer: $answer" ;;
            esac
        fi
        sleep 1
    done
}

galera_is_synced_primary() {
    [ "$(galera_status wsrep_local_state)" = 4 ] && [ "$(galera_status wsrep_cluster_status)" = Primary ]
}

# grastate_field NAME : uuid | seqno | safe_to_bootstrap from grastate.dat in the datadir
grastate_field() {
    local f="${GALERA_DATADIR:-/var/lib/mysql}/grastate.dat"
    [ -f "$f" ] || return 0
    awk -v k="$1:" '$1 == k {print $2}' "$f"
}

# The ports configure.sh was given by the plan (components/database/ports.ts) and recorded here, for
# the scripts that run later without the plan's environment (ops recovery and status, the lab's
# service launcher). Galera itself listens on its default replication port, which the declaration
# equals (configure.sh does not move it).
GALERA_PORTS_FILE="${GALERA_PORTS_FILE:-/etc/owncloud-ha/galera-ports.env}"

# galera_ports NAME… : the named port variables (GALERA_HEALTH_PORT, GALERA_REPLICATION_PORT) from
# the environment, else as recorded; refuses when one is known from neither.
galera_ports() {
    local v
    for v in "$@"; do
        if [ -z "${!v:-}" ]; then
            # shellcheck source=/dev/null
            if [ -r "$GALERA_PORTS_FILE" ]; then . "$GALERA_PORTS_FILE"; fi
            break
        fi
    done
    require_env "$@"
}

# peer_listening ADDR : true when something accepts TCP on ADDR's Galera replication port (a running Galera node)
peer_listening() {
    [ "$(peer_probe "$1" 1)" = accept ]
}

# peer_probe ADDR [TIMEOUT_S] : prints accept | refused | unknown for ADDR's Galera port.
# 'refused' (a TCP reset: the host is up and nothing listens) is the only proof that no Galera node
# runs there; a timeout or an unreachable network proves nothing and is 'unknown'.
peer_probe() {
    local err rc=0
    galera_ports GALERA_REPLICATION_PORT
    err="$(timeout "${2:-2}" bash -c "exec 3<>/dev/tcp/$1/$GALERA_REPLICATION_PORT" 2>&1)" || rc=$?
    if [ "$rc" = 0 ]; then echo accept
    elif [[ "$err" == *"Connection refused"* ]]; then echo refused
    else echo unknown
    fi
}

# mariadb_process_alive : true when mariadbd exists in any state: active, activating (SST, waiting
# for a Primary Component, ExecStartPre), deactivating — not only when it answers SQL.
mariadb_process_alive() {
    local pidf=/run/mysqld/mysqld.pid pid st
    if is_systemd; then
        st="$(systemctl show -p ActiveState --value mariadb 2>/dev/null || true)"
        case "$st" in active|activating|deactivating|reloading|refreshing) return 0 ;; esac
    elif svc status mariadb >/dev/null 2>&1; then
        return 0
    fi
    if [ -s "$pidf" ]; then
        pid="$(cat "$pidf")"
        if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && grep -qx 'mariadbd\|mysqld' "/proc/$pid/comm"; then
            # A zombie (killed, not yet reaped) holds no files and will never run again.
            st="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)"
            [ "$st" != Z ] && [ "$st" != X ] && return 0
        fi
    fi
    return 1
}

# fstab_declares MOUNT : true when /etc/fstab has an (uncommented) entry mounting something at MOUNT
fstab_declares() {
    awk -v mp="${1%/}" '$1 !~ /^#/ && $2 == mp { found = 1 } END { exit !found }' "${OCHA_FSTAB:-/etc/fstab}" 2>/dev/null
}

# datadir_is_empty DIR : true when DIR holds no database (no system tables, no InnoDB files, no
# Galera state); lost+found and our own markers do not count.
datadir_is_empty() {
    local d="$1"
    [ -d "$d/mysql" ] && return 1
    [ -e "$d/ibdata1" ] && return 1
    [ -e "$d/grastate.dat" ] && return 1
    return 0
}

# The cluster UUID this node last saw while Synced, kept on the data volume (beside grastate.dat,
# which Galera rewrites with the zero UUID in some states). A file name MariaDB ignores.
CLUSTER_UUID_FILE=owncloud-ha-cluster-uuid
recorded_cluster_uuid() {
    local f="${1:-${GALERA_DATADIR:-/var/lib/mysql}}/$CLUSTER_UUID_FILE"
    [ -f "$f" ] && tr -d ' \n' <"$f"
    return 0
}
record_cluster_uuid() {
    local dir="${GALERA_DATADIR:-/var/lib/mysql}" uuid
    uuid="$(galera_status wsrep_cluster_state_uuid)"
    [[ "$uuid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || return 0
    [ "$(recorded_cluster_uuid "$dir")" = "$uuid" ] && return 0
    printf '%s\n' "$uuid" >"$dir/.$CLUSTER_UUID_FILE.tmp"
    mv -f "$dir/.$CLUSTER_UUID_FILE.tmp" "$dir/$CLUSTER_UUID_FILE"
    log "recorded cluster UUID $uuid on the data volume"
}

# parse_recovered_position POS : prints "UUID SEQNO" for `uuid:seqno` or `uuid:seqno,gtid` (the
# forms MariaDB's --wsrep-recover prints); fails for anything else.
parse_recovered_position() {
    local pos="$1" u s
    u="${pos%%:*}"; s="${pos#*:}"; s="${s%%,*}"
    [[ "$u" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || return 1
    [[ "$s" =~ ^-?[0-9]+$ ]] || return 1
    printf '%s %s\n' "$u" "$s"
}

# sql_quote VALUE : VALUE as a single-quoted SQL string literal
sql_quote() {
    local v="${1//\\/\\\\}"
    v="${v//\'/\'\'}"
    printf "'%s'" "$v"
}
