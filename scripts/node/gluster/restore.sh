#!/usr/bin/env bash
# Restore the Gluster volume's content from S3 to a point in time. Run on one node while ownCloud is
# in maintenance mode (the operators' `restore` command and the lab's drill do this after the
# database).
#
#   restore.sh list                           complete snapshots
#   restore.sh check --to TIME [--backup NAME]   which snapshot a restore to TIME would use; touches nothing
#   restore.sh files --to TIME [--backup NAME]
#       Unpack the newest complete snapshot finished before TIME (UTC, `YYYY-MM-DD HH:MM:SS` or
#       `YYYY-MM-DDTHH:MM:SSZ`) into the volume and swap it in: the current content moves to
#       .owncloud-ha-pre-restore-<STAMP>/ on the volume (delete it once the restore is checked).
#       Last stdout line: {"backup", "restoredTo", "files", "previous"}.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"

usage() { die "usage: restore.sh list | check --to TIME | files --to TIME [--backup NAME]"; }

cmd_check() {
    local restore_to restore_pick chosen chosen_manifest
    backup_restore_args "$@"
    backup_choose_before "$restore_to" "$restore_pick"
    log "a restore to $(date -u -d "@$restore_to" +%FT%TZ) would unpack snapshot $chosen"
    printf '{"backup": "%s"}\n' "$chosen"
}

cmd_files() {
    local restore_to restore_pick chosen chosen_manifest chosen_finished
    backup_restore_args "$@"
    require_env BACKUP_VOLUME
    backup_choose_before "$restore_to" "$restore_pick"
    chosen_finished="$(backup_manifest_number "$chosen_manifest" finishedAt)"

    local stamp new old
    # Global, not local: the EXIT trap runs after this function returned.
    mnt=/run/owncloud-ha/files-restore-mnt
    install -d -m 700 "$mnt"
    trap 'umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true' EXIT
    mountpoint -q "$mnt" || timeout 60 mount -t glusterfs "127.0.0.1:/$BACKUP_VOLUME" "$mnt" \
        || die "cannot mount volume $BACKUP_VOLUME from this node"
    stamp="$(backup_stamp "$(date +%s)")"
    new="$mnt/.owncloud-ha-restore-$stamp"
    old=".owncloud-ha-pre-restore-$stamp"
    mkdir "$new"
    log "unpacking snapshot $chosen into the volume"
    S3_TIMEOUT_S="${BACKUP_STREAM_TIMEOUT_S:-21600}" s3 cp "$(s3_url "full/$chosen/files.tar.zst")" - \
        | zstd -dc | tar -C "$new" --extract --file=- --numeric-owner --same-permissions \
        || die "download or unpacking of snapshot $chosen failed (the volume's content is unchanged; $new holds the partial copy)"
    # Swap by renames inside the volume: cheap, and the old content stays until an operator deletes it.
    mkdir "$mnt/$old"
    find "$mnt" -mindepth 1 -maxdepth 1 ! -name '.owncloud-ha-*' -exec mv -t "$mnt/$old" {} +
    find "$new" -mindepth 1 -maxdepth 1 -exec mv -t "$mnt" {} +
    rmdir "$new"
    local files
    files="$(find "$mnt" -path "$mnt/.owncloud-ha-*" -prune -o -type f -print | wc -l)"
    log "volume $BACKUP_VOLUME restored from $chosen ($files files); the previous content is in $old on the volume"
    local changed
    changed="$(backup_manifest_number "$chosen_manifest" changedWhileRead)"
    [ "${changed:-0}" = 0 ] || warn "snapshot $chosen holds $changed file(s) that changed while it was taken (may be torn): $(s3_url "full/$chosen/changed-while-read.txt")"
    printf '{"backup": "%s", "restoredTo": "%s", "files": %s, "previous": "%s", "changedWhileRead": %s}\n' \
        "$chosen" "$(date -u -d "@$chosen_finished" +%FT%TZ)" "$files" "$old" "${changed:-0}"
}

backup_require_settings
case "${1:-}" in
    list) backup_list_complete ;;
    check) shift; cmd_check "$@" ;;
    files) shift; cmd_files "$@" ;;
    *) usage ;;
esac
