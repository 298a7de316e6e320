// The commit relay's wire rules (src/state/commit-relay-wire.ts) and its URL parameter, no services:
// only ops JSON carries unchanged are relayed, a StoreError crosses with code, message and issues,
// a group's multi-op creates each relayed transaction's marker, and `relay` takes use|lead|off only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commitOps } from '../../src/state/cassandra-commit.js';
import { parseCassandraUrl } from '../../src/state/cassandra-url.js';
import {
  decode,
  encode,
  errorOf,
  errorReply,
  relayable,
  type RelayReply,
} from '../../src/state/commit-relay-wire.js';
import type { ChangeLog } from '../../src/state/distributed-log.js';
import type { ObjectRows } from '../../src/state/cassandra-rows.js';
import { StoreError } from '../../src/state/errors.js';
import type { Write } from '../../src/state/transaction.js';

describe('commit relay wire', () => {
  it('relays only ops JSON carries unchanged', () => {
    assert.equal(
      relayable([
        { op: 'create', kind: 'bridge', fields: { name: 'a', tags: ['x'], n: 1, up: true, d: null } },
      ]),
      true,
    );
    for (const v of [undefined, Number.NaN, new Date(0), 1n, () => 1, Infinity])
      assert.equal(relayable([{ op: 'update', kind: 'bridge', id: 'i', set: { v } }]), false, String(v));
  });

  it('a StoreError crosses with its code, message and issues', () => {
    const e = new StoreError('invalid', 'bridge.adminStateUp: "yes": must be a boolean', [
      { field: 'bridge.adminStateUp', value: 'yes', message: 'must be a boolean' },
    ]);
    const r = decode<RelayReply>(encode(errorReply('t', e)));
    assert.ok('err' in r);
    const back = errorOf(r.err);
    assert.ok(back instanceof StoreError);
    assert.deepEqual([back.code, back.message, back.issues], [e.code, e.message, e.issues]);
  });

  it("a group's multi-op creates the relayed transactions' markers, after the log entries", () => {
    const log = { headPath: '/r/head', entryPath: (s: number) => `/r/log/${s}` } as unknown as ChangeLog;
    const rows = { pointerPath: (id: string) => `/r/objects/${id}` } as unknown as ObjectRows;
    const w = (id: string): Write =>
      ({ kind: 'bridge', id, op: 'create', after: { id, version: 1 } }) as unknown as Write;
    const ops = commitOps(
      log,
      rows,
      { seq: 4, tk: 0, version: 9 },
      [
        { writes: [w('a')], txid: 'ta' },
        { writes: [w('b')], txid: 'tb', marker: { path: '/r/relay/tx/1/tb', data: Buffer.from('{}') } },
      ],
      0,
    );
    assert.deepEqual(
      ops.map((o) => `${o.op} ${o.path}`),
      [
        'set /r/head',
        'create /r/log/5',
        'create /r/log/6',
        'create /r/relay/tx/1/tb',
        'create /r/objects/a',
        'create /r/objects/b',
      ],
    );
  });

  it('the URL takes relay=use|lead|off and an address for the leader', () => {
    const u = 'cassandra://127.0.0.1:9042?zk=127.0.0.1:2181';
    assert.equal(parseCassandraUrl(u).relay, undefined);
    assert.equal(parseCassandraUrl(`${u}&relay=lead&relayHost=10.0.0.5`).relayHost, '10.0.0.5');
    assert.throws(
      () => parseCassandraUrl(`${u}&relay=maybe`),
      /relay 'maybe' must be use, lead, standby or off/,
    );
  });
});
