#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brick watchdog: a long-running service on each storage node (installed by brick-watchdog-install.sh).
# It asks this node's own brick process for a GF-DUMP PING — the RPC the clients' ping timer sends —
# over loopback, and SIGKILLs a brick that is alive but answers nothing, so that its clients see a
# disconnect at once instead of waiting on it.
#
# Why: a frozen brick (SIGSTOPped, or its event threads hung) keeps its TCP connections and the kernel
# keeps ACKing, so TCP_USER_TIMEOUT and keepalive never fire, and the clients' ping timer re-arms
# whenever the client itself sent something in the last ping-timeout (rpc-clnt-ping.c). A killed
# process's sockets close (FIN/RST): the clients drop the brick immediately and carry on with the
# others (disperse), exactly as after a crash. Then the brick is restarted through glusterd.
#
#   GLUSTER_VOLUME                  the volume (for the restart: `gluster volume start VOL force`)
#   GLUSTER_BRICK_DIR               this node's brick directory (the brick process's --brick-name)
#   GLUSTER_WATCHDOG_KILL_AFTER_S   kill when the brick's last answer is this old (whole seconds) …
#   GLUSTER_WATCHDOG_MIN_MISSES     … and at least this many probes in a row got no answer (default 2:
#                                   a node that was itself paused is not mistaken for a frozen brick)
#   GLUSTER_WATCHDOG_INTERVAL_S     pause between probes (default 1)
#   GLUSTER_WATCHDOG_DEADLINE_S     a probe unanswered after this is a miss (default 2)
#   GLUSTER_WATCHDOG_RESTART        1 (default): restart a brick it killed, unless it already did so
#                                   less than GLUSTER_WATCHDOG_RESTART_HOLDOFF_S (default 600) ago:
#                                   a brick that keeps freezing stays down for an operator
#   GLUSTER_WATCHDOG_RESTART_WAIT_S bound of each wait around a restart (default 20): glusterd seeing the
#                                   brick gone, then a new brick process
#   GLUSTER_WATCHDOG_STATE_DIR      where the last restart is recorded (default /run/owncloud-ha)
#   GLUSTER_WATCHDOG_ITERATIONS     stop after this many loop turns (tests); default: run until stopped
#
# Worst case from a freeze to the kill: KILL_AFTER + INTERVAL + DEADLINE (the plan derives KILL_AFTER
# from network.ping-timeout so that this equals it). Only a process that exists, listens and does not
# answer is killed: no brick process (stopped by glusterd, reset-brick, a crash) or a refused
# connection (starting) is left to glusterd and the operators.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env GLUSTER_VOLUME GLUSTER_BRICK_DIR GLUSTER_WATCHDOG_KILL_AFTER_S
vol="$GLUSTER_VOLUME"
kill_after="$GLUSTER_WATCHDOG_KILL_AFTER_S"
min_misses="${GLUSTER_WATCHDOG_MIN_MISSES:-2}"
interval="${GLUSTER_WATCHDOG_INTERVAL_S:-1}"
deadline="${GLUSTER_WATCHDOG_DEADLINE_S:-2}"
restart="${GLUSTER_WATCHDOG_RESTART:-1}"
holdoff="${GLUSTER_WATCHDOG_RESTART_HOLDOFF_S:-600}"
state_dir="${GLUSTER_WATCHDOG_STATE_DIR:-/run/owncloud-ha}"
iterations="${GLUSTER_WATCHDOG_ITERATIONS:-0}"
restart_wait="${GLUSTER_WATCHDOG_RESTART_WAIT_S:-20}"
for v in kill_after min_misses holdoff iterations restart_wait; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v=${!v} must be a whole number of seconds/probes"
done
for v in interval deadline; do
    [[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v=${!v} must be a number of seconds"
done
[ "$min_misses" -ge 1 ] || die "GLUSTER_WATCHDOG_MIN_MISSES must be at least 1"
case "$restart" in 0|1) ;; *) die "GLUSTER_WATCHDOG_RESTART must be 0 or 1" ;; esac
case "$GLUSTER_BRICK_DIR" in /*) ;; *) die "GLUSTER_BRICK_DIR must be an absolute path" ;; esac
mkdir -p "$state_dir"

# ONC RPC call over TCP (RFC 5531): record mark (last fragment, 40 bytes), xid "ocha", CALL, RPC
# version 2, program GLUSTER_DUMP_PROGRAM 123451501 (0x075bb86d) version 1, procedure GF_DUMP_PING 2,
# AUTH_NULL credential and verifier. Served by rpcsvc itself in the brick's event thread (no disk I/O).
readonly PING_CALL='\x80\x00\x00\x28\x6f\x63\x68\x61\x00\x00\x00\x00\x00\x00\x00\x02\x07\x5b\xb8\x6d\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
# A reply starts with a record mark, the same xid and message type REPLY (1); accepted or denied,
# any reply proves the brick's event threads run.
readonly REPLY_RE='^[89a-f][0-9a-f]{7}6f63686100000001'

# brick_port_of PID: true when PID is a glusterfsd serving GLUSTER_BRICK_DIR in this network namespace
# (lab hosts share one PID namespace); sets found_port to its --brick-port. Builtins only: it runs
# for every process while no brick is found, once per interval.
brick_port_of() {
    local d="/proc/$1" args i name=""
    found_port=""; found_host=""
    [ "$d/ns/net" -ef /proc/self/ns/net ] || return 1
    mapfile -d '' -t args 2>/dev/null < "$d/cmdline" || return 1
    [ "${#args[@]}" -gt 2 ] && [ "${args[0]##*/}" = glusterfsd ] || return 1
    for ((i = 1; i + 1 < ${#args[@]}; i++)); do
        case "${args[i]}" in
            --brick-name) name="${args[i + 1]}" ;;
            --brick-port) found_port="${args[i + 1]}" ;;
            -s) found_host="${args[i + 1]}" ;;
        esac
    done
    [ "$name" = "$GLUSTER_BRICK_DIR" ] && [[ "$found_port" =~ ^[0-9]+$ ]]
}

