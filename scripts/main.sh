#!/usr/bin/env bash
# The main job (`npm start`): installs what is missing, builds, brings the one-machine lab up on the
# embedded store (2 hypervisors with Open vSwitch and midonet-agent, 6 VMs on two tenant bridges joined
# by a router), shows the demo pings, runs the first-packet evaluation with default settings, prints
# where the report and charts are, and tears the lab down (also when something fails).
# Safe to run again: `up` removes whatever an earlier run left.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
midonet_deps "$root"

lab() { "$root/bin/midonet-lab" --run-dir "${MIDONET_LAB_DIR:-/run/midonet-lab}" "$@"; }
trap 'lab down >/dev/null 2>&1 || true' EXIT

echo "== midonet-lab up" >&2
lab up --hosts 2 --vms-per-host 3 --tunnel gre
lab status

echo >&2
echo "== demo pings" >&2
demo_ping() {
  local from=$1 to=$2 what=$3
  echo "-- $from -> $to ($what)"
  lab exec "$from" -- ping -c 3 -i 0.2 -W 2 "$to" | tail -2
}
demo_ping vm1 192.0.2.11 "same bridge, same host"
demo_ping vm1 192.0.2.12 "same bridge, across hosts (GRE)"
demo_ping vm1 192.0.2.138 "across the router, same host"
demo_ping vm1 192.0.2.139 "across the router and hosts"

echo >&2
echo "== midonet-lab eval" >&2
out="$root/out/eval-$(date -u +%Y%m%d-%H%M%S)"
# 80 flows per case keep `npm start` under five minutes on a slow machine: 4 min 18 s with 100 (the
# evaluation 187 s) on 2026-12-06, where 80 had taken 6 min 28 s (320 s) an hour before, when the
# evaluation still ran an ovs-ofctl and an ovs-appctl per flow and host; `midonet-lab eval` alone runs 200.
lab eval --flows 80 --out "$out"

echo >&2
echo "== midonet-lab down" >&2
lab down
trap - EXIT
echo "report and charts: $out" >&2
