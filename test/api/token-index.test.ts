/**
 * The token index of midonet-api (src/api/tokens.ts): a token accepted once is accepted again without
 * hashing, against the very stored object it was accepted with; a change of that object (role, digest)
 * or its delete reaches the next request as soon as the feed delivers it, and a revoke through this
 * process (`forget`) at once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenIndex, createToken } from '../../src/api/tokens.js';
import { openStore } from '../../src/state/open.js';

/** Lets the store's feed deliver what was just committed (it reads on the next turn of the loop). */
const delivered = () => new Promise((r) => setImmediate(r)).then(() => new Promise((r) => setImmediate(r)));

async function indexed() {
  const store = await openStore('memory:');
  const index = new TokenIndex(store);
  await index.start((e) => assert.fail(e));
  return { store, index };
}

describe('TokenIndex', () => {
  it('accepts a token again, and follows its stored object as it changes and goes', async () => {
    const { store, index } = await indexed();
    try {
      const a = await createToken(store, 'a', 'admin', 1);
      const b = await createToken(store, 'b', 'admin', 1);
      await delivered();
      assert.equal((await index.verify(a.token))?.role, 'admin');
      assert.equal((await index.verify(a.token))?.role, 'admin', 'accepted again');
      const forged = a.token.slice(0, -1) + (a.token.endsWith('A') ? 'B' : 'A');
      assert.equal(await index.verify(forged), undefined, 'the same id with another secret');

      await store.update('api-token', a.object.id, { role: 'reader' });
      await delivered();
      assert.equal(
        (await index.verify(a.token))?.role,
        'reader',
        'the changed object, not the one remembered',
      );

      // The digest cannot be updated; a token deleted and made again under its id can hold another.
      await store.delete('api-token', a.object.id);
      await store.create(
        'api-token',
        { name: 'a', role: 'admin', secretHash: b.object.secretHash, createdAt: 2 },
        { id: a.object.id },
      );
      await delivered();
      assert.equal(await index.verify(a.token), undefined, 'refused once its digest changed');

      assert.ok(await index.verify(b.token));
      await store.delete('api-token', b.object.id);
      await delivered();
      assert.equal(await index.verify(b.token), undefined, 'refused once deleted');
    } finally {
      index.stop();
      await store.close();
    }
  });

  it('refuses a token revoked through this process at once, before the feed delivers the delete', async () => {
    const { store, index } = await indexed();
    try {
      const a = await createToken(store, 'a', 'admin', 1);
      assert.ok(await index.verify(a.token));
      await store.delete('api-token', a.object.id);
      index.forget(a.object.id);
      assert.equal(await index.verify(a.token), undefined);
    } finally {
      index.stop();
      await store.close();
    }
  });
});
