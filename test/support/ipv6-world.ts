/**
 * A routed IPv6 topology for the agent's controller tests, and the frames they send: two bridges
 * (left 2001:db8:1::/64 with vm1 on hv1, right 2001:db8:2::/64 with vm3 on a host of the test's
 * choosing) joined by router r1 (::1 on each side), and IPv6 frames (UDP, ICMPv6, neighbour
 * solicitations and advertisements) built by the project's packet codec.
 */
import { writeIpv6 } from '../../src/addr.js';
import { FlowController, type ControllerDeps } from '../../src/agent/controller.js';
import { createLogger } from '../../src/log.js';
import { buildEthernet, type Ipv6 } from '../../src/packet/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import type { Topology } from '../../src/sim/topology.js';

export const HV1 = '00000000-0000-4000-8000-0000000000aa';
export const HV2 = '00000000-0000-4000-8000-0000000000bb';
export const VM1 = '02:00:00:00:00:01';
export const VM3 = '02:00:00:00:00:03';
/** The router's MACs on the left and right bridges. */
export const RL = '02:00:00:00:01:01';
export const RR = '02:00:00:00:01:02';

/** Hosts hv1 and hv2 in one tunnel zone. */
export function addTwoHosts(b: TopologyBuilder): void {
  b.add('host', { name: 'hv1' }, HV1);
  b.add('host', { name: 'hv2' }, HV2);
  b.add('tunnel-zone', {
    name: 'tz',
    members: [
      { hostId: HV1, address: '198.51.100.1' },
      { hostId: HV2, address: '198.51.100.2' },
    ],
  });
}

/** The topology (vm1 on tap1 of hv1, vm3 on tap3 of `vm3Host`) and the router's id. */
export function routedV6(vm3Host = HV1): { topo: Topology; r: string } {
  const b = new TopologyBuilder();
  addTwoHosts(b);
  const left = b.bridge('left');
  const right = b.bridge('right');
  b.port(left, 'vm1', { hostId: HV1, interfaceName: 'tap1' });
  b.port(right, 'vm3', { hostId: vm3Host, interfaceName: 'tap3' });
  const r = b.router('r1');
  const rl = b.port(r, 'r1-left', { address: '192.0.2.1/25', address6: '2001:db8:1::1/64', mac: RL });
  const rr = b.port(r, 'r1-right', { address: '192.0.2.129/25', address6: '2001:db8:2::1/64', mac: RR });
  b.link(b.port(left, 'left-up'), rl);
  b.link(b.port(right, 'right-up'), rr);
  return { topo: b.build(), r };
}

/** The controller of `hostId` with its OpenFlow ports (`tap1`: 1, `tun-gre`: 10, ...). */
export function controllerOn(
  topo: Topology,
  hostId: string,
  ofports: Readonly<Record<string, number>>,
  deps: ControllerDeps = {},
): FlowController {
  const ctl = new FlowController(
    topo,
    { hostId, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    createLogger({ name: 'test', level: 'silent' }),
    deps,
  );
  for (const [iface, ofport] of Object.entries(ofports)) ctl.ports.ifaceOfport.set(iface, ofport);
  ctl.ports.refreshBindings();
  return ctl;
}

/** A UDP datagram with 8 bytes of payload, MACs and addresses given (ports sport -> dport). */
export function udp6Frame(
  src: string,
  dst: string,
  srcIp: string,
  dstIp: string,
  sport: number,
  dport: number,
): Buffer {
  return v6(srcIp, dstIp, src, dst, {
    kind: 'udp',
    srcPort: sport,
    dstPort: dport,
    payload: { kind: 'raw', bytes: new Uint8Array(8) },
  });
}

export function v6(
  src: string,
  dst: string,
  srcMac: string,
  dstMac: string,
  payload: Ipv6['payload'],
  hopLimit = 64,
): Buffer {
  return Buffer.from(
    buildEthernet({
      kind: 'ethernet',
      dst: dstMac,
      src: srcMac,
      payload: { kind: 'ipv6', trafficClass: 0, flowLabel: 0, hopLimit, src, dst, payload },
    }),
  );
}

/** A UDP datagram from vm1 (2001:db8:1::10) to 2001:db8:2::10 behind the router. */
export const udp6 = (sport = 5000): Buffer =>
  v6('2001:db8:1::10', '2001:db8:2::10', VM1, RL, {
    kind: 'udp',
    srcPort: sport,
    dstPort: 53,
    payload: { kind: 'raw', bytes: new Uint8Array(8) },
  });

/** A neighbour solicitation (135) or a solicited advertisement (136) for `target`. */
export function nd(
  type: 135 | 136,
  target: string,
  src: string,
  dst: string,
  srcMac: string,
  dstMac: string,
): Buffer {
  const body = new Uint8Array(28);
  if (type === 136) body[0] = 0x60; // solicited, override
  writeIpv6(target, body, 4);
  body[20] = type === 135 ? 1 : 2;
  body[21] = 1;
  srcMac.split(':').forEach((h, i) => (body[22 + i] = parseInt(h, 16)));
  return v6(src, dst, srcMac, dstMac, { kind: 'icmpv6', type, code: 0, body }, 255);
}
