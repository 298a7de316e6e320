/**
 * The agent's flow history (src/agent/flow-history.ts) and its operator commands
 * (src/agent/control-commands.ts) on a FlowController without I/O: every removal reason is recorded
 * with what explains it (the store change and its position, the learned entry, the replacing flow, the
 * switch's FLOW_REMOVED, a reset), memory stays bounded, and the commands read the live tables and
 * simulate a made-up packet against them without changing anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController } from '../../src/agent/controller.js';
import { FlowHistory } from '../../src/agent/flow-history.js';
import { actionsText, controlCommand, filterFlows, parseFlowKey } from '../../src/agent/control-commands.js';
import { createLogger } from '../../src/log.js';
import type { PacketInView } from '../../src/openflow/index.js';
import { packetIn } from '../support/packet-in.js';
import { udpFrame } from '../support/udp-frame.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import type { Change } from '../../src/state/store.js';

const HOST = '00000000-0000-4000-8000-0000000000aa';

/** One bridge `lan` with ports a (ofport 1) and b (ofport 2) bound on this host, and a chain `fw`. */
function agent(capacity = 4096) {
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HOST);
  const fw = b.chain('fw', [{ action: 'accept', name: 'all' }]);
  const lan = b.bridge('lan', { inboundChainId: fw });
  const pa = b.port(lan, 'a', { hostId: HOST, interfaceName: 'tap-a' });
  const pb = b.port(lan, 'b', { hostId: HOST, interfaceName: 'tap-b' });
  const ctl = new FlowController(
    b.build(),
    { hostId: HOST, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    createLogger({ name: 'test', level: 'silent' }),
  );
  ctl.ports.ifaceOfport.set('tap-a', 1).set('tap-b', 2);
  ctl.ports.refreshBindings();
  const history = new FlowHistory(capacity, () => 5000);
  history.attach(ctl.flows);
  return { b, ctl, history, fw, lan, pa, pb, view: { hostId: HOST, controller: ctl, history } };
}

const MAC_A = '02:00:00:00:0a:01';
const MAC_B = '02:00:00:00:0b:01';

function pin(inPort: number, src: string, dst: string): PacketInView {
  const data = udpFrame({ src, dst, srcIp: '192.0.2.21', dstIp: '192.0.2.22', srcPort: 1234, ttl: 32 });
  return packetIn(data, inPort);
}

/** Flows a -> b and b -> a, both MACs learned. */
function traffic(ctl: FlowController): void {
  ctl.packetIn(pin(2, MAC_B, MAC_A), 1000);
  ctl.packetIn(pin(1, MAC_A, MAC_B), 1001);
}

test('a store change names the object and the feed position of the change that invalidated a flow', () => {
  const { ctl, history, fw } = agent();
  traffic(ctl);
  const flows = ctl.flows.size;
  assert.ok(flows >= 1);
  const chain = ctl.topology.get('chain', fw)!;
  const batch: Change[] = [
    {
      seq: 42,
      tx: 42,
      kind: 'chain',
      id: fw,
      op: 'update',
      version: chain.version + 1,
      object: { ...chain, version: chain.version + 1 },
    },
  ];
  history.changes(batch);
  ctl.invalidate(ctl.topology.apply(batch));
  assert.equal(ctl.flows.size, 0, 'every flow went through the chain');
  const entries = history.list({ limit: flows });
  assert.equal(entries.length, flows);
  for (const e of entries) {
    assert.equal(e.reason, 'invalidated');
    assert.equal(e.tag, `chain:${fw}`);
    assert.deepEqual(e.change, { seq: 42, op: 'update', kind: 'chain', id: fw, name: 'fw' });
    assert.match(e.detail, /^invalidated by update of chain 'fw' \(.+\) at change 42$/);
  }
});

