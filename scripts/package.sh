#!/usr/bin/env bash
# `npm run package`: builds the Debian package (out/midonet_VERSION_ARCH.deb) from a built checkout,
# after installing and building what is missing. Prints the package's path.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
midonet_deps "$root" >&2
exec node "$root/dist/src/packaging/deb.js" "$@"
