# shellcheck shell=bash
# Backups to S3, shared by scripts/galera/{backup,binlog-ship,restore}.sh and
# scripts/gluster/{backup,restore}.sh. Source after common.sh.
#
# Settings (environment; backup-install.sh writes them to $OCHA_BACKUP_ENV_FILE, which the timers
# and an operator's run read):
#   BACKUP_BUCKET        S3 bucket (created by the cluster component)
#   BACKUP_PREFIX        key prefix of this tier, no slashes at the ends (galera | files)
#   BACKUP_NODE          this host's plan name, e.g. node2
#   BACKUP_NODE_ORDER    plan names in the order nodes take the scheduled backup (comma-separated)
#   BACKUP_NODE_ADDRESSES the same nodes' private addresses, same order
#   BACKUP_ON_CALENDAR   systemd OnCalendar of the scheduled backup
#   BACKUP_REGION        optional; default the instance's region from IMDSv2
#   BACKUP_S3_ENDPOINT   optional, the lab's S3 stand-in only (static placeholder credentials)
#
# Object layout (one home: the restore scripts and the operators' CLI read the same):
#   s3://BUCKET/PREFIX/full/<STAMP>-<node>/…      one backup; manifest.json is written last and
#                                                 marks it complete
#   s3://BUCKET/PREFIX/binlog/<node>/<file>       Galera binary logs, shipped as they close
# STAMP is UTC `YYYYmmddTHHMMSSZ`, so keys sort by time.

OCHA_BACKUP_HOME="${OCHA_BACKUP_HOME:-/opt/owncloud-ha/backup}"
OCHA_BACKUP_ENV_FILE="${OCHA_BACKUP_ENV_FILE:-/etc/owncloud-ha/backup.env}"
OCHA_BACKUP_STATE="${OCHA_BACKUP_STATE:-/var/lib/owncloud-ha/backup}"
# Bound of one S3 call that moves metadata (ls, a manifest); streams are bounded by their caller.
OCHA_BACKUP_S3_TIMEOUT_S=120

# backup_load_env: the settings from $OCHA_BACKUP_ENV_FILE for every variable not already set
# (a timer's EnvironmentFile and an operator's `sudo …/backup.sh` see the same values).
backup_load_env() {
    local line k v
    [ -r "$OCHA_BACKUP_ENV_FILE" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in ''|'#'*) continue ;; esac
        k="${line%%=*}"; v="${line#*=}"
        case "$k" in BACKUP_*) ;; *) continue ;; esac
        [ -n "${!k:-}" ] || printf -v "$k" '%s' "$v"
        export "${k?}"
    done < "$OCHA_BACKUP_ENV_FILE"
}

# backup_stamp [EPOCH]: UTC time stamp used in object keys.
backup_stamp() {
    date -u -d "@${1:-$(date +%s)}" +%Y%m%dT%H%M%SZ
}

# backup_stamp_epoch STAMP: the epoch of a backup_stamp (fails on anything else).
backup_stamp_epoch() {
    [[ "$1" =~ ^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$ ]] || return 1
    date -u -d "${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]} ${BASH_REMATCH[4]}:${BASH_REMATCH[5]}:${BASH_REMATCH[6]}" +%s
}

# backup_choose ORDER ADDRESSES MEMBERS: the plan name of the node that takes the backup: the first
# node in ORDER (comma-separated names) whose address (ADDRESSES, same order) is in MEMBERS (the
# addresses of the nodes that are currently members, comma/space-separated, `ip` or `ip:port`).
# Every member computes the same answer from the same membership, so exactly one of them backs up.
# Prints nothing when no listed node is a member.
backup_choose() {
    local -a names addrs members
    local i m
    IFS=',' read -r -a names <<<"$1"
    IFS=',' read -r -a addrs <<<"$2"
    IFS=', ' read -r -a members <<<"$3"
    [ "${#names[@]}" = "${#addrs[@]}" ] || { warn "BACKUP_NODE_ORDER has ${#names[@]} names but BACKUP_NODE_ADDRESSES ${#addrs[@]} addresses"; return 1; }
    for i in "${!names[@]}"; do
        for m in "${members[@]}"; do
            if [ "${m%:*}" = "${addrs[$i]}" ]; then echo "${names[$i]}"; return 0; fi
        done
    done
}

backup_require_settings() {
    backup_load_env
    require_env BACKUP_BUCKET BACKUP_PREFIX BACKUP_NODE
    case "$BACKUP_BUCKET" in *[!a-z0-9.-]*) die "BACKUP_BUCKET '$BACKUP_BUCKET' is not an S3 bucket name" ;; esac
    case "$BACKUP_PREFIX" in /*|*/|*[!A-Za-z0-9/_-]*) die "BACKUP_PREFIX '$BACKUP_PREFIX' must be letters, digits, _ - / without a slash at either end" ;; esac
}

