#!/usr/bin/env bash
# Restore the Galera data from S3, to a point in time. Runs on one node at a time, with mariadb
# stopped on EVERY node (the operators' `restore` command and the lab's drill run the whole
# procedure: ship the last binary logs, stop all nodes, `datadir` on the node to bootstrap, start it
# as a new cluster, `wipe` on the others, which then join by SST).
#
#   restore.sh list                          complete backups and binary-log chains in S3
#   restore.sh datadir --to TIME [--backup NAME]
#       Replace this node's datadir with the newest complete backup taken before TIME, then replay
#       the binary logs from the transaction after the backup's GTID (found by GTID, replayed by
#       file and position) up to (not including) TIME in a local server with
#       Galera off. TIME: UTC, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SSZ`. The chain replayed is
#       one that contains the backup's own GTID (so it has no gap after it) and reaches furthest.
#       Last stdout line: {"backup", "gtid", "chain", "transactions", "restoredTo"} — restoredTo is the
#       time of the last replayed event, which is before TIME when the shipped logs end earlier.
#   restore.sh wipe                          empty this node's datadir (it then joins by SST)
#   restore.sh check --to TIME [--backup NAME]   what a restore to TIME would use; touches nothing
#
# The datadir is replaced only after the backup was downloaded and prepared (the old one stays
# until then). Settings: ../lib/backup.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

DATADIR="$(dirname "$GALERA_BINLOG_BASENAME")"
STAGE="$DATADIR/.owncloud-ha-restore"
LOGS="$DATADIR/.owncloud-ha-restore-binlogs"
SOCK=/run/mysqld/restore.sock
PIDF=/run/mysqld/restore.pid

usage() { die "usage: restore.sh list | check --to TIME | datadir --to TIME [--backup NAME] | wipe"; }

refuse_if_running() {
    if mariadb_process_alive; then
        die "mariadbd runs on this node: stop mariadb on every node first (a restore replaces the cluster's data)"
    fi
}

# wipe_datadir [KEEP…] : remove everything in the datadir but lost+found (the volume's) and KEEP…
wipe_datadir() {
    local keep=(! -name lost+found) k
    for k in "$@"; do keep+=(! -name "$k"); done
    find "$DATADIR" -mindepth 1 -maxdepth 1 "${keep[@]}" -exec rm -rf {} +
}

# last_stamp_epoch : the time of the last event in decoded binary logs on stdin (mariadb-binlog's
# `#YYMMDD HH:MM:SS` headers, UTC), 0 when there is none.
last_stamp_epoch() {
    local stamp
    stamp="$(grep -oE '^#[0-9]{6} +[0-9]{1,2}:[0-9]{2}:[0-9]{2}' | tail -n1 || true)"
    [ -n "$stamp" ] || { echo 0; return 0; }
    stamp="${stamp#\#}"
    date -u -d "20${stamp:0:2}-${stamp:2:2}-${stamp:4:2} ${stamp:7}" +%s
}

# last_event_epoch FILE… : time of the last event in the binary logs (0 when they hold none).
last_event_epoch() {
    TZ=UTC mariadb-binlog "$@" 2>/dev/null | last_stamp_epoch
}

cmd_list() {
    local listing err
    err="$(mktemp)"
    if ! listing="$(s3 ls --recursive "$(s3_url "")" 2>"$err")" && [ -s "$err" ]; then
        die "cannot list $(s3_url ""): $(tr '\n' ' ' <"$err")"
    fi
    rm -f "$err"
    echo "complete backups:"
    awk '{print $4}' <<<"$listing" | sed -n "s#^$BACKUP_PREFIX/full/\([^/]*\)/manifest\.json\$#  \1#p" | sort
    echo "binary-log chains (node/chain: files):"
    awk '{print $4}' <<<"$listing" | sed -n "s#^$BACKUP_PREFIX/binlog/\([^/]*/[^/]*\)/.*#\1#p" | sort | uniq -c | awk '{print "  " $2 ": " $1}'
}

cmd_wipe() {
    refuse_if_running
    wipe_datadir
    install -d -o mysql -g mysql -m 755 "$DATADIR"
    mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=socket >/dev/null 2>&1 \
        || die "mariadb-install-db failed"
    log "datadir emptied: this node joins the restored cluster by a full state transfer (SST)"
    printf '{"wiped": "%s"}\n' "$BACKUP_NODE"
}

