# shellcheck shell=bash
# Node metrics for CloudWatch, shared by scripts/galera/metrics.sh and scripts/gluster/metrics.sh.
# Source after common.sh. A tier's metrics.sh *reads* local state and prints `Name value` lines
# (`--print`, no AWS involved: what the tests and the lab run); `--publish` pipes the same lines to
# metrics_publish. The tier's setup step calls metrics_install, which runs it every 60 s under a
# systemd timer (cloud only: the lab has no systemd and no AWS).
#
# Settings (environment; written by metrics_install to $OCHA_METRICS_ENV_FILE for the timer):
#   OCHA_METRICS_NAMESPACE  CloudWatch namespace (components/shared/nodeMetrics.ts; the node role may
#                           put metrics into this namespace only)
#   OCHA_METRICS_CLUSTER    `Cluster` dimension: the Pulumi component's name, e.g. dev-db
#   OCHA_METRICS_NODE       `Node` dimension: the plan host, e.g. node1
#   OCHA_METRICS_REGION     optional; default the instance's region from IMDSv2

OCHA_METRICS_HOME=/opt/owncloud-ha/metrics
OCHA_METRICS_ENV_FILE=/etc/owncloud-ha/metrics.env
OCHA_METRICS_UNIT=owncloud-ha-metrics
# Bound of one put-metric-data call; the timer fires every 60 s and a run must end before the next.
OCHA_METRICS_PUT_TIMEOUT_S=20

# metrics_free_percent PATH: free space of PATH's file system in percent (one decimal), as an
# unprivileged writer sees it (available / (used + available), what df's Use% is computed from).
metrics_free_percent() {
    df -P -k "$1" 2>/dev/null | awk 'NR == 2 && ($3 + $4) > 0 { printf "%.1f\n", 100 * $4 / ($3 + $4); ok = 1 } END { exit !ok }'
}

# metrics_unit NAME: the CloudWatch unit of a metric, by the suffix of its name.
metrics_unit() {
    case "$1" in
        *Percent) echo Percent ;;
        *Seconds) echo Seconds ;;
        *Size|*Online|*Heals) echo Count ;;
        *) echo None ;;
    esac
}

# metrics_region: OCHA_METRICS_REGION, else the instance's region from IMDSv2 (bounded).
metrics_region() {
    if [ -n "${OCHA_METRICS_REGION:-}" ]; then echo "$OCHA_METRICS_REGION"; return 0; fi
    local token
    token="$(curl -sf --max-time 2 -X PUT http://169.254.169.254/latest/api/token \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')" || return 1
    curl -sf --max-time 2 -H "X-aws-ec2-metadata-token: $token" \
        http://169.254.169.254/latest/meta-data/placement/region
}

# metrics_json: `Name value` lines on stdin -> the --metric-data JSON array, with the Cluster and
# Node dimensions. Lines that are not a metric name and a number are refused (exit 1).
# shellcheck disable=SC2153 # OCHA_METRICS_NODE comes from the environment (checked by metrics_publish)
metrics_json() {
    local name value dims sep="" out="["
    while read -r name value; do
        [ -n "$name" ] || continue
        [[ "$name" =~ ^[A-Za-z][A-Za-z0-9]*$ && "$value" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { log "ERROR: bad metric line: $name $value"; return 1; }
        dims="{\"Name\":\"Cluster\",\"Value\":\"$OCHA_METRICS_CLUSTER\"}"
        # A backup's age is the cluster's, whichever node took it: Cluster only, so the alarm's
        # Minimum is the freshest backup over the nodes (components/shared/nodeMetrics.ts BACKUP_METRICS).
        case "$name" in *BackupAgeSeconds) ;; *) dims+=",{\"Name\":\"Node\",\"Value\":\"$OCHA_METRICS_NODE\"}" ;; esac
        out+="$sep{\"MetricName\":\"$name\",\"Value\":$value,\"Unit\":\"$(metrics_unit "$name")\",\"Dimensions\":[$dims]}"
        sep=","
    done
    printf '%s]\n' "$out"
}

