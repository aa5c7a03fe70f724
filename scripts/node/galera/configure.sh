#!/usr/bin/env bash
# Configure one Galera node (MariaDB 10.11, Debian 12). Idempotent: files are rewritten only when
# their content changes; a running node is never restarted here (a changed config is reported and
# applied by a rolling restart, one node at a time).
#
# Environment (non-secret):
#   GALERA_CLUSTER_NAME       e.g. owncloud
#   GALERA_NODE_NAME          e.g. db1
#   GALERA_NODE_ADDRESS       this node's private IP
#   GALERA_CLUSTER_ADDRESSES  comma-separated IPs of all nodes (same order everywhere)
#   GALERA_REPLICATION_PORT   Galera's replication port (its default; recorded for start.sh's peer probe)
#   GALERA_BIND_ADDRESS       optional, default GALERA_NODE_ADDRESS (3306 for the web nodes' HAProxy)
#   GALERA_PROVIDER_OPTIONS   optional, extra wsrep_provider_options (appended)
#   GALERA_SST_DONORS         optional, preferred SST/IST donors (node names, comma-separated, trailing
#                             comma = any other node as a fallback); the plan lists the writer last,
#                             because a donor is Desynced (health 503) and would trigger a failover
#   GALERA_HEALTH_PORT, GALERA_HEALTH_DONOR_PORT, GALERA_WRITER_PORT
#                             the three health answers' ports (components/database/ports.ts GALERA_PORTS)
#   GALERA_WRITER_ORDER       node names in the web hosts' HAProxy order: who takes the writer role
#                             when the designated writer goes stale (health-check.sh)
#   GALERA_SST_USER           optional, default sst
#   GALERA_HEALTH_USER        optional, default galera_health
#   OCHA_METRICS_NAMESPACE, OCHA_METRICS_CLUSTER, OCHA_METRICS_NODE
#                             CloudWatch metrics timer (systemd hosts only; see ../lib/metrics.sh)
# Secrets (stdin, NAME=value): GALERA_SST_PASSWORD GALERA_HEALTH_PASSWORD
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=SCRIPTDIR/../lib/metrics.sh
. "$(dirname "$0")/../lib/metrics.sh"

require_env GALERA_CLUSTER_NAME GALERA_NODE_NAME GALERA_NODE_ADDRESS GALERA_CLUSTER_ADDRESSES \
    GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT GALERA_REPLICATION_PORT GALERA_WRITER_ORDER
read_secrets GALERA_SST_PASSWORD GALERA_HEALTH_PASSWORD
BIND="${GALERA_BIND_ADDRESS:-$GALERA_NODE_ADDRESS}"
SST_USER="${GALERA_SST_USER:-sst}"
HEALTH_USER="${GALERA_HEALTH_USER:-galera_health}"

for v in GALERA_HEALTH_PORT GALERA_HEALTH_DONOR_PORT GALERA_WRITER_PORT GALERA_REPLICATION_PORT; do
    [[ "${!v}" =~ ^[0-9]{1,5}$ ]] || die "$v must be a port number (got '${!v}')"
done
case "$GALERA_WRITER_ORDER" in *[!a-z0-9,-]*) die "GALERA_WRITER_ORDER must be node names separated by commas (got '$GALERA_WRITER_ORDER')" ;; esac
case ",$GALERA_WRITER_ORDER," in *",$GALERA_NODE_NAME,"*) ;; *) die "GALERA_WRITER_ORDER ($GALERA_WRITER_ORDER) does not name this node ($GALERA_NODE_NAME)" ;; esac
case "${GALERA_SST_DONORS:-}" in *[!a-z0-9,-]*) die "GALERA_SST_DONORS must be node names separated by commas (got '$GALERA_SST_DONORS')" ;; esac
case "$GALERA_CLUSTER_ADDRESSES" in *[!0-9a-zA-Z.,:_-]*) die "GALERA_CLUSTER_ADDRESSES has unexpected characters: $GALERA_CLUSTER_ADDRESSES" ;; esac
case "$GALERA_SST_PASSWORD" in *[\"\'\\:\ ]*) die "GALERA_SST_PASSWORD must not contain quotes, backslashes, colons or spaces" ;; esac
[ -d /etc/mysql/mariadb.conf.d ] || die "/etc/mysql/mariadb.conf.d missing: run galera/install.sh first"

changed=0
# install_if_changed DEST MODE OWNER:GROUP  (content on stdin)
install_if_changed() {
    local dest="$1" mode="$2" owner="$3" tmp
    tmp="$(mktemp)"
    cat > "$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c '%a %U:%G' "$dest")" = "$mode $owner" ]; then
        rm -f "$tmp"; return 0
    fi
    install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$tmp" "$dest"
    rm -f "$tmp"
    log "wrote $dest"
    changed=1
}

