/**
 * Periodic unsolicited router advertisements (router-adverts.ts) through the agent's controller, on a
 * fake clock (the test passes `now`) with a seeded random source: the first three at most 16 s
 * apart, then every 200-600 s; each one an RA to all nodes from the router port's link-local address
 * with its prefix and a 30-minute router lifetime, output to the bridge's local VM ports only (never
 * through a tunnel); a router port stops advertising when its local VM port goes or it loses its
 * IPv6 address, and starts over with fast ones when it comes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RA_INITIAL, RA_INTERVAL_MS } from '../../src/agent/router-adverts.js';
import type { Outgoing } from '../../src/openflow/index.js';
import { parseEthernet } from '../../src/packet/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { HV1, HV2, addTwoHosts, controllerOn } from '../support/ipv6-world.js';

const RL = '02:00:00:00:01:01';

/** vm1 (hv1) and vm2 (hv2) on bridge left, whose router port has 2001:db8:1::1/64. */
function world(random: () => number) {
  const b = new TopologyBuilder();
  addTwoHosts(b);
  const left = b.bridge('left');
  b.port(left, 'vm1', { hostId: HV1, interfaceName: 'tap1' });
  b.port(left, 'vm2', { hostId: HV2, interfaceName: 'tap2' });
  const r = b.router('r1');
  const rl = b.port(r, 'r1-left', { address: '192.0.2.1/24', address6: '2001:db8:1::1/64', mac: RL });
  b.link(b.port(left, 'left-up'), rl);
  const ctl = controllerOn(b.build(), HV1, { tap1: 1, 'tun-gre': 10 }, { random });
  return { ctl, rl };
}

/** A seeded uniform source in [0, 1) (a linear congruential generator). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The router advertisements among `msgs`: their OpenFlow output ports and the parsed frame. */
function adverts(msgs: readonly Outgoing[]) {
  const out = [];
  for (const m of msgs) {
    if (m.type !== 'packet_out') continue;
    const e = parseEthernet(m.data);
    if (e.kind !== 'ethernet' || e.payload.kind !== 'ipv6' || e.payload.payload.kind !== 'icmpv6') continue;
    if (e.payload.payload.type !== 134) continue;
    const ports = m.actions.flatMap((a) => (a.type === 'output' ? [a.port] : []));
    out.push({ ports, eth: e, ip: e.payload, body: e.payload.payload.body });
  }
  return out;
}

/** Runs the agent's once-a-second clock from `from` to `to` (ms); returns when RAs went out. */
function run(ctl: ReturnType<typeof world>['ctl'], from: number, to: number): number[] {
  const at: number[] = [];
  for (let t = from; t <= to; t += 1000) if (adverts(ctl.routerAdverts(t)).length > 0) at.push(t);
  return at;
}

test('the first three advertisements come at most 16 s apart, then one every 200 to 600 s', () => {
  const { ctl } = world(seeded(7));
  const at = run(ctl, 0, 3 * 3600_000);
  const gaps = at.map((t, i) => t - (i === 0 ? 0 : at[i - 1]!));
  assert.ok(gaps.length > 3 + (3 * 3600) / 600, `enough advertisements in 3 hours: ${gaps.length}`);
  for (const g of gaps.slice(0, RA_INITIAL.count))
    assert.ok(g <= RA_INITIAL.maxIntervalMs, `a first one within 16 s: ${g}`);
  const later = gaps.slice(RA_INITIAL.count);
  for (const g of later)
    assert.ok(g >= RA_INTERVAL_MS[0] && g <= RA_INTERVAL_MS[1], `then within 200-600 s: ${g}`);
  assert.ok(new Set(later).size > later.length / 2, 'the intervals are random, not one period');
  // Never longer than a third of the router lifetime (1800 s): a VM keeps its default route.
  assert.ok(Math.max(...gaps) * 3 <= 1800_000);
});

test('an advertisement goes to all nodes from the link-local address, with the prefix, to local ports only', () => {
  const { ctl } = world(() => 0.5);
  const out = adverts(ctl.routerAdverts(0).concat(ctl.routerAdverts(RA_INITIAL.maxIntervalMs)));
  assert.equal(out.length, 1);
  const ra = out[0]!;
  assert.deepEqual(ra.ports, [1], 'to vm1 on this host; not through the tunnel to vm2 on hv2');
  assert.equal(ra.eth.dst, '33:33:00:00:00:01');
  assert.equal(ra.eth.src, RL);
  assert.equal(ra.ip.dst, 'ff02::1');
  assert.equal(ra.ip.src, 'fe80::ff:fe00:101');
  assert.equal(ra.ip.hopLimit, 255);
  const b = ra.body;
  assert.equal((b[2]! << 8) | b[3]!, 1800, 'router lifetime 30 minutes');
  // The prefix information option after the source link-layer address and MTU options.
  assert.equal(b[28], 3);
  assert.equal(b[30], 64, 'prefix length');
  assert.equal(b[31], 0xc0, 'on-link, autonomous (SLAAC)');
  assert.deepEqual([...b.subarray(44, 50)], [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01], '2001:db8:1::/64');
});

test('a router port stops advertising when its local VM port goes or its IPv6 address does; it starts over fast', () => {
  const { ctl, rl } = world(() => 0.5);
  assert.deepEqual(run(ctl, 0, 60_000), [16_000, 32_000, 48_000]);
  // vm1's interface leaves the switch: nothing local hears the router any more.
  ctl.ports.ifaceOfport.delete('tap1');
  ctl.ports.refreshBindings();
  assert.deepEqual(run(ctl, 61_000, 2000_000), []);
  // It is back: the first ones come fast again.
  ctl.ports.ifaceOfport.set('tap1', 1);
  ctl.ports.refreshBindings();
  assert.deepEqual(run(ctl, 2001_000, 2040_000), [2017_000, 2033_000]);
  // The router port loses its IPv6 address: no more advertisements.
  const port = ctl.topology.get('port', rl)!;
  ctl.topology.apply([{ op: 'update', kind: 'port', object: { ...port, address6: null } }]);
  assert.deepEqual(run(ctl, 2041_000, 4000_000), []);
});
