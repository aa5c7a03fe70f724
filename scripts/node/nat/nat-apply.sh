#!/bin/bash
# Applies the NAT instance's forwarding: ip_forward on, no ICMP redirects, and an nftables table
# that forwards and masquerades only the private subnets' traffic out of the default-route
# interface. Idempotent (the table is replaced as a whole); run at every boot by owncloud-nat.service.
set -euo pipefail

cidrs_file=${NAT_CIDRS_FILE:-/etc/owncloud-nat/private-cidrs}
[ -s "$cidrs_file" ] || { echo "owncloud-nat: $cidrs_file (the private subnets' CIDRs) is missing or empty" >&2; exit 1; }
read -r -a cidrs <"$cidrs_file"
# The interface of the default route is the public one (ens5 on Nitro instances).
out_if=$(ip -4 route show default | awk '{print $5; exit}')
[ -n "$out_if" ] || { echo "owncloud-nat: no default route yet" >&2; exit 1; }
sysctl -q -w net.ipv4.ip_forward=1
# Packets enter and leave through the same interface: without this the kernel would tell the
# private hosts (ICMP redirect) to bypass the NAT and send straight to the VPC router.
sysctl -q -w net.ipv4.conf.all.send_redirects=0 "net.ipv4.conf.${out_if}.send_redirects=0"
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
