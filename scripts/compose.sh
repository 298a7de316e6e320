#!/usr/bin/env bash
# `npm run compose -- up | status [--json] | down`: the compose lab (src/compose/main.ts). `up` first
# installs what is missing (Debian and npm packages, Podman and debootstrap, Cassandra's jars through
# Maven) and builds; the other verbs only build if nothing was built yet. On the project's machines,
# run it under the machine lock: flock /tmp/midonet-heavy.lock npm run compose -- up
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
if [ "${1:-}" = up ]; then
  midonet_deps "$root" >&2
  midonet_install_compose >&2
  midonet_cassandra_jars "$root"
elif [ ! -f "$root/dist/src/compose/main.js" ]; then
  midonet_build "$root" >&2
fi
exec node "$root/dist/src/compose/main.js" "$@"
