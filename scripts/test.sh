#!/usr/bin/env bash
# The whole test suite, as the README's Quick start runs it (`npm test`) and CI runs it (.ci/run):
# installs what is missing (Debian packages, npm packages), builds, lints, then runs unit, contract,
# CLI and integration tests with node's test runner. Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
midonet_deps "$root"
cd "$root"

echo "== lint" >&2
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }

shopt -s nullglob
files=(dist/test/unit/*.test.js dist/test/contract/*.test.js dist/test/cli/*.test.js dist/test/integration/*.test.js)
if [ $# -gt 0 ]; then files=("$@"); fi
echo "== tests (${#files[@]} files)" >&2
exec node --test --test-reporter=spec "${files[@]}"
