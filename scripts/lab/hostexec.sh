#!/usr/bin/env bash
# Run a command inside a lab host (its net, mount and UTS namespaces): hostexec.sh HOST CMD…
set -euo pipefail
host="${1:?usage: hostexec.sh HOST CMD…}"; shift
[ -e "/run/netns/oclab-$host" ] || { echo "hostexec: lab host $host is not up (npm run lab -- up)" >&2; exit 2; }
[ "$#" -gt 0 ] || set -- bash
exec nsenter --net="/run/netns/oclab-$host" --mount="/run/oclab/ns/$host.mnt" --uts="/run/oclab/ns/$host.uts" --wd=/ -- \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
