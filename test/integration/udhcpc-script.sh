#!/bin/sh
# udhcpc's event hook in the DHCP lab test (dhcp.test.ts): appends each event with the options the
# agent's server gave to $DHCP_EVENTS (one line), then configures the interface as lab VMs do
# (scripts/lab/udhcpc-hook.sh: address, MTU and default route on bound/renew).
# Option 121 comes as "PREFIX ROUTER ..." (spaces become commas here); option 42 as ntpsrv.
routes=$(echo "$staticroutes" | tr ' ' ,)
echo "$1 ip=$ip subnet=$subnet router=$router dns=$dns mtu=$mtu lease=$lease serverid=$serverid hostname=$hostname domain=$domain staticroutes=$routes ntpsrv=$ntpsrv" >>"$DHCP_EVENTS"
exec "$(dirname "$0")/../../scripts/lab/udhcpc-hook.sh" "$@"
