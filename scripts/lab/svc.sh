#!/usr/bin/env bash
# Lab service launcher: the no-systemd half of the `svc` seam in scripts/node/lib/common.sh.
# Runs inside a lab host (its own net/mount/uts namespaces). Each daemon runs in the foreground
# under setsid; its PID is recorded in /run/oclab-svc/NAME.pid and its output goes to
# /var/log/oclab-svc/NAME.log (both per-host paths in the lab).
#
#   svc.sh start NAME [ARGS…]   start (no-op when running), wait until ready (bounded)
#   svc.sh stop NAME            SIGTERM, wait (bounded), then SIGKILL
#   svc.sh restart NAME
#   svc.sh reload NAME          haproxy: SIGUSR2 to the master
#   svc.sh status NAME          exit 0 running, 3 not running
#   svc.sh kill NAME            SIGKILL (fault injection)
#   svc.sh pid NAME             print the recorded PID when running
set -euo pipefail

RUN_DIR=/run/oclab-svc
LOG_DIR=/var/log/oclab-svc
mkdir -p "$RUN_DIR" "$LOG_DIR"

action="${1:?usage: svc.sh start|stop|restart|reload|status|kill|pid NAME [ARGS…]}"
name="${2:?usage: svc.sh ACTION NAME}"
name="${name%.socket}"; name="${name%.service}"
shift 2
pidfile="$RUN_DIR/$name.pid"
logfile="$LOG_DIR/$name.log"

msg() { printf 'svc[%s] %s: %s\n' "$(hostname)" "$name" "$*" >&2; }

# Definitions: command line, readiness check, start timeout (s).
define() {
    case "$name" in
        mariadb)
            install -d -o mysql -g mysql -m 755 /run/mysqld
            # as Debian's mariadb.service: recover the wsrep start position first (galera_recovery),
            # so a node that crashed rejoins with IST instead of a full SST
            local pos=""
            if ! running_pid >/dev/null && [ -x /usr/bin/galera_recovery ]; then
                pos="$(cd /tmp && /usr/bin/galera_recovery 2>>"$logfile")" || { msg "galera_recovery failed"; exit 1; }
            fi
            CMD=(/usr/sbin/mariadbd --user=mysql "$@")
            if [ -n "$pos" ]; then CMD+=("$pos"); fi
            READY=(mariadb-admin --no-defaults --socket=/run/mysqld/mysqld.sock -uUNKNOWN_PROBE ping)
            READY_TIMEOUT=${OCLAB_MARIADB_START_TIMEOUT:-300} ;;
        galera-health|galera-health-donor|galera-health-writer)
            # the ports and questions of configure.sh's systemd socket units, the ports as it recorded them
            local port question
            # shellcheck source=/dev/null
            . /etc/owncloud-ha/galera-ports.env
            case "$name" in
                galera-health) port="$GALERA_HEALTH_PORT" question=synced ;;
                galera-health-donor) port="$GALERA_HEALTH_DONOR_PORT" question=donor ;;
                *) port="$GALERA_WRITER_PORT" question=writer ;;
            esac
            # shellcheck disable=SC2054 # socat address options are comma-separated
            CMD=(socat -T5 "TCP-LISTEN:${port},reuseaddr,fork,backlog=128" "EXEC:/opt/owncloud-ha/bin/galera-health ${question}")
            READY=(bash -c "exec 3<>/dev/tcp/127.0.0.1/${port}")
            READY_TIMEOUT=10 ;;
        haproxy)
            install -d -m 755 /run/haproxy
            CMD=(/usr/sbin/haproxy -W -db -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid "$@")
            # The listener haproxy.sh configured (HAPROXY_LISTEN, the plan's), read back from its config.
            # shellcheck disable=SC2016 # $1 is expanded by the inner bash
            READY=(bash -c 'exec 3<>"/dev/tcp/${1/://}"' _ "$(awk '$1 == "bind" { print $2; exit }' /etc/haproxy/haproxy.cfg)")
            READY_TIMEOUT=10 ;;
        glusterd)
            install -d -m 755 /run/gluster /var/log/glusterfs
            CMD=(/usr/sbin/glusterd -N -p /run/glusterd.pid --log-level INFO "$@")
            READY=(gluster --mode=script pool list)
            READY_TIMEOUT=60 ;;
        ssh)
            install -d -m 755 /run/sshd
            CMD=(/usr/sbin/sshd -D -e "$@")
            READY=(bash -c 'exec 3<>/dev/tcp/127.0.0.1/22')
            READY_TIMEOUT=10 ;;
        owncloud-ha-brick-watchdog)
            # the systemd unit's EnvironmentFile and ExecStart (gluster/brick-watchdog-install.sh)
            CMD=(bash -c 'set -a; . /etc/owncloud-ha/brick-watchdog.env; set +a; exec bash /opt/owncloud-ha/brick-watchdog/gluster/brick-watchdog.sh')
            READY=(true)
            READY_TIMEOUT=5 ;;
        *) msg "unknown lab service (known: mariadb galera-health galera-health-donor galera-health-writer haproxy glusterd ssh owncloud-ha-brick-watchdog)"; exit 2 ;;
    esac
}