# find_brick: sets pid and port of this node's brick process (the last one seen first), or fails.
find_brick() {
    local d
    if [ -n "$pid" ] && brick_port_of "$pid"; then port="$found_port"; host="$found_host"; return 0; fi
    for d in /proc/[0-9]*; do
        if brick_port_of "${d#/proc/}"; then pid="${d#/proc/}"; port="$found_port"; host="$found_host"; return 0; fi
    done
    pid=""; port=""
    return 1
}

# probe PORT: 0 = an RPC reply, 124 = none within the deadline (connect and send are in the bound
# too: a frozen brick's accept queue fills), anything else = no listener or garbage (not a freeze).
probe() {
    local hex rc=0
    # shellcheck disable=SC2016 # the inner script expands its own positional parameters
    hex="$(timeout "$deadline" bash -c '
        { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || exit 3
        printf "$2" >&3
        head -c 16 <&3 | od -An -v -tx1' probe "$1" "$PING_CALL")" || rc=$?
    [ "$rc" = 0 ] || return "$rc"
    hex="${hex//[[:space:]]/}"
    [[ "$hex" =~ $REPLY_RE ]] || return 4
}

proc_state() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo gone; }

# brick_offline: glusterd has seen the killed brick go (its status 0). Until then `volume start
# force` is a no-op for it: glusterd_brick_start() returns early while brickinfo->start_triggered is
# set, which only the brick's disconnect in glusterd clears (glusterd-utils.c, glusterd-handler.c).
brick_offline() {
    timeout 20 gluster --mode=script volume status "$vol" "$killed_host:$GLUSTER_BRICK_DIR" --xml 2>/dev/null \
        | grep -q '<status>0</status>'
}

