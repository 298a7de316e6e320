/**
 * interest.ts `movesInterest`, checked against a walk: on the generated three-tenant cloud
 * (bench/scale-topology.ts) in an in-memory store, an on-demand agent on host 0 takes each commit's
 * changes through its keeper; whenever no taken change is said to move the interest set, the replica
 * must equal the interest set walked afresh over the store (so skipping the walk loses nothing). A new
 * rule in a held chain, its removal and a new route of a held router are such changes; a rule that
 * jumps to another tenant's chain and a port bound to this host are not, and the walk indeed differs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { InterestKeeper } from '../../src/agent/interest-keeper.js';
import { interestSet, movesInterest, storeReader } from '../../src/agent/interest.js';
import { createLogger } from '../../src/log.js';
import { Topology } from '../../src/sim/topology.js';
import { openStore } from '../../src/state/open.js';
import type { Op, TopologyStore } from '../../src/state/store.js';
import { baseOps, chainId, hostId, idOf, tenantOps } from '../../bench/scale-topology.js';

const HOSTS = 15;
const log = createLogger({ name: 'test', level: 'silent' });

async function setUp() {
  const store = await openStore(`memory:moves-${randomBytes(4).toString('hex')}`);
  await store.transact(baseOps(HOSTS));
  for (let t = 0; t < 3; t++) await store.transact(tenantOps(t, HOSTS));
  let topo = new Topology();
  const keeper = new InterestKeeper({
    mode: 'on-demand',
    hostId: hostId(0),
    topology: () => topo,
    apply: (changes) => void topo.apply(changes),
    keepAskedMs: 60000,
    log,
  });
  keeper.setStore(store);
  topo = Topology.from((await keeper.initial(store)).objects as never);
  return { store, keeper, topo: () => topo };
}

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
  const { store, keeper, topo } = await setUp();
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
