#!/usr/bin/env bash
# Install the Galera node packages (MariaDB 10.11 + galera-4 from Debian 12) if missing.
# Idempotent. Debian starts a plain (non-Galera) MariaDB on a fresh install under systemd: stop it
# so that configure.sh + start.sh decide when and how the node starts.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/../lib/volume.sh
. "$(dirname "$0")/../lib/volume.sh"

# The datadir is the node's own volume (node/data-volume.sh, `nofail` in fstab): MariaDB must never
# start on the root filesystem's empty /var/lib/mysql after a reboot. Before the package starts it.
require_mounts_for mariadb.service /var/lib/mysql

PKGS=(mariadb-server galera-4 mariadb-backup socat mariadb-client)
fresh=0
dpkg-query -W -f='${Status}' mariadb-server 2>/dev/null | grep -q "install ok installed" || fresh=1
apt_install "${PKGS[@]}"   # refreshes the lists when needed, bounded retries (common.sh)
if [ "$fresh" = 1 ] && is_systemd && svc status mariadb; then
    log "stopping the non-Galera MariaDB that the package started"
    svc stop mariadb
fi
[ -x /usr/sbin/mariadbd ] || die "/usr/sbin/mariadbd missing after install"
[ -f /usr/lib/galera/libgalera_smm.so ] || die "galera provider /usr/lib/galera/libgalera_smm.so missing"
command -v mariabackup >/dev/null || die "mariabackup missing (SST method)"
command -v socat >/dev/null || die "socat missing (SST transport)"
log "packages present: ${PKGS[*]}"
