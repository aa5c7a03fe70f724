#!/usr/bin/env bash
# `npm test`: every gate a change must pass, fastest first. Needs no AWS, Pulumi CLI or plugins.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== tsc --noEmit (strict)"
npx --no-install tsc --noEmit -p tsconfig.json
echo "== eslint"
npx --no-install eslint .
echo "== shellcheck"
bash scripts/dev/shellcheck.sh
echo "== mocha"
# Some tests run the node scripts' real firewall rules in a private network namespace (the NAT
# instance's nftables ruleset, the web node's IMDS rule) or route through the web node's real
# HAProxy 2.6 configuration, and the lab's replay of the command resources runs against a real
# OpenSSH sshd: as root on Debian, bring the tools they drive (not on a fresh image); elsewhere those
# tests say they are skipped.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { ! command -v nft >/dev/null || ! command -v iptables >/dev/null || ! command -v haproxy >/dev/null || [ ! -x /usr/sbin/sshd ] || ! command -v sftp >/dev/null; }; then
  # shellcheck source=../node/lib/common.sh
  . scripts/node/lib/common.sh
  # The tests start their own daemons: keep the packages' init scripts from starting HAProxy and
  # sshd on this machine (policy-rc.d exit 101), and leave an existing policy alone.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install nftables iptables haproxy openssh-server openssh-client
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi
npx --no-install mocha
