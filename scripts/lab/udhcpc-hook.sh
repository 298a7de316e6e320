#!/bin/sh
# busybox udhcpc's event hook for lab VMs addressed by the agent's DHCP server (src/lab/vm-dhcp.ts):
# on bound/renew it sets the address, the MTU and the default route the server gave; on deconfig it
# clears the address. It never touches /etc/resolv.conf (a VM is a namespace of this machine).
case "$1" in
deconfig)
  ip -4 addr flush dev "$interface"
  ;;
bound | renew)
  ip -4 addr flush dev "$interface"
  ip addr add "$ip/$subnet" dev "$interface"
  if [ -n "$mtu" ]; then ip link set dev "$interface" mtu "$mtu"; fi
  if [ -n "$router" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi
  ;;
esac
exit 0
