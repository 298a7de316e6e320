/**
 * midonet-api's change feed and `wait`: JSON lines and server-sent events from a position, resumed
 * after a break with nothing lost or repeated (also through the HTTP store's watch); `wait` with no
 * live agent (at once, with a note), with an agent behind (timeout naming it) and one that caught up.
 * The lab test (test/integration/api-cni.test.ts) waits for real agents.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HttpStore } from '../../src/api/http-store.js';
import type { Change } from '../../src/state/store.js';
import { apiFixture, type ApiFixture } from './fixture.js';

/** Reads a streaming response until `n` records arrived; returns them and aborts. */
async function readStream(
  url: string,
  headers: Record<string, string>,
  n: number,
  parse: (chunk: string) => string[],
  write?: () => Promise<void>,
): Promise<string[]> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers, signal: ctl.signal });
  assert.equal(res.status, 200);
  const got: string[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  const writer = write?.();
  const timer = setTimeout(() => ctl.abort(), 10000);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      const parts = parse(buf);
      buf = parts.pop()!;
      got.push(...parts.filter((p) => p.trim() !== ''));
      if (got.length >= n) break;
    }
  } catch (e) {
    if (!ctl.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  await writer;
  return got;
}

describe('midonet-api: change feed and wait', () => {
  let fx: ApiFixture;
  before(async () => {
    fx = await apiFixture();
  });
  after(async () => {
    await fx.close();
  });
  const auth = () => ({ authorization: `Bearer ${fx.admin}` });

  it('streams JSON lines from a position and resumes after a break', async () => {
    const start = await fx.store.position();
    for (let i = 0; i < 3; i++) await fx.call('POST', '/v1/bridges', { body: { name: `feed-${i}` } });
    const first = await readStream(`${fx.base}/v1/feed?from=${start}`, auth(), 3, (b) => b.split('\n'));
    const seqs = first.map((l) => (JSON.parse(l) as Change).seq);
    assert.deepEqual(seqs, [start + 1, start + 2, start + 3]);
    assert.deepEqual(
      first.map((l) => (JSON.parse(l) as Change).object.name),
      ['feed-0', 'feed-1', 'feed-2'],
    );
    // Resume from the second one: the third, then changes as they commit.
    const resumed = await readStream(
      `${fx.base}/v1/feed?from=${seqs[1]}`,
      auth(),
      3,
      (b) => b.split('\n'),
      async () => {
        await new Promise((r) => setTimeout(r, 100));
        await fx.call('POST', '/v1/bridges', { body: { name: 'feed-3' } });
        await fx.call('PATCH', '/v1/bridges/feed-3', { body: { vlanAware: true } });
      },
    );
    const later = resumed.map((l) => JSON.parse(l) as Change);
    assert.deepEqual(
      later.map((c) => [c.seq, c.op, c.object.name]),
      [
        [start + 3, 'create', 'feed-2'],
        [start + 4, 'create', 'feed-3'],
        [start + 5, 'update', 'feed-3'],
      ],
    );
  });

  it('streams server-sent events that resume with Last-Event-ID', async () => {
    const start = await fx.store.position();
    await fx.call('POST', '/v1/bridges', { body: { name: 'sse-0' } });
    await fx.call('POST', '/v1/bridges', { body: { name: 'sse-1' } });
    const events = await readStream(
      `${fx.base}/v1/feed`,
      { ...auth(), accept: 'text/event-stream', 'last-event-id': String(start) },
      2,
      (b) => b.split('\n\n'),
    );
    const parsed = events.map((e) => {
      const id = /^id: (\d+)$/m.exec(e)![1];
      const data = JSON.parse(/^data: (.*)$/m.exec(e)![1]!) as Change;
      assert.match(e, /^event: change$/m);
      return [Number(id), data.seq, data.object.name];
    });
    assert.deepEqual(parsed, [
      [start + 1, start + 1, 'sse-0'],
      [start + 2, start + 2, 'sse-1'],
    ]);
  });

  it('lets the HTTP store watch the feed, in order, once', async () => {
    const remote = new HttpStore(fx.base, fx.reader);
    try {
      const from = await remote.position();
      const got: Change[] = [];
      const done = new Promise<void>((resolve, reject) => {
        const w = remote.watch(from, {
          onChanges: (cs) => {
            got.push(...cs);
            if (got.length >= 4) {
              w.close();
              resolve();
            }
          },
          onError: reject,
        });
      });
      for (let i = 0; i < 4; i++) await fx.call('POST', '/v1/bridges', { body: { name: `watch-${i}` } });
      await done;
      assert.deepEqual(
        got.map((c) => c.seq),
        [from + 1, from + 2, from + 3, from + 4],
      );
      assert.deepEqual(
        (await remote.changesSince(from)).map((c) => c.object.name),
        ['watch-0', 'watch-1', 'watch-2', 'watch-3'],
      );
    } finally {
      await remote.close();
    }
  });

  it('waits for the live agents, and returns at once when there is none', async () => {
    const none = await fx.call('POST', '/v1/bridges?wait=5', { body: { name: 'wait-0' } });
    assert.equal(none.status, 201);
    assert.equal(none.headers.get('midonet-applied'), 'no-agents');
    assert.match(none.headers.get('midonet-note')!, /no agent is alive/);
    const hv = await fx.store.create('host', { name: 'wait-hv' });
    // An agent's liveness record one change behind: the write waits, then times out naming it.
    await fx.store.heartbeat(hv.id, 60000, { agentVersion: 'test', lastChangeApplied: 0 });
    const t0 = Date.now();
    const behind = await fx.call('POST', '/v1/bridges?wait=0.3', { body: { name: 'wait-1' } });
    assert.equal(behind.status, 201, 'the write itself succeeded');
    assert.ok(Date.now() - t0 >= 250);
    assert.equal(behind.headers.get('midonet-applied'), 'timeout');
    assert.equal(behind.headers.get('midonet-pending-hosts'), hv.id);
    const position = Number(behind.headers.get('midonet-position'));
    assert.equal(position, await fx.store.position());
    // The agent catches up while a later write waits.
    const next = position + 1;
    setTimeout(
      () => void fx.store.heartbeat(hv.id, 60000, { agentVersion: 'test', lastChangeApplied: next }),
      200,
    );
    const caught = await fx.call('POST', '/v1/transactions?wait=10', {
      body: { ops: [{ op: 'create', kind: 'bridge', fields: { name: 'wait-2' } }] },
    });
    assert.equal(caught.status, 200);
    assert.equal(caught.body.applied.outcome, 'applied');
    assert.equal(caught.body.applied.position, next);
    assert.ok(caught.body.applied.waitedMs < 10000);
    await fx.store.goodbye(hv.id);
    const bad = await fx.call('POST', '/v1/bridges?wait=soon', { body: { name: 'wait-3' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /wait: 'soon'|wait: "soon"/);
  });
});
