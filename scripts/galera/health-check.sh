#!/usr/bin/env bash
# Galera health endpoint (port 9200), one HTTP exchange on stdin/stdout (systemd socket unit with
# Accept=yes in the cloud, socat fork in the lab). 200 only when the node is Synced
# (wsrep_local_state=4), wsrep_ready=ON and writable (read_only=OFF); 503 otherwise.
# Credentials: /etc/mysql/galera-health.cnf (mode 600, written by configure.sh).
set -uo pipefail
CNF=/etc/mysql/galera-health.cnf

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

out="$(timeout 3 mariadb --defaults-extra-file="$CNF" --connect-timeout=2 -N -B -e \
    "SET SESSION wsrep_sync_wait=0; SELECT
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_local_state'),
       (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_ready'),
       @@global.read_only" 2>/dev/null)" || out=""
read -r state ready ro <<<"${out:-x x x}"
if [ "$state" = 4 ] && [ "$ready" = ON ] && [ "$ro" = 0 ]; then
    reply 200 OK "Galera node is Synced and writable"
else
    reply 503 "Service Unavailable" "Galera node not ready: local_state=${state} ready=${ready} read_only=${ro}"
fi
