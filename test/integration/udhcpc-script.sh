#!/bin/sh
# udhcpc's event hook in the DHCP lab test (dhcp.test.ts): configures the interface as lab VMs do
# (scripts/lab/udhcpc-hook.sh: address, MTU and default route on bound/renew), then appends the event
# with the options the agent's server gave to $DHCP_EVENTS (one line). The event comes last so that a
# test which saw "bound" finds the address and route in place (written first, a ping could race them).
# Option 121 comes as "PREFIX ROUTER ..." (spaces become commas here); option 42 as ntpsrv.
"$(dirname "$0")/../../scripts/lab/udhcpc-hook.sh" "$@"
status=$?
routes=$(echo "$staticroutes" | tr ' ' ,)
echo "$1 ip=$ip subnet=$subnet router=$router dns=$dns mtu=$mtu lease=$lease serverid=$serverid hostname=$hostname domain=$domain staticroutes=$routes ntpsrv=$ntpsrv" >>"$DHCP_EVENTS"
exit $status
