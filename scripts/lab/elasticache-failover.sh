#!/usr/bin/env bash
# The lab's ElastiCache failover, run on a Redis stand-in host (scripts/lab/elasticache-standin.ts).
#
#   take     make this host the primary and give it the endpoint address: REPLICAOF NO ONE, wait
#            (bounded) for ROLE master, persist the role (CONFIG REWRITE), add ENDPOINT_ADDRESS to
#            ENDPOINT_DEVICE, announce it with unsolicited ARP. Also how the first primary takes
#            the address at setup (REPLICAOF NO ONE on a primary changes nothing).
#   release  on the old primary, when its host still answers: drop the endpoint address and, if
#            its redis answers, make it a replica of NEW_PRIMARY_ADDRESS (persisted).
#
# What it models: ElastiCache promotes the replica and points the primary endpoint's DNS name at
# it; clients keep the name, their connections break. Here the name resolves to a fixed lab
# address that moves with the primary role. Not modelled: DNS TTLs (the move is seen at the next
# ARP exchange, at once with arping), the replacement node ElastiCache creates (the lab restarts
# the old primary as a replica), the choice among several replicas.
#
# Environment: REDIS_PORT, ENDPOINT_ADDRESS (a.b.c.d), ENDPOINT_PREFIX (the lab segment's prefix
# length), ENDPOINT_DEVICE (default host0, systemd-nspawn's side of the bridge), REDIS_TLS (yes|no,
# default yes), REDIS_CA_FILE (default /etc/redis/tls/ca.pem), NEW_PRIMARY_ADDRESS (release only),
# PROMOTE_WAIT_SECONDS (default 20: how long take waits for ROLE master).
# Stdin: NAME=value lines; REDIS_AUTH_TOKEN=<token> when the group has one (never on the command
# line: redis-cli reads it from REDISCLI_AUTH).
set -euo pipefail

die() { echo "elasticache-failover: $*" >&2; exit 1; }

mode="${1:-}"
case "$mode" in take|release) ;; *) die "usage: elasticache-failover.sh take|release (got '${mode}')" ;; esac
: "${REDIS_PORT:?set REDIS_PORT}" "${ENDPOINT_ADDRESS:?set ENDPOINT_ADDRESS}" "${ENDPOINT_PREFIX:?set ENDPOINT_PREFIX}"
device="${ENDPOINT_DEVICE:-host0}"
ca="${REDIS_CA_FILE:-/etc/redis/tls/ca.pem}"
# Bounds: each redis-cli call, and the wait for the promotion to show in ROLE.
call_seconds=5
promote_wait_seconds="${PROMOTE_WAIT_SECONDS:-20}"

token=""
if [ ! -t 0 ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in REDIS_AUTH_TOKEN=*) token="${line#REDIS_AUTH_TOKEN=}" ;; esac
    done
fi
if [ -n "$token" ]; then export REDISCLI_AUTH="$token"; fi
unset token

cli() {
    local tls=()
    if [ "${REDIS_TLS:-yes}" = yes ]; then tls=(--tls --cacert "$ca"); fi
    timeout "$call_seconds" redis-cli "${tls[@]}" -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@"
}

role() { cli ROLE 2>/dev/null | head -n 1; }

has_address() { ip -4 -o addr show dev "$device" | grep -qw "inet ${ENDPOINT_ADDRESS}/${ENDPOINT_PREFIX}"; }

persist() {
    # CONFIG REWRITE keeps the role across a restart of redis-server (Debian's unit lets redis
    # write /etc/redis). If it cannot, the role holds until the next restart only: say so.
    if ! cli CONFIG REWRITE >/dev/null; then
        echo "elasticache-failover: CONFIG REWRITE failed; the role lasts until redis-server restarts" >&2
    fi
}

take() {
    if [ "$(role)" != master ]; then
        cli REPLICAOF NO ONE >/dev/null || die "REPLICAOF NO ONE failed on 127.0.0.1:${REDIS_PORT}"
    fi
    local waited=0
    until [ "$(role)" = master ]; do
        [ "$waited" -lt "$promote_wait_seconds" ] || die "redis still not master after ${promote_wait_seconds} s"
        sleep 1
        waited=$((waited + 1))
    done
    persist
    if ! has_address; then
        ip addr add "${ENDPOINT_ADDRESS}/${ENDPOINT_PREFIX}" dev "$device"
    fi
    if command -v arping >/dev/null 2>&1; then
        # iputils-arping: -U unsolicited ARP updates the neighbours' caches; -w bounds it.
        arping -q -U -c 3 -w 4 -I "$device" "$ENDPOINT_ADDRESS" || true
    else
        echo "elasticache-failover: no arping (iputils-arping): clients keep the old MAC until their ARP entry goes stale" >&2
    fi
    echo "elasticache-failover: $(hostname) is the primary and holds ${ENDPOINT_ADDRESS}"
}

release() {
    if has_address; then
        ip addr del "${ENDPOINT_ADDRESS}/${ENDPOINT_PREFIX}" dev "$device"
    fi
    if [ -n "${NEW_PRIMARY_ADDRESS:-}" ] && [ -n "$(role)" ]; then
        cli REPLICAOF "$NEW_PRIMARY_ADDRESS" "$REDIS_PORT" >/dev/null || die "REPLICAOF ${NEW_PRIMARY_ADDRESS} ${REDIS_PORT} failed"
        persist
    fi
    echo "elasticache-failover: $(hostname) released ${ENDPOINT_ADDRESS}"
}

"$mode"
