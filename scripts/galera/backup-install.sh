#!/usr/bin/env bash
# PLACEHOLDER until the node-side backup scripts land: checks the environment contract of the
# galera-backup-<node> plan step (components/bootstrap/backup.ts) and refuses to pretend it
# installed anything. The real script installs backup.sh, binlog-ship.sh and restore.sh with
# ../lib/common.sh and lib.sh under /opt/owncloud-ha/backup and their systemd timers.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env BACKUP_BUCKET BACKUP_PREFIX BACKUP_NODE BACKUP_NODE_ORDER BACKUP_ON_CALENDAR BACKUP_BINLOG_INTERVAL_S
die "galera/backup-install.sh is a placeholder: the backup scripts are not installed yet"
