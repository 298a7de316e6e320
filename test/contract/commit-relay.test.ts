// The commit relay (src/state/commit-relay*.ts) against real services (MIDONET_TEST_CASSANDRA_URL, as
// cassandra.test.ts): sixteen handles writing through one leader (no lost update, versions in order,
// a dense log), errors crossing unchanged, writers with no leader or a dead one committing themselves,
// and a leader that dies before or after its commit, or commits late, never applying a write twice
// nor losing one it acknowledged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CassandraStore } from '../../src/state/cassandra-store.js';
import { parseCassandraUrl } from '../../src/state/cassandra-url.js';
import { bucketOf, bucketPath, encode, leaderPath, markerPath } from '../../src/state/commit-relay-wire.js';
import { StoreError } from '../../src/state/errors.js';
import { openStore } from '../../src/state/open.js';
import type { Change, TopologyStore } from '../../src/state/store.js';
import { ZkSession } from '../../src/state/zk.js';
import { freshStoreUrl } from '../integration/distributed-fixture.js';
import { FaultyLeader, type LeaderFault } from './relay-leader.js';

const base = process.env.MIDONET_TEST_CASSANDRA_URL;

/** Every change after position 0, checking the log is dense. */
async function allChanges(store: TopologyStore): Promise<Change[]> {
  const out: Change[] = [];
  for (;;) {
    const got = await store.changesSince(out.at(-1)?.seq ?? 0, 5000);
    if (got.length === 0) return out;
    for (const c of got) {
      assert.equal(c.seq, (out.at(-1)?.seq ?? 0) + 1, 'the log is dense');
      out.push(c);
    }
  }
}

const stats = (s: TopologyStore) => (s as CassandraStore).relayStats;

/** Starts a leader process with `fault`; resolves when it leads. */
async function leaderProcess(url: string, fault: LeaderFault) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'relay-leader.js'), url, fault], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  for await (const line of createInterface({ input: child.stdout })) if (line === 'leading') break;
  return { child, exited };
}

