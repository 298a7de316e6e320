/**
 * The smallest world an agent's controller works in: two hosts in a GRE tunnel zone, one bridge with
 * ports p1 and p2 bound on this host (taps 1 and 2, OpenFlow ports 1 and 2) and p3 on the other
 * host, and a FlowController for this host with its OpenFlow ports known (hostController, for other
 * worlds too). For tests and benches that feed it packet-ins.
 */
import { FlowController } from '../../src/agent/controller.js';
import { createLogger, type Logger } from '../../src/log.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import type { Topology } from '../../src/sim/topology.js';

export const HOST = '00000000-0000-4000-8000-0000000000aa';
export const OTHER = '00000000-0000-4000-8000-0000000000bb';

export function bridgeWorld(log: Logger = createLogger({ name: 'test', level: 'silent' })) {
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HOST);
  b.add('host', { name: 'hv2' }, OTHER);
  b.add('tunnel-zone', {
    name: 'tz',
    type: 'gre',
    members: [
      { hostId: HOST, address: '198.51.100.1' },
      { hostId: OTHER, address: '198.51.100.2' },
    ],
  });
  const br = b.bridge('br');
  const p1 = b.port(br, 'p1', { hostId: HOST, interfaceName: 'tap1' });
  const p2 = b.port(br, 'p2', { hostId: HOST, interfaceName: 'tap2' });
  const p3 = b.port(br, 'p3', { hostId: OTHER, interfaceName: 'tap3' });
  const ctl = hostController(b.build(), { tap1: 1, tap2: 2, 'tun-gre': 10, 'tun-vxlan': 11 }, log);
  return { b, ctl, br, p1, p2, p3 };
}

/** A FlowController for HOST over `topo`, its interfaces at the OpenFlow ports `ofports` names. */
export function hostController(
  topo: Topology,
  ofports: Record<string, number>,
  log: Logger = createLogger({ name: 'test', level: 'silent' }),
): FlowController {
  const ctl = new FlowController(
    topo,
    { hostId: HOST, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
  );
  for (const [iface, ofport] of Object.entries(ofports)) ctl.ports.ifaceOfport.set(iface, ofport);
  ctl.ports.refreshBindings();
  return ctl;
}
