#!/usr/bin/env bash
# Ship this node's closed binary logs to S3 (s3://BUCKET/PREFIX/binlog/<node>/<chain>/<file>).
# Every node runs it every BACKUP_BINLOG_INTERVAL_S seconds (timer), and the restore procedure runs
# it once more on every reachable node before it restores: a point-in-time restore can then reach
# any transaction that was committed up to that moment.
#
# Each run rotates the log (FLUSH LOCAL BINARY LOGS, not replicated) when it has grown since the last
# rotation, then uploads every closed file not yet shipped. A "chain" is one unbroken sequence of this
# node's logs: its id is kept in the datadir, so a datadir replaced by an SST, a restore or a new
# volume starts a new chain instead of overwriting the old one's files (their names restart at
# .000001). Last stdout line: {"shipped": N, "chain": ID}.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/backup.sh
. "$(dirname "$0")/../lib/backup.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

backup_require_settings
DATADIR="$(dirname "$GALERA_BINLOG_BASENAME")"
INDEX="$GALERA_BINLOG_BASENAME.index"
CHAIN_FILE="$DATADIR/owncloud-ha-binlog-chain"
install -d -m 755 /run/owncloud-ha "$OCHA_BACKUP_STATE"
exec 9>/run/owncloud-ha/binlog-ship.lock
flock -w 30 9 || die "another binlog shipment has held the lock for 30 s"

if [ ! -s "$INDEX" ]; then
    log "no binary log index at $INDEX yet (mariadb never ran with log_bin): nothing to ship"
    printf '{"shipped": 0, "chain": null}\n'
    exit 0
fi
if [ ! -s "$CHAIN_FILE" ]; then
    backup_stamp "$(date +%s)" >"$CHAIN_FILE.tmp"
    mv -f "$CHAIN_FILE.tmp" "$CHAIN_FILE"
    log "new binary-log chain $(cat "$CHAIN_FILE") (new or replaced datadir)"
fi
chain="$(tr -d ' \n' <"$CHAIN_FILE")"
SHIPPED="$OCHA_BACKUP_STATE/binlog-shipped"
ROTATED="$OCHA_BACKUP_STATE/binlog-rotated"
touch "$SHIPPED"

# The file mariadb writes now is never shipped; rotate first if it holds anything new.
current=""
status="$(printf 'SHOW MASTER STATUS;\n' | galera_sql_bounded 10 2>/dev/null | head -n1 || true)"
if [ -n "$status" ]; then
    current="$(cut -f1 <<<"$status")"
    size="$(cut -f2 <<<"$status")"
    if [ "$(cat "$ROTATED" 2>/dev/null || true)" != "$chain $current $size" ]; then
        printf 'FLUSH LOCAL BINARY LOGS;\n' | galera_sql_bounded 30 >/dev/null || die "FLUSH LOCAL BINARY LOGS failed"
        status="$(printf 'SHOW MASTER STATUS;\n' | galera_sql_bounded 10 | head -n1)"
        current="$(cut -f1 <<<"$status")"
        printf '%s %s %s\n' "$chain" "$current" "$(cut -f2 <<<"$status")" >"$ROTATED"
    fi
elif mariadb_process_alive; then
    die "mariadbd runs but does not answer: not shipping its open binary log"
fi

shipped=0
while IFS= read -r entry; do
    [ -n "$entry" ] || continue
    base="$(basename "$entry")"
    [ "$base" = "$current" ] && continue
    grep -qxF "$chain $base" "$SHIPPED" && continue
    file="$DATADIR/$base"
    [ -f "$file" ] || { warn "$base is in the index but not on disk (purged before it was shipped?)"; continue; }
    s3 cp --only-show-errors "$file" "$(s3_url "binlog/$BACKUP_NODE/$chain/$base")" || die "upload of $base failed"
    printf '%s %s\n' "$chain" "$base" >>"$SHIPPED"
    shipped=$((shipped + 1))
done <"$INDEX"
[ "$shipped" = 0 ] || log "shipped $shipped binary log(s) of chain $chain"
printf '{"shipped": %s, "chain": "%s"}\n' "$shipped" "$chain"
