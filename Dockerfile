# One image for every role of the compose lab (docker-compose.yml): hypervisors (Open vSwitch +
# midonet-agent), the router host (+ midonet-router, FRR), the ISP (FRR), the VMs, the CLI, and with
# docker-compose.local.yml also ZooKeeper (Debian's package) and, as the base of
# docker/cassandra/Dockerfile which adds the jars the project resolves from Maven Central, Cassandra.
# Each container runs `midonet-role ROLE` (src/compose/role.ts).
#
# NODE_BASE: a Debian 12 image with Node 20 under /usr/local. By default the official
# node:20-bookworm-slim (Docker with registry access); docker-compose.local.yml sets the locally made
# localhost/midonet-node:20-bookworm (Debian 12 minbase from debootstrap plus the host's own Node,
# src/compose/images.ts), for machines that reach no image registry.
ARG NODE_BASE=node:20-bookworm-slim
FROM ${NODE_BASE}

# Open vSwitch (userspace datapath: a container cannot load the kernel module), FRR (zebra, bgpd,
# vtysh), ZooKeeper and Java 17 (store roles), iproute2/ethtool/ping, and the build tools
# better-sqlite3 compiles with. docker-compose.yml runs each container with `init: true`. (Debian's
# slim images leave out /usr/share/man, where Java's package links its manual pages.)
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openvswitch-switch frr iproute2 iputils-ping procps ethtool \
      zookeeper openjdk-17-jre-headless \
      build-essential python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/midonet
COPY package.json package-lock.json ./
# better-sqlite3 builds from source against the image's Node headers (no prebuilt download needed).
RUN npm_config_build_from_source=better-sqlite3 npm_config_nodedir=/usr/local \
    npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY services ./services
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
 && ln -s /opt/midonet/bin/midonet-agent /usr/bin/midonet-agent \
 && ln -s /opt/midonet/bin/midonet-router /usr/bin/midonet-router \
 && ln -s /opt/midonet/bin/midonet-cli /usr/bin/midonet-cli \
 && ln -s /opt/midonet/bin/midonet-role /usr/bin/midonet-role \
 && mkdir -p /etc/midonet /var/lib/midonet /run/midonet

# What the image was built from (src/compose/images.ts rebuilds when it changes).
ARG SOURCE_HASH=unknown
LABEL org.midonet.source-hash=${SOURCE_HASH}
CMD ["midonet-cli", "--help"]