start_local_server() {
    install -d -o mysql -g mysql -m 755 /run/mysqld
    rm -f "$SOCK" "$PIDF"
    # Galera off and no network: the replay must neither replicate nor be reached by clients.
    setsid mariadbd --user=mysql --datadir="$DATADIR" --wsrep-on=OFF --wsrep-provider=none --skip-networking \
        --socket="$SOCK" --pid-file="$PIDF" --skip-slave-start >"$STAGE.server.log" 2>&1 < /dev/null &
    local pid=$!
    if ! wait_for "the restore server's socket" 300 mariadb-admin --no-defaults --socket="$SOCK" -uroot ping; then
        tail -n 30 "$STAGE.server.log" >&2 || true
        kill "$pid" 2>/dev/null || true
        die "the local server on the restored datadir did not start (its log above)"
    fi
    echo "$pid"
}

stop_local_server() {
    local pid="$1"
    mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=5 shutdown 2>/dev/null || kill "$pid" 2>/dev/null || true
    wait_for "the restore server to exit" 300 bash -c "! kill -0 $pid" || { kill -9 "$pid" 2>/dev/null || true; die "the restore server did not stop within 300 s (killed)"; }
}

# cmd_check --to TIME [--backup NAME] : what a restore to TIME would use; touches nothing.
cmd_check() {
    local restore_to restore_pick chosen chosen_manifest chains
    backup_restore_args "$@"
    backup_choose_before "$restore_to" "$restore_pick"
    chains="$(s3 ls --recursive "$(s3_url binlog/)" 2>/dev/null | awk '{print $4}' | sed -n "s#^$BACKUP_PREFIX/binlog/\([^/]*/[^/]*\)/.*#\1#p" | sort -u | wc -l)"
    log "a restore to $(date -u -d "@$restore_to" +%FT%TZ) would start from backup $chosen and replay one of $chains binary-log chain(s)"
    printf '{"backup": "%s", "chains": %s}\n' "$chosen" "$chains"
}