# metrics_publish: `Name value` lines on stdin -> one bounded put-metric-data call.
metrics_publish() {
    require_env OCHA_METRICS_NAMESPACE OCHA_METRICS_CLUSTER OCHA_METRICS_NODE
    local v
    for v in OCHA_METRICS_NAMESPACE OCHA_METRICS_CLUSTER OCHA_METRICS_NODE; do
        [[ "${!v}" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "$v='${!v}': letters, digits, '.', '_' and '-' only"
    done
    local region data
    region="$(metrics_region)" || die "no region: set OCHA_METRICS_REGION or run on EC2 (IMDSv2 did not answer)"
    data="$(metrics_json)" || die "refusing to publish malformed metrics"
    [ "$data" != "[]" ] || { warn "nothing to publish"; return 0; }
    # No credentials pass through here: the CLI takes them from the instance role (IMDS).
    timeout "$OCHA_METRICS_PUT_TIMEOUT_S" aws cloudwatch put-metric-data --region "$region" \
        --namespace "$OCHA_METRICS_NAMESPACE" --metric-data "$data" \
        || die "put-metric-data failed or took more than ${OCHA_METRICS_PUT_TIMEOUT_S}s"
}

# metrics_main TIER "$@": --print (default) prints what metrics_read_TIER reads; --publish sends it.
metrics_main() {
    local tier="$1"; shift
    case "${1:---print}" in
        --print) "metrics_read_$tier" ;;
        --publish) "metrics_read_$tier" | metrics_publish ;;
        *) die "usage: $0 [--print|--publish]" ;;
    esac
}

# metrics_install TIER KEY=VALUE…: install the tier's reader under $OCHA_METRICS_HOME and a
# systemd service + timer that publishes every 60 s. Settings are the OCHA_METRICS_* variables
# plus the tier's own KEY=VALUE pairs (non-secret). Only on systemd; a no-op elsewhere (the lab).
metrics_install() {
    local tier="$1"; shift
    is_systemd || { log "no systemd: metrics timer not installed (run $tier/metrics.sh --print by hand)"; return 0; }
    require_env OCHA_METRICS_NAMESPACE OCHA_METRICS_CLUSTER OCHA_METRICS_NODE
    apt_install awscli curl
    local dir="$OCHA_SCRIPTS_DIR" f
    install -d -m 755 "$OCHA_METRICS_HOME/lib" "$OCHA_METRICS_HOME/$tier" /etc/owncloud-ha
    for f in lib/common.sh lib/metrics.sh lib/backup.sh "$tier/lib.sh" "$tier/metrics.sh"; do
        [ -f "$dir/$f" ] && install -m 755 "$dir/$f" "$OCHA_METRICS_HOME/$f"
    done
    {
        printf 'OCHA_METRICS_NAMESPACE=%s\nOCHA_METRICS_CLUSTER=%s\nOCHA_METRICS_NODE=%s\n' \
            "$OCHA_METRICS_NAMESPACE" "$OCHA_METRICS_CLUSTER" "$OCHA_METRICS_NODE"
        [ -z "${OCHA_METRICS_REGION:-}" ] || printf 'OCHA_METRICS_REGION=%s\n' "$OCHA_METRICS_REGION"
        printf '%s\n' "$@"
    } | write_root_file "$OCHA_METRICS_ENV_FILE" 644
    write_root_file "/etc/systemd/system/$OCHA_METRICS_UNIT.service" 644 <<UNIT
[Unit]
Description=Publish owncloud-ha $tier metrics to CloudWatch
[Service]
Type=oneshot
EnvironmentFile=$OCHA_METRICS_ENV_FILE
ExecStart=/bin/bash $OCHA_METRICS_HOME/$tier/metrics.sh --publish
TimeoutStartSec=100
UNIT
    write_root_file "/etc/systemd/system/$OCHA_METRICS_UNIT.timer" 644 <<UNIT
[Unit]
Description=Publish owncloud-ha $tier metrics every minute
[Timer]
OnBootSec=60
OnUnitActiveSec=60
AccuracySec=5
[Install]
WantedBy=timers.target
UNIT
    systemctl daemon-reload
    systemctl enable --now "$OCHA_METRICS_UNIT.timer"
    log "metrics timer $OCHA_METRICS_UNIT.timer publishes $tier metrics to $OCHA_METRICS_NAMESPACE every 60 s"
}
