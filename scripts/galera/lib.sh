# shellcheck shell=bash
# Galera helpers shared by the scripts in this directory (sourced after ../lib/common.sh).

# Local SQL as root over the unix socket (root keeps unix_socket auth), SQL on stdin.
galera_sql_stdin() {
    mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -N -B
}

# galera_status VAR : value of a global status variable ('' when the server does not answer)
galera_status() {
    timeout 5 mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -N -B --connect-timeout=2 -e \
        "SET SESSION wsrep_sync_wait=0; SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='$1'" \
        2>/dev/null || true
}

galera_is_synced_primary() {
    [ "$(galera_status wsrep_local_state)" = 4 ] && [ "$(galera_status wsrep_cluster_status)" = Primary ]
}

# grastate_field NAME : uuid | seqno | safe_to_bootstrap from /var/lib/mysql/grastate.dat
grastate_field() {
    local f=/var/lib/mysql/grastate.dat
    [ -f "$f" ] || return 0
    awk -v k="$1:" '$1 == k {print $2}' "$f"
}

# peer_listening ADDR : true when something accepts TCP on ADDR:4567 (a running Galera node)
peer_listening() {
    timeout 1 bash -c "exec 3<>/dev/tcp/$1/4567" 2>/dev/null
}

# sql_quote VALUE : VALUE as a single-quoted SQL string literal
sql_quote() {
    local v="${1//\\/\\\\}"
    v="${v//\'/\'\'}"
    printf "'%s'" "$v"
}
