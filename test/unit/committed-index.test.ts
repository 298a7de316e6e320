// The committed index (src/state/committed-index.ts) fed by a real store (the memory backend): its
// answers at a position are the store's names and bindings at that position, through its own commits,
// other writers' commits (caught up from the log) and writes planned on top (a view with pending
// writes); at any other position it answers nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommittedIndex } from '../../src/state/committed-index.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import type { Kind } from '../../src/state/model.js';
import type { Change } from '../../src/state/store.js';
import type { Write } from '../../src/state/transaction.js';

const asWrites = (changes: readonly Change[]): Write[] =>
  changes.map((c) => ({ kind: c.kind, id: c.id, op: c.op, after: c.object }));

/** What the store holds: id of (kind, name), and port id of a binding. */
async function truth(s: MemoryStore, kind: Kind, name: string): Promise<string | undefined> {
  return (await s.list(kind)).find((o) => o.name === name)?.id;
}

describe('committed index', () => {
  it('answers exactly at its position: loaded, own commits, others caught up, pending writes', async () => {
    const s = new MemoryStore('memory://', undefined);
    const background: Array<Promise<unknown>> = [];
    const index = new CommittedIndex(
      () => s.snapshot(),
      (from, to) => s.changesSince(from, to - from),
      (p) => background.push(p),
      2,
    );
    const settle = async () => {
      while (background.length > 0) await background.shift();
    };
    /** Runs `fn` on the store; `own`: tells the index, as the commit loop does after its commit. */
    const commit = async (own: boolean, fn: () => Promise<unknown>) => {
      const from = await s.position();
      await fn();
      if (own) index.committed(from, asWrites(await s.changesSince(from)));
      await settle();
    };
    const host = await s.create('host', { name: 'h1' });
    const br = await s.create('bridge', { name: 'b0' });
    assert.equal(index.view(await s.position()), undefined, 'nothing before it loads');
    await commit(true, () => s.create('bridge', { name: 'b1' }));
    await commit(true, () => s.create('bridge', { name: 'b2' }));
    // Loaded after two commits, at the position of its scan: the next own commit brings it to the head.
    await commit(true, () => s.create('bridge', { name: 'b3' }));
    const check = async () => {
      const at = await s.position();
      const v = index.view(at);
      assert.ok(v, `at the head ${at}`);
      for (const name of ['b0', 'b1', 'b2', 'b3', 'b4', 'renamed', 'gone'])
        assert.equal(v.idByName('bridge', name), await truth(s, 'bridge', name), name);
      const bound = (await s.list('port')).find((p) => p.interfaceName === 'tap0');
      assert.equal(v.portIdByBinding(host.id, 'tap0'), bound?.id, 'binding tap0');
      assert.equal(index.view(at - 1), undefined, 'not at another position');
    };
    await check();
    // Own commits: a rename, a port bound, a delete.
    const b1 = (await s.list('bridge')).find((b) => b.name === 'b1')!;
    await commit(true, () => s.update('bridge', b1.id, { name: 'renamed' }));
    const port = await s.create('port', {
      name: 'p0',
      deviceId: br.id,
      hostId: host.id,
      interfaceName: 'tap0',
    });
    await commit(true, () => Promise.resolve()); // the port was another writer's: caught up at the next own commit
    await commit(true, () => s.create('bridge', { name: 'b4' }));
    await check();
    // Another writer's commits since: no view at the head until an own commit catches it up.
    const b4 = (await s.list('bridge')).find((b) => b.name === 'b4')!;
    await commit(false, () => s.delete('bridge', b4.id));
    assert.equal(index.view(await s.position()), undefined, 'behind another writer');
    await commit(true, () => s.create('bridge', { name: 'gone' }));
    await check();
    // A view with writes planned on top: a rename frees a name, a create takes one, an unbind.
    const at = await s.position();
    const b2 = (await s.list('bridge')).find((b) => b.name === 'b2')!;
    const pending: Write[] = [
      { kind: 'bridge', id: b2.id, op: 'update', before: b2, after: { ...b2, name: 'b2x' } },
      { kind: 'bridge', id: 'new-id', op: 'create', after: { ...b2, id: 'new-id', name: 'b2' } },
      {
        kind: 'port',
        id: port.id,
        op: 'update',
        before: port,
        after: { ...port, hostId: null, interfaceName: null },
      },
    ];
    const v = index.view(at, pending)!;
    assert.equal(v.idByName('bridge', 'b2'), 'new-id');
    assert.equal(v.idByName('bridge', 'b2x'), b2.id);
    assert.equal(v.idByName('bridge', 'b2', 'new-id'), 'new-id', 'only the asking object holds it');
    assert.equal(v.portIdByBinding(host.id, 'tap0'), undefined, 'unbound on top');
    assert.equal(index.view(at)!.idByName('bridge', 'b2'), b2.id, 'the committed state is untouched');
    index.close();
    assert.equal(index.view(at), undefined, 'closed');
    assert.ok(v.current(), 'a view given before stays');
  });
});
