#!/bin/sh
# The router host: a hypervisor whose uplink peers with the ISP. Its own Open vSwitch, midonet-agent
# in the background, midonet-router in the foreground (Docker's init, PID 1, reaps whatever exits).
set -eu
/usr/local/bin/ovs-start.sh
cat > /etc/midonet/midonet-agent.json <<JSON
{
  "store": "${MIDONET_STORE}",
  "hostName": "${MIDONET_HOST_NAME}",
  "logLevel": "${MIDONET_LOG_LEVEL:-info}",
  "ovs": { "datapathType": "netdev" },
  "tunnel": { "localIp": "${MIDONET_TUNNEL_IP}" },
  "metrics": { "listen": "127.0.0.1:9464" }
}
JSON
cat > /etc/midonet/midonet-router.json <<JSON
{
  "store": "${MIDONET_STORE}",
  "hostName": "${MIDONET_HOST_NAME}",
  "logLevel": "${MIDONET_LOG_LEVEL:-info}"
}
JSON
midonet-agent --config /etc/midonet/midonet-agent.json &
exec midonet-router --config /etc/midonet/midonet-router.json