cmd_datadir() {
    local restore_to restore_pick target to chosen chosen_manifest
    backup_restore_args "$@"
    target="$restore_to"
    to="$(date -u -d "@$target" +%FT%TZ)"
    refuse_if_running
    [ -d "$DATADIR" ] || die "$DATADIR missing (is the data volume mounted?)"

    backup_choose_before "$target" "$restore_pick"
    local gtid seq
    gtid="$(sed -n 's/.*"gtid": *"\([^"]*\)".*/\1/p' <<<"$chosen_manifest")"
    seq="$(gtid_seq "$gtid" "$GALERA_CLUSTER_GTID_DOMAIN")"
    log "restoring backup $chosen (GTID $gtid) and the binary logs up to $to"

    # Download and prepare beside the current datadir; nothing is replaced until this succeeded.
    rm -rf "$STAGE" "$LOGS"
    install -d -m 700 "$STAGE" "$LOGS"
    S3_TIMEOUT_S="${BACKUP_STREAM_TIMEOUT_S:-21600}" s3 cp "$(s3_url "full/$chosen/backup.xbstream.zst")" - \
        | zstd -dc | mbstream -x -C "$STAGE" || die "download or unpacking of backup $chosen failed"
    timeout "${BACKUP_STREAM_TIMEOUT_S:-21600}" mariabackup --prepare --target-dir="$STAGE" >"$STAGE.prepare.log" 2>&1 \
        || { tail -n 20 "$STAGE.prepare.log" >&2; die "mariabackup --prepare failed"; }

    # The binary-log chains: use one that holds the backup's own GTID (no gap after it), reaching furthest.
    # Each usable chain's replay start (binlog_replay_start: the GTID found, the position after it);
    # a backup without a transaction of the cluster's domain predates them all: the whole chain follows it.
    local chains=() c files best="" best_last=0 best_start="" last start
    mapfile -t chains < <(s3 ls --recursive "$(s3_url binlog/)" 2>/dev/null | awk '{print $4}' \
        | sed -n "s#^$BACKUP_PREFIX/binlog/\([^/]*/[^/]*\)/.*#\1#p" | sort -u)
    for c in "${chains[@]}"; do
        install -d -m 700 "$LOGS/$c"
        s3 cp --recursive --only-show-errors "$(s3_url "binlog/$c/")" "$LOGS/$c/" || { warn "chain $c: download failed"; continue; }
        mapfile -t files < <(find "$LOGS/$c" -maxdepth 1 -type f -name '*.[0-9]*' | sort)
        [ "${#files[@]}" -gt 0 ] || continue
        start="0 0"
        if [ "$seq" != 0 ]; then
            start="$(binlog_replay_start "$gtid" "${files[@]}")"
            if [ -z "$start" ]; then
                log "chain $c does not hold the backup's GTIDs $gtid: not usable (it would leave a gap)"
                continue
            fi
        fi
        last="$(last_event_epoch "${files[@]}")"
        log "chain $c: ${#files[@]} file(s), last event $(date -u -d "@$last" '+%F %T')"
        if [ "$last" -gt "$best_last" ]; then best="$c"; best_last="$last"; best_start="$start"; fi
    done

    # Swap: the prepared backup becomes the datadir.
    wipe_datadir "$(basename "$STAGE")" "$(basename "$LOGS")"
    find "$STAGE" -mindepth 1 -maxdepth 1 -exec mv -t "$DATADIR" {} +
    rmdir "$STAGE"
    chown -R mysql:mysql "$DATADIR"
    rm -f "$DATADIR/grastate.dat" "$DATADIR/gvwstate.dat"

    local replayed=0 restored_to backup_finished
    backup_finished="$(backup_manifest_number "$chosen_manifest" finishedAt)"
    restored_to="$backup_finished"
    if [ -z "$best" ]; then
        warn "no usable binary-log chain: the data is the backup's, as of $(date -u -d "@$restored_to" '+%F %T')"
    else
        mapfile -t files < <(find "$LOGS/$best" -maxdepth 1 -type f -name '*.[0-9]*' | sort)
        # From the transaction after the backup's, by file and position (binlog_replay_start says why).
        local first offset args
        first="${best_start% *}"; offset="${best_start#* }"
        files=("${files[@]:$first}")
        log "replaying chain $best from $(basename "${files[0]:-(nothing after the backup)}") at byte ${offset} (0: its start)"
        args=(--stop-datetime="$(date -u -d "@$target" '+%F %T')")
        [ "$offset" = 0 ] || args+=(--start-position="$offset")
        : >"$LOGS/replay.sql"
        if [ "${#files[@]}" -gt 0 ]; then
            TZ=UTC mariadb-binlog "${args[@]}" "${files[@]}" >"$LOGS/replay.sql" || die "mariadb-binlog could not read chain $best"
        fi
        replayed="$(grep -cE "GTID [0-9]+-[0-9]+-[0-9]+( |$)" "$LOGS/replay.sql" || true)"
        local pid
        pid="$(start_local_server)"
        if ! timeout "${BACKUP_STREAM_TIMEOUT_S:-21600}" mariadb --no-defaults --socket="$SOCK" -uroot <"$LOGS/replay.sql" 2>"$LOGS/replay.err"; then
            stop_local_server "$pid"
            die "replaying the binary logs failed: $(tail -n 5 "$LOGS/replay.err" | tr '\n' ' ')"
        fi
        stop_local_server "$pid"
        restored_to="$(last_stamp_epoch <"$LOGS/replay.sql")"
        [ "$restored_to" != 0 ] || restored_to="$backup_finished"
        log "replayed $replayed transaction(s) of chain $best"
    fi
    rm -rf "$LOGS"
    chown -R mysql:mysql "$DATADIR"
    log "datadir restored to $(date -u -d "@$restored_to" '+%F %T') UTC: start this node as a new cluster (galera/start.sh GALERA_MODE=bootstrap), then wipe and join the others"
    printf '{"backup": "%s", "gtid": "%s", "chain": "%s", "transactions": %s, "restoredTo": "%s"}\n' \
        "$chosen" "$gtid" "$best" "$replayed" "$(date -u -d "@$restored_to" +%FT%TZ)"
}

backup_require_settings
case "${1:-}" in
    list) cmd_list ;;
    datadir) shift; cmd_datadir "$@" ;;
    wipe) cmd_wipe ;;
    check) shift; cmd_check "$@" ;;
    *) usage ;;
esac