# restart_brick: once glusterd saw the brick go, `volume start VOL force` starts the bricks that are
# not running; done when a new brick process shows up. Bounded, retried (another gluster transaction
# may hold the cluster lock), at most once per holdoff.
restart_brick() {
    local stamp="$state_dir/brick-watchdog.last-restart" last=0 now attempt i
    if [ "$restart" != 1 ]; then
        warn "restart disabled: the brick stays down until 'gluster volume start $vol force'"
        return 0
    fi
    now="$(date +%s)"
    last="$(cat "$stamp" 2>/dev/null || echo 0)"
    [[ "$last" =~ ^[0-9]+$ ]] || last=0
    if [ $((now - last)) -lt "$holdoff" ]; then
        warn "this watchdog already restarted the brick $((now - last)) s ago: leaving it down (a brick that keeps freezing needs an operator: its log, dmesg, the disk); then 'gluster volume start $vol force'"
        return 0
    fi
    printf '%s\n' "$now" > "$stamp"
    for attempt in 1 2 3; do
        for ((i = 0; i < restart_wait; i++)); do brick_offline && break; sleep 1; done
        # glusterd waits for the new brick to daemonize before it answers: a few seconds suffice
        timeout 60 gluster --mode=script volume start "$vol" force >/dev/null 2>&1 || true
        for ((i = 0; i < 5; i++)); do
            if find_brick; then
                log "brick restarted through glusterd (volume start $vol force): PID $pid; self-heal catches it up"
                return 0
            fi
            sleep 1
        done
        warn "no brick process after 'volume start $vol force' (attempt $attempt of 3)"
    done
    warn "the brick stays down: start it by hand ('gluster volume start $vol force') once the cause is known"
}

kill_brick() {
    local state i
    state="$(proc_state "$pid")"
    log "brick PID $pid (port $port, state $state) answered no ping for $((SECONDS - last_ok)) s ($misses probes of ${deadline} s missed): SIGKILL, so its clients see a disconnect instead of waiting"
    killed_host="$host"
    kill -KILL "$pid" 2>/dev/null || true
    # A zombie has closed its sockets already (the clients see the disconnect), but glusterd still
    # takes it for a running brick (gf_is_pid_running opens /proc/PID/cmdline) and would not start a
    # new one: wait (bounded) until it is reaped.
    for ((i = 0; i < 2 * restart_wait; i++)); do
        state="$(proc_state "$pid")"
        [ "$state" != gone ] || break
        sleep 0.5
    done
    case "$state" in
        gone) log "brick PID $pid is gone" ;;
        Z) warn "brick PID $pid is dead but not reaped after ${restart_wait} s: glusterd may take it for running" ;;
        *) warn "brick PID $pid still exists ${restart_wait} s after SIGKILL (state $state; D = blocked in the kernel, e.g. a hung disk): its sockets stay open until it dies" ;;
    esac
    pid=""; misses=0; last_ok=$SECONDS
    restart_brick
}

pid=""; port=""; host=""; killed_host=""; found_port=""; found_host=""; seen=""; misses=0; last_ok=$SECONDS; turns=0
log "watching brick $GLUSTER_BRICK_DIR of $vol: ping every ${interval} s (deadline ${deadline} s); kill after ${kill_after} s and ${min_misses} missed probes"
while :; do
    if find_brick; then
        if [ "$pid" != "$seen" ]; then
            log "brick process PID $pid, port $port"
            seen="$pid"; misses=0; last_ok=$SECONDS
        fi
        rc=0
        probe "$port" || rc=$?
        case "$rc" in
            0)
                [ "$misses" = 0 ] || log "brick PID $pid answers again after $misses missed probes"
                misses=0; last_ok=$SECONDS ;;
            124)
                misses=$((misses + 1))
                [ "$misses" != 1 ] || warn "brick PID $pid did not answer a ping within ${deadline} s (state $(proc_state "$pid"))" ;;
            *)
                # nothing listening yet (starting) or not an RPC reply: not a frozen brick
                misses=0; last_ok=$SECONDS ;;
        esac
        if [ "$misses" -ge "$min_misses" ] && [ $((SECONDS - last_ok)) -ge "$kill_after" ]; then
            kill_brick
        fi
    else
        [ -z "$seen" ] || log "no brick process for $GLUSTER_BRICK_DIR (stopped or not started): nothing to watch"
        seen=""; misses=0; last_ok=$SECONDS
    fi
    turns=$((turns + 1))
    if [ "$iterations" -gt 0 ] && [ "$turns" -ge "$iterations" ]; then break; fi
    sleep "$interval"
done
