// The SQLite store's commit signal (src/state/commit-signal.ts, watcher-set.ts): a watcher whose
// fallback poll is turned off still gets every commit of other processes and handles, each exactly
// once and in order, so the signal alone carries them: across a WAL truncated by a checkpoint, a
// watcher closed and opened again from its position, and learned state as well as the change feed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { CommitSignal } from '../../src/state/commit-signal.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import type { Change, LearnedChange } from '../../src/state/store.js';
import { until } from '../until.js';

const run = promisify(execFile);
const WRITER = fileURLToPath(new URL('../contract/writer-process.js', import.meta.url));

/** A temp directory with a store file; `watcher` polls only on the signal (no fallback poll). */
function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-signal-'));
  const path = join(dir, 'state.db');
  const writer = new SqliteStore(path);
  const watcher = new SqliteStore(path, { fallbackPollMs: undefined });
  return {
    dir,
    path,
    writer,
    watcher,
    cleanup: async () => {
      await writer.close();
      await watcher.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every change delivered to a watch, with a check that positions only grow by one. */
function collect(): { seen: Change[]; onChanges: (cs: readonly Change[]) => void } {
  const seen: Change[] = [];
  return {
    seen,
    onChanges: (cs) => {
      for (const c of cs) {
        const prev = seen.at(-1);
        assert.ok(prev === undefined || c.seq === prev.seq + 1, `seq ${c.seq} after ${prev?.seq}`);
        seen.push(c);
      }
    },
  };
}

describe('sqlite commit signal', () => {
  it('wakes a watcher that does not poll for the commits of two other processes, each once, in order', async () => {
    const fx = fixture();
    try {
      const from = await fx.watcher.position();
      const got = collect();
      const w = fx.watcher.watch(from, { onChanges: got.onChanges });
      assert.ok(fx.watcher.signalled, 'the directory is watched');
      const url = `sqlite:${fx.path}`;
      await Promise.all([
        run(process.execPath, [WRITER, url, 'ports', 'sig-a', '40']),
        run(process.execPath, [WRITER, url, 'ports', 'sig-b', '40']),
      ]);
      const last = await fx.writer.position();
      await until(() => got.seen.at(-1)?.seq === last, { what: `the watcher reaching position ${last}` });
      assert.equal(got.seen.length, 82, 'two bridges and 80 ports');
      assert.deepEqual(
        got.seen.map((c) => c.seq),
        (await fx.writer.changesSince(from, 1000)).map((c) => c.seq),
      );
      w.close();
    } finally {
      await fx.cleanup();
    }
  });

  it('goes on across a WAL truncated by a checkpoint and a watch opened again from its position', async () => {
    const fx = fixture();
    const raw = new Database(fx.path);
    try {
      const got = collect();
      let w = fx.watcher.watch(await fx.watcher.position(), { onChanges: got.onChanges });
      const br = await fx.writer.create('bridge', { name: 'ck' });
      await until(() => got.seen.some((c) => c.id === br.id), { what: 'the bridge reaching the watcher' });
      raw.pragma('wal_checkpoint(TRUNCATE)');
      const p1 = await fx.writer.create('port', { name: 'ck-1', deviceId: br.id });
      await until(() => got.seen.some((c) => c.id === p1.id), { what: 'a port after the checkpoint' });
      w.close();
      const p2 = await fx.writer.create('port', { name: 'ck-2', deviceId: br.id });
      w = fx.watcher.watch(got.seen.at(-1)!.seq, { onChanges: got.onChanges });
      const p3 = await fx.writer.create('port', { name: 'ck-3', deviceId: br.id });
      await until(() => got.seen.some((c) => c.id === p3.id), { what: 'the port after the new watch' });
      assert.deepEqual(
        got.seen.map((c) => c.id),
        [br.id, p1.id, p2.id, p3.id],
      );
      w.close();
    } finally {
      raw.close();
      await fx.cleanup();
    }
  });

  it('carries learned state written through another handle', async () => {
    const fx = fixture();
    try {
      const seen: LearnedChange[] = [];
      const w = fx.watcher.watchLearned(0, { onEntries: (es) => seen.push(...es) });
      const entry = (key: string) => ({
        table: 'mac' as const,
        scope: 'br',
        key,
        value: 'port',
        origin: 'host-b',
        expiresAt: Date.now() + 60000,
      });
      await fx.writer.learn([entry('a1'), entry('a2')]);
      await until(() => seen.length === 2, { what: 'two learned entries' });
      await fx.writer.learn([entry('a3')]);
      await until(() => seen.length === 3, { what: 'three learned entries' });
      assert.deepEqual(
        seen.map((e) => e.key),
        ['a1', 'a2', 'a3'],
      );
      w.close();
    } finally {
      await fx.cleanup();
    }
  });

  it('signals writes to the file and its log, and stops watching with its last subscriber', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midonet-signal-'));
    const file = join(dir, 'x.db');
    writeFileSync(file, '');
    const signal = new CommitSignal(file, 100);
    try {
      let wakes = 0;
      const off = signal.subscribe(
        () => wakes++,
        () => undefined,
      );
      assert.ok(off !== undefined && signal.watching);
      appendFileSync(`${file}-wal`, 'frame');
      await until(() => wakes > 0, { what: 'a wake for the log' });
      const before = wakes;
      appendFileSync(file, 'page');
      await until(() => wakes > before, { what: 'a wake for the file' });
      off();
      assert.equal(signal.watching, false);
    } finally {
      signal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not used for an in-memory store (its feed is woken by its own commits)', async () => {
    const store = new SqliteStore(':memory:');
    try {
      const seen: string[] = [];
      const w = store.watch(0, { onChanges: (cs) => seen.push(...cs.map((c) => c.id)) });
      assert.equal(store.signalled, false);
      const br = await store.create('bridge', { name: 'mem' });
      await until(() => seen.includes(br.id), { what: 'the bridge reaching the watcher' });
      w.close();
    } finally {
      await store.close();
    }
  });
});
