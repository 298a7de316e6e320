/**
 * interest.ts: on a generated three-tenant cloud (bench/scale-topology.ts) in an in-memory store, an
 * agent with one port of tenant 0 holds tenant 0's bridge, routers, chains, rules and address group,
 * the provider router with its ports and routes, and nothing else of tenants 1 and 2; the walk over
 * the store and over an in-memory index give the same set; a port of tenant 1 added on the host
 * brings tenant 1 in; the index forgets what a removed object referred to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { interestSet, storeReader, TopologyIndex } from '../../src/agent/interest.js';
import { openStore } from '../../src/state/open.js';
import {
  baseOps,
  chainId,
  hostId,
  idOf,
  PROVIDER,
  ruleId,
  tenantOps,
  vmPortId,
} from '../../bench/scale-topology.js';

const HOSTS = 15;

test('an agent holds its tenant and the provider router, not the other tenants', async () => {
  const store = await openStore(`memory:interest-${randomBytes(4).toString('hex')}`);
  try {
    await store.transact(baseOps(HOSTS));
    for (let t = 0; t < 3; t++) await store.transact(tenantOps(t, HOSTS));
    const index = new TopologyIndex();
    for (const o of (await store.snapshot()).objects) index.put(o.kind, o.object.id, o.object);

    const local = [vmPortId(0, 0)];
    const held = await interestSet(index, local, { hostId: hostId(0) });
    const has = (id: string) => held.has(id);
    for (const n of ['br', 'r1', 'r2', 'group', 'default', 'r1-up', 'r2-r1'])
      assert.ok(has(idOf(`t0-${n}`)), `tenant 0's ${n}`);
    for (let c = 0; c < 5; c++) {
      assert.ok(has(chainId(0, c)), `chain ${c}`);
      for (let r = 0; r < 10; r++) assert.ok(has(ruleId(0, c, r)), `rule ${c}/${r}`);
    }
    assert.ok(has(PROVIDER), 'the provider router');
    for (let t = 0; t < 3; t++) {
      assert.ok(has(idOf(`t${t}-p-down`)), `the provider's port towards tenant ${t}`);
      assert.ok(has(idOf(`t${t}-back`)), `the provider's route to tenant ${t}`);
    }
    for (let i = 0; i < 5; i++) assert.ok(has(hostId(i)), `host ${i} of tenant 0's ports (tunnels)`);
    for (const t of [1, 2]) {
      for (const n of ['br', 'r1', 'r2', 'group', 'r1-up', 'default'])
        assert.ok(!has(idOf(`t${t}-${n}`)), `not tenant ${t}'s ${n}`);
      for (let c = 0; c < 5; c++) assert.ok(!has(chainId(t, c)), `not tenant ${t}'s chain ${c}`);
      assert.ok(!has(vmPortId(t, 0)));
    }
    const tenant0 = 5 * 10 + 5 + 1 + 3 + 5 + 6 + 2;
    assert.ok(held.size < tenant0 + 20, `${held.size} objects held`);

    const fromStore = await interestSet(storeReader(store), local, { hostId: hostId(0) });
    assert.deepEqual([...fromStore.keys()].sort(), [...held.keys()].sort(), 'the store and the index agree');

    // A port of tenant 1 on this host brings tenant 1 in.
    const port = await store.create('port', {
      name: 'extra',
      deviceId: idOf('t1-br'),
      hostId: hostId(0),
      interfaceName: 'extra0',
    });
    index.put('port', port.id, port);
    const more = await interestSet(index, [...local, port.id], { hostId: hostId(0) });
    assert.ok(more.has(idOf('t1-br')) && more.has(chainId(1, 4)) && more.has(idOf('t1-r1')));
    assert.ok(!more.has(idOf('t2-br')));

    // The index forgets a removed rule's references.
    const rule = ruleId(0, 4, 3);
    assert.ok(index.holders(chainId(0, 4)).some((h) => h.obj.id === rule));
    index.put('rule', rule, null);
    assert.ok(!index.holders(chainId(0, 4)).some((h) => h.obj.id === rule));
    assert.equal(index.get(rule), undefined);
  } finally {
    await store.close();
  }
});