running_pid() {
    local pid state
    [ -f "$pidfile" ] || return 1
    pid="$(cat "$pidfile")"
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)"
    [ "$state" != Z ] && [ "$state" != X ] || return 1
    printf '%s\n' "$pid"
}

ready() {
    case "$name" in
        mariadb)
            # any answer from the server (even access denied) means it accepts connections
            local out
            out="$("${READY[@]}" 2>&1 || true)"
            case "$out" in *"is alive"*|*"Access denied"*) return 0 ;; *) return 1 ;; esac ;;
        *) "${READY[@]}" >/dev/null 2>&1 ;;
    esac
}

do_start() {
    define "$@"
    if running_pid >/dev/null; then msg "already running"; return 0; fi
    printf '\n=== %s start: %s\n' "$(date -u +%FT%TZ)" "${CMD[*]}" >> "$logfile"
    setsid "${CMD[@]}" >> "$logfile" 2>&1 < /dev/null &
    echo "$!" > "$pidfile"
    local deadline=$((SECONDS + READY_TIMEOUT))
    while ! ready; do
        if ! running_pid >/dev/null; then
            msg "exited during start; last log lines:"; tail -n 20 "$logfile" >&2; return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            msg "not ready after ${READY_TIMEOUT}s (still running, PID $(cat "$pidfile"))"; return 1
        fi
        sleep 0.3
    done
    msg "started (PID $(cat "$pidfile"))"
}

do_stop() {
    local pid i
    pid="$(running_pid)" || { rm -f "$pidfile"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 "${OCLAB_STOP_TIMEOUT:-120}"); do
        running_pid >/dev/null || { rm -f "$pidfile"; msg "stopped"; return 0; }
        sleep 0.5
        : "$i"
    done
    msg "did not stop in time; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

case "$action" in
    start) do_start "$@" ;;
    stop) do_stop ;;
    restart) do_stop; do_start "$@" ;;
    reload)
        pid="$(running_pid)" || { msg "not running"; exit 3; }
        if [ "$name" = haproxy ]; then kill -USR2 "$pid"; else kill -HUP "$pid"; fi ;;
    status) running_pid >/dev/null || exit 3 ;;
    pid) running_pid || exit 3 ;;
    kill)
        pid="$(running_pid)" || { msg "not running"; exit 0; }
        kill -KILL "$pid"; msg "SIGKILL sent to $pid"
        # A crash is instantaneous: return only once the process is gone (a big mariadbd takes about
        # a second to tear down), so what runs next sees the node as a crashed node, not a dying one.
        for _ in $(seq 1 100); do running_pid >/dev/null || exit 0; sleep 0.1; done
        msg "still exiting 10 s after SIGKILL"; exit 1 ;;
    *) msg "unknown action $action"; exit 2 ;;
esac
