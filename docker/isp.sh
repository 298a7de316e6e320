#!/bin/sh
# The ISP: FRR's zebra and bgpd with one BGP session to the router host's uplink address; bgpd in
# the foreground. AS numbers and addresses come from the environment docker-compose.yml sets.
set -eu
mkdir -p /var/run/frr && chown frr:frr /var/run/frr
cat > /etc/frr/zebra.conf <<CONF
hostname isp
CONF
cat > /etc/frr/bgpd.conf <<CONF
hostname isp
router bgp ${ISP_AS}
 bgp router-id ${ISP_ADDRESS}
 no bgp ebgp-requires-policy
 neighbor ${ISP_PEER_ADDRESS} remote-as ${ISP_PEER_AS}
 address-family ipv4 unicast
  network ${ISP_ANNOUNCE}
 exit-address-family
CONF
chown frr:frr /etc/frr/zebra.conf /etc/frr/bgpd.conf
/usr/lib/frr/zebra -d -F traditional -A 127.0.0.1 -f /etc/frr/zebra.conf
exec /usr/lib/frr/bgpd -F traditional -A 127.0.0.1 -f /etc/frr/bgpd.conf