describe('commit relay', { skip: base ? false : 'needs MIDONET_TEST_CASSANDRA_URL' }, () => {
  const fresh = () => freshStoreUrl(base!, `relay_${randomBytes(4).toString('hex')}`);

  it('sixteen handles through the relay: no lost update, versions in order, a dense log', async () => {
    const url = fresh();
    const leader = await FaultyLeader.openFaulty(url, 'none');
    await leader.leading();
    const handles = await Promise.all(Array.from({ length: 16 }, () => openStore(url)));
    try {
      const shared = await handles[0]!.create('bridge', { name: 'shared' });
      let bumps = 0;
      const created: string[] = [];
      await Promise.all(
        handles.map(async (h, w) => {
          for (let i = 0; i < 5; i++) {
            created.push((await h.create('bridge', { name: `h${w}-${i}` })).id);
            for (;;) {
              const b = await h.get('bridge', shared.id);
              try {
                await h.update(
                  'bridge',
                  shared.id,
                  { adminStateUp: !b!.adminStateUp },
                  { expectedVersion: b!.version },
                );
                bumps++;
                break;
              } catch (e) {
                if (!(e instanceof StoreError && e.code === 'conflict')) throw e;
              }
            }
          }
        }),
      );
      assert.equal(bumps, 80);
      assert.equal((await leader.get('bridge', shared.id))!.version, 81, 'no update lost');
      const log = await allChanges(leader);
      const versions = new Map<string, number>();
      for (const c of log) {
        assert.equal(c.version, (versions.get(c.id) ?? 0) + 1, `versions of ${c.id} in order`);
        versions.set(c.id, c.version);
      }
      for (const id of created)
        assert.equal(versions.get(id), 1, `acknowledged create ${id} in the log once`);
      const relayed = handles.reduce((n, h) => n + (stats(h).client?.relayed ?? 0), 0);
      assert.ok(relayed > 0, 'writes went through the leader');
      assert.ok((stats(leader).leader?.relayed ?? 0) > 0);
    } finally {
      for (const h of handles) await h.close();
      await leader.close();
    }
  });

  it('a refusal crosses the relay with its code, message and issues', async () => {
    const url = fresh();
    const leader = await FaultyLeader.openFaulty(url, 'none');
    await leader.leading();
    const direct = await openStore(`${url}&relay=off`);
    const relayed = await openStore(url);
    try {
      await direct.create('bridge', { name: 'taken' });
      const refusal = async (s: TopologyStore, f: () => Promise<unknown>) => {
        const e = await f().then(
          () => assert.fail('not refused'),
          (err: unknown) => err,
        );
        assert.ok(e instanceof StoreError);
        return { code: e.code, message: e.message, issues: e.issues };
      };
      for (const f of [
        (s: TopologyStore) => s.create('bridge', { name: 'taken' }),
        (s: TopologyStore) =>
          s.create('port', { name: 'p', deviceId: '00000000-0000-4000-8000-000000000000' }),
        (s: TopologyStore) => s.create('bridge', { name: 'x', adminStateUp: 'yes' }),
      ])
        assert.deepEqual(await refusal(relayed, () => f(relayed)), await refusal(direct, () => f(direct)));
      assert.ok((stats(relayed).client?.relayed ?? 0) >= 3, 'the refusals came from the leader');
    } finally {
      await relayed.close();
      await direct.close();
      await leader.close();
    }
  });

  it('relay absent, or its leader gone: a writer commits itself', async () => {
    const url = fresh();
    const store = await openStore(url);
    const cfg = parseCassandraUrl(url);
    const zk = await ZkSession.open(cfg.zk);
    try {
      await store.create('bridge', { name: 'alone' });
      assert.equal(stats(store).client?.relayed, 0);
      assert.ok((stats(store).client?.local ?? 0) >= 1);
      // A leader znode naming an endpoint nobody serves (a leader whose session has not expired yet).
      await zk.mkdirp(leaderPath(cfg.root).replace(/\/leader$/, ''));
      await zk.create(
        leaderPath(cfg.root),
        encode({ endpoint: 'tcp://127.0.0.1:9', token: 'x', pid: 0 }),
        'ephemeral',
      );
      const other = await openStore(url);
      try {
        const b = await other.create('bridge', { name: 'despite' });
        assert.equal((await store.get('bridge', b.id))?.name, 'despite');
        assert.equal(stats(other).client?.relayed, 0);
        const log = await allChanges(store);
        assert.equal(log.filter((c) => c.id === b.id).length, 1, 'committed once');
      } finally {
        await other.close();
      }
    } finally {
      zk.close();
      await store.close();
    }
  });

  for (const [fault, how] of [
    ['die-before', 'the leader killed before its commit: the writer commits itself, once'],
    [
      'die-after',
      'the leader killed after its commit, before answering: the answer comes from the marker, applied once',
    ],
  ] as const)
    it(how, async () => {
      const url = fresh();
      const { child, exited } = await leaderProcess(url, fault);
      const store = await openStore(url);
      try {
        const b = await store.create('bridge', { name: 'once' });
        assert.equal(await exited, 'SIGKILL', 'the leader died at the commit');
        assert.equal(b.name, 'once');
        const log = await allChanges(store);
        assert.deepEqual(
          log.map((c) => [c.id, c.op]),
          [[b.id, 'create']],
          'the acknowledged write is in the log, once',
        );
        const s = stats(store).client!;
        if (fault === 'die-before') assert.equal(s.fenced, 1, 'fenced, then committed locally');
        else assert.equal(s.recovered, 1, 'answered from the leader marker');
      } finally {
        child.kill('SIGKILL');
        await store.close();
      }
    });

  it('a leader that commits after the writer stopped waiting commits nothing: applied once', async () => {
    const url = fresh();
    const leader = await FaultyLeader.openFaulty(url, 'late');
    await leader.leading();
    const store = await openStore(url);
    try {
      const b = await store.create('bridge', { name: 'late' });
      assert.equal(stats(store).client?.fenced, 1, 'the writer fenced and committed itself');
      // The leader's late commit fails on the fence; its writer is answered with an error it ignores.
      while ((stats(leader).leader?.relayed ?? 0) < 1) await new Promise((r) => setTimeout(r, 50));
      await leader.close(); // waits for the late commit to be decided
      const log = await allChanges(store);
      assert.deepEqual(
        log.map((c) => [c.id, c.op]),
        [[b.id, 'create']],
      );
    } finally {
      await store.close();
      await leader.close();
    }
  });

  it('the leader removes marker buckets past their sweep age, and keeps current ones', async () => {
    const url = fresh();
    const cfg = parseCassandraUrl(url);
    const zk = await ZkSession.open(cfg.zk);
    const now = bucketOf(Date.now());
    try {
      for (const b of [1, now]) {
        await zk.mkdirp(bucketPath(cfg.root, b));
        await zk.create(markerPath(cfg.root, b, 'some-tx'), encode({ s: 1, n: 1, r: [] }));
      }
      const leader = await FaultyLeader.openFaulty(url, 'none');
      try {
        await leader.leading();
        while (await zk.exists(bucketPath(cfg.root, 1))) await new Promise((r) => setTimeout(r, 50));
        assert.equal(await zk.exists(markerPath(cfg.root, now, 'some-tx')), true, 'a current bucket stays');
      } finally {
        await leader.close();
      }
    } finally {
      zk.close();
    }
  });
});
