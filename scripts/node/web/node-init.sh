#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# First boot of an ownCloud web node (run by user data as root; idempotent, so a reboot or a manual
# re-run is safe). User data carries no secret: this script fetches them with the instance role.
# Its files and environment are the web node plan's (components/web/plan.ts); it passes its own
# environment on to haproxy.sh and gluster-mount.sh, which read the plan's variables for them.
#
#   AWS_REGION            region of the secrets
#   DB_SECRET_ARN         Galera credentials (appUser, appPassword, appDatabase)
#   REDIS_SECRET_ARN      Redis AUTH token (authToken)
#   ADMIN_SECRET_ARN      ownCloud admin account (username, password)
#   GALERA_BACKENDS GALERA_SQL_PORT GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT
#   HAPROXY_*             for haproxy.sh (HAPROXY_LISTEN is also ownCloud's database host)
#   GLUSTER_SERVERS GLUSTER_VOLUME GLUSTER_MOUNT_POINT GLUSTERD_PORT   for gluster-mount.sh (the mount
#                         point is where ownCloud's data lives)
#   REDIS_HOST REDIS_PORT Redis endpoint (TLS): the primary endpoint, or with REDIS_CLUSTER_MODE=enabled
#                         the configuration endpoint of a cluster-mode replication group
#   REDIS_CLUSTER_MODE    enabled | disabled (ElastiCache cluster mode)
#   OWNCLOUD_IMAGE        e.g. owncloud/server:11.0.0
#   OWNCLOUD_DOMAIN       public host name users reach
#   OWNCLOUD_PROTOCOL     http | https: what the load balancer serves users (https only with a certificate)
#   OWNCLOUD_HEALTH_PORT OWNCLOUD_HEALTH_HOST   port the load balancer checks (HAProxy answers 200
#                         only when ownCloud serves) and the Host header HAProxy asks status.php with
#   OWNCLOUD_PORT         the image's HTTP port (Apache's Listen)
#
# The container runs on the HOST network: HAPROXY_LISTEN (127.0.0.1) is then this node's HAProxy,
# and Apache's `Listen` is on the instance address the ALB forwards to. Without a bridge, IMDSv2's hop limit
# 1 no longer shields the instance role, so www-data (uid 33: Apache/PHP, occ, cron) is denied IMDS.
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

DATA="${GLUSTER_MOUNT_POINT:-}"
STATE_DIR="$DATA/.owncloud-ha"
ENV_FILE=/etc/owncloud-ha/owncloud.env
UNIT_DIR="${OCHA_SYSTEMD_DIR:-/etc/systemd/system}"
DOCKER="${OCHA_DOCKER:-/usr/bin/docker}"
# The image's www-data (Ubuntu base-passwd: uid 33) and group root, as the image's own chown
# (owncloud.d/25-chown.sh, `www-data:root`) would leave them.
WWW_UID=33
WWW_GID=0

# ownCloud's directories on the shared volume, owned by www-data before the first start: with
# OWNCLOUD_SKIP_CHOWN the image creates them as root and `occ maintenance:install` (www-data) could
# not write config.php. Only the directories themselves: never a crawl of the volume.
owncloud_dirs() {
    local root="$1" d
    for d in config files apps sessions; do
        if [ ! -d "$root/$d" ]; then
            install -d -o "$WWW_UID" -g "$WWW_GID" -m 0770 "$root/$d"
        elif [ "$(stat -c %u:%g "$root/$d")" != "$WWW_UID:$WWW_GID" ]; then
            chown "$WWW_UID:$WWW_GID" "$root/$d"
        fi
    done
}

