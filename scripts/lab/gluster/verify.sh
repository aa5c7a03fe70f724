#!/usr/bin/env bash
# Lab: check every acknowledged write in a writer.sh LOG against the file now in DIR.
#   verify.sh DIR LOG   -> prints "acked=N ok=N corrupt=N missing=N" (exit 0 if all ok, else 1)
set -euo pipefail
[ "$#" -eq 2 ] || { echo "usage: verify.sh DIR LOG" >&2; exit 2; }
dir="$1"; logf="$2"
acked=0; ok=0; corrupt=0; missing=0
while read -r kind i sum _; do
    [ "$kind" = A ] || continue
    acked=$((acked + 1))
    if [ ! -e "$dir/f$i" ]; then missing=$((missing + 1)); echo "missing f$i" >&2; continue; fi
    got="$(timeout 60 sha256sum "$dir/f$i" 2>/dev/null || echo ERR)"
    if [ "${got%% *}" = "$sum" ]; then ok=$((ok + 1)); else corrupt=$((corrupt + 1)); echo "corrupt f$i" >&2; fi
done < "$logf"
echo "acked=$acked ok=$ok corrupt=$corrupt missing=$missing"
[ "$ok" -eq "$acked" ]
