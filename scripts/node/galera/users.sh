#!/usr/bin/env bash
# Create/refresh the database users, once, on the bootstrap node (they replicate to joiners).
# Idempotent: CREATE ... IF NOT EXISTS, then ALTER USER sets the current password.
#
# Environment:
#   GALERA_APP_USER       e.g. owncloud
#   GALERA_APP_DATABASE   e.g. owncloud
#   GALERA_APP_HOSTS      host pattern the app connects from (web subnet), e.g. 10.0.%
#   GALERA_SST_USER       optional, default sst
#   GALERA_HEALTH_USER    optional, default galera_health
# Secrets (stdin): GALERA_ROOT_PASSWORD GALERA_APP_PASSWORD GALERA_SST_PASSWORD GALERA_HEALTH_PASSWORD
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

require_env GALERA_APP_USER GALERA_APP_DATABASE GALERA_APP_HOSTS
read_secrets GALERA_ROOT_PASSWORD GALERA_APP_PASSWORD GALERA_SST_PASSWORD GALERA_HEALTH_PASSWORD
SST_USER="${GALERA_SST_USER:-sst}"
HEALTH_USER="${GALERA_HEALTH_USER:-galera_health}"
case "$GALERA_APP_DATABASE$GALERA_APP_USER$SST_USER$HEALTH_USER" in *[!a-zA-Z0-9_]*) die "user and database names must match [a-zA-Z0-9_]+" ;; esac

galera_is_synced_primary || die "this node is not Synced in a Primary component; run galera/start.sh first"

app_host="$(sql_quote "$GALERA_APP_HOSTS")"
# SQL (with passwords) goes to the client on stdin, never on its command line.
galera_sql_stdin <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($(sql_quote "$GALERA_ROOT_PASSWORD"));
CREATE USER IF NOT EXISTS '${SST_USER}'@'localhost';
ALTER USER '${SST_USER}'@'localhost' IDENTIFIED BY $(sql_quote "$GALERA_SST_PASSWORD");
GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO '${SST_USER}'@'localhost';
CREATE USER IF NOT EXISTS '${HEALTH_USER}'@'localhost';
ALTER USER '${HEALTH_USER}'@'localhost' IDENTIFIED BY $(sql_quote "$GALERA_HEALTH_PASSWORD");
CREATE DATABASE IF NOT EXISTS \`${GALERA_APP_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS '${GALERA_APP_USER}'@${app_host};
ALTER USER '${GALERA_APP_USER}'@${app_host} IDENTIFIED BY $(sql_quote "$GALERA_APP_PASSWORD");
GRANT ALL PRIVILEGES ON \`${GALERA_APP_DATABASE}\`.* TO '${GALERA_APP_USER}'@${app_host};
ALTER USER '${GALERA_APP_USER}'@${app_host} WITH MAX_USER_CONNECTIONS ${GALERA_APP_MAX_CONNECTIONS};
-- The health check proves a node can commit: one row per node, written at most once a second.
CREATE DATABASE IF NOT EXISTS owncloud_ha;
CREATE TABLE IF NOT EXISTS owncloud_ha.heartbeat (node VARCHAR(64) PRIMARY KEY, beat DATETIME(6) NOT NULL) ENGINE=InnoDB;
GRANT SELECT, INSERT, UPDATE ON owncloud_ha.heartbeat TO '${HEALTH_USER}'@'localhost';
-- The designated single writer (the writer health answer, health-check.sh): one row, claimed by the
-- first node with a fresh heartbeat when the designated one goes stale; an operator moves it by hand
-- with UPDATE owncloud_ha.writer SET node = '<name>' WHERE id = 1 (README, "Galera writer").
CREATE TABLE IF NOT EXISTS owncloud_ha.writer (id TINYINT PRIMARY KEY, node VARCHAR(64) NOT NULL, since DATETIME(6) NOT NULL) ENGINE=InnoDB;
GRANT SELECT, INSERT, UPDATE ON owncloud_ha.writer TO '${HEALTH_USER}'@'localhost';
SQL
log "users ${SST_USER}, ${HEALTH_USER}, ${GALERA_APP_USER}@${GALERA_APP_HOSTS} (at most ${GALERA_APP_MAX_CONNECTIONS} connections), database ${GALERA_APP_DATABASE} the heartbeat and writer tables in place"
