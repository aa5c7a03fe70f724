#!/bin/bash
# NAT instance first boot (EC2 user data; no secrets): forward and masquerade the VPC's private
# subnets' traffic out of this host's public interface. PRIVATE_CIDRS (space-separated) is set
# above this script by the PeeredVpc component. A systemd unit re-applies the rules on every boot
# (EC2 auto-recovery reboots the instance on new hardware).
set -euo pipefail

: "${PRIVATE_CIDRS:?PRIVATE_CIDRS (the private subnets allowed through this NAT) must be set}"

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

cat >/usr/local/sbin/owncloud-nat-apply <<'APPLY'
#!/bin/bash
set -euo pipefail
read -r -a cidrs </etc/owncloud-nat/private-cidrs
# The interface of the default route is the public one (ens5 on Nitro instances).
out_if=$(ip -4 route show default | awk '{print $5; exit}')
[ -n "$out_if" ] || { echo "owncloud-nat: no default route yet" >&2; exit 1; }
sysctl -q -w net.ipv4.ip_forward=1
set_elems=$(IFS=,; echo "${cidrs[*]}")
nft -f - <<RULES
table ip owncloud_nat
delete table ip owncloud_nat
table ip owncloud_nat {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ip saddr { $set_elems } oifname "$out_if" accept
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr { $set_elems } oifname "$out_if" masquerade
    }
}
RULES
echo "owncloud-nat: forwarding ${cidrs[*]} out of $out_if" >&2
APPLY
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

printf 'net.ipv4.ip_forward = 1\n' >/etc/sysctl.d/90-owncloud-nat.conf
systemctl daemon-reload
systemctl enable --now owncloud-nat.service
log "ready"
