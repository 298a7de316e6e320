#!/bin/sh
# An agent host: its own Open vSwitch, then midonet-agent in the foreground (logs: pino JSON on
# stdout, `docker-compose logs agent1`). Settings come from the environment docker-compose.yml sets.
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
exec midonet-agent --config /etc/midonet/midonet-agent.json
