#!/usr/bin/env bash
# Install this Galera node's backups: the scripts under /opt/owncloud-ha/backup, their settings in
# /etc/owncloud-ha/backup.env, and (systemd hosts) two timers: the scheduled full backup
# (galera/backup.sh: every node runs it, exactly one — the first member in BACKUP_NODE_ORDER, which
# lists the writer last — takes it) and the binary-log shipment (galera/binlog-ship.sh on every node,
# every BACKUP_BINLOG_INTERVAL_S seconds). Idempotent.
#
# Environment: see ../lib/backup.sh, plus
#   BACKUP_BINLOG_INTERVAL_S  seconds between binary-log shipments (bounds the restore point's loss)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"

require_env BACKUP_BUCKET BACKUP_PREFIX BACKUP_NODE BACKUP_NODE_ORDER BACKUP_NODE_ADDRESSES BACKUP_ON_CALENDAR BACKUP_BINLOG_INTERVAL_S
if ! [[ "$BACKUP_BINLOG_INTERVAL_S" =~ ^[0-9]+$ ]] || [ "$BACKUP_BINLOG_INTERVAL_S" -lt 10 ]; then die "BACKUP_BINLOG_INTERVAL_S must be a whole number of seconds, at least 10 (got '$BACKUP_BINLOG_INTERVAL_S')"; fi
case "$BACKUP_ON_CALENDAR" in *'|'*|*$'\n'*) die "BACKUP_ON_CALENDAR must be one systemd OnCalendar expression" ;; esac
case ",$BACKUP_NODE_ORDER," in *",$BACKUP_NODE,"*) ;; *) die "BACKUP_NODE $BACKUP_NODE is not in BACKUP_NODE_ORDER ($BACKUP_NODE_ORDER)" ;; esac

# What backup_install copies for the timers (named here so a change to them re-runs this step).
for f in "$(dirname "$0")/backup.sh" "$(dirname "$0")/binlog-ship.sh" "$(dirname "$0")/restore.sh"; do
    [ -f "$f" ] || die "$f is missing from the shipped scripts"
done
apt_install awscli zstd curl mariadb-backup
OCHA_BACKUP_TIMERS="owncloud-ha-galera-backup|$BACKUP_ON_CALENDAR|backup.sh
owncloud-ha-galera-binlog-ship|$BACKUP_BINLOG_INTERVAL_S|binlog-ship.sh"
backup_install galera galera/backup.sh galera/binlog-ship.sh galera/restore.sh
log "backups installed: full backups to $(s3_url full/) ($BACKUP_ON_CALENDAR), binary logs every ${BACKUP_BINLOG_INTERVAL_S}s to $(s3_url "binlog/$BACKUP_NODE/")"
