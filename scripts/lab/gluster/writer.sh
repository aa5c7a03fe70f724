#!/usr/bin/env bash
# Lab fault-scenario client (runs on a web host): writes files with random content to DIR, each
# write acknowledged only after fsync+close succeeded, and reads back a random earlier file after
# every write. Bounded by COUNT files and DURATION_S seconds; each operation by OP_TIMEOUT_S.
#
#   writer.sh DIR LOG COUNT DURATION_S SIZE_KIB [OP_TIMEOUT_S]
#
# LOG lines (times are epoch seconds with microseconds, from $EPOCHREALTIME):
#   A <i> <sha256> <t_start> <t_end>     acknowledged write of DIR/f<i>
#   E <i> - <t_start> <t_end>            failed write (not acknowledged)
#   R <i> ok|BAD|ERR <t_start> <t_end>   read-back of an acknowledged file
#   DONE <files>                         end
set -euo pipefail
[ "$#" -ge 5 ] || { echo "usage: writer.sh DIR LOG COUNT DURATION_S SIZE_KIB [OP_TIMEOUT_S]" >&2; exit 2; }
dir="$1"; logf="$2"; count="$3"; dur="$4"; kib="$5"; op_timeout="${6:-120}"
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
: > "$logf"
declare -a acked=() sums=()
end=$((SECONDS + dur))
i=0
while [ "$i" -lt "$count" ] && [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    head -c $((kib * 1024)) /dev/urandom > "$work/data"
    sum="$(sha256sum "$work/data")"; sum="${sum%% *}"
    t0="$EPOCHREALTIME"
    if timeout "$op_timeout" dd if="$work/data" of="$dir/f$i" bs=64k conv=fsync status=none 2>>"$logf.err"; then
        echo "A $i $sum $t0 $EPOCHREALTIME" >> "$logf"
        acked+=("$i"); sums+=("$sum")
    else
        echo "E $i - $t0 $EPOCHREALTIME" >> "$logf"
    fi
    if [ "${#acked[@]}" -gt 0 ]; then
        k=$((RANDOM % ${#acked[@]}))
        t0="$EPOCHREALTIME"
        if got="$(timeout "$op_timeout" sha256sum "$dir/f${acked[$k]}" 2>>"$logf.err")"; then
            if [ "${got%% *}" = "${sums[$k]}" ]; then r=ok; else r=BAD; fi
        else
            r=ERR
        fi
        echo "R ${acked[$k]} $r $t0 $EPOCHREALTIME" >> "$logf"
    fi
done
echo "DONE $i" >> "$logf"
