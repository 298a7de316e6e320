/**
 * interest-keeper.ts on a generated three-tenant cloud (bench/scale-topology.ts) in an in-memory
 * store: an on-demand agent on host 0 starts with tenant 0 and the provider router only; changes to
 * tenant 1 are not applied, a new rule of tenant 0 is; a port of tenant 1 bound to host 0 brings
 * tenant 1 in and its removal drops it again; a simulation's missing router is loaded with its ports
 * and routes, an id the store lacks is known absent; a 'full' agent applies every change. And
 * `movesInterest` (interest.ts) against a walk: whenever no change a commit brings is said to move the
 * interest set, the replica equals the set walked afresh over the store (skipping the walk loses
 * nothing); a rule jumping to another tenant's chain, or a port bound to this host, does move it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FlowController, type TopologyDemand } from '../../src/agent/controller.js';
import { InterestKeeper, type TopologyLoad } from '../../src/agent/interest-keeper.js';
import { interestSet, movesInterest, storeReader } from '../../src/agent/interest.js';
import { OFP_NO_BUFFER } from '../../src/openflow/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { udpFrame } from '../support/udp-frame.js';
import { createLogger } from '../../src/log.js';
import { Topology } from '../../src/sim/topology.js';
import { openStore } from '../../src/state/open.js';
import type { Op, TopologyStore } from '../../src/state/store.js';
import { baseOps, chainId, hostId, idOf, PROVIDER, ruleId, tenantOps } from '../../bench/scale-topology.js';

const HOSTS = 15;
const log = createLogger({ name: 'test', level: 'silent' });

async function cloud(): Promise<TopologyStore> {
  const store = await openStore(`memory:keeper-${randomBytes(4).toString('hex')}`);
  await store.transact(baseOps(HOSTS));
  for (let t = 0; t < 3; t++) await store.transact(tenantOps(t, HOSTS));
  return store;
}

async function agent(store: TopologyStore, mode: TopologyLoad) {
  let topo = new Topology();
  const keeper = new InterestKeeper({
    mode,
    hostId: hostId(0),
    topology: () => topo,
    apply: (changes) => void topo.apply(changes),
    keepAskedMs: 60000,
    log,
  });
  keeper.setStore(store);
  const snap = await keeper.initial(store);
  topo = Topology.from(snap.objects as never);
  /** Commits ops and feeds their changes through the keeper, as the daemon does. */
  const commit = async (ops: Parameters<TopologyStore['transact']>[0]) => {
    const r = await store.transact(ops);
    topo.apply(keeper.filter(r.changes));
  };
  return { keeper, topo: () => topo, commit };
}

test('an on-demand agent holds its tenant, follows only its changes, and loads a tenant a local port joins', async () => {
  const store = await cloud();
  try {
    const { keeper, topo, commit } = await agent(store, 'on-demand');
    const held = (id: string) =>
      topo().get('router', id) ?? topo().get('bridge', id) ?? topo().get('rule', id);
    assert.ok(held(idOf('t0-br')) && held(idOf('t0-r1')) && held(PROVIDER));
    assert.ok(!held(idOf('t1-br')) && !held(idOf('t1-r1')) && !held(idOf('t2-r2')));
    const total = (await store.snapshot()).objects.length;
    assert.ok(topo().count() < total / 2, `${topo().count()} of ${total} objects held`);

    // A rule of tenant 1 changes: ignored. A rule added to a chain of tenant 0: applied.
    await commit([{ op: 'update', kind: 'rule', id: ruleId(1, 0, 5), set: { action: 'drop' } }]);
    assert.equal(topo().get('rule', ruleId(1, 0, 5)), undefined);
    assert.ok(keeper.counters.changesIgnored >= 1);
    const extraRule = idOf('extra-rule');
    await commit([
      {
        op: 'create',
        kind: 'rule',
        id: extraRule,
        fields: { chainId: chainId(0, 2), action: 'drop', conditions: { ipProto: { value: 17 } } },
      },
    ]);
    assert.ok(topo().get('rule', extraRule), 'the new rule of a held chain is held');
    assert.ok(topo().chain(chainId(0, 2)), 'its chain is compiled');

    // A port of tenant 1 bound to this host: taken at once, tenant 1 loaded by the walk.
    const extraPort = idOf('extra-port');
    await commit([
      {
        op: 'create',
        kind: 'port',
        id: extraPort,
        fields: { name: 'extra', deviceId: idOf('t1-br'), hostId: hostId(0), interfaceName: 'extra0' },
      },
    ]);
    assert.ok(topo().get('port', extraPort));
    await keeper.recompute();
    assert.ok(held(idOf('t1-br')) && held(idOf('t1-r1')) && held(ruleId(1, 3, 2)), 'tenant 1 loaded');
    assert.ok(!held(idOf('t2-br')), 'not tenant 2');

    // Its removal: tenant 1 is dropped again.
    await commit([{ op: 'delete', kind: 'port', id: extraPort }]);
    await keeper.recompute();
    assert.ok(!held(idOf('t1-br')) && !held(idOf('t1-r1')), 'tenant 1 dropped');
    assert.ok(keeper.counters.objectsDropped > 0);
    assert.ok(held(idOf('t0-br')) && held(PROVIDER), 'its own tenant stays');

    // A simulation needs tenant 2's second router and an id nobody has.
    const ghost = idOf('ghost');
    await new Promise<void>((done) => keeper.demand([idOf('t2-r2'), ghost], Date.now(), done));
    assert.ok(held(idOf('t2-r2')), 'the router is loaded');
    assert.ok(topo().get('port', idOf('t2-r2-r1')), 'with its ports');
    assert.ok(topo().router(idOf('t2-r2')), 'and compiled');
    assert.ok(keeper.absent(ghost, Date.now()) && keeper.settled(ghost, Date.now()));
    assert.ok(keeper.settled(idOf('t2-r2'), Date.now()));
    // A later walk keeps what was asked for (within keepAskedMs).
    await keeper.recompute();
    assert.ok(held(idOf('t2-r2')));
    keeper.close();
  } finally {
    await store.close();
  }
});

