#!/usr/bin/env bash
# Node-local HAProxy on a web host: HAPROXY_LISTEN -> the single Galera writer.
# Idempotent: the config is rewritten only when it changes, validated, then HAProxy is started or
# reloaded. `haproxy.sh --render` prints the configuration and changes nothing (tests, operators).
#
# Environment:
#   GALERA_BACKENDS   name=address,… in the SAME order on every web host and as the Galera plan's
#                     GALERA_WRITER_ORDER
#   GALERA_SQL_PORT GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT
#                     the Galera nodes' SQL port and health answers (components/database/ports.ts)
#   HAPROXY_LISTEN    ADDRESS:PORT ownCloud connects to (the plan's: 127.0.0.1 on the SQL port)
#   HAPROXY_CHECK_INTER_MS / HAPROXY_FALL / HAPROXY_RISE   optional, default 500 / 2 / 3
#   OWNCLOUD_HEALTH_PORT + OWNCLOUD_HEALTH_HOST   optional, both or neither: an HTTP health endpoint
#       on 0.0.0.0:PORT for the load balancer, 200 only while the local ownCloud (127.0.0.1 on
#       OWNCLOUD_PORT, then required) answers /status.php (with the trusted Host header) as
#       installed and not in maintenance
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

RENDER=0
if [ "${1:-}" = --render ]; then RENDER=1; fi
require_env GALERA_BACKENDS GALERA_SQL_PORT GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT HAPROXY_LISTEN
for v in GALERA_SQL_PORT GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT; do
    if ! [[ "${!v}" =~ ^[0-9]{1,5}$ ]] || [ "${!v}" -lt 1 ] || [ "${!v}" -gt 65535 ]; then die "$v must be a port number (got '${!v}')"; fi
done
LISTEN="$HAPROXY_LISTEN"
INTER="${HAPROXY_CHECK_INTER_MS:-500}"
FALL="${HAPROXY_FALL:-2}"
RISE="${HAPROXY_RISE:-3}"
for v in INTER FALL RISE; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
[[ "$LISTEN" =~ ^[0-9.]+:[0-9]+$ ]] || die "HAPROXY_LISTEN must be ADDRESS:PORT (got '$LISTEN')"
HC_PORT="${OWNCLOUD_HEALTH_PORT:-}"
HC_HOST="${OWNCLOUD_HEALTH_HOST:-}"
if [ -n "$HC_PORT" ] || [ -n "$HC_HOST" ]; then
    require_env OWNCLOUD_HEALTH_PORT OWNCLOUD_HEALTH_HOST OWNCLOUD_PORT
    [[ "$OWNCLOUD_PORT" =~ ^[0-9]{1,5}$ ]] || die "OWNCLOUD_PORT must be a port number (got '$OWNCLOUD_PORT')"
    if ! [[ "$HC_PORT" =~ ^[0-9]{1,5}$ ]] || [ "$HC_PORT" -lt 1 ] || [ "$HC_PORT" -gt 65535 ]; then
        die "OWNCLOUD_HEALTH_PORT must be a port number (got '$HC_PORT')"
    fi
    [[ "$HC_HOST" =~ ^[A-Za-z0-9.-]+$ ]] || die "OWNCLOUD_HEALTH_HOST must match [A-Za-z0-9.-]+ (got '$HC_HOST')"
fi
TEMPLATE="$(dirname "$0")/haproxy.cfg.tmpl"
[ -f "$TEMPLATE" ] || die "template $TEMPLATE missing"

IFS=',' read -r -a backends <<<"$GALERA_BACKENDS"
writers="" synced="" donors=""
for b in "${backends[@]}"; do
    name="${b%%=*}"; addr="${b#*=}"
    if ! [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]] || ! [[ "$addr" =~ ^[0-9.]+$ ]]; then
        die "bad GALERA_BACKENDS entry '$b' (want name=ipv4)"
    fi
    # tier 1 up: close the sessions a fallback holds (writes never on two nodes)
    writers+="    server ${name} ${addr}:${GALERA_SQL_PORT} port ${GALERA_WRITER_PORT} on-marked-up shutdown-backup-sessions"$'\n'
    synced+="    server ${name}-synced ${addr}:${GALERA_SQL_PORT} port ${GALERA_HEALTH_PORT} backup"$'\n'
    donors+="    server ${name}-donor ${addr}:${GALERA_SQL_PORT} port ${GALERA_HEALTH_DONOR_PORT} backup"$'\n'
done
[ -n "$writers" ] || die "GALERA_BACKENDS names no node"
servers="    # 1. the designated writer"$'\n'"${writers}    # 2. no designated writer up: the first Synced node"$'\n'"${synced}    # 3. no Synced node: the first Donor"$'\n'"${donors}"

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
fastinter=$((INTER / 2)); [ "$fastinter" -ge 100 ] || fastinter=100
while IFS= read -r line; do
    if [ "$line" = "@@SERVERS@@" ]; then printf '%s' "$servers"; continue; fi
    if [ "$line" = "@@OWNCLOUD_HEALTH@@" ]; then
        if [ -n "$HC_PORT" ]; then
            cat <<CFG

# Load-balancer health endpoint: 200 only while the local ownCloud serves. status.php needs the
# database and answers 400 for an untrusted Host header, so the check sends the public domain.
backend owncloud
    mode http
    option httpchk
    http-check send meth GET uri /status.php hdr Host ${HC_HOST}
    http-check expect rstring '"installed":\s*true.*"maintenance":\s*false'
    server local 127.0.0.1:${OWNCLOUD_PORT} check inter 2s fall 2 rise 2

frontend owncloud-health
    mode http
    bind 0.0.0.0:${HC_PORT}
    timeout client 10s
    http-request return status 200 content-type text/plain string "ok" if { nbsrv(owncloud) gt 0 }
    http-request return status 503 content-type text/plain string "ownCloud not serving"
CFG
        fi
        continue
    fi
    line="${line//@@LISTEN@@/$LISTEN}"
    line="${line//@@WRITER_PORT@@/$GALERA_WRITER_PORT}"
    line="${line//@@HEALTH_PORT@@/$GALERA_HEALTH_PORT}"
    line="${line//@@DONOR_PORT@@/$GALERA_HEALTH_DONOR_PORT}"
    line="${line//@@INTER@@/$INTER}"
    line="${line//@@FASTINTER@@/$fastinter}"
    line="${line//@@FALL@@/$FALL}"
    line="${line//@@RISE@@/$RISE}"
    printf '%s\n' "$line"
done < "$TEMPLATE" > "$tmp"
if [ "$RENDER" = 1 ]; then cat "$tmp"; exit 0; fi

apt_install haproxy socat
haproxy -c -q -f "$tmp" || die "generated HAProxy configuration is invalid"
install -d -m 755 /etc/haproxy /run/haproxy
changed=0
if ! cmp -s "$tmp" /etc/haproxy/haproxy.cfg; then
    install -m 644 "$tmp" /etc/haproxy/haproxy.cfg
    changed=1
    log "wrote /etc/haproxy/haproxy.cfg (servers: ${GALERA_BACKENDS})"
fi
svc enable haproxy
if svc status haproxy; then
    if [ "$changed" = 1 ]; then svc reload haproxy; log "haproxy reloaded"; fi
else
    svc start haproxy
fi
log "HAProxy listens on $LISTEN"
