#!/usr/bin/env bash
# `npm test`: every gate a change must pass, fastest first. Needs no AWS, Pulumi CLI or plugins.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tsc --noEmit (strict)"
npx --no-install tsc --noEmit -p tsconfig.json
echo "== eslint"
npx --no-install eslint .
echo "== shellcheck"
bash scripts/shellcheck.sh
echo "== mocha"
npx --no-install mocha