test('a learned MAC that moves explains the flows it invalidates, without a store change', () => {
  const { ctl, history, lan, pa, pb } = agent();
  traffic(ctl);
  // MAC_B now shows up on port a: the flows that sent it to b depended on the old entry.
  ctl.packetIn(pin(1, MAC_B, MAC_A), 2000);
  const moved = history.list().filter((e) => e.reason === 'invalidated');
  assert.ok(moved.length >= 1, JSON.stringify(history.list()));
  assert.ok(moved.every((e) => e.tag?.startsWith(`mac:${lan}/0/`) && e.change === undefined));
  assert.match(moved[0]!.detail, /MAC table entry .* changed/);
  assert.ok([pa, pb].includes(moved[0]!.inPort));
});

test('the switch reports idle, hard timeout and eviction; a reset and a replacement say so', async () => {
  const { ctl, history } = agent();
  traffic(ctl);
  const cookies = [...ctl.flows.all()].map((f) => f.cookie);
  assert.ok(cookies.length >= 2);
  history.fromSwitch({ cookie: BigInt(cookies[0]!), reason: 0, durationSec: 61, packetCount: 7n });
  ctl.flowRemoved(cookies[0]!);
  let e = history.list({ cookie: cookies[0]! })[0]!;
  assert.equal(e.reason, 'idle');
  assert.equal(e.packets, 7);
  assert.equal(e.detail, 'idle timeout after 61 s, 7 packets');

  history.fromSwitch({ cookie: BigInt(cookies[1]!), reason: 5, durationSec: 3, packetCount: 0n });
  ctl.flowRemoved(cookies[1]!);
  assert.equal(history.list({ cookie: cookies[1]! })[0]!.reason, 'evicted');

  // A context lasts for its own turn only: it never explains a later removal.
  traffic(ctl);
  history.fromSwitch({ cookie: 999n, reason: 0, durationSec: 1, packetCount: 0n });
  await Promise.resolve();
  history.reset('the switch (re)connected');
  const live = ctl.flows.size;
  ctl.forgetFlows();
  e = history.list()[0]!;
  assert.equal(e.reason, 'reset');
  assert.equal(e.detail, 'the switch (re)connected');
  assert.equal(history.list().filter((x) => x.reason === 'reset').length, live);
});

test('a flow with the same match as an installed one is recorded as replaced, naming the new cookie', () => {
  const { ctl, history } = agent();
  traffic(ctl);
  ctl.packetIn(pin(2, MAC_B, MAC_A), 9000); // the predicted reply's match comes up again
  const r = history.list().find((x) => x.reason === 'replaced');
  assert.ok(r, JSON.stringify(history.list()));
  assert.ok(ctl.flows.get(Number(r.replacedBy)) !== undefined, 'the replacing flow is the live one');
});

test('memory is bounded: the ring keeps the newest removals only', () => {
  const { ctl, history } = agent(3);
  for (let i = 0; i < 10; i++) {
    traffic(ctl);
    ctl.forgetFlows();
  }
  assert.equal(history.size, 3);
  assert.equal(history.list().length, 3);
  assert.equal(history.list({ limit: 2 }).length, 2);
  const seen = history.list().map((e) => Number(e.cookie));
  assert.deepEqual(
    seen,
    [...seen].sort((a, b) => b - a),
    'newest first',
  );
});

