#!/usr/bin/env bash
# `npm run bench -- NAME [ARGS]`: runs bench/NAME (compiled to dist/bench/NAME.js) after installing and
# building what is missing. Each bench prints a table for people and, last, one JSON line:
# {"bench": NAME, "figures": {...}, "targets": [{"name", "value", "target", "unit", "met"}]}.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
if [ $# -lt 1 ]; then
  echo "usage: npm run bench -- NAME   (one of: $(cd "$root/bench" && ls ./*.ts | sed 's#^\./##; s#\.ts$##' | grep -v -- '-'  | tr '\n' ' '))" >&2
  exit 2
fi
name=$1
shift
if [ ! -f "$root/bench/$name.ts" ]; then
  echo "bench: no bench named '$name' (bench/$name.ts)" >&2
  exit 2
fi
midonet_deps "$root" >&2
# Through bench-main: a failure is one line, never a stack trace.
exec node --expose-gc "$root/dist/bench/bench-main.js" "$name" "$@"
