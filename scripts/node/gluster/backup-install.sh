#!/usr/bin/env bash
# Install the file backups on this GlusterFS node: the scripts under /opt/owncloud-ha/backup, their
# settings in /etc/owncloud-ha/backup.env and (systemd hosts) a timer running gluster/backup.sh on
# BACKUP_ON_CALENDAR: every node runs it, exactly one — the first peer in BACKUP_NODE_ORDER that is
# connected — takes the snapshot. Idempotent.
#
# Environment: see ../lib/backup.sh, plus BACKUP_VOLUME (the Gluster volume).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"

require_env BACKUP_BUCKET BACKUP_PREFIX BACKUP_NODE BACKUP_NODE_ORDER BACKUP_NODE_ADDRESSES BACKUP_ON_CALENDAR BACKUP_VOLUME
case "$BACKUP_ON_CALENDAR" in *'|'*|*$'\n'*) die "BACKUP_ON_CALENDAR must be one systemd OnCalendar expression" ;; esac
case ",$BACKUP_NODE_ORDER," in *",$BACKUP_NODE,"*) ;; *) die "BACKUP_NODE $BACKUP_NODE is not in BACKUP_NODE_ORDER ($BACKUP_NODE_ORDER)" ;; esac

# What backup_install copies for the timer (named here so a change to them re-runs this step).
for f in "$(dirname "$0")/backup.sh" "$(dirname "$0")/restore.sh"; do
    [ -f "$f" ] || die "$f is missing from the shipped scripts"
done
apt_install awscli zstd curl glusterfs-client
OCHA_BACKUP_TIMERS="owncloud-ha-files-backup|$BACKUP_ON_CALENDAR|backup.sh"
backup_install gluster gluster/backup.sh gluster/restore.sh
log "file backups installed: snapshots of volume $BACKUP_VOLUME to $(s3_url full/) ($BACKUP_ON_CALENDAR)"