# The container's environment. Needs $db, $redis and $admin (the secrets' JSON) in scope.
owncloud_env() {
    printf 'OWNCLOUD_DOMAIN=%s\nOWNCLOUD_TRUSTED_DOMAINS=%s\n' "$OWNCLOUD_DOMAIN" "$OWNCLOUD_DOMAIN"
    printf 'OWNCLOUD_PROTOCOL=%s\nOWNCLOUD_OVERWRITE_PROTOCOL=%s\n' "$OWNCLOUD_PROTOCOL" "$OWNCLOUD_PROTOCOL"
    printf 'OWNCLOUD_DB_TYPE=mysql\nOWNCLOUD_DB_HOST=%s\nOWNCLOUD_MYSQL_UTF8MB4=true\n' "$HAPROXY_LISTEN"
    printf 'OWNCLOUD_DB_NAME=%s\n' "$(jq -r .appDatabase <<<"$db")"
    printf 'OWNCLOUD_DB_USERNAME=%s\n' "$(jq -r .appUser <<<"$db")"
    printf 'OWNCLOUD_DB_PASSWORD=%s\n' "$(jq -r .appPassword <<<"$db")"
    printf 'OWNCLOUD_REDIS_ENABLED=true\n'
    if [ "$REDIS_CLUSTER_MODE" = enabled ]; then
        # The image's config.php template writes redis.cluster (seeds, password) when SEEDS is set.
        # phpredis speaks TLS to the nodes it discovers only through a stream context, which the
        # template creates when a TLS setting is given; the nodes' certificate names the cluster's
        # domain, so verify it against the configuration endpoint's name.
        printf 'OWNCLOUD_REDIS_SEEDS=%s:%s\n' "$REDIS_HOST" "$REDIS_PORT"
        printf 'OWNCLOUD_REDIS_TLS_VERIFY_PEER=true\nOWNCLOUD_REDIS_TLS_PEER_NAME=%s\n' "$REDIS_HOST"
    else
        printf 'OWNCLOUD_REDIS_HOST=tls://%s\nOWNCLOUD_REDIS_PORT=%s\n' "$REDIS_HOST" "$REDIS_PORT"
    fi
    printf 'OWNCLOUD_REDIS_PASSWORD=%s\n' "$(jq -r .authToken <<<"$redis")"
    printf 'OWNCLOUD_ADMIN_USERNAME=%s\n' "$(jq -r .username <<<"$admin")"
    printf 'OWNCLOUD_ADMIN_PASSWORD=%s\n' "$(jq -r .password <<<"$admin")"
    # Files live on GlusterFS: a recursive chown on every start would crawl the whole volume.
    printf 'OWNCLOUD_SKIP_CHOWN=true\n'
    # Cron runs on one node at a time through the leader lock below, never inside every container.
    printf 'OWNCLOUD_CROND_ENABLED=false\n'
}

# The container as a systemd unit: started only with the shared volume mounted (a container that
# started on the empty mount point would install a fresh ownCloud over the shared configuration).
# Stopping: the image's PID 1 is the apachectl shell script, which never passes Docker's SIGTERM on
# to Apache (owncloud-docker/server issues 482, 698), so `docker stop` alone waits its whole timeout
# and then SIGKILLs Apache mid-request. SIGWINCH to Apache's parent (the container's apache2 whose
# parent is PID 1) is Apache's graceful stop: it finishes the requests in flight and exits, which
# ends the container; `docker stop` then only bounds it. (`apachectl graceful-stop` cannot be used:
# `docker exec` lacks the APACHE_* variables the entrypoint exports, so the config does not parse.)
# `$$` is systemd's escape for a literal `$`.
owncloud_unit() {
    cat <<UNIT
[Unit]
Description=ownCloud (owncloud/server on the host network)
Requires=docker.service
Wants=haproxy.service network-online.target
After=docker.service haproxy.service network-online.target
RequiresMountsFor=$DATA
[Service]
ExecStartPre=/usr/bin/mountpoint -q $DATA
ExecStartPre=/bin/sh -c 'iptables -w -C OUTPUT -d 169.254.169.254 -m owner --uid-owner $WWW_UID -j REJECT 2>/dev/null || iptables -w -I OUTPUT -d 169.254.169.254 -m owner --uid-owner $WWW_UID -j REJECT'
ExecStartPre=-$DOCKER rm -f owncloud
ExecStart=$DOCKER run --rm --name owncloud --network host --env-file $ENV_FILE -v $DATA:/mnt/data $OWNCLOUD_IMAGE
ExecStop=-$DOCKER exec owncloud sh -c 'for s in /proc/[0-9]*/stat; do read -r pid comm _ ppid _ < "\$\$s" || continue; if [ "\$\$comm" = "(apache2)" ] && [ "\$\$ppid" = 1 ]; then kill -WINCH "\$\$pid"; fi; done'
ExecStop=$DOCKER stop -t 60 owncloud
Restart=always
RestartSec=10
TimeoutStartSec=15min
[Install]
WantedBy=multi-user.target
UNIT
}

# Background jobs: what the image's own cron runs (/usr/bin/cronjob: occ system:cron, occ
# dav:cleanup-chunks), as www-data, on every node's timer, but only where the non-blocking leader
# lock on the shared volume is free. Losing the race is success (-E 0), not a failed unit.
cron_service_unit() {
    cat <<UNIT
[Unit]
Description=ownCloud background jobs (one node at a time)
Requisite=owncloud.service
After=owncloud.service
[Service]
Type=oneshot
TimeoutStartSec=1h
ExecStart=/usr/bin/flock -n -E 0 $STATE_DIR/cron.lock $DOCKER exec -u www-data owncloud /usr/bin/cronjob
UNIT
}
cron_timer_unit() {
    cat <<'UNIT'
[Unit]
Description=ownCloud background jobs every 5 minutes
[Timer]
OnCalendar=*:0/5
RandomizedDelaySec=30
[Install]
WantedBy=timers.target
UNIT
}

