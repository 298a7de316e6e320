#!/usr/bin/env bash
# The main job (`npm start`): installs what is missing, builds, then creates a demo tenant topology in
# a fresh embedded store through midonet-cli and prints it: two hosts in a GRE tunnel zone, two tenant
# bridges joined by a router, VM ports bound to host interfaces, a DHCP subnet, routes, and a filter
# chain. Safe to run again (the demo store is recreated each run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/deps.sh
source "$root/scripts/lib/deps.sh"
midonet_deps "$root"

demo="$root/run/demo"
rm -rf "$demo" && mkdir -p "$demo"
export MIDONET_STORE="sqlite:$demo/state.db"
cli() { echo "+ midonet-cli $*" >&2; "$root/bin/midonet-cli" "$@"; }
q() { "$root/bin/midonet-cli" "$@" >/dev/null; }

echo "== creating the demo topology in $MIDONET_STORE" >&2
q host create hv1 --addresses 198.51.100.1
q host create hv2 --addresses 198.51.100.2
q tunnel-zone create tz1 --type gre
q tunnel-zone add-member tz1 --host hv1 --address 198.51.100.1
q tunnel-zone add-member tz1 --host hv2 --address 198.51.100.2
q bridge create tenant-a
q bridge create tenant-b
q router create edge
# VM ports, spread over both hosts.
q port create vm-a1 --bridge tenant-a
q port create vm-a2 --bridge tenant-a
q port create vm-b1 --bridge tenant-b
q port bind vm-a1 --host hv1 --interface vm-a1
q port bind vm-a2 --host hv2 --interface vm-a2
q port bind vm-b1 --host hv2 --interface vm-b1
# The router's legs on each bridge, linked through interior ports.
q port create edge-a --router edge --address 192.0.2.1/25
q port create edge-b --router edge --address 192.0.2.129/25
q port create a-uplink --bridge tenant-a
q port create b-uplink --bridge tenant-b
q port link a-uplink edge-a
q port link b-uplink edge-b
q route create --router edge --dst 192.0.2.0/25 --next-hop-port edge-a
q route create --router edge --dst 192.0.2.128/25 --next-hop-port edge-b
q dhcp create tenant-a-dhcp --bridge tenant-a --subnet 192.0.2.0/25 --gateway 192.0.2.1 --dns 192.0.2.1
q dhcp add-host tenant-a-dhcp --mac 02:00:00:00:0a:01 --address 192.0.2.10 --host-name vm-a1
# A filter on tenant-b's way in: web only from tenant-a, nothing else from outside.
q chain create tenant-b-in
q rule add tenant-b-in --action accept --proto tcp --src 192.0.2.0/25 --dst-port 80
q rule add tenant-b-in --action drop --src 192.0.2.0/25
q port update b-uplink --outbound-chain tenant-b-in

cli host list
cli tunnel-zone list
cli bridge list
cli router list
cli port list
cli route list
cli rule list --chain tenant-b-in
cli dhcp show tenant-a-dhcp
echo "== demo store: $MIDONET_STORE (inspect with: MIDONET_STORE=$MIDONET_STORE bin/midonet-cli port list)" >&2
