#!/usr/bin/env bash
# Full backup of the Galera cluster's data with mariabackup, streamed (xbstream, zstd) to S3.
# Runs on every node from a timer; only the node chosen by backup_choose (the first member of the
# Primary Component in BACKUP_NODE_ORDER, which lists the writer last) backs up, the others say who
# does and exit 0. `--force` backs up from this node regardless (an operator's choice).
#
# The backup is consistent at one GTID (mariabackup's BACKUP STAGE locks); manifest.json, written
# after the data, records it with the binary-log coordinates, and marks the backup complete: the
# restore never picks a backup without one. Last stdout line: {"backup": NAME, "url": URL} or
# {"skipped": true, "chosen": NODE}.
#
# Settings: ../lib/backup.sh (read from /etc/owncloud-ha/backup.env when not in the environment);
# BACKUP_STREAM_TIMEOUT_S optional bound of the whole stream (default 21600).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

backup_require_settings
require_env BACKUP_NODE_ORDER BACKUP_NODE_ADDRESSES
force=0
[ "${1:-}" = --force ] && force=1

install -d -m 755 /run/owncloud-ha
exec 9>/run/owncloud-ha/galera-backup.lock
flock -n 9 || die "another galera backup runs on this node"

member_addrs="$(galera_status wsrep_incoming_addresses)"
[ -n "$member_addrs" ] || die "mariadb does not answer on this node: cannot tell the cluster's members"
backup_skip_unless_chosen "$member_addrs" backup
galera_is_synced_primary || die "this node is not Synced in a Primary Component (state $(galera_status wsrep_local_state_comment)): no backup from it"

started="$(date +%s)"
name="$(backup_stamp "$started")-$BACKUP_NODE"
url="$(s3_url "full/$name")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "full backup $name to $url"
S3_TIMEOUT_S="${BACKUP_STREAM_TIMEOUT_S:-21600}"
# mariabackup reads the datadir as root over the socket (unix_socket auth): no password involved.
if ! timeout "$S3_TIMEOUT_S" mariabackup --backup --galera-info --stream=xbstream --target-dir="$work/tmp" \
        --user=root --socket=/run/mysqld/mysqld.sock 2>"$work/mariabackup.log" \
    | zstd -q -T0 -3 \
    | S3_TIMEOUT_S="$S3_TIMEOUT_S" s3 cp - "$url/backup.xbstream.zst"; then
    tail -n 20 "$work/mariabackup.log" >&2 || true
    die "backup $name failed (mariabackup, zstd or the upload; mariabackup's last lines above); it has no manifest, so no restore will use it"
fi
grep -q "completed OK!" "$work/mariabackup.log" || { tail -n 20 "$work/mariabackup.log" >&2; die "mariabackup did not report success"; }
# "MySQL binlog position: filename 'mariadb-bin.000003', position '1234', GTID of the last change '1-1-42'"
pos_line="$(grep -m1 "binlog position:" "$work/mariabackup.log" || true)"
binlog_file="$(sed -n "s/.*filename '\([^']*\)'.*/\1/p" <<<"$pos_line")"
binlog_pos="$(sed -n "s/.*position '\([0-9]*\)'.*/\1/p" <<<"$pos_line")"
gtid="$(sed -n "s/.*GTID of the last change '\([^']*\)'.*/\1/p" <<<"$pos_line")"
[ -n "$gtid" ] || die "mariabackup reported no GTID position (is log_bin on? configure.sh sets it): the backup cannot anchor a point-in-time restore"
finished="$(date +%s)"
printf '{"name": "%s", "node": "%s", "startedAt": %s, "finishedAt": %s, "gtid": "%s", "binlogFile": "%s", "binlogPosition": %s, "clusterUuid": "%s"}\n' \
    "$name" "$BACKUP_NODE" "$started" "$finished" "$gtid" "$binlog_file" "${binlog_pos:-0}" "$(galera_status wsrep_cluster_state_uuid)" \
    | s3 cp - "$url/manifest.json"
backup_record_success galera
log "backup $name complete in $((finished - started))s at GTID $gtid"
printf '{"backup": "%s", "url": "%s"}\n' "$name" "$url"