# backup_region: BACKUP_REGION, else the instance's region from IMDSv2 (bounded).
backup_region() {
    if [ -n "${BACKUP_REGION:-}" ]; then echo "$BACKUP_REGION"; return 0; fi
    local token
    token="$(curl -sf --max-time 2 -X PUT http://169.254.169.254/latest/api/token \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')" || { warn "no BACKUP_REGION and no instance metadata"; return 1; }
    curl -sf --max-time 2 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/placement/region
}

# s3 ARGS…: `aws s3 ARGS…` against the backup bucket's region (and the lab's stand-in endpoint),
# bounded by S3_TIMEOUT_S (default OCHA_BACKUP_S3_TIMEOUT_S; streams of whole backups set more).
# Credentials: the instance profile; with the stand-in, placeholders (it checks none).
s3() {
    local region
    region="$(backup_region)" || die "cannot tell the AWS region: set BACKUP_REGION"
    if [ -n "${BACKUP_S3_ENDPOINT:-}" ]; then
        AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-standin}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-standin}" \
            timeout "${S3_TIMEOUT_S:-$OCHA_BACKUP_S3_TIMEOUT_S}" aws --endpoint-url "$BACKUP_S3_ENDPOINT" --region "$region" s3 "$@"
    else
        timeout "${S3_TIMEOUT_S:-$OCHA_BACKUP_S3_TIMEOUT_S}" aws --region "$region" s3 "$@"
    fi
}

# s3_url SUFFIX: s3://BUCKET/PREFIX/SUFFIX
s3_url() {
    echo "s3://$BACKUP_BUCKET/$BACKUP_PREFIX/$1"
}

# backup_time_epoch TIME : epoch of a UTC time given as `YYYY-MM-DD HH:MM:SS` or
# `YYYY-MM-DDTHH:MM:SSZ` (what --to takes); refuses anything else.
backup_time_epoch() {
    [[ "$1" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[T\ ][0-9]{2}:[0-9]{2}:[0-9]{2}Z?$ ]] \
        || die "--to '$1' is not a UTC time like 2026-11-24 14:05:00 or 2026-11-24T14:05:00Z"
    local t="${1/T/ }"
    date -u -d "${t%Z}" +%s || die "--to '$1' is not a valid time"
}

# backup_list_complete: the names (`<STAMP>-<node>`) of complete backups (those with a manifest),
# oldest first.
backup_list_complete() {
    local listing err
    err="$(mktemp)"
    # `aws s3 ls` exits 1 without a word when nothing matches the prefix: that is an empty list.
    if ! listing="$(s3 ls --recursive "$(s3_url full/)" 2>"$err")" && [ -s "$err" ]; then
        die "cannot list $(s3_url full/): $(tr '\n' ' ' <"$err")"
    fi
    rm -f "$err"
    printf '%s\n' "$listing" | awk '{print $4}' | sed -n "s#^$BACKUP_PREFIX/full/\\([^/]*\\)/manifest\\.json\$#\\1#p" | sort
}

# backup_manifest_number MANIFEST FIELD : a numeric field of a manifest.json text ('' when absent).
backup_manifest_number() {
    sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" <<<"$1"
}

# backup_skip_unless_chosen MEMBERS WHAT : unless --force was given (force=1), exit 0 with the
# {"skipped": …} line when backup_choose picks another node than this one from MEMBERS.
backup_skip_unless_chosen() {
    local chosen
    chosen="$(backup_choose "$BACKUP_NODE_ORDER" "$BACKUP_NODE_ADDRESSES" "$1")"
    if [ "${force:-0}" = 0 ] && [ "$chosen" != "$BACKUP_NODE" ]; then
        log "skipped: ${chosen:-no node} takes the $2 (members: $1)"
        printf '{"skipped": true, "chosen": "%s"}\n' "$chosen"
        exit 0
    fi
}

# backup_choose_before TARGET_EPOCH [NAME] : sets `chosen` and `chosen_manifest` to the newest
# complete backup whose consistent point (its manifest's finishedAt) is before TARGET — or to NAME,
# when given and it finished before TARGET — or dies saying why. Used by both tiers' restore.sh.
# shellcheck disable=SC2034 # chosen, chosen_manifest: set for the caller (its locals)
backup_choose_before() {
    local target="$1" pick="${2:-}" names=() n manifest finished i
    chosen=""; chosen_manifest=""
    mapfile -t names < <(backup_list_complete)
    [ -z "$pick" ] || names=("$pick")
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        n="${names[$i]}"
        manifest="$(s3 cp "$(s3_url "full/$n/manifest.json")" - 2>/dev/null)" || { warn "backup $n: no readable manifest"; continue; }
        finished="$(backup_manifest_number "$manifest" finishedAt)"
        if [ -n "$finished" ] && [ "$finished" -lt "$target" ]; then chosen="$n"; chosen_manifest="$manifest"; return 0; fi
    done
    die "no complete backup finished before $(date -u -d "@$target" +%FT%TZ) (backups: ${names[*]:-none}); choose a later time"
}