# Tight group-communication timers for nodes in one region (sub-ms to few-ms RTT): a lost node is
# suspected after 1 s and the new view installed within ~0.5 s (defaults: 5 s / 15 s), so a writer
# failover fits the 3 s budget. Cost: a node stalled > 1 s (e.g. long I/O freeze) is dropped and
# rejoins by IST. pc.recovery lets a fully crashed cluster re-form its Primary Component by itself
# when every node comes back; gcache.recover keeps the write-set cache across a crash so the nodes
# that rejoin after a full restart can use IST instead of a full SST. Override with GALERA_PROVIDER_OPTIONS (appended, last one wins).
PROVIDER_OPTS="pc.recovery=TRUE; gcache.size=256M; gcache.recover=yes; evs.keepalive_period=PT0.3S; evs.suspect_timeout=PT1S; evs.inactive_check_period=PT0.3S; evs.inactive_timeout=PT2S; evs.install_timeout=PT2S; evs.join_retrans_period=PT0.3S; pc.wait_prim_timeout=PT30S"
if [ -n "${GALERA_PROVIDER_OPTIONS:-}" ]; then PROVIDER_OPTS="$PROVIDER_OPTS; $GALERA_PROVIDER_OPTIONS"; fi

# Point-in-time restore (galera/binlog-ship.sh, galera/restore.sh): every node writes a binary log
# of every transaction, its own and the replicated ones (log_slave_updates), at the same path on every
# node, with cluster-wide GTIDs (wsrep_gtid_mode, one wsrep_gtid_domain_id for the cluster) so any
# node's log can continue any node's backup. Local non-replicated writes get a domain of their own
# per node (gtid_domain_id), as MariaDB's "Using MariaDB GTIDs with MariaDB Galera Cluster" advises.
# The logs are shipped to S3 every minute; the local copy only has to outlive a few shipments.
node_index=0 i=0
IFS=',' read -r -a cluster_addrs <<<"$GALERA_CLUSTER_ADDRESSES"
for a in "${cluster_addrs[@]}"; do
    i=$((i + 1))
    if [ "$a" = "$GALERA_NODE_ADDRESS" ]; then node_index="$i"; fi
done
[ "$node_index" -gt 0 ] || die "GALERA_NODE_ADDRESS $GALERA_NODE_ADDRESS is not in GALERA_CLUSTER_ADDRESSES ($GALERA_CLUSTER_ADDRESSES)"

install_if_changed /etc/mysql/mariadb.conf.d/60-galera.cnf 644 root:root <<CNF
# Managed by owncloud-ha scripts/galera/configure.sh — do not edit by hand.
[mysqld]
bind-address                   = ${BIND}
binlog_format                  = ROW
default_storage_engine         = InnoDB
innodb_autoinc_lock_mode       = 2
innodb_flush_log_at_trx_commit = 1
skip_name_resolve              = ON
max_connections                = ${GALERA_MAX_CONNECTIONS}
log_bin                        = ${GALERA_BINLOG_BASENAME}
log_bin_index                  = ${GALERA_BINLOG_BASENAME}.index
log_slave_updates              = ON
binlog_expire_logs_seconds     = 259200
gtid_domain_id                 = $((GALERA_LOCAL_GTID_DOMAIN_BASE + node_index))

[galera]
wsrep_on                 = ON
wsrep_provider           = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name       = ${GALERA_CLUSTER_NAME}
wsrep_cluster_address    = gcomm://${GALERA_CLUSTER_ADDRESSES}
wsrep_node_name          = ${GALERA_NODE_NAME}
wsrep_node_address       = ${GALERA_NODE_ADDRESS}
wsrep_sst_method         = mariabackup
${GALERA_SST_DONORS:+wsrep_sst_donor          = "${GALERA_SST_DONORS}"}
wsrep_certify_nonPK      = ON
wsrep_sync_wait          = 1
wsrep_slave_threads      = 2
wsrep_provider_options   = "${PROVIDER_OPTS}"
wsrep_gtid_mode          = ON
wsrep_gtid_domain_id     = ${GALERA_CLUSTER_GTID_DOMAIN}
CNF

# SST credentials: mariadbd runs as user mysql and must read them, so root:mysql 640 (not world-readable).
install_if_changed /etc/mysql/mariadb.conf.d/61-galera-sst.cnf 640 root:mysql <<CNF
# Managed by owncloud-ha scripts/galera/configure.sh — SST credentials.
[galera]
wsrep_sst_auth = ${SST_USER}:${GALERA_SST_PASSWORD}
CNF

install_if_changed /etc/mysql/galera-health.cnf 600 root:root <<CNF
[client]
user     = ${HEALTH_USER}
password = "${GALERA_HEALTH_PASSWORD}"
socket   = /run/mysqld/mysqld.sock
CNF

