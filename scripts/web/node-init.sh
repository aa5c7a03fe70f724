#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# First boot of an ownCloud web node (run by user data as root; idempotent, so a reboot or a manual
# re-run is safe). User data carries no secret: this script fetches them with the instance role.
#
#   AWS_REGION            region of the secrets
#   DB_SECRET_ARN         Galera credentials (appUser, appPassword, appDatabase)
#   REDIS_SECRET_ARN      Redis AUTH token (authToken)
#   ADMIN_SECRET_ARN      ownCloud admin account (username, password)
#   GALERA_BACKENDS       name=address,… in writer order (same on every node)
#   GLUSTER_SERVERS       Gluster node addresses, first = primary volfile server
#   GLUSTER_VOLUME        volume name
#   REDIS_HOST REDIS_PORT Redis endpoint (TLS)
#   OWNCLOUD_IMAGE        e.g. owncloud/server:11.0
#   OWNCLOUD_DOMAIN       public host name users reach
#   OWNCLOUD_HEALTH_PORT  port the load balancer checks (HAProxy answers 200 only when ownCloud serves)
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env AWS_REGION DB_SECRET_ARN REDIS_SECRET_ARN ADMIN_SECRET_ARN GALERA_BACKENDS GLUSTER_SERVERS \
    GLUSTER_VOLUME REDIS_HOST REDIS_PORT OWNCLOUD_IMAGE OWNCLOUD_DOMAIN OWNCLOUD_HEALTH_PORT

DATA=/mnt/owncloud-data
STATE_DIR="$DATA/.owncloud-ha"
ENV_FILE=/etc/owncloud-ha/owncloud.env
here="$(cd "$(dirname "$0")" && pwd)"

apt-get update -q >&2
apt_install docker.io awscli jq curl

secret_json() {
    aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$1" --query SecretString --output text
}

# 1. The node-local single-writer HAProxy to Galera (the configuration the lab tests), plus the
#    health frontend the load balancer checks.
GALERA_BACKENDS="$GALERA_BACKENDS" OWNCLOUD_HEALTH_PORT="$OWNCLOUD_HEALTH_PORT" \
    OWNCLOUD_HEALTH_HOST="$OWNCLOUD_DOMAIN" bash "$here/haproxy.sh"

# 2. The shared volume: ownCloud's config (/mnt/data/config in the image) and files live there, so
#    every node runs with the same instanceid, passwordsalt and secret.
GLUSTER_SERVERS="$GLUSTER_SERVERS" GLUSTER_VOLUME="$GLUSTER_VOLUME" GLUSTER_MOUNT_POINT="$DATA" \
    bash "$here/gluster-mount.sh"
install -d -m 700 "$STATE_DIR"

# 3. Secrets into a root-only env file for the container (never on a command line).
db="$(secret_json "$DB_SECRET_ARN")"
redis="$(secret_json "$REDIS_SECRET_ARN")"
admin="$(secret_json "$ADMIN_SECRET_ARN")"
{
    printf 'OWNCLOUD_DOMAIN=%s\n' "$OWNCLOUD_DOMAIN"
    printf 'OWNCLOUD_TRUSTED_DOMAINS=%s\n' "$OWNCLOUD_DOMAIN"
    printf 'OWNCLOUD_PROTOCOL=https\nOWNCLOUD_OVERWRITE_PROTOCOL=https\n'
    printf 'OWNCLOUD_DB_TYPE=mysql\nOWNCLOUD_DB_HOST=127.0.0.1:3306\nOWNCLOUD_MYSQL_UTF8MB4=true\n'
    printf 'OWNCLOUD_DB_NAME=%s\n' "$(jq -r .appDatabase <<<"$db")"
    printf 'OWNCLOUD_DB_USERNAME=%s\n' "$(jq -r .appUser <<<"$db")"
    printf 'OWNCLOUD_DB_PASSWORD=%s\n' "$(jq -r .appPassword <<<"$db")"
    printf 'OWNCLOUD_REDIS_ENABLED=true\nOWNCLOUD_REDIS_HOST=tls://%s\nOWNCLOUD_REDIS_PORT=%s\n' "$REDIS_HOST" "$REDIS_PORT"
    printf 'OWNCLOUD_REDIS_PASSWORD=%s\n' "$(jq -r .authToken <<<"$redis")"
    printf 'OWNCLOUD_ADMIN_USERNAME=%s\n' "$(jq -r .username <<<"$admin")"
    printf 'OWNCLOUD_ADMIN_PASSWORD=%s\n' "$(jq -r .password <<<"$admin")"
    # Files live on GlusterFS: a recursive chown on every start would crawl the whole volume.
    printf 'OWNCLOUD_SKIP_CHOWN=true\n'
    # Cron runs on one node at a time through the leader lock below, never inside every container.
    printf 'OWNCLOUD_CROND_ENABLED=false\n'
} | write_root_file "$ENV_FILE" 600
unset db redis admin

# 4. Start ownCloud. The image installs or upgrades the database on start; only one node may do
#    that at a time, so the first start happens under a cluster-wide lock on the shared volume and
#    the lock is held until this node serves. A node joining an installed cluster finds config.php
#    there and does not touch the schema.
status_ok() {
    curl -fsS -H "Host: $OWNCLOUD_DOMAIN" http://127.0.0.1:8080/status.php 2>/dev/null \
        | jq -e '.installed == true and .maintenance == false and .needsDbUpgrade == false' >/dev/null
}
if ! docker inspect owncloud >/dev/null 2>&1; then
    exec 8>"$STATE_DIR/install.lock"
    flock -w 1800 8 || die "another node held the install lock for 30 min; check it, then re-run this script"
    docker pull -q "$OWNCLOUD_IMAGE" >&2
    docker run -d --name owncloud --restart unless-stopped -p 127.0.0.1:8080:8080 \
        --env-file "$ENV_FILE" -v "$DATA:/mnt/data" "$OWNCLOUD_IMAGE" >/dev/null
    wait_for "ownCloud to serve (installed, not in maintenance)" 900 status_ok \
        || die "ownCloud did not come up; see: docker logs owncloud"
    exec 8>&-
fi
log "ownCloud serves on 127.0.0.1:8080"

# 5. Background jobs: a timer on every node, but the job runs only where the non-blocking leader
#    lock on the shared volume is free, so at most one node runs cron at any time.
if is_systemd; then
    cat >/etc/systemd/system/owncloud-cron.service <<UNIT
[Unit]
Description=ownCloud background jobs (one node at a time)
[Service]
Type=oneshot
ExecStart=/usr/bin/flock -n $STATE_DIR/cron.lock /usr/bin/docker exec -u www-data owncloud occ system:cron
UNIT
    cat >/etc/systemd/system/owncloud-cron.timer <<'UNIT'
[Unit]
Description=ownCloud background jobs every 5 minutes
[Timer]
OnCalendar=*:0/5
RandomizedDelaySec=30
[Install]
WantedBy=timers.target
UNIT
    systemctl daemon-reload
    systemctl enable --now owncloud-cron.timer
fi
log "web node ready"
