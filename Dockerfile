# One image for every MidoNet role of docker-compose.yml: agent hosts (Open vSwitch + midonet-agent),
# the router host (Open vSwitch + midonet-agent + midonet-router + FRR), the ISP (FRR) and the CLI.
# ZooKeeper and Cassandra use their official images (see docker-compose.yml).
# Written for people with a Docker engine; never built on the project's machines (no engine there):
# the test suite checks that every program docker-compose.yml runs is installed or copied here.

# Node 20 on Debian 12 (Debian's own nodejs is 18, too old for this project).
FROM node:20-bookworm-slim

# Open vSwitch (userspace datapath: a container cannot load the kernel module), FRR (zebra, bgpd,
# vtysh), iproute2 and the build tools better-sqlite3 compiles with. docker-compose.yml runs each
# container with `init: true`: Docker's init is PID 1 and reaps the daemons.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      openvswitch-switch frr iproute2 iputils-ping procps \
      build-essential python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/midonet
COPY package.json package-lock.json ./
RUN npm_config_build_from_source=better-sqlite3 npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && ln -s /opt/midonet/bin/midonet-agent /usr/bin/midonet-agent \
 && ln -s /opt/midonet/bin/midonet-router /usr/bin/midonet-router \
 && ln -s /opt/midonet/bin/midonet-cli /usr/bin/midonet-cli
COPY docker/agent-host.sh docker/router-host.sh docker/isp.sh docker/ovs-start.sh /usr/local/bin/
RUN chmod 0755 /usr/local/bin/agent-host.sh /usr/local/bin/router-host.sh /usr/local/bin/isp.sh /usr/local/bin/ovs-start.sh \
 && mkdir -p /etc/midonet /var/lib/midonet /run/midonet

CMD ["midonet-cli", "--help"]
