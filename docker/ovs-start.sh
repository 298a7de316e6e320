#!/bin/sh
# Starts this container's own Open vSwitch (ovsdb-server, ovs-vswitchd) in the background, with the
# userspace datapath (no kernel module in a container), and waits until ovs-vsctl answers.
set -eu
mkdir -p /var/run/openvswitch /var/log/openvswitch /etc/openvswitch
if [ ! -f /etc/openvswitch/conf.db ]; then
  ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
fi
ovsdb-server /etc/openvswitch/conf.db --remote=punix:/var/run/openvswitch/db.sock \
  --pidfile --detach --log-file
ovs-vsctl --no-wait init
ovs-vswitchd unix:/var/run/openvswitch/db.sock --pidfile --detach --log-file
ovs-vsctl --timeout=10 show >/dev/null
