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
  apt_install nftables iptables haproxy openssh-server openssh-client
fi
npx --no-install mocha
