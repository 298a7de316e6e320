/**
 * The SNAT port-block leaser over a real (in-memory) store: two hosts never hold one block, and a
 * burst that uses up a block as soon as it is granted gets the next one at once, not a second later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatBlockLeaser, blockRange } from '../../src/agent/nat-blocks.js';
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
    (_ip, _proto, ranges) => {
      grants.push(ranges);
      if (--burst > 0) void leaser.want(IP, UDP); // the controller's held packets, asking again in the callback
    },
    () => assert.fail('not exhausted'),
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
      () => undefined,
      () => exhausted.push(host),
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
