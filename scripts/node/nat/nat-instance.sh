#!/bin/bash
# NAT instance first boot (EC2 user data; no secrets). The PeeredVpc component sets, above this
# script, PRIVATE_CIDRS (space-separated: the private subnets allowed through) and NAT_APPLY_SCRIPT
# (scripts/nat/nat-apply.sh). A systemd unit runs the apply script on every boot (EC2 automatic
# recovery reboots the instance on new hardware).
set -euo pipefail

: "${PRIVATE_CIDRS:?PRIVATE_CIDRS (the private subnets allowed through this NAT) must be set}"
: "${NAT_APPLY_SCRIPT:?NAT_APPLY_SCRIPT (scripts/nat/nat-apply.sh) must be set}"

log() { echo "nat-instance: $*" >&2; }

# nft comes with Debian's nftables package; install it only when the image lacks it (this host
# has a public address and a route to the internet gateway, so apt works here). Bounded retries.
if ! command -v nft >/dev/null 2>&1; then
    for attempt in 1 2 3 4 5; do
        if apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nftables; then
            break
        fi
        [ "$attempt" -eq 5 ] && { log "could not install nftables"; exit 1; }
        sleep 10
    done
fi

install -d -m 0755 /usr/local/sbin /etc/owncloud-nat
printf '%s\n' "$PRIVATE_CIDRS" >/etc/owncloud-nat/private-cidrs
printf '%s\n' "$NAT_APPLY_SCRIPT" >/usr/local/sbin/owncloud-nat-apply
chmod 0755 /usr/local/sbin/owncloud-nat-apply

cat >/etc/systemd/system/owncloud-nat.service <<'UNIT'
[Unit]
Description=NAT for the VPC's private subnets (ip_forward + nftables masquerade)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/owncloud-nat-apply
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT

printf 'net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.send_redirects = 0\n' >/etc/sysctl.d/90-owncloud-nat.conf
systemctl daemon-reload
systemctl enable --now owncloud-nat.service
log "ready"
