#!/usr/bin/env bash
# PLACEHOLDER until the node-side backup scripts land: checks the environment contract of the
# gluster-backup-<node> plan step (components/bootstrap/backup.ts) and refuses to pretend it
# installed anything. The real script installs backup.sh and restore.sh with ../lib/common.sh and
# lib.sh under /opt/owncloud-ha/backup and the systemd timer of the volume's content backup.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

require_env BACKUP_BUCKET BACKUP_PREFIX BACKUP_NODE BACKUP_NODE_ORDER BACKUP_ON_CALENDAR BACKUP_VOLUME
die "gluster/backup-install.sh is a placeholder: the backup scripts are not installed yet"
