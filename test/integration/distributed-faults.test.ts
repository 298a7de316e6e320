/**
 * A writer of the distributed backend killed at each step of a transaction (after planning, after
 * part of its Cassandra rows, after all of them, after the ZooKeeper commit): readers see the
 * transaction entirely or not at all, the change feed agrees, `reconcile` removes the orphans or marks
 * the committed rows, and the next write of the same objects works. Needs the services
 * (MIDONET_TEST_CASSANDRA_URL); skipped without them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CassandraStore } from '../../src/state/cassandra-store.js';
import type { WriteStep } from './distributed-writer.js';
import { freshStoreUrl } from './distributed-fixture.js';

const base = process.env.MIDONET_TEST_CASSANDRA_URL;
const writer = fileURLToPath(new URL('./distributed-writer.js', import.meta.url));

function runWriter(args: string[]): Promise<{ signal: string | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [writer, ...args], (err, stdout) => {
      resolve({ signal: (err as { signal?: string } | null)?.signal ?? null, stdout });
    });
  });
}

describe(
  'distributed backend: a writer killed at each step',
  { skip: base ? false : 'needs MIDONET_TEST_CASSANDRA_URL (npm run services -- up)' },
  () => {
    let url: string;
    let s: CassandraStore;
    before(async () => {
      url = freshStoreUrl(base!, `faults_${randomBytes(4).toString('hex')}`);
      s = await CassandraStore.open(url);
    });
    after(async () => {
      await s?.close();
    });

    const steps: WriteStep[] = ['planned', 'rows-partly-written', 'rows-written', 'committed'];
    for (const step of steps) {
      it(`leaves all or nothing when killed at '${step}'`, async () => {
        const br = await s.create('bridge', { name: `br-${step}` });
        const before = await s.position();
        const portId = randomUUID();
        const r = await runWriter([url, step, br.id, `renamed-${step}`, portId]);
        assert.equal(r.signal, 'SIGKILL', `the writer was killed (${r.stdout})`);
        const committed = step === 'committed';

        const b = (await s.get('bridge', br.id))!;
        assert.equal(b.version, committed ? 2 : 1);
        assert.equal(b.name, committed ? `renamed-${step}` : `br-${step}`);
        assert.equal(
          (await s.get('port', portId)) !== undefined,
          committed,
          'the port exists exactly when committed',
        );
        assert.equal((await s.list('port', { refersTo: br.id })).length, committed ? 1 : 0);
        assert.equal(
          (await s.list('port')).some((p) => p.id === portId),
          committed,
          'list agrees',
        );
        const snap = await s.snapshot();
        assert.equal(
          snap.objects.some((o) => o.object.id === portId),
          committed,
          'snapshot agrees',
        );
        const changes = await s.changesSince(before);
        assert.deepEqual(
          changes.map((c) => [c.kind, c.op]),
          committed
            ? [
                ['bridge', 'update'],
                ['port', 'create'],
              ]
            : [],
          'the feed agrees',
        );
        if (!committed) {
          await assert.rejects(s.resolve('bridge', `renamed-${step}`), /no bridge named/);
        }

        const rec = await s.reconcile({ graceMs: 0 });
        if (step === 'planned') assert.deepEqual(rec, { marked: 0, removed: 0 });
        else if (committed) assert.ok(rec.marked >= 2, `committed rows are marked (${JSON.stringify(rec)})`);
        else assert.ok(rec.removed >= 1, `orphan rows are removed (${JSON.stringify(rec)})`);
        assert.deepEqual(
          await s.reconcile({ graceMs: 0 }),
          { marked: 0, removed: 0 },
          'a second pass finds nothing',
        );

        // The next write of the same objects works, and reads agree after reconciliation.
        const next = await s.update('bridge', br.id, { name: `again-${step}` });
        assert.equal(next.version, committed ? 3 : 2);
        assert.equal((await s.resolve('bridge', `again-${step}`)).id, br.id);
        if (!committed) {
          const p = await s.create('port', { name: `again-${step}-p`, deviceId: br.id }, { id: portId });
          assert.equal(p.version, 1);
        }
        assert.equal((await s.list('port')).filter((p) => p.id === portId).length, 1);
      });
    }
  },
);
