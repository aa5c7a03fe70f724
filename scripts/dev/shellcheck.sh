#!/usr/bin/env bash
# Shellcheck every shell script the project ships (node scripts, user data, the lab, CI).
set -euo pipefail
cd "$(dirname "$0")/../.."

# A fresh Debian machine has no shellcheck: as root, install Debian's package (apt lists refreshed
# when empty or stale, bounded retries: apt_install in scripts/node/lib/common.sh), so the README's two
# set-up commands pass there; otherwise say exactly what to run.
if ! command -v shellcheck >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "shellcheck is not installed and there is no apt-get here: install shellcheck (your OS's package), then run npm test again" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "shellcheck is not installed (npm test installs it only as root): run 'sudo apt-get update && sudo apt-get install -y shellcheck', then npm test again" >&2
    exit 1
  fi
  echo "shellcheck is not installed: installing Debian's package" >&2
  # shellcheck source=../node/lib/common.sh
  . scripts/node/lib/common.sh
  apt_install shellcheck
  command -v shellcheck >/dev/null 2>&1 || { echo "shellcheck still missing after apt-get install" >&2; exit 1; }
fi

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.sh' '.ci/run' | sort -u)
if [ "${#files[@]}" -eq 0 ]; then
  echo "shellcheck: no scripts found" >&2
  exit 1
fi
# -x follows `source` so functions from scripts/node/lib are known where they are used.
shellcheck -x -P SCRIPTDIR "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
