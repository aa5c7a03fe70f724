#!/usr/bin/env bash
# Runs one lab host: systemd-nspawn boots its root (systemd as PID 1) and, when the host reboots
# itself (`systemctl reboot` inside ends nspawn with status 133), boots it again, as an EC2 instance
# comes back from a reboot. Any other end (power-off, the lab killing the host) ends this loop.
#
# Usage: run-host.sh NAME ROOT BRIDGE [extra systemd-nspawn options…]
set -euo pipefail
name="${1:?usage: run-host.sh NAME ROOT BRIDGE [options…]}"
root="${2:?root directory}"
bridge="${3:?bridge}"
shift 3

# A cgroup of its own in every hierarchy, beneath this process's: systemd-nspawn --keep-unit runs
# the container in the caller's cgroup (adding `payload` and `supervisor` beneath it), so hosts
# started from one cgroup would share one tree, and each host's systemd would remove and kill the
# others' cgroups (seen as "Failed to attach to cgroup … No such file or directory" at boot and
# "Failed to kill control group … Input/output error").
own_cgroup() {
    local line controllers rel mount dir
    while IFS= read -r line; do
        controllers="${line#*:}"; controllers="${controllers%%:*}"
        rel="${line#*:*:}"
        case "$controllers" in
            "") mount=/sys/fs/cgroup/unified ;;
            name=systemd) mount=/sys/fs/cgroup/systemd ;;
            *) mount="/sys/fs/cgroup/${controllers%%,*}" ;;
        esac
        [ -e "$mount/cgroup.procs" ] || continue
        dir="$mount${rel%/}/oclab-$name"
        mkdir -p "$dir"
        # cpuset (v1) admits no process until the new group has CPUs and memory nodes.
        if [ -e "$dir/cpuset.cpus" ] && [ -z "$(cat "$dir/cpuset.cpus")" ]; then
            cat "$(dirname "$dir")/cpuset.cpus" > "$dir/cpuset.cpus"
            cat "$(dirname "$dir")/cpuset.mems" > "$dir/cpuset.mems"
        fi
        echo "$$" > "$dir/cgroup.procs"
    done < /proc/self/cgroup
}
own_cgroup

# Bounded: a host that reboots more often than this within one lab run is broken, not rebooting.
for boot in $(seq 1 50); do
    echo "run-host: boot $boot of $name"
    rc=0
    systemd-nspawn --register=no --keep-unit --boot --quiet --console=read-only \
        --directory="$root" --machine="oclab-$name" --network-bridge="$bridge" \
        --resolv-conf=off --timezone=off --link-journal=no "$@" || rc=$?
    echo "run-host: $name's container ended with status $rc"
    [ "$rc" -eq 133 ] || exit "$rc"
done
echo "run-host: $name rebooted 50 times; giving up" >&2
exit 1
