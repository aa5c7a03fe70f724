#!/usr/bin/env bash
# Bastion first boot. Debian's AMIs ship without the SSM agent, so Session Manager (the fallback
# when SSH from the admin CIDRs is not possible) needs it installed. No secrets here: user data is
# readable by anyone who can describe the instance.
set -euo pipefail

imds() {
  local token
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
  curl -fsS -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/$1"
}

if ! dpkg -s amazon-ssm-agent >/dev/null 2>&1; then
  region=$(imds meta-data/placement/region)
  arch=$(dpkg --print-architecture)
  deb=$(mktemp --suffix=.deb)
  curl -fsS --retry 5 -o "${deb}" \
    "https://s3.${region}.amazonaws.com/amazon-ssm-${region}/latest/debian_${arch}/amazon-ssm-agent.deb"
  dpkg -i "${deb}"
  rm -f "${deb}"
fi
systemctl enable --now amazon-ssm-agent
