/**
 * The SNAT port-block leaser over a real (in-memory) store: two hosts never hold one block, a burst
 * that uses up a block as soon as it is granted gets the next one at once, not a second later, and a
 * lease takes as many blocks as the waiting packets need (one when another host raced it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BLOCKS_PER_LEASE, NatBlockLeaser, blockRange } from '../../src/agent/nat-blocks.js';
import { parseIpv4 } from '../../src/addr.js';
import { createLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { until } from '../until.js';

const log = createLogger({ name: 'test', level: 'silent' });
const IP = parseIpv4('203.0.113.1')!;
const UDP = 17;

void test('nat blocks: a grant that is used up at once asks for the next block straight away', async () => {
  const store = new MemoryStore('memory:', undefined);
  const host = (await store.create('host', { name: 'hv1' })).id;
  const grants: Array<Array<[number, number]>> = [];
  let burst = 3; // the released packets use up the first blocks at once, as in a burst of connections
  const leaser: NatBlockLeaser = new NatBlockLeaser(
    () => store,
    host,
    {
      granted: (_ip, _proto, ranges) => {
        grants.push(ranges);
        if (--burst > 0) void leaser.want(IP, UDP); // the controller's held packets, asking again in the callback
      },
      exhausted: () => assert.fail('not exhausted'),
    },
    log,
  );
  await leaser.want(IP, UDP);
  await until(() => grants.length === 3, { what: 'three blocks granted one after the other' });
  assert.deepEqual(grants.at(-1), [blockRange(0), blockRange(1), blockRange(2)]);
  assert.equal((await store.list('nat-block')).length, 3);
});

void test('nat blocks: two hosts asking at once get different blocks; a full range is exhausted', async () => {
  const store = new MemoryStore('memory:', undefined);
  const exhausted: string[] = [];
  const hostA = (await store.create('host', { name: 'hv1' })).id;
  const hostB = (await store.create('host', { name: 'hv2' })).id;
  const make = (host: string) =>
    new NatBlockLeaser(
      () => store,
      host,
      {
        granted: () => undefined,
        exhausted: () => exhausted.push(host),
      },
      log,
    );
  const a = make(hostA);
  const b = make(hostB);
  const [from, to] = [blockRange(5)[0], blockRange(6)[1]]; // two blocks only
  await Promise.all([a.want(IP, UDP, from, to), b.want(IP, UDP, from, to)]);
  const held = [...a.blocks(IP, UDP), ...b.blocks(IP, UDP)].map(([lo]) => lo).sort();
  assert.deepEqual(held, [blockRange(5)[0], blockRange(6)[0]], 'one block each, never the same');
  await a.want(IP, UDP, from, to);
  assert.deepEqual(exhausted, [hostA]);
});

void test('nat blocks: one lease takes as many blocks as the waiting packets need, at most a few', async () => {
  const store = new MemoryStore('memory:', undefined);
  const host = (await store.create('host', { name: 'hv1' })).id;
  let waiting = 300;
  const grants: number[] = [];
  const leaser = new NatBlockLeaser(
    () => store,
    host,
    {
      granted: (_ip, _proto, ranges) => grants.push(ranges.length),
      exhausted: () => assert.fail('not exhausted'),
      waiting: () => waiting,
    },
    log,
  );
  await leaser.want(IP, UDP);
  assert.deepEqual(grants, [5], '300 packets: five blocks of 64 in one lease');
  waiting = 5000;
  await leaser.want(IP, UDP);
  assert.deepEqual(grants, [5, 5 + MAX_BLOCKS_PER_LEASE]);
  assert.equal((await store.list('nat-block')).length, 5 + MAX_BLOCKS_PER_LEASE);
});

void test('nat blocks: another host taking one of the blocks meanwhile: this lease looks again and takes others', async () => {
  const store = new MemoryStore('memory:', undefined);
  const hostA = (await store.create('host', { name: 'hv1' })).id;
  const hostB = (await store.create('host', { name: 'hv2' })).id;
  // hv2 leases block 1 between hv1's look at the blocks and its transaction.
  const racing = Object.create(store) as MemoryStore;
  let looks = 0;
  racing.list = (async (kind: 'nat-block') => {
    const seen = await store.list(kind);
    if (looks++ > 0) return seen;
    const b = new NatBlockLeaser(
      () => store,
      hostB,
      {
        granted: () => undefined,
        exhausted: () => undefined,
        waiting: () => 1,
      },
      log,
    );
    await b.want(IP, UDP, blockRange(1)[0], blockRange(1)[1]);
    return seen;
  }) as MemoryStore['list'];
  const a = new NatBlockLeaser(
    () => racing,
    hostA,
    {
      granted: () => undefined,
      exhausted: () => undefined,
      waiting: () => 200,
    },
    log,
  );
  await a.want(IP, UDP);
  assert.deepEqual(
    a.blocks(IP, UDP),
    [0, 2, 3, 4].map(blockRange),
    'the first group of four failed as a whole (block 1 raced); the second look took four others',
  );
  assert.equal(looks, 2);
  const holders = new Map((await store.list('nat-block')).map((b) => [b.index, b.hostId]));
  assert.deepEqual(
    [...holders].sort(([x], [y]) => x - y),
    [
      [0, hostA],
      [1, hostB],
      [2, hostA],
      [3, hostA],
      [4, hostA],
    ],
  );
});
