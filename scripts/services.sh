#!/usr/bin/env bash
# `npm run services -- up [--zookeeper 0|1|3] [--cassandra 0|1|3] | down | status | url`: the project's
# own ZooKeeper and Cassandra (see src/services/main.ts). Installs and builds what is missing first
# (Debian packages, npm packages, Cassandra's jars through Maven), then prints the store URL on stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
if [ "${1:-}" = up ]; then
  midonet_deps "$root" >&2
  midonet_cassandra_jars "$root"
elif [ ! -f "$root/dist/src/services/main.js" ]; then
  midonet_build "$root" >&2
fi
exec node "$root/dist/src/services/main.js" "$@"
