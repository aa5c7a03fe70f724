#!/usr/bin/env bash
# Node-local HAProxy on a web host: 127.0.0.1:3306 -> the single Galera writer.
# Idempotent: the config is rewritten only when it changes, validated, then HAProxy is started or
# reloaded.
#
# Environment:
#   GALERA_BACKENDS   name=address,… in the SAME order on every web host (first = active writer)
#   HAPROXY_LISTEN    optional, default 127.0.0.1:3306
#   HAPROXY_CHECK_INTER_MS / HAPROXY_FALL / HAPROXY_RISE   optional, default 500 / 2 / 3
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env GALERA_BACKENDS
LISTEN="${HAPROXY_LISTEN:-127.0.0.1:3306}"
INTER="${HAPROXY_CHECK_INTER_MS:-500}"
FALL="${HAPROXY_FALL:-2}"
RISE="${HAPROXY_RISE:-3}"
for v in INTER FALL RISE; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
[[ "$LISTEN" =~ ^[0-9.]+:[0-9]+$ ]] || die "HAPROXY_LISTEN must be ADDRESS:PORT (got '$LISTEN')"
TEMPLATE="$(dirname "$0")/haproxy.cfg.tmpl"
[ -f "$TEMPLATE" ] || die "template $TEMPLATE missing"

apt_install haproxy socat

servers=""
first=1
IFS=',' read -r -a backends <<<"$GALERA_BACKENDS"
for b in "${backends[@]}"; do
    name="${b%%=*}"; addr="${b#*=}"
    if ! [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]] || ! [[ "$addr" =~ ^[0-9.]+$ ]]; then
        die "bad GALERA_BACKENDS entry '$b' (want name=ipv4)"
    fi
    if [ "$first" = 1 ]; then
        # when the preferred writer is back, close the sessions still open on a backup so that
        # writes never go to two nodes at once
        servers+="    server ${name} ${addr}:3306 on-marked-up shutdown-backup-sessions"$'\n'
        first=0
    else
        servers+="    server ${name} ${addr}:3306 backup"$'\n'
    fi
done

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
fastinter=$((INTER / 2)); [ "$fastinter" -ge 100 ] || fastinter=100
while IFS= read -r line; do
    if [ "$line" = "@@SERVERS@@" ]; then printf '%s' "$servers"; continue; fi
    line="${line//@@LISTEN@@/$LISTEN}"
    line="${line//@@INTER@@/$INTER}"
    line="${line//@@FASTINTER@@/$fastinter}"
    line="${line//@@FALL@@/$FALL}"
    line="${line//@@RISE@@/$RISE}"
    printf '%s\n' "$line"
done < "$TEMPLATE" > "$tmp"

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
