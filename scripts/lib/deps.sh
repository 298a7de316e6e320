#!/usr/bin/env bash
# Installs what the project needs on a Debian 12 machine, idempotently: Debian packages (only the
# missing ones, one `apt-get update` when something is missing) and the npm packages of
# package-lock.json (skipped when node_modules already matches the lock file). Sourced by the
# scripts behind `npm start`, `npm test`, `npm run bench` and `npm run compose`.
set -euo pipefail

# Every Debian package any part of the project uses: build tools for better-sqlite3, Open vSwitch
# (userspace datapath), FRR, ZooKeeper, traffic tools for the lab and its evaluation; systemd
# (systemd-analyze verify checks the units, also where systemd is not PID 1), busybox (its udhcpc is
# the lab tests' DHCP client) and docker-compose (validates docker-compose.yml; no Docker engine is
# needed or installed).
MIDONET_DEBIAN_PACKAGES=(
  build-essential python3 sqlite3 iproute2 iputils-ping procps psmisc ethtool iperf3 tcpdump busybox
  ca-certificates openssl openvswitch-switch openvswitch-testcontroller frr
  zookeeper openjdk-17-jre-headless maven
  systemd docker-compose
)

# The compose lab's engine and image tools (`npm run compose`, and `npm test` for the compose
# tests): Podman with runc (crun refuses this machine's hybrid cgroups),
# catatonit (the init of `init: true`), netavark and iptables (container networks; not aardvark-dns,
# whose teardown race leaks addresses: docs/operations.md), debootstrap (the Debian 12 base image,
# since no image registry is reachable).
MIDONET_COMPOSE_PACKAGES=(podman runc catatonit netavark iptables debootstrap)

midonet_install_debian() {
  midonet_install_packages "${MIDONET_DEBIAN_PACKAGES[@]}"
}

# With MIDONET_COMPOSE_ENGINE=docker and no Docker daemon answering, the compose verb starts one of
# its own (src/compose/dockerd.ts): Debian's docker.io (dockerd, containerd, runc).
MIDONET_COMPOSE_DOCKER_PACKAGES=(docker.io debootstrap)

# The compose lab's tools: debootstrap always; Podman and its helpers unless a Docker daemon answers
# or MIDONET_COMPOSE_ENGINE=docker (then Debian's dockerd when no daemon answers). Skipped where
# apt-get cannot run (not Debian, not root): then `npm run compose` says what to install.
midonet_install_compose() {
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then return 0; fi
  local want=(debootstrap)
  local answers=no
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then answers=yes; fi
  if [ "${MIDONET_COMPOSE_ENGINE:-}" = docker ]; then
    if [ $answers = no ] && ! command -v dockerd >/dev/null 2>&1; then want=("${MIDONET_COMPOSE_DOCKER_PACKAGES[@]}"); fi
  elif [ $answers = no ]; then
    want=("${MIDONET_COMPOSE_PACKAGES[@]}")
  fi
  midonet_install_packages "${want[@]}"
}

midonet_install_packages() {
  local missing=()
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # Open vSwitch's package starts its own daemons under systemd; the project starts its own
    # instances in namespaces, so the package's service is not needed (policy-rc.d keeps it quiet).
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

midonet_node_prefix() {
  # The folder whose include/node/node.h matches the running Node, so node-gyp needs no download.
  local prefix
  prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [ -f "$prefix/include/node/node.h" ]; then echo "$prefix"; else echo /usr; fi
}

midonet_install_npm() {
  local root=$1
  local stamp="$root/node_modules/.midonet-lock-hash"
  local want
  want=$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$root/node_modules/better-sqlite3/build" ]; then
    return 0
  fi
  echo "deps: installing npm packages (npm ci; better-sqlite3 builds from source, about a minute)" >&2
  # better-sqlite3 has no prebuilt binary reachable from here: build only that package from source,
  # against the installed Node headers. Never build zeromq from source (its binaries ship in the tarball).
  (cd "$root" && npm_config_build_from_source=better-sqlite3 npm_config_nodedir="$(midonet_node_prefix)" npm ci --no-audit --no-fund)
  echo "$want" > "$stamp"
}

# Resolves Cassandra's server jars once (cassandra-all and its runtime dependencies, from Maven Central
# through the installed mvn and services/cassandra/pom.xml) into /var/cache/midonet/cassandra-VERSION/lib,
# or MIDONET_CASSANDRA_LIB when set. A stamp file records a completed copy, so a run that was cut
# short is redone and a completed one is not.
midonet_cassandra_jars() {
  local root=$1
  local pom="$root/services/cassandra/pom.xml"
  local version
  version=$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$pom")
  local lib=${MIDONET_CASSANDRA_LIB:-/var/cache/midonet/cassandra-$version/lib}
  local stamp="$lib/.midonet-complete"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum "$pom" | cut -d' ' -f1)" ]; then
    return 0
  fi
  echo "deps: resolving Cassandra $version jars with Maven into $lib" >&2
  rm -rf "$lib" && mkdir -p "$lib"
  mvn -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" >&2
  sha256sum "$pom" | cut -d' ' -f1 > "$stamp"
}

# Builds cnitool (the CNI project's own client, a Go module) once into /var/cache/midonet/go/bin, or
# MIDONET_GOPATH/bin when set; the CNI tests and the API benchmark drive midonet-cni with it. Needs Go
# (installed on the project's machines); a finished build is found again and not redone.
MIDONET_CNITOOL_VERSION=v1.2.3
midonet_cnitool() {
  local gopath=${MIDONET_GOPATH:-/var/cache/midonet/go}
  local stamp="$gopath/bin/.cnitool-$MIDONET_CNITOOL_VERSION"
  if [ -x "$gopath/bin/cnitool" ] && [ -f "$stamp" ]; then
    echo "$gopath/bin/cnitool"
    return 0
  fi
  if ! command -v go >/dev/null; then
    echo "deps: cnitool needs Go (go install github.com/containernetworking/cni/cnitool@$MIDONET_CNITOOL_VERSION)" >&2
    return 1
  fi
  echo "deps: building cnitool $MIDONET_CNITOOL_VERSION with go install into $gopath/bin" >&2
  mkdir -p "$gopath"
  GOPATH="$gopath" GOFLAGS=-modcacherw go install "github.com/containernetworking/cni/cnitool@$MIDONET_CNITOOL_VERSION" >&2
  touch "$stamp"
  echo "$gopath/bin/cnitool"
}

midonet_build() {
  local root=$1
  (cd "$root" && npm run --silent build)
}

midonet_deps() {
  local root=$1
  midonet_install_debian
  midonet_install_npm "$root"
  midonet_build "$root"
}
