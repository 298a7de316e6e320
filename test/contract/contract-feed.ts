/**
 * Contract aspect: the change feed. Every change once, in commit order, resumable from a position,
 * seen by other handles; a compacted log resyncs a watch from a snapshot.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { followChanges } from '../../src/state/follow.js';
import { createLogger } from '../../src/log.js';
import type { Change, Snapshot } from '../../src/state/store.js';
import { until } from '../until.js';
import { collect, rejects, type ContractContext } from './support.js';

export function feedContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);
  it('delivers every change in commit order and resumes from a position', async () => {
    const s = c.fx().store;
    const start = await s.position();
    const seen = collect(s, start, 5);
    const br = await s.create('bridge', { name: uniq('br') });
    await s.update('bridge', br.id, { adminStateUp: false });
    const p = await s.create('port', { name: uniq('p'), deviceId: br.id });
    await s.delete('bridge', br.id, { cascade: true });
    const got = await seen;
    assert.deepEqual(
      got.map((c) => [c.kind, c.op, c.version]),
      [
        ['bridge', 'create', 1],
        ['bridge', 'update', 2],
        ['port', 'create', 1],
        ['bridge', 'delete', 3],
        ['port', 'delete', 2],
      ],
    );
    assert.equal(got[4]!.object.id, p.id, 'a delete carries the object as it was');
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.seq > got[i - 1]!.seq, 'seq grows');
    // Resume from the middle: the rest, nothing twice.
    const resumed = await collect(s, got[1]!.seq, 3);
    assert.deepEqual(
      resumed.map((c) => c.seq),
      got.slice(2).map((c) => c.seq),
    );
    assert.deepEqual(
      (await s.changesSince(got[2]!.seq)).map((c) => c.seq).slice(0, 2),
      got.slice(3).map((c) => c.seq),
    );
  });
  it('lets another handle see commits through the watch feed', async () => {
    const s = c.fx().store;
    const other = await c.fx().reopen();
    try {
      const from = await other.position();
      const seen = collect(other, from, 1);
      const br = await s.create('bridge', { name: uniq('br') });
      const [c] = await seen;
      assert.equal(c!.id, br.id);
      const snap = await other.snapshot();
      assert.ok(snap.position >= c!.seq);
      assert.ok(snap.objects.some((o) => o.kind === 'bridge' && o.object.id === br.id));
    } finally {
      await other.close();
    }
  });

  it('compacts the log to its retention; a watch behind it resyncs from a snapshot, then goes on', async () => {
    const fx = await c.make({ retain: '10' });
    try {
      const s = fx.store;
      const br = await s.create('bridge', { name: uniq('br') });
      const start = await s.position();
      const bumps = 60;
      for (let i = 0; i < bumps; i++) await s.update('bridge', br.id, { adminStateUp: i % 2 === 1 });
      const head = await s.position();
      // The newest `retain` entries stay; the oldest go (compaction may run just after the commit).
      assert.equal((await s.changesSince(head - 10)).length, 10);
      await until(
        () =>
          s.changesSince(start).then(
            () => false,
            (e: Error) => /no longer in the change log/.test(e.message),
          ),
        {
          what: 'the old entries to be compacted away',
        },
      );
      await rejects(s.changesSince(start), 'position-gone', /position \d+ is no longer in the change log/);

      // A watch from the lost position: a snapshot first, then every later change.
      const other = await fx.reopen();
      try {
        const events: Array<{ snapshot: Snapshot } | { changes: readonly Change[] }> = [];
        const w = other.watch(start, {
          onResync: (snapshot) => events.push({ snapshot }),
          onChanges: (changes) => events.push({ changes }),
        });
        const first = await until(() => events[0], { what: 'the resync' });
        assert.ok('snapshot' in first, 'the watch began with a snapshot');
        assert.ok(first.snapshot.position >= head);
        const mine = first.snapshot.objects.find((o) => o.object.id === br.id);
        assert.equal(mine?.object.version, 1 + bumps, 'the snapshot holds the object as it is now');
        const later = await s.update('bridge', br.id, { vlanAware: true });
        const next = await until(
          () => events.find((e) => 'changes' in e && e.changes.some((x) => x.id === br.id)),
          {
            what: 'the change after the resync',
          },
        );
        assert.ok('changes' in next);
        assert.deepEqual(
          next.changes.map((x) => x.version),
          [later.version],
          'nothing twice, nothing missed',
        );
        w.close();

        // Without an onResync handler the watch ends with position-gone.
        const err = await new Promise<Error>((resolve) => {
          other.watch(start, { onChanges: () => undefined, onError: resolve });
        });
        assert.match(err.message, /no longer in the change log/);
      } finally {
        await other.close();
      }
    } finally {
      await fx.cleanup();
    }
  });

  it('compacts entries older than the retention age', async () => {
    const fx = await c.make({ retain: '100000', retainSeconds: '1' });
    try {
      const s = fx.store;
      const br = await s.create('bridge', { name: uniq('br') });
      const start = await s.position();
      await s.update('bridge', br.id, { adminStateUp: false });
      // Entries go once they are older than the age and a later write compacts.
      await until(
        async () => {
          await s.update('bridge', br.id, { vlanAware: !(await s.get('bridge', br.id))!.vlanAware });
          return s.changesSince(start).then(
            () => false,
            () => true,
          );
        },
        { what: 'entries older than a second to be compacted', timeoutMs: 20000, intervalMs: 200 },
      );
      assert.ok((await s.changesSince((await s.position()) - 1)).length === 1, 'the newest entry stays');
    } finally {
      await fx.cleanup();
    }
  });

  it('a follower outlives a failed watch: the whole state again, then every later change', async () => {
    const s = c.fx().store;
    const a = await s.create('bridge', { name: uniq('br') });
    const from = await s.position();
    const seen: string[] = [];
    let resyncs: Snapshot[] = [];
    let thrown = 0;
    const f = followChanges(
      s,
      from,
      {
        onChanges: (cs) => {
          if (cs.some((x) => x.id === a.id) && thrown++ === 0) throw new Error('a handler bug');
          for (const x of cs) seen.push(x.id);
        },
        onResync: (snap) => void (resyncs = [...resyncs, snap]),
      },
      { log: createLogger({ name: 'test', level: 'silent' }), retryMs: 10 },
    );
    try {
      await s.update('bridge', a.id, { adminStateUp: false }); // the handler throws on this one
      await until(() => resyncs.length === 1, { what: 'the follower taking the whole state again' });
      const snap = resyncs[0]!;
      const held = snap.objects.find((o) => o.object.id === a.id)?.object;
      assert.equal(held?.version, 2, 'the snapshot has the change the handler failed on');
      const b = await s.create('bridge', { name: uniq('br') });
      await until(() => seen.includes(b.id), { what: 'a later change through the new watch' });
      assert.equal(thrown, 1);
    } finally {
      f.close();
    }
  });
}