# backup_restore_args ARG… : parses `--to TIME [--backup NAME]` into `restore_to` (epoch, required)
# and `restore_pick`; dies naming the expected form on anything else.
# shellcheck disable=SC2034 # restore_to, restore_pick: set for the caller (its locals)
backup_restore_args() {
    local to=""
    restore_pick=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --to) to="${2:-}"; shift 2 || shift ;;
            --backup) restore_pick="${2:-}"; shift 2 || shift ;;
            *) die "unexpected argument '$1': give --to TIME (UTC) and optionally --backup NAME" ;;
        esac
    done
    [ -n "$to" ] || die "give --to TIME (UTC, like 2026-11-24T14:05:00Z): the point in time to restore to"
    restore_to="$(backup_time_epoch "$to")"
}

# backup_pick_before LIMIT_EPOCH NAME…: the newest backup name whose stamp is at or before LIMIT.
backup_pick_before() {
    local limit="$1" n e best=""; shift
    for n in "$@"; do
        e="$(backup_stamp_epoch "${n%%-*}")" || continue
        [ "$e" -le "$limit" ] && best="$n"
    done
    echo "$best"
}

# backup_record_success TIER: the time of this node's last complete backup, read by the tier's
# metrics (backup_age_metric) and by `status`.
backup_record_success() {
    install -d -m 755 "$OCHA_BACKUP_STATE"
    date +%s | write_root_file "$OCHA_BACKUP_STATE/$1-last-success" 644
}

# backup_age_metric TIER NAME: `NAME seconds` since this node's last complete backup of TIER, or
# nothing when this node never took one (the alarm takes the freshest over the cluster's nodes).
backup_age_metric() {
    local last
    last="$(cat "$OCHA_BACKUP_STATE/$1-last-success" 2>/dev/null)" || return 0
    [[ "$last" =~ ^[0-9]+$ ]] || return 0
    echo "$2 $(( $(date +%s) - last ))"
}

# backup_install TIER SCRIPT… : copy the tier's backup scripts and what they source to
# $OCHA_BACKUP_HOME, write the settings file, and (systemd hosts) install a timer per
# `UNIT|ON_CALENDAR_OR_SECONDS|SCRIPT ARGS` spec given in OCHA_BACKUP_TIMERS (newline-separated).
backup_install() {
    local tier="$1"; shift
    local dir="$OCHA_SCRIPTS_DIR" f
    install -d -m 755 "$OCHA_BACKUP_HOME/lib" "$OCHA_BACKUP_HOME/$tier" "$(dirname "$OCHA_BACKUP_ENV_FILE")" "$OCHA_BACKUP_STATE"
    for f in lib/common.sh lib/backup.sh "$tier/lib.sh" "$@"; do
        [ -f "$dir/$f" ] || die "$f is missing from the shipped scripts"
        install -m 755 "$dir/$f" "$OCHA_BACKUP_HOME/$f"
    done
    env | grep -E '^BACKUP_[A-Z0-9_]+=' | sort | write_root_file "$OCHA_BACKUP_ENV_FILE" 644
    is_systemd || { log "no systemd: backup timers not installed (run $OCHA_BACKUP_HOME/$tier/*.sh by hand)"; return 0; }
    local spec unit when cmd
    while IFS= read -r spec; do
        [ -n "$spec" ] || continue
        IFS='|' read -r unit when cmd <<<"$spec"
        write_root_file "/etc/systemd/system/$unit.service" 644 <<UNIT
[Unit]
Description=owncloud-ha $tier backup: $cmd
After=network-online.target
[Service]
Type=oneshot
ExecStart=/bin/bash $OCHA_BACKUP_HOME/$tier/$cmd
UNIT
        if [[ "$when" =~ ^[0-9]+$ ]]; then
            when="OnBootSec=$when
OnUnitInactiveSec=$when
AccuracySec=1"
        else
            when="OnCalendar=$when
Persistent=true
RandomizedDelaySec=300"
        fi
        write_root_file "/etc/systemd/system/$unit.timer" 644 <<UNIT
[Unit]
Description=owncloud-ha $tier backup schedule: $cmd
[Timer]
$when
[Install]
WantedBy=timers.target
UNIT
        systemctl daemon-reload
        systemctl enable --now "$unit.timer"
        log "timer $unit.timer installed"
    done <<<"${OCHA_BACKUP_TIMERS:-}"
}
