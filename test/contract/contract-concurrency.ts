/**
 * Contract aspect: concurrent writers. Two writer processes; and sixteen writers at once over several
 * handles, each doing read-modify-write updates of one shared object (with the version it read) and
 * three-object transactions, while a reader takes snapshots: no update is lost, the shared object's
 * versions come in order in the feed, and no snapshot or feed batch shows half a transaction. And
 * sixteen writers through one handle (which a backend may commit as one group): a name is taken once,
 * tunnel keys stay unique, and a deleted object is never left referenced; the same over sixteen
 * handles, with renames racing creates of the freed names. And writes that depend on
 * each other queued at once on one handle (a backend may plan one while the one before is still being
 * committed) against another handle's: each sees what it needs of the ones before, versions come in
 * order, none is lost, and a stale expected version is refused.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { StoreError } from '../../src/state/errors.js';
import type { Change, Snapshot, TopologyStore } from '../../src/state/store.js';
import type { Obj } from '../../src/state/model.js';
import { until } from '../until.js';
import type { ContractContext } from './support.js';

const run = promisify(execFile);

/** Every bridge of a transaction has both its ports, and every port its bridge. */
function halfVisible(snap: Snapshot, prefix: string): string[] {
  const bridges = snap.objects.filter((o) => o.kind === 'bridge' && o.object.name?.startsWith(`${prefix}-`));
  const ports = snap.objects
    .filter((o) => o.kind === 'port' && o.object.name?.startsWith(`${prefix}-`))
    .map((o) => o.object as Obj<'port'>);
  const out: string[] = [];
  for (const b of bridges) {
    const n = ports.filter((p) => p.deviceId === b.object.id).length;
    if (n !== 2) out.push(`bridge ${b.object.name} with ${n} of its 2 ports at position ${snap.position}`);
  }
  for (const p of ports)
    if (!bridges.some((b) => b.object.id === p.deviceId))
      out.push(`port ${p.name} without its bridge at position ${snap.position}`);
  return out;
}

