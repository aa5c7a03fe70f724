# shellcheck shell=bash
# Shared helpers for node scripts. Source it, don't run it:
#   . "$(dirname "$0")/../lib/common.sh"
#
# Stable API (documented in the lab notes; the Gluster scripts source it too):
#   log MSG… / warn MSG… / die MSG…      messages on stderr, prefixed with script and host
#   require_env VAR…                      refuse (exit 2) naming every missing/empty variable
#   read_secrets NAME…                    read `NAME=value` lines from stdin into shell variables
#                                         (not exported); refuse naming every missing one
#   write_root_file PATH MODE             write stdin to PATH atomically, owner root, mode MODE
#   is_systemd                            true when PID 1 is systemd
#   svc start|stop|restart|reload|status|kill|enable NAME [ARGS…]
#                                         service seam: systemctl (tests without systemd pass OCLAB_SVC)
#   wait_for DESC TIMEOUT_S CMD…          poll CMD every 0.5 s until it succeeds, bounded
#   apt_install PKG…                      install missing Debian packages, non-interactive; refreshes
#                                         the lists when empty or a package is unknown; bounded retries

if [ -n "${OCHA_COMMON_SH:-}" ]; then return 0; fi
OCHA_COMMON_SH=1

# shellcheck disable=SC2034 # read by lib/backup.sh and lib/metrics.sh, which source this file
OCHA_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OCHA_ME="$(basename "${0:-script}")"

log() { printf '%s [%s@%s] %s\n' "$(date -u +%H:%M:%S)" "$OCHA_ME" "$(hostname 2>/dev/null || echo '?')" "$*" >&2; }
warn() { log "WARNING: $*"; }
die() { log "ERROR: $*"; exit 1; }

require_env() {
    local v missing=()
    for v in "$@"; do
        if [ -z "${!v:-}" ]; then missing+=("$v"); fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "ERROR: missing required variable(s): ${missing[*]} (set them in the step's environment)"
        exit 2
    fi
}

# read_secrets NAME… : reads NAME=value lines from stdin (until EOF). Unknown names are ignored.
read_secrets() {
    local line name value want missing=()
    if [ -t 0 ]; then
        log "ERROR: secrets $* are expected on stdin as NAME=value lines, but stdin is a terminal"
        exit 2
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        [ -z "$line" ] && continue
        name="${line%%=*}"
        value="${line#*=}"
        for want in "$@"; do
            if [ "$name" = "$want" ]; then
                printf -v "$name" '%s' "$value"
            fi
        done
    done
    for want in "$@"; do
        if [ -z "${!want:-}" ]; then missing+=("$want"); fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "ERROR: missing secret(s) on stdin: ${missing[*]} (expected NAME=value lines)"
        exit 2
    fi
}

write_root_file() {
    local path="$1" mode="$2" tmp
    tmp="$(mktemp "$(dirname "$path")/.tmp.XXXXXX")"
    chmod "$mode" "$tmp"
    cat > "$tmp"
    chown root:root "$tmp" 2>/dev/null || true
    mv -f "$tmp" "$path"
}

is_systemd() {
    [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ]
}

wait_for() {
    local desc="$1" timeout="$2"; shift 2
    local deadline=$((SECONDS + timeout))
    while ! "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "timed out after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep 0.5
    done
}

# Debian cloud images ship with empty apt lists, and a node's egress (NAT route) may come up after
# the node does: refresh the lists only when they are empty or a wanted package is unknown (so hosts
# that already have everything never touch the network), and retry within a bound.
OCHA_APT_LISTS="${OCHA_APT_LISTS:-/var/lib/apt/lists}"
# 8 attempts, waiting 10, 20, … 60 s between them (~4.5 min): longer than a NAT gateway takes to
# come up (1.5–2 min) after the node that needs it.
OCHA_APT_ATTEMPTS="${OCHA_APT_ATTEMPTS:-8}"
OCHA_APT_DELAY_S="${OCHA_APT_DELAY_S:-10}"
apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300 "$@" >&2
}
apt_retry() {
    local what="$1" i wait waited=0
    shift
    for ((i = 1; i <= OCHA_APT_ATTEMPTS; i++)); do
        if apt_get "$@"; then return 0; fi
        if [ "$i" -lt "$OCHA_APT_ATTEMPTS" ]; then
            wait=$((OCHA_APT_DELAY_S * i)); [ "$wait" -le 60 ] || wait=60
            warn "apt-get $what failed (attempt $i of $OCHA_APT_ATTEMPTS); retrying in ${wait}s"
            sleep "$wait"
            waited=$((waited + wait))
        fi
    done
    die "apt-get $what failed $OCHA_APT_ATTEMPTS times over ${waited}s: the Debian mirror is unreachable (check this subnet's route to the NAT gateway and DNS) or the package does not exist"
}
apt_lists_empty() {
    ! compgen -G "$OCHA_APT_LISTS/*_Packages*" >/dev/null
}
apt_known() {
    apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
}

apt_install() {
    local p missing=() refresh=0
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if apt_lists_empty; then
        refresh=1
    else
        for p in "${missing[@]}"; do apt_known "$p" || refresh=1; done
    fi
    if [ "$refresh" = 1 ]; then
        log "refreshing apt lists (empty, or no candidate for one of: ${missing[*]})"
        apt_retry update update
    fi
    log "installing: ${missing[*]}"
    # A failed install (a mirror that moved on since the lists were fetched: 404) refreshes once.
    if ! apt_get install -y "${missing[@]}"; then
        warn "apt-get install ${missing[*]} failed; refreshing the lists and retrying"
        apt_retry update update
        apt_retry "install ${missing[*]}" install -y "${missing[@]}"
    fi
}

# Service seam. Only the start of mariadb accepts an extra argument (--wsrep-new-cluster); on
# systemd it is passed through the _WSREP_NEW_CLUSTER environment variable that Debian's
# mariadb.service reads (what galera_new_cluster does, but with start, never restart).
svc() {
    local action="${1:?svc: action}" name="${2:?svc: service name}"
    shift 2
    if is_systemd; then
        case "$action" in
            start)
                if [ "$#" -gt 0 ]; then
                    if [ "$name" != mariadb ] || [ "$*" != "--wsrep-new-cluster" ]; then
                        die "svc: extra arguments are only supported for 'mariadb --wsrep-new-cluster'"
                    fi
                    systemctl set-environment _WSREP_NEW_CLUSTER=--wsrep-new-cluster
                    local rc=0
                    systemctl start mariadb || rc=$?
                    systemctl set-environment _WSREP_NEW_CLUSTER=
                    return "$rc"
                fi
                systemctl start "$name" ;;
            stop|restart|reload) systemctl "$action" "$name" ;;
            status) systemctl is-active --quiet "$name" || return 3 ;;
            kill) systemctl kill --signal=SIGKILL "$name" ;;
            enable) systemctl enable "$name" ;;
            *) die "svc: unknown action $action" ;;
        esac
    else
        # Instances (and the lab's booted hosts) run systemd; only the unit tests, which run these
        # scripts on a machine without it, hand in a stand-in launcher.
        local launcher="${OCLAB_SVC:-}"
        if [ -z "$launcher" ] || [ ! -f "$launcher" ]; then
            die "svc: PID 1 is not systemd (these scripts run on systemd hosts; tests set OCLAB_SVC to a stand-in)"
        fi
        if [ "$action" = enable ]; then return 0; fi
        bash "$launcher" "$action" "$name" "$@"
    fi
}