# write_unit NAME: stdin to $UNIT_DIR/NAME when it differs; exit 0 when it changed.
write_unit() {
    local content
    content="$(cat)"
    if [ -f "$UNIT_DIR/$1" ] && [ "$(cat "$UNIT_DIR/$1")" = "$content" ]; then return 1; fi
    printf '%s\n' "$content" | write_root_file "$UNIT_DIR/$1" 644
}

status_ok() {
    curl -fsS -H "Host: $OWNCLOUD_DOMAIN" "http://127.0.0.1:$OWNCLOUD_PORT/status.php" 2>/dev/null \
        | jq -e '.installed == true and .maintenance == false and .needsDbUpgrade == false' >/dev/null
}

secret_json() {
    aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$1" --query SecretString --output text
}

main() {
    require_env AWS_REGION DB_SECRET_ARN REDIS_SECRET_ARN ADMIN_SECRET_ARN GALERA_BACKENDS GALERA_SQL_PORT \
        GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT HAPROXY_LISTEN GLUSTER_SERVERS \
        GLUSTER_VOLUME GLUSTER_MOUNT_POINT GLUSTERD_PORT REDIS_HOST REDIS_PORT REDIS_CLUSTER_MODE \
        OWNCLOUD_IMAGE OWNCLOUD_DOMAIN OWNCLOUD_PROTOCOL OWNCLOUD_HEALTH_PORT OWNCLOUD_HEALTH_HOST OWNCLOUD_PORT
    case "$OWNCLOUD_PROTOCOL" in http|https) ;; *) die "OWNCLOUD_PROTOCOL=$OWNCLOUD_PROTOCOL: want http or https" ;; esac
    case "$REDIS_CLUSTER_MODE" in enabled|disabled) ;; *) die "REDIS_CLUSTER_MODE=$REDIS_CLUSTER_MODE: want enabled or disabled" ;; esac
    is_systemd || die "a web node needs systemd: ownCloud runs as a unit ordered after the shared volume's mount"
    local here db redis admin changed=0
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

    apt_install docker.io awscli jq curl

    # 1. The node-local single-writer HAProxy to Galera (the configuration the lab tests), plus the
    #    health frontend the load balancer checks.
    bash "$here/haproxy.sh"

    # 2. The shared volume: ownCloud's config (/mnt/data/config in the image) and files live there, so
    #    every node runs with the same instanceid, passwordsalt and secret. Nothing of ownCloud's is
    #    ever written to the mount point of the root filesystem.
    bash "$here/gluster-mount.sh"
    mountpoint -q "$DATA" || die "$DATA is not mounted: refusing to start ownCloud on the root filesystem"
    install -d -m 700 "$STATE_DIR"
    owncloud_dirs "$DATA"

    # 3. Secrets into a root-only env file for the container (never on a command line).
    install -d -m 700 "$(dirname "$ENV_FILE")"
    db="$(secret_json "$DB_SECRET_ARN")"
    redis="$(secret_json "$REDIS_SECRET_ARN")"
    admin="$(secret_json "$ADMIN_SECRET_ARN")"
    owncloud_env | write_root_file "$ENV_FILE" 600
    unset db redis admin

    # 4. Units.
    owncloud_unit | write_unit owncloud.service && changed=1
    cron_service_unit | write_unit owncloud-cron.service && changed=1
    cron_timer_unit | write_unit owncloud-cron.timer && changed=1
    if [ "$changed" = 1 ]; then systemctl daemon-reload; fi
    systemctl enable --quiet owncloud.service owncloud-cron.timer

    # 5. Start ownCloud. The image installs or upgrades the database on start; only one node may do
    #    that at a time, so the first start happens under a cluster-wide lock on the shared volume and
    #    the lock is held until this node serves. A node joining an installed cluster finds config.php
    #    there and does not touch the schema.
    if ! systemctl is-active --quiet owncloud.service; then
        exec 8>"$STATE_DIR/install.lock"
        flock -w 1800 8 || die "another node held the install lock for 30 min; check it, then re-run this script"
        "$DOCKER" pull -q "$OWNCLOUD_IMAGE" >&2
        systemctl start owncloud.service || die "owncloud.service did not start; see: journalctl -u owncloud"
        wait_for "ownCloud to serve (installed, not in maintenance)" 900 status_ok \
            || die "ownCloud did not come up; see: journalctl -u owncloud"
        exec 8>&-
    elif [ "$changed" = 1 ]; then
        warn "owncloud.service changed while running: it applies at the next restart (systemctl restart owncloud, one node at a time)"
    fi
    log "ownCloud serves on port $OWNCLOUD_PORT (host network)"
    systemctl start owncloud-cron.timer
    log "web node ready"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
