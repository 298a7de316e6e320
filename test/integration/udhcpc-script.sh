#!/bin/sh
# udhcpc's event hook in the DHCP lab test (dhcp.test.ts): appends each event with the options the
# agent's server gave to $DHCP_EVENTS (one line), and configures the interface on bound/renew. It
# never touches /etc/resolv.conf (the VM is a namespace of the test machine).
# Option 121 comes as "PREFIX ROUTER ..." (spaces become commas here); option 42 as ntpsrv.
routes=$(echo "$staticroutes" | tr ' ' ,)
echo "$1 ip=$ip subnet=$subnet router=$router dns=$dns mtu=$mtu lease=$lease serverid=$serverid hostname=$hostname domain=$domain staticroutes=$routes ntpsrv=$ntpsrv" >>"$DHCP_EVENTS"
case "$1" in
deconfig)
  ip addr flush dev "$interface"
  ;;
bound | renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/$subnet" dev "$interface"
  if [ -n "$router" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi
  ;;
esac
exit 0
