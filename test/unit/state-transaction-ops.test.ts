/**
 * The transaction planner given an op it does not know (a program's JSON reaching `transact`
 * directly, past the API's schema): refused in the project's words, naming the field, the value
 * escaped and the ops there are, and nothing written. Runs on the in-memory and embedded stores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UNSAFE_TEXT } from '../../src/quote.js';
import { StoreError } from '../../src/state/errors.js';
import { openStore } from '../../src/state/open.js';
import type { Op } from '../../src/state/store.js';

describe('transaction planner: unknown ops', () => {
  for (const scheme of ['memory', 'sqlite'] as const) {
    it(`${scheme}: refuses an unknown op with the ops it takes`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'midonet-ops-'));
      const store = await openStore(scheme === 'memory' ? 'memory:' : `sqlite:${join(dir, 'state.db')}`);
      try {
        await store.create('bridge', { name: 'kept' });
        const before = await store.position();
        const bad = { op: 'upsert\n\u001b[2J', kind: 'bridge', fields: { name: 'x' } } as unknown as Op;
        await assert.rejects(
          store.transact([{ op: 'create', kind: 'bridge', fields: { name: 'first' } }, bad]),
          (e: unknown) => {
            assert.ok(e instanceof StoreError, String(e));
            assert.equal(e.code, 'invalid');
            assert.match(e.message, /op: 'upsert\\n\\x1b\[2J': allowed values: create, update, delete$/);
            assert.doesNotMatch(e.message, UNSAFE_TEXT);
            return true;
          },
        );
        const missing = { kind: 'bridge', id: 'x' } as unknown as Op;
        await assert.rejects(
          store.transact([missing]),
          /op: \(missing\): allowed values: create, update, delete/,
        );
        assert.equal(await store.position(), before, 'nothing was written');
        assert.deepEqual(
          (await store.list('bridge')).map((b) => b.name),
          ['kept'],
        );
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