# Not MariaDB's configuration: recording the ports never asks for a restart.
install -d -m 755 /etc/owncloud-ha
config_changed="$changed"
install_if_changed "$GALERA_PORTS_FILE" 644 root:root <<ENV
GALERA_HEALTH_PORT=${GALERA_HEALTH_PORT}
GALERA_HEALTH_DONOR_PORT=${GALERA_HEALTH_DONOR_PORT}
GALERA_WRITER_PORT=${GALERA_WRITER_PORT}
GALERA_REPLICATION_PORT=${GALERA_REPLICATION_PORT}
ENV
changed="$config_changed"

# The health answers (health-check.sh): not MariaDB's configuration, so never a reason to restart it.
config_changed="$changed"
# Non-secret setting of the health answers: the writer order. Their ports are recorded in
# $GALERA_PORTS_FILE above (systemd's socket units below carry them).
install_if_changed /etc/mysql/galera-health.env 644 root:root <<ENV
GALERA_WRITER_ORDER=${GALERA_WRITER_ORDER}
ENV
if is_systemd && systemctl is-active --quiet galera-health.socket; then
    # A running node whose answers may be about to read verdicts (an upgrade from answers that
    # evaluated per check): one verdict from this script before they can ask for it.
    bash "$(dirname "$0")/health-check.sh" evaluate >/dev/null 2>&1 || warn "one health evaluation before installing the answers failed"
fi
install -d -m 755 /opt/owncloud-ha/bin
changed=0
install_if_changed /opt/owncloud-ha/bin/galera-health 755 root:root < "$(dirname "$0")/health-check.sh"
health_changed="$changed"

if is_systemd; then
    # One socket per question (HAProxy checks each server on one port; the path is per backend):
    # galera-health (Synced), galera-health-donor (Synced or Donor), galera-health-writer (designated).
    for unit in galera-health:synced:"$GALERA_HEALTH_PORT" galera-health-donor:donor:"$GALERA_HEALTH_DONOR_PORT" galera-health-writer:writer:"$GALERA_WRITER_PORT"; do
        IFS=: read -r uname question port <<<"$unit"
        install_if_changed "/etc/systemd/system/${uname}.socket" 644 root:root <<UNIT
[Unit]
Description=Galera health check, question ${question} (HTTP on ${port})
[Socket]
ListenStream=${port}
Accept=yes
MaxConnections=64
[Install]
WantedBy=sockets.target
UNIT
        install_if_changed "/etc/systemd/system/${uname}@.service" 644 root:root <<UNIT
[Unit]
Description=Galera health check responder (${question})
[Service]
ExecStart=/opt/owncloud-ha/bin/galera-health ${question}
StandardInput=socket
StandardOutput=socket
StandardError=journal
TimeoutStopSec=5
UNIT
    done
    # The answers above read the verdicts this loop writes: a check costs a file read, and the
    # evaluation runs once per interval whatever the number of web hosts.
    changed=0
    install_if_changed /etc/systemd/system/galera-health-eval.service 644 root:root <<UNIT
[Unit]
Description=Galera health evaluation (the verdicts the galera-health sockets answer)
[Service]
ExecStart=/opt/owncloud-ha/bin/galera-health evaluator
Restart=always
RestartSec=1
TimeoutStopSec=5
[Install]
WantedBy=multi-user.target
UNIT
    [ "$changed" = 0 ] || health_changed=1
    systemctl daemon-reload
    # On a node already answering (a re-run or an upgrade), the loop runs before this step ends, the
    # new script in it; a first deployment starts it with the answers (start.sh).
    if systemctl is-active --quiet galera-health.socket; then
        systemctl enable --quiet galera-health-eval.service
        if [ "$health_changed" = 1 ]; then systemctl restart galera-health-eval.service; else systemctl start galera-health-eval.service; fi
    fi
fi
changed="$config_changed"
# Cluster size, local state, flow control and free space to CloudWatch every minute (no-op without systemd).
metrics_install galera

# Data directory (the package initialises it in the cloud; the lab's hosts start empty).
if [ ! -d /var/lib/mysql/mysql ]; then
    log "initialising data directory /var/lib/mysql"
    install -d -o mysql -g mysql -m 755 /var/lib/mysql
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
        --auth-root-authentication-method=socket >/dev/null 2>&1 \
        || die "mariadb-install-db failed"
fi

if [ "$changed" = 1 ] && svc status mariadb; then
    warn "configuration changed while mariadb runs: apply with a rolling restart (one node at a time)"
fi
log "node ${GALERA_NODE_NAME} configured (cluster ${GALERA_CLUSTER_NAME}, peers ${GALERA_CLUSTER_ADDRESSES})"