export function concurrencyContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);

  it('keeps two writer processes consistent', async (t) => {
    const fx = c.fx();
    if (fx.url === undefined) return t.skip('this backend lives in one process');
    const s = fx.store;
    const writer = fileURLToPath(new URL('./writer-process.js', import.meta.url));
    const prefix = uniq('w');
    const start = await s.position();
    const count = 150;
    await Promise.all([
      run(process.execPath, [writer, fx.url, 'ports', `${prefix}-a`, String(count)]),
      run(process.execPath, [writer, fx.url, 'ports', `${prefix}-b`, String(count)]),
    ]);
    const changes = await s.changesSince(start, 100000);
    assert.equal(changes.length, 2 * (count + 1), 'every write of both processes is in the feed');
    for (let i = 1; i < changes.length; i++)
      assert.equal(changes[i]!.seq, changes[i - 1]!.seq + 1, 'no gap in the feed');
    for (const w of ['a', 'b']) {
      const br = await s.resolve('bridge', `${prefix}-${w}`);
      assert.equal((await s.list('port', { refersTo: br.id })).length, count, `ports of writer ${w}`);
    }
    const ports = await s.list('port');
    assert.equal(new Set(ports.map((p) => p.tunnelKey)).size, ports.length, 'tunnel keys stay unique');

    // Two processes update one object with the versions they read: no update is lost.
    const target = await s.create('bridge', { name: `${prefix}-shared` });
    const bumps = 60;
    await Promise.all([
      run(process.execPath, [writer, fx.url, 'bump', target.name, String(bumps)]),
      run(process.execPath, [writer, fx.url, 'bump', target.name, String(bumps)]),
    ]);
    const after = (await s.get('bridge', target.id))!;
    assert.equal(after.version, 1 + 2 * bumps, 'every accepted update raised the version once');
    assert.equal(after.adminStateUp, true, 'an even number of flips');
  });

  it('sixteen writers at once: no lost update, versions in order, no transaction half visible', async (t) => {
    const fx = c.fx();
    const s = fx.store;
    const handles: TopologyStore[] = [s, ...(await Promise.all([1, 2, 3].map(() => fx.reopen())))];
    const writers = 16;
    const rounds = 6;
    const prefix = uniq('cw');
    const group = await s.create('ip-address-group', { name: `${prefix}-group` });
    const start = await s.position();
    const seen: Change[] = [];
    const w = s.watch(start, { onChanges: (cs) => seen.push(...cs) });
    const problems: string[] = [];
    let snapshots = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        problems.push(...halfVisible(await handles[1]!.snapshot(), prefix));
        snapshots++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    let conflicts = 0;
    try {
      await Promise.all(
        Array.from({ length: writers }, async (_, i) => {
          const h = handles[i % handles.length]!;
          for (let r = 0; r < rounds; r++) {
            for (;;) {
              const g = (await h.get('ip-address-group', group.id))!;
              const address = `198.51.100.${i * rounds + r + 1}`;
              try {
                await h.update(
                  'ip-address-group',
                  group.id,
                  { addresses: [...g.addresses, address] },
                  { expectedVersion: g.version },
                );
                break;
              } catch (e) {
                if (!(e instanceof StoreError && e.code === 'conflict')) throw e;
                conflicts++;
              }
            }
            // Let the reader and the other writers in between steps, as separate processes would.
            await new Promise((r) => setImmediate(r));
            const brId = randomUUID();
            const name = `${prefix}-${i}-${r}`;
            await h.transact([
              { op: 'create', kind: 'bridge', id: brId, fields: { name } },
              { op: 'create', kind: 'port', fields: { name: `${name}-a`, deviceId: brId } },
              { op: 'create', kind: 'port', fields: { name: `${name}-b`, deviceId: brId } },
            ]);
            await new Promise((r) => setImmediate(r));
          }
        }),
      );
    } finally {
      stop = true;
      await reader;
      for (const h of handles.slice(1)) await h.close();
    }
    const n = writers * rounds;
    t.diagnostic(`${conflicts} conflicts retried, ${snapshots} snapshots checked`);
    const final = (await s.get('ip-address-group', group.id))!;
    assert.equal(final.addresses.length, n, 'no update was lost');
    assert.equal(new Set(final.addresses).size, n);
    assert.equal(final.version, 1 + n, 'one version per accepted update');
    assert.deepEqual(problems, [], 'no snapshot showed half a transaction');
    assert.ok(snapshots > 0);
    assert.deepEqual(halfVisible(await s.snapshot(), prefix), []);

    await until(() => seen.length >= n * 4, {
      what: `the feed delivering ${n * 4} changes`,
      timeoutMs: 30000,
    });
    w.close();
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.seq > seen[i - 1]!.seq, 'positions grow');
    assert.deepEqual(
      seen.filter((x) => x.id === group.id).map((x) => x.version),
      Array.from({ length: n }, (_, k) => k + 2),
      "the shared object's versions arrive in order, each once",
    );
    const byTx = new Map<number, Change[]>();
    for (const x of seen) if (x.kind !== 'ip-address-group') byTx.set(x.tx, [...(byTx.get(x.tx) ?? []), x]);
    assert.equal(byTx.size, n, 'one feed transaction per written transaction');
    for (const [tx, cs] of byTx) {
      assert.deepEqual(
        cs.map((x) => x.seq),
        [tx, tx + 1, tx + 2],
        'the three changes of a transaction are contiguous and start at its position',
      );
    }
  });

  it('sixteen writers on one handle: one name taken once, unique tunnel keys, nothing refers to a deleted object', async () => {
    const s = c.fx().store;
    const prefix = uniq('one');
    const same = await Promise.allSettled(
      Array.from({ length: 16 }, () => s.create('router', { name: `${prefix}-same` })),
    );
    assert.equal(same.filter((r) => r.status === 'fulfilled').length, 1, 'one writer gets the name');
    for (const r of same)
      if (r.status === 'rejected') assert.ok(r.reason instanceof StoreError, String(r.reason));

    const bridges = await Promise.all([0, 1].map((k) => s.create('bridge', { name: `${prefix}-br${k}` })));
    const made = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        s.transact(
          [0, 1, 2].map((k) => ({
            op: 'create' as const,
            kind: 'port',
            fields: { name: `${prefix}-p${i}-${k}`, deviceId: bridges[i % 2]!.id },
          })),
        ),
      ),
    );
    const keys = made.flatMap((r) => r.results.map((o) => (o as Obj<'port'>).tunnelKey));
    assert.equal(new Set(keys).size, 48, 'every port of every writer has its own tunnel key');
    const all = await s.list('port');
    assert.equal(new Set(all.map((p) => p.tunnelKey)).size, all.length, 'tunnel keys unique in the store');

    // Ports created on a bridge while another writer deletes it: either the delete is refused, or
    // no port that was acknowledged refers to the deleted bridge.
    for (let round = 0; round < 4; round++) {
      const br = await s.create('bridge', { name: `${prefix}-doomed${round}` });
      const writes: Array<Promise<unknown>> = Array.from({ length: 16 }, (_, i) =>
        i === round * 4
          ? s.delete('bridge', br.id)
          : s.create('port', { name: `${prefix}-d${round}-${i}`, deviceId: br.id }),
      );
      const out = await Promise.allSettled(writes);
      for (const r of out)
        if (r.status === 'rejected') assert.ok(r.reason instanceof StoreError, String(r.reason));
      if (!(await s.get('bridge', br.id))) {
        const dangling = (await s.list('port')).filter((p) => p.deviceId === br.id);
        assert.deepEqual(
          dangling.map((p) => p.name),
          [],
          'no port refers to the deleted bridge',
        );
      }
    }
  });

  it('sixteen handles at once: one name taken once, unique tunnel keys, renames seen, nothing refers to a deleted object', async () => {
    // Writers on separate handles (separate processes) touching different objects may commit past
    // each other's commits without planning again (a backend may rebase them); what they read must
    // still hold where they land: a name, the tunnel keys given out, a referrer, a renamed object.
    const fx = c.fx();
    const s = fx.store;
    const handles: TopologyStore[] = [
      s,
      ...(await Promise.all(Array.from({ length: 15 }, () => fx.reopen()))),
    ];
    try {
      const prefix = uniq('hs');
      const same = await Promise.allSettled(
        handles.map((h) => h.create('router', { name: `${prefix}-same` })),
      );
      assert.equal(same.filter((r) => r.status === 'fulfilled').length, 1, 'one handle gets the name');
      for (const r of same)
        if (r.status === 'rejected') assert.ok(r.reason instanceof StoreError, String(r.reason));

      const bridges = await Promise.all([0, 1].map((k) => s.create('bridge', { name: `${prefix}-br${k}` })));
      const made = await Promise.all(
        handles.map((h, i) =>
          h.transact(
            [0, 1].map((k) => ({
              op: 'create' as const,
              kind: 'port',
              fields: { name: `${prefix}-p${i}-${k}`, deviceId: bridges[i % 2]!.id },
            })),
          ),
        ),
      );
      const keys = made.flatMap((r) => r.results.map((o) => (o as Obj<'port'>).tunnelKey));
      assert.equal(new Set(keys).size, 32, 'every port of every handle has its own tunnel key');

      // Half the handles rename their own bridge, half create a bridge under the name another one
      // gives up: each name ends on one bridge.
      const own = await Promise.all(handles.map((h, i) => h.create('bridge', { name: `${prefix}-own${i}` })));
      const moves = await Promise.allSettled(
        handles.map((h, i) =>
          i % 2 === 0
            ? h.update('bridge', own[i]!.id, { name: `${prefix}-moved${i}` })
            : h.create('bridge', { name: `${prefix}-own${i - 1}` }),
        ),
      );
      for (const r of moves)
        if (r.status === 'rejected') assert.ok(r.reason instanceof StoreError, String(r.reason));
      const named = (await s.list('bridge')).filter((b) => b.name.startsWith(`${prefix}-`));
      assert.equal(new Set(named.map((b) => b.name)).size, named.length, 'no name on two bridges');

      // Ports created from every handle on a bridge another handle deletes.
      for (let round = 0; round < 3; round++) {
        const br = await s.create('bridge', { name: `${prefix}-doomed${round}` });
        const out = await Promise.allSettled(
          handles.map((h, i) =>
            i === round * 5
              ? h.delete('bridge', br.id)
              : h.create('port', { name: `${prefix}-d${round}-${i}`, deviceId: br.id }),
          ),
        );
        for (const r of out)
          if (r.status === 'rejected') assert.ok(r.reason instanceof StoreError, String(r.reason));
        if (!(await s.get('bridge', br.id)))
          assert.deepEqual(
            (await s.list('port')).filter((p) => p.deviceId === br.id).map((p) => p.name),
            [],
            'no port refers to the deleted bridge',
          );
      }
      const all = await s.list('port');
      assert.equal(new Set(all.map((p) => p.tunnelKey)).size, all.length, 'tunnel keys unique in the store');
    } finally {
      for (const h of handles.slice(1)) await h.close();
    }
  });

  it('dependent writes queued at once on one handle, against another handle: each sees what it needs', async () => {
    const fx = c.fx();
    const s = fx.store;
    const other = await fx.reopen();
    try {
      const prefix = uniq('dep');
      const target = await s.create('bridge', { name: `${prefix}-target` });
      const start = await s.position();
      const seen: Change[] = [];
      const w = s.watch(start, { onChanges: (cs) => seen.push(...cs) });
      const per = 20;
      // Every update reads and writes the shared bridge, so each depends on the one before it.
      const renames = await Promise.all(
        [s, other].flatMap((h, k) =>
          Array.from({ length: per }, (_, i) =>
            h.update('bridge', target.id, { name: `${prefix}-${k}-${i}` }),
          ),
        ),
      );
      const versions = renames.map((b) => b.version).sort((a, b) => a - b);
      assert.deepEqual(
        versions,
        Array.from({ length: 2 * per }, (_, k) => k + 2),
        'each update saw the one before',
      );
      assert.equal((await s.get('bridge', target.id))!.version, 1 + 2 * per, 'no update lost');

      // Writes queued at once on one handle that all need the first one's bridge: whenever each is
      // planned (with the first, or while it is being committed), each sees the bridge.
      const br = randomUUID();
      const chain = await Promise.all([
        s.transact([{ op: 'create', kind: 'bridge', id: br, fields: { name: `${prefix}-br` } }]),
        s.transact([{ op: 'create', kind: 'port', fields: { name: `${prefix}-p1`, deviceId: br } }]),
        s.transact([{ op: 'update', kind: 'bridge', id: br, set: { name: `${prefix}-br2` } }]),
        s.transact([{ op: 'create', kind: 'port', fields: { name: `${prefix}-p2`, deviceId: br } }]),
      ]);
      for (const later of chain.slice(1))
        assert.ok(later.position > chain[0].position, 'committed after the bridge it needs');
      assert.equal((await s.get('bridge', br))?.name, `${prefix}-br2`);
      assert.deepEqual(
        (await s.list('port', { refersTo: br })).map((p) => p.name),
        [`${prefix}-p1`, `${prefix}-p2`],
      );

      // Two updates expecting the same version, queued at once: one commits, the other is a conflict.
      const now = (await s.get('bridge', target.id))!;
      const two = await Promise.allSettled(
        [0, 1].map((k) =>
          s.update('bridge', target.id, { name: `${prefix}-x${k}` }, { expectedVersion: now.version }),
        ),
      );
      assert.equal(two.filter((r) => r.status === 'fulfilled').length, 1, 'one of the two commits');
      const refused = two.find((r) => r.status === 'rejected');
      assert.ok(
        refused?.reason instanceof StoreError && refused.reason.code === 'conflict',
        `the other is a conflict: ${String(refused?.reason)}`,
      );

      const total = 2 * per + 4 + 1;
      await until(() => seen.length >= total, {
        what: `the feed delivering ${total} changes`,
        timeoutMs: 30000,
      });
      w.close();
      assert.deepEqual(
        seen.filter((x) => x.id === target.id).map((x) => x.version),
        Array.from({ length: 2 * per + 1 }, (_, k) => k + 2),
        "the shared bridge's versions arrive in order, each once",
      );
    } finally {
      await other.close();
    }
  });
}
