// The distributed backend's cache of committed objects (src/state/committed-cache.ts): an attempt at
// the cache's head version reads nothing twice; at any other version, or after a failed commit, it
// reads the store; what goes in and out are copies. An attempt planned after a commit still in flight
// (`after`) sees that commit's writes and reads over the cache, and once both commit the cache holds both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommittedCache } from '../../src/state/committed-cache.js';
import type { Obj } from '../../src/state/model.js';
import type { StoredObject } from '../../src/state/store-base.js';
import type { Write } from '../../src/state/transaction.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const bridge = (id: string, name: string, version: number) =>
  ({ id, name, version, inboundChainId: null }) as unknown as Obj;

/** The write of a rename of a bridge at version 1, and of its delete. */
const renamed = (id: string, from: string, to: string): Write => ({
  kind: 'bridge',
  id,
  op: 'update',
  before: bridge(id, from, 1),
  after: bridge(id, to, 2),
});
const deleted = (id: string, name: string): Write => ({
  kind: 'bridge',
  id,
  op: 'delete',
  before: bridge(id, name, 1),
  after: bridge(id, name, 2),
});

/** A store of committed objects that counts the ids it was asked for. */
function fakeStore(objects: Record<string, StoredObject>) {
  const asked: string[] = [];
  const load = (ids: readonly string[]) => {
    asked.push(...ids);
    const found = new Map<string, StoredObject>();
    for (const id of ids) if (objects[id]) found.set(id, objects[id]);
    return Promise.resolve(found);
  };
  return { asked, load };
}

describe('committed cache', () => {
  it('after a commit at version V, an attempt at V+1 reads neither what was read nor what was written', async () => {
    const s = fakeStore({ [A]: { kind: 'bridge', obj: bridge(A, 'a', 1) } });
    const cache = new CommittedCache();
    const first = cache.attempt(7, s.load);
    assert.equal((await first.read(A))?.obj.name, 'a');
    assert.equal(await first.read(B), undefined);
    assert.deepEqual(s.asked, [A, B]);
    const w = renamed(A, 'a', 'a2');
    cache.committed([first], [w]);
    const next = cache.attempt(8, s.load);
    assert.equal((await next.read(A))?.obj.name, 'a2', 'the write, not the store');
    assert.equal(await next.read(B), undefined, 'a known absence');
    assert.deepEqual(s.asked, [A, B], 'nothing read again');
  });

  it('an attempt at another version, or after a drop, reads the store', async () => {
    const s = fakeStore({ [A]: { kind: 'bridge', obj: bridge(A, 'a', 1) } });
    const cache = new CommittedCache();
    const first = cache.attempt(1, s.load);
    await first.read(A);
    cache.committed([first], []);
    await cache.attempt(5, s.load).read(A);
    assert.deepEqual(s.asked, [A, A], 'version 5 is not the cached 2');
    cache.drop();
    await cache.attempt(2, s.load).read(A);
    assert.deepEqual(s.asked, [A, A, A], 'dropped');
  });

  it('a deleted object is known absent; objects handed out are copies', async () => {
    const s = fakeStore({});
    const cache = new CommittedCache();
    const first = cache.attempt(1, s.load);
    const created: Write = { kind: 'bridge', id: A, op: 'create', after: bridge(A, 'a', 1) };
    const gone = deleted(B, 'b');
    cache.committed([first], [created, gone]);
    const next = cache.attempt(2, s.load);
    const got = await next.read(A);
    (got!.obj as { name: string }).name = 'changed by a caller';
    assert.equal((await next.read(A))?.obj.name, 'a');
    assert.equal(await next.read(B), undefined);
    assert.deepEqual(s.asked, []);
  });

  it('an attempt after one in flight sees its writes, then its reads, then the cache; both fold in', async () => {
    const C = '00000000-0000-4000-8000-00000000000c';
    const s = fakeStore({
      [A]: { kind: 'bridge', obj: bridge(A, 'a', 1) },
      [B]: { kind: 'bridge', obj: bridge(B, 'b', 1) },
      [C]: { kind: 'bridge', obj: bridge(C, 'c', 1) },
    });
    const cache = new CommittedCache();
    const zero = cache.attempt(3, s.load);
    await zero.read(C);
    cache.committed([zero], []);
    const first = cache.attempt(4, s.load);
    await first.readMany([A, B]);
    const w = renamed(A, 'a', 'a2');
    const second = cache.after(first, [w], s.load);
    assert.equal(second.version, 5);
    assert.equal((await second.read(A))?.obj.name, 'a2', "the flying commit's write");
    assert.equal((await second.read(B))?.obj.name, 'b', 'what the flying commit read');
    assert.equal((await second.read(C))?.obj.name, 'c', 'the cache at the version it planned at');
    assert.deepEqual(s.asked, [C, A, B], 'nothing read again');
    cache.committed([first], [w]);
    const del = deleted(B, 'b');
    cache.committed([second], [del]);
    const third = cache.attempt(6, s.load);
    assert.equal((await third.read(A))?.obj.name, 'a2');
    assert.equal(await third.read(B), undefined, 'deleted by the second');
    assert.deepEqual(s.asked, [C, A, B]);
  });

  it('after a flying commit failed, its writes are not in the cache', async () => {
    const s = fakeStore({ [A]: { kind: 'bridge', obj: bridge(A, 'a', 1) } });
    const cache = new CommittedCache();
    const first = cache.attempt(1, s.load);
    await first.read(A);
    const w = renamed(A, 'a', 'a2');
    const second = cache.after(first, [w], s.load);
    assert.equal((await second.read(A))?.obj.name, 'a2');
    cache.drop(); // the first commit failed: the pipeline drops the cache and the second attempt
    assert.equal((await cache.attempt(2, s.load).read(A))?.obj.name, 'a', 'the store, not the write');
    assert.deepEqual(s.asked, [A, A]);
  });
});