test('operator commands read the live tables; simulate uses them and changes nothing', () => {
  const { ctl, view, lan, pa, pb } = agent();
  traffic(ctl);
  const macs = controlCommand(view, { cmd: 'macs' }, 2000) as { entries: Array<Record<string, unknown>> };
  assert.deepEqual(macs.entries.map((e) => [e.bridgeName, e.mac, e.portName]).sort(), [
    ['lan', MAC_A, 'a'],
    ['lan', MAC_B, 'b'],
  ]);
  const onA = controlCommand(view, { cmd: 'macs', port: pa }, 2000) as { entries: unknown[] };
  assert.equal(onA.entries.length, 1);
  assert.deepEqual((controlCommand(view, { cmd: 'arp' }) as { entries: unknown[] }).entries, []);
  assert.deepEqual(parseFlowKey(`${lan}|6/3221225994:1000>3221225995:80`), {
    key: `${lan}|6/3221225994:1000>3221225995:80`,
    zone: lan,
    kind: null,
    proto: 6,
    src: '192.0.2.10',
    srcPort: 1000,
    dst: '192.0.2.11',
    dstPort: 80,
  });
  assert.equal(parseFlowKey(`${lan}/rd/17/1:2>3:4`).kind, 'rd');
  // IPv6 keys (a load balancer's bindings, IPv6 conntrack) have their addresses in brackets.
  const k6 = parseFlowKey(`${lan}/d/6/[2001:db8:b::10]:41350>[2001:db8:b::200]:80`);
  assert.deepEqual(
    [k6.kind, k6.src, k6.srcPort, k6.dst, k6.dstPort],
    ['d', '2001:db8:b::10', 41350, '2001:db8:b::200', 80],
  );

  const flowsBefore = ctl.flows.size;
  const stats = ctl.stats.simulations;
  const sim = controlCommand(
    view,
    {
      cmd: 'simulate',
      port: pa,
      packet: {
        srcMac: MAC_A,
        dstMac: MAC_B,
        srcIp: '192.0.2.21',
        dstIp: '192.0.2.22',
        proto: 'tcp',
        dstPort: 80,
        tcpFlags: ['syn', 'ack'],
      },
    },
    2000,
  ) as { text: string };
  assert.match(sim.text, /flags syn,ack/, 'TCP flags by name');
  assert.match(sim.text, /MAC table: 02:00:00:00:0b:01 vlan 0 on port b/, 'the live MAC table was read');
  assert.match(sim.text, /^Actions: output:b$/m);
  assert.match(sim.text, /rule 1 \(all\) \[[0-9a-f-]{36}\] matched: accept/, 'rules print position and id');
  assert.match(sim.text, new RegExp(`bridge:lan\\(${lan.slice(0, 8)}…\\)`), 'tags print names');
  assert.equal(ctl.flows.size, flowsBefore, 'nothing installed');
  assert.equal(ctl.stats.simulations, stats, 'not counted as a packet-in');
  assert.ok(pb);
});

test('operator commands refuse malformed requests, naming the field', () => {
  const { view, pa } = agent();
  assert.throws(
    () => controlCommand(view, { cmd: 'bogus' }),
    /unknown command 'bogus'; allowed: .*flow-history/,
  );
  assert.throws(() => controlCommand(view, { cmd: 'macs', port: 7 }), /field 'port': 7 is not allowed/);
  assert.throws(() => controlCommand(view, { cmd: 'simulate', packet: {} }), /field 'port' is required/);
  assert.throws(
    () => controlCommand(view, { cmd: 'simulate', port: pa, packet: { srcMac: 5 } }),
    /packet\.srcMac: 5 is not allowed/,
  );
  assert.throws(
    () => controlCommand(view, { cmd: 'simulate', port: pa, packet: { srcMac: 'zz' } }),
    /simulate: .*not a MAC/,
  );
  assert.throws(() => controlCommand(view, { cmd: 'flow-history', limit: -1 }), /field 'limit'/);
});

test('flows filter by port, device and tag, and print their actions with port names', () => {
  const { ctl, lan, pa, fw } = agent();
  traffic(ctl);
  const dump = [...ctl.flows.all()].map((f) => ({
    cookie: `0x${f.cookie.toString(16)}`,
    inPort: ctl.topology.port(f.inPort)!.name,
    tags: f.tags,
    openflow: {
      match: [],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
    },
  }));
  assert.equal(filterFlows(dump, { device: lan }, ctl).length, dump.length);
  assert.equal(filterFlows(dump, { tag: `chain:${fw}` }, ctl).length, dump.length);
  assert.equal(filterFlows(dump, { tag: 'chain:nothing' }, ctl).length, 0);
  const fromA = filterFlows(dump, { port: pa }, ctl) as Array<{ actions: string }>;
  assert.ok(fromA.length >= 1);
  assert.equal(fromA[0]!.actions, 'output:2(b)');
  assert.equal(
    actionsText(
      [
        {
          type: 'apply_actions',
          actions: [
            { type: 'set_field', field: { field: 'tunnel_id', value: 5n } },
            { type: 'dec_nw_ttl' },
            { type: 'output', port: 9, maxLen: 0 },
          ],
        },
      ],
      String,
    ),
    'set_field:0x5->tunnel_id,dec_ttl,output:9',
  );
});
