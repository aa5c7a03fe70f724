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

# choose_snapshot TARGET_EPOCH [NAME] : sets `snapshot` and `snapshot_finished` to the newest
# complete snapshot finished before TARGET (or NAME), or dies saying why.
choose_snapshot() {
    local target="$1" pick="${2:-}" names=() n manifest finished i
    snapshot=""; snapshot_finished=""
    mapfile -t names < <(backup_list_complete)
    [ -z "$pick" ] || names=("$pick")
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        n="${names[$i]}"
        manifest="$(s3 cp "$(s3_url "full/$n/manifest.json")" - 2>/dev/null)" || { warn "snapshot $n: no readable manifest"; continue; }
        finished="$(sed -n 's/.*"finishedAt": *\([0-9]*\).*/\1/p' <<<"$manifest")"
        if [ -n "$finished" ] && [ "$finished" -lt "$target" ]; then snapshot="$n"; snapshot_finished="$finished"; return 0; fi
    done
    die "no complete snapshot finished before $(date -u -d "@$target" +%FT%TZ) (snapshots: ${names[*]:-none}); choose a later time"
}

cmd_check() {
    local to="" pick=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --to) to="${2:-}"; shift 2 ;;
            --backup) pick="${2:-}"; shift 2 ;;
            *) usage ;;
        esac
    done
    [ -n "$to" ] || die "check needs --to TIME (UTC)"
    choose_snapshot "$(backup_time_epoch "$to")" "$pick"
    log "a restore to $to would unpack snapshot $snapshot"
    printf '{"backup": "%s"}\n' "$snapshot"
}

cmd_files() {
    local to="" pick="" target
    while [ $# -gt 0 ]; do
        case "$1" in
            --to) to="${2:-}"; shift 2 ;;
            --backup) pick="${2:-}"; shift 2 ;;
            *) usage ;;
        esac
    done
    [ -n "$to" ] || die "files needs --to TIME (UTC)"
    target="$(backup_time_epoch "$to")"
    require_env BACKUP_VOLUME
    choose_snapshot "$target" "$pick"
    local chosen_finished="$snapshot_finished" chosen="$snapshot"

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
    printf '{"backup": "%s", "restoredTo": "%s", "files": %s, "previous": "%s"}\n' \
        "$chosen" "$(date -u -d "@$chosen_finished" +%FT%TZ)" "$files" "$old"
}

backup_require_settings
case "${1:-}" in
    list) backup_list_complete ;;
    check) shift; cmd_check "$@" ;;
    files) shift; cmd_files "$@" ;;
    *) usage ;;
esac
