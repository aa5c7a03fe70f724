#!/usr/bin/env bash
# Snapshot of the Gluster volume's content (the ownCloud data directory) to S3 as one tar.zst
# stream, read through a read-only client mount of the volume (so a brick down or healing does not
# matter: the client reads from the bricks that are good). Runs on every node from a timer; only the
# node chosen by backup_choose (the first node in BACKUP_NODE_ORDER whose brick is online) takes it; `--force` takes
# it here regardless.
#
# Consistency with the database follows ownCloud's backup order (database first, then files): the
# Galera backup and its binary logs run continuously, so any file snapshot has a database state
# before it. manifest.json, written last, marks the snapshot complete. Last stdout line:
# {"backup": NAME, "url": URL, "files": N} or {"skipped": true, "chosen": NODE}.
#
# Settings: ../lib/backup.sh and BACKUP_VOLUME; BACKUP_STREAM_TIMEOUT_S bound of the stream (21600).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

backup_require_settings
require_env BACKUP_NODE_ORDER BACKUP_NODE_ADDRESSES BACKUP_VOLUME
force=0
[ "${1:-}" = --force ] && force=1
install -d -m 755 /run/owncloud-ha
exec 9>/run/owncloud-ha/files-backup.lock
flock -n 9 || die "another file backup runs on this node"

# Members: the nodes whose brick is online (a node without a running brick cannot be trusted to
# see the volume; every node reads the same volume status, so they agree).
member_addrs="$(online_brick_hosts "$BACKUP_VOLUME" | tr '\n' ' ')"
[ -n "${member_addrs// /}" ] || die "glusterd reports no online brick of $BACKUP_VOLUME on any node (or does not answer)"
backup_skip_unless_chosen "$member_addrs" snapshot

mnt=/run/owncloud-ha/files-backup-mnt
install -d -m 700 "$mnt"
cleanup() { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
mountpoint -q "$mnt" || timeout 60 mount -t glusterfs -o ro "127.0.0.1:/$BACKUP_VOLUME" "$mnt" \
    || die "cannot mount volume $BACKUP_VOLUME read-only from this node"

started="$(date +%s)"
name="$(backup_stamp "$started")-$BACKUP_NODE"
url="$(s3_url "full/$name")"
log "snapshot $name of volume $BACKUP_VOLUME to $url"
S3_TIMEOUT_S="${BACKUP_STREAM_TIMEOUT_S:-21600}"
err="$(mktemp)"
# Leftovers of a restore (.owncloud-ha-*) are not content. GNU tar exits 1 when a file changed,
# shrank or vanished while it was read ("Some files differ"), 2 on a fatal error: users keep
# working during a snapshot, so 1 is the normal case of a live volume, not a failure. Those files
# are as tar read them; their names go to changed-while-read.txt beside the snapshot and their count
# into the manifest, so a restore can tell which files may be torn.
set +e
timeout "$S3_TIMEOUT_S" tar -C "$mnt" --create --file=- --numeric-owner --sparse --exclude='./.owncloud-ha-*' . 2>"$err" \
    | zstd -q -T0 -3 \
    | S3_TIMEOUT_S="$S3_TIMEOUT_S" s3 cp - "$url/files.tar.zst"
stream=("${PIPESTATUS[@]}")
set -e
if [ "${stream[0]}" -gt 1 ] || [ "${stream[1]}" != 0 ] || [ "${stream[2]}" != 0 ]; then
    die "snapshot $name failed (tar exit ${stream[0]}, zstd ${stream[1]}, upload ${stream[2]}): $(tail -n 5 "$err" | tr '\n' ' ')"
fi
changed="$(grep -cE ': (file changed as we read it|File removed before we read it|File shrank by [0-9]+ bytes.*)$' "$err" || true)"
if [ "${stream[0]}" = 1 ]; then
    warn "snapshot $name: tar read $changed file(s) while they changed (listed in changed-while-read.txt): $(head -n 3 "$err" | tr '\n' ' ')"
    s3 cp - "$url/changed-while-read.txt" <"$err"
fi
files="$(find "$mnt" -path "$mnt/.owncloud-ha-*" -prune -o -type f -print | wc -l)"
finished="$(date +%s)"
printf '{"name": "%s", "node": "%s", "volume": "%s", "startedAt": %s, "finishedAt": %s, "files": %s, "changedWhileRead": %s}\n' \
    "$name" "$BACKUP_NODE" "$BACKUP_VOLUME" "$started" "$finished" "$files" "$changed" | s3 cp - "$url/manifest.json"
backup_record_success files
log "snapshot $name complete in $((finished - started))s ($files files)"
printf '{"backup": "%s", "url": "%s", "files": %s}\n' "$name" "$url" "$files"
