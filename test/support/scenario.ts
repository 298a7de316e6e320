/**
 * A standard small topology (two bridges joined by a router, three VMs) used by tests, the benchmark
 * and trace examples, plus helpers to simulate a packet given by plain fields.
 *
 *   vm1, vm2 -- br-left --(192.0.2.1)-- r1 --(198.51.100.1)-- br-right -- vm3
 *
 * Invariant: the ids are deterministic (TopologyBuilder), so golden traces are stable.
 */
import { macToNumber, parseIpv4 } from '../../src/addr.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { type FlowMatch } from '../../src/sim/flow-match.js';
import { buildFlowMatch, type PacketFields } from '../../src/sim/packet-fields.js';
import { MemoryRuntimeState } from '../../src/sim/runtime-state.js';

export const MAC = {
  vm1: '02:00:00:00:00:01',
  vm2: '02:00:00:00:00:02',
  vm3: '02:00:00:00:00:03',
  rLeft: '02:00:00:00:01:01',
  rRight: '02:00:00:00:01:02',
  bcast: 'ff:ff:ff:ff:ff:ff',
} as const;

export const IP = {
  vm1: '192.0.2.10',
  vm2: '192.0.2.11',
  vm3: '198.51.100.10',
  rLeft: '192.0.2.1',
  rRight: '198.51.100.1',
} as const;

/** Builds the standard topology; `edit` may add chains, routes, ... before it is built. */
export function standardBuilder(): TopologyBuilder {
  const b = new TopologyBuilder();
  const left = b.bridge('br-left');
  const right = b.bridge('br-right');
  const r = b.router('r1');
  b.port(left, 'vm1');
  b.port(left, 'vm2');
  const lr = b.port(left, 'br-left-uplink');
  b.port(right, 'vm3');
  const rr = b.port(right, 'br-right-uplink');
  const rl = b.port(r, 'r1-left', { address: `${IP.rLeft}/24`, mac: MAC.rLeft });
  const rrp = b.port(r, 'r1-right', { address: `${IP.rRight}/24`, mac: MAC.rRight });
  b.link(lr, rl);
  b.link(rr, rrp);
  return b;
}

/** Runtime state with every VM's MAC learned and the router knowing vm1..vm3. */
export function standardState(b: TopologyBuilder, now = 0): MemoryRuntimeState {
  const s = new MemoryRuntimeState();
  s.macs.learn(b.id('br-left'), 0, macToNumber(MAC.vm1), b.id('vm1'), now);
  s.macs.learn(b.id('br-left'), 0, macToNumber(MAC.vm2), b.id('vm2'), now);
  s.macs.learn(b.id('br-right'), 0, macToNumber(MAC.vm3), b.id('vm3'), now);
  for (const vm of ['vm1', 'vm2', 'vm3'] as const)
    s.arp.learn(b.id('r1'), parseIpv4(IP[vm])!, macToNumber(MAC[vm]), now);
  return s;
}

/** Builds a packet or throws with the builder's message. */
export function packet(p: PacketFields): FlowMatch {
  const r = buildFlowMatch(p);
  if (!r.ok) throw new Error(r.error);
  return r.match;
}

/** vm1 -> vm3 TCP, addressed to the router (a routed packet). */
export function routedTcp(extra: Partial<PacketFields> = {}): PacketFields {
  return {
    srcMac: MAC.vm1,
    dstMac: MAC.rLeft,
    srcIp: IP.vm1,
    dstIp: IP.vm3,
    proto: 'tcp',
    srcPort: 40000,
    dstPort: 80,
    ...extra,
  };
}

/** vm1 -> vm2 TCP on the same bridge. */
export function bridgedTcp(extra: Partial<PacketFields> = {}): PacketFields {
  return {
    srcMac: MAC.vm1,
    dstMac: MAC.vm2,
    srcIp: IP.vm1,
    dstIp: IP.vm2,
    proto: 'tcp',
    srcPort: 40000,
    dstPort: 80,
    ...extra,
  };
}
