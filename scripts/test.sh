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
files=(dist/test/unit/*.test.js dist/test/contract/*.test.js dist/test/cli/*.test.js dist/test/api/*.test.js dist/test/cni/*.test.js dist/test/integration/*.test.js)
if [ $# -gt 0 ]; then files=("$@"); fi

# The distributed backend's tests need ZooKeeper and Cassandra: start them (1 node each; 3 with
# MIDONET_TEST_SERVICES=3, the default of a long run, whose node-failure test needs three) when a
# selected test file needs them, and stop them afterwards, also on failure or interruption. `up` first
# stops leftovers of a crashed earlier run.
if [ -z "${MIDONET_TEST_CASSANDRA_URL:-}" ] && printf '%s\n' "${files[@]}" | grep -qE 'cassandra|distributed|store-node|store-outage'; then
  midonet_cassandra_jars "$root"
  long_default=1
  if [ "${MIDONET_TEST_LONG:-}" = 1 ]; then long_default=3; fi
  n=${MIDONET_TEST_SERVICES:-$long_default}
  trap 'node "$root/dist/src/services/main.js" down || true' EXIT
  trap 'exit 130' INT TERM
  echo "== services (zookeeper x$n, cassandra x$n)" >&2
  MIDONET_TEST_CASSANDRA_URL=$(node "$root/dist/src/services/main.js" up --zookeeper "$n" --cassandra "$n")
  export MIDONET_TEST_CASSANDRA_URL
fi

# The CNI lab test drives midonet-cni with cnitool: build it once (deps.sh) when such a file is selected.
if [ -z "${MIDONET_CNITOOL:-}" ] && printf '%s\n' "${files[@]}" | grep -qE 'integration/api-cni'; then
  MIDONET_CNITOOL=$(midonet_cnitool)
  export MIDONET_CNITOOL
fi

# Long runs are opt-in with MIDONET_TEST_LONG=1 (README): today the compose lab's test, which builds
# images the first time. The compose verb's fast test against the engine runs in every suite: Podman
# (or a Docker that answers) is installed when either compose test is selected.
if printf '%s\n' "${files[@]}" | grep -qE 'integration/compose-'; then
  midonet_install_compose
fi
if [ "${MIDONET_TEST_LONG:-}" = 1 ] && printf '%s\n' "${files[@]}" | grep -q 'compose-lab'; then
  midonet_cassandra_jars "$root"
fi

echo "== tests (${#files[@]} files)" >&2
# One file at a time: lab tests share the machine's `mnl-` namespaces and the CPU.
# A test that hangs fails after 5 minutes, and no leftover handle keeps a finished file running.
node --test --test-concurrency=1 --test-timeout=300000 --test-force-exit --test-reporter=spec "${files[@]}"
