#!/usr/bin/env bash
# Lab bench: sequential write or read of one file, 1 MiB blocks, page cache dropped before reads.
#   seqbench.sh write FILE MIB   -> "seconds=S mbps=M" (write includes fsync)
#   seqbench.sh read FILE        -> "seconds=S mbps=M"
set -euo pipefail
mode="${1:?usage: seqbench.sh write|read FILE [MIB]}"; f="${2:?FILE}"
case "$mode" in
    write)
        mib="${3:?MIB}"
        rm -f "$f"; sync
        t0="$EPOCHREALTIME"
        timeout 600 dd if=/dev/zero of="$f" bs=1M count="$mib" conv=fsync status=none
        t1="$EPOCHREALTIME" ;;
    read)
        mib=$(( $(stat -c %s "$f") / 1048576 ))
        sync; echo 3 > /proc/sys/vm/drop_caches
        t0="$EPOCHREALTIME"
        timeout 600 dd if="$f" of=/dev/null bs=1M status=none
        t1="$EPOCHREALTIME" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
awk -v a="$t0" -v b="$t1" -v m="$mib" 'BEGIN { s = b - a; printf "seconds=%.3f mbps=%.1f\n", s, (m * 1.048576) / s }'