test('a full agent holds and follows everything', async () => {
  const store = await cloud();
  try {
    const { topo, commit } = await agent(store, 'full');
    assert.equal(topo().count(), (await store.snapshot()).objects.length);
    await commit([{ op: 'update', kind: 'rule', id: ruleId(1, 0, 5), set: { action: 'drop' } }]);
    assert.equal(topo().get('rule', ruleId(1, 0, 5))?.action, 'drop');
  } finally {
    await store.close();
  }
});

/** What the agent holds, and what a walk over the store finds now, as sorted ids. */
async function heldAndWalked(store: TopologyStore, topo: Topology): Promise<[string[], string[]]> {
  const local = topo
    .all('port')
    .filter((p) => p.hostId === hostId(0))
    .map((p) => p.id);
  const walked = await interestSet(storeReader(store), local, { hostId: hostId(0) });
  return [
    topo
      .objects()
      .map((o) => o.object.id)
      .sort(),
    [...walked.keys()].sort(),
  ];
}

test('a change said not to move the interest set leaves the replica equal to a fresh walk', async () => {
  const store = await cloud();
  const { keeper, topo } = await agent(store, 'on-demand');
  /** Commits `ops` through the keeper's filter (no background walk); whether a taken change moves. */
  const step = async (ops: Op[]): Promise<boolean> => {
    const { changes } = await store.transact(ops);
    const taken = keeper.filter(changes);
    keeper.close(); // the walk it may have scheduled: this test walks itself
    const batch = new Map(changes.map((c) => [c.id, c]));
    const moves = taken.some((c) => movesInterest(c, topo().get(c.kind, c.id), batch));
    topo().apply(taken);
    return moves;
  };
  try {
    const [first, walkedFirst] = await heldAndWalked(store, topo());
    assert.deepEqual(first, walkedFirst, 'the agent starts on its interest set');
    const rule = idOf('leaf-rule');
    const route = idOf('extra-route');
    const quiet: Array<[string, Op[]]> = [
      [
        'a rule matching no port or group, added to a held chain',
        [
          {
            op: 'create',
            kind: 'rule',
            id: rule,
            fields: { chainId: chainId(0, 2), action: 'drop', conditions: { ipProto: { value: 17 } } },
          },
        ],
      ],
      ['the same rule changed', [{ op: 'update', kind: 'rule', id: rule, set: { action: 'accept' } }]],
      ['the same rule removed', [{ op: 'delete', kind: 'rule', id: rule }]],
      [
        'a route of a held router',
        [
          {
            op: 'create',
            kind: 'route',
            id: route,
            fields: {
              routerId: idOf('t0-r1'),
              dstPrefix: '198.51.100.0/24',
              nextHopPortId: idOf('t0-r1-up'),
            },
          },
        ],
      ],
      ['the route removed', [{ op: 'delete', kind: 'route', id: route }]],
    ];
    for (const [what, ops] of quiet) {
      assert.equal(await step(ops), false, `${what}: said not to move`);
      const [held, walked] = await heldAndWalked(store, topo());
      assert.deepEqual(held, walked, `${what}: the replica is the walked set`);
    }

    const jump = idOf('jump-rule');
    assert.equal(
      await step([
        {
          op: 'create',
          kind: 'rule',
          id: jump,
          fields: { chainId: chainId(0, 2), action: 'jump', jumpChainId: chainId(1, 4) },
        },
      ]),
      true,
      'a rule jumping to a chain not held moves the set',
    );
    const [held, walked] = await heldAndWalked(store, topo());
    assert.notDeepEqual(held, walked, 'and the walk finds more');
    assert.ok(walked.includes(chainId(1, 4)));

    const port = idOf('bound-port');
    assert.equal(
      await step([
        {
          op: 'create',
          kind: 'port',
          id: port,
          fields: { name: 'bound', deviceId: idOf('t2-br'), hostId: hostId(0), interfaceName: 'bound0' },
        },
      ]),
      true,
      'a port bound to this host moves the set',
    );
  } finally {
    keeper.close();
    await store.close();
  }
});

