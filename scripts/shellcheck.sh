#!/usr/bin/env bash
# Shellcheck every shell script the project ships (node scripts, user data, the lab, CI).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck is not installed: run 'apt-get install -y shellcheck' (Debian) and try again" >&2
  exit 1
fi

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.sh' '.ci/run' | sort -u)
if [ "${#files[@]}" -eq 0 ]; then
  echo "shellcheck: no scripts found" >&2
  exit 1
fi
# -x follows `source` so functions from scripts/lib are known where they are used.
shellcheck -x -P SCRIPTDIR "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