/** A controller on host HOST whose replica has two ports of br1 but not br1 itself. */
function halfLoaded(demand?: TopologyDemand) {
  const HOST = '00000000-0000-4000-8000-0000000000aa';
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HOST);
  const br1 = b.bridge('br1');
  b.port(br1, 'p1', { hostId: HOST, interfaceName: 'tap1' });
  b.port(br1, 'p2', { hostId: HOST, interfaceName: 'tap2' });
  const whole = b.build();
  const topo = Topology.from(whole.objects().filter((o) => o.object.id !== br1));
  const ctl = new FlowController(
    topo,
    { hostId: HOST, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
    demand === undefined ? {} : { demand },
  );
  ctl.ports.ifaceOfport.set('tap1', 1).set('tap2', 2);
  ctl.ports.refreshBindings();
  const frame = udpFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' });
  const pi = {
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: frame.length,
    reason: 0,
    tableId: 0,
    inPort: 1,
    tunnelId: 0,
    data: frame,
  };
  const bridge = { op: 'create' as const, kind: 'bridge' as const, object: whole.get('bridge', br1)! };
  return { ctl, pi, br1, bridge };
}

test('a packet that needs an object the replica lacks waits for its load, then is simulated again', () => {
  const asked: string[][] = [];
  const { ctl, pi, br1, bridge } = halfLoaded({
    load: (ids) => void asked.push([...ids]),
    absent: () => false,
  });
  assert.deepEqual(ctl.packetIn(pi, 1000), [], 'nothing goes out while the packet waits');
  assert.deepEqual(ctl.packetIn(pi, 1001), [], 'a second packet waits too');
  assert.deepEqual(asked, [[br1]], 'the bridge is asked for once');
  // Loaded: the packets go on (flooded to p2), and a flow is installed.
  ctl.topology.apply([bridge]);
  const out = ctl.waits.loaded((id) => ctl.topology.get('bridge', id) !== undefined, 1010);
  const sw = new FakeOfTable();
  sw.apply(out);
  assert.equal(out.filter((m) => m.type === 'packet_out').length, 2, 'both held packets go out');
  assert.deepEqual(sw.outPorts(1, pi.data), [2]);
  assert.equal(ctl.stats.notYetDrops, 0);
});

test('a load that never comes, or no way to load, drops the packet (counted)', () => {
  const { ctl, pi } = halfLoaded({ load: () => undefined, absent: () => false });
  ctl.packetIn(pi, 1000);
  ctl.waits.tick(1000 + 2500);
  assert.equal(ctl.stats.notYetDrops, 1, 'the wait gave up');
  const full = halfLoaded();
  full.ctl.packetIn(full.pi, 1000);
  assert.equal(full.ctl.stats.notYetDrops, 1, 'a full replica drops at once');
  const absent = halfLoaded({ load: () => assert.fail('not asked again'), absent: () => true });
  absent.ctl.packetIn(absent.pi, 1000);
  assert.equal(absent.ctl.stats.notYetDrops, 1, 'an object the store lacks is not asked for again');
});
