/**
 * The embedded backend's SQLite file: its tables and the prepared statements over them, in one place
 * so sqlite-store.ts reads as the store's logic.
 *
 * Tables: `objects` (one row per object, JSON body; unique indexes enforce names per kind, port
 * bindings and tunnel keys), `refs` (holder -> target, the referrer index), `changes` (the change
 * log: positions `seq` from AUTOINCREMENT, never reused; compacted from the oldest end, see
 * retention.ts), `liveness` (host heartbeats), `leases` (leader election), `learned` (the newest
 * value of each learned key, with its feed position; indexed by the device it belongs to,
 * `LEARNED_DEVICE`, for watches per device) and `meta` (counters: `tunnel_key`, the highest
 * tunnel key handed out; `learned_seq`; `log_start`, the first change position the log still holds).
 *
 * Invariant: `CREATE ... IF NOT EXISTS` only, so opening an existing file never changes its data.
 */
import type Database from 'better-sqlite3';
import type { Kind, Obj } from './model.js';
import type { Change, ChangeOp, LearnedChange, LearnedTable } from './store.js';

/**
 * The device of a learned row, as learned-scope.ts `deviceKey` computes it: a MAC entry's bridge (its
 * scope without '/VLAN'), an ARP or ND entry's router, '' for flow state. An index expression: rows
 * written before the index existed are covered too.
 */
const LEARNED_DEVICE = `(CASE WHEN tbl = 'mac' THEN (CASE WHEN instr(scope, '/') > 0
  THEN substr(scope, 1, instr(scope, '/') - 1) ELSE scope END) WHEN tbl IN ('arp', 'nd') THEN scope ELSE '' END)`;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT,
  version INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_kind_name ON objects(kind, name) WHERE name IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_kind ON objects(kind);
CREATE UNIQUE INDEX IF NOT EXISTS port_binding ON objects(json_extract(body, '$.hostId'), json_extract(body, '$.interfaceName'))
  WHERE kind = 'port' AND json_extract(body, '$.hostId') IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS port_tunnel_key ON objects(json_extract(body, '$.tunnelKey')) WHERE kind = 'port';
CREATE TABLE IF NOT EXISTS refs (
  target TEXT NOT NULL,
  holder TEXT NOT NULL,
  PRIMARY KEY (target, holder)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refs_holder ON refs(holder);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  op TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS liveness (
  host_id TEXT PRIMARY KEY,
  renewed_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  info TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  grp TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS learned (
  tbl TEXT NOT NULL,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  origin TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tbl, scope, key)
);
CREATE INDEX IF NOT EXISTS learned_seq ON learned(seq);
CREATE INDEX IF NOT EXISTS learned_device ON learned(${LEARNED_DEVICE}, seq);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

export interface ObjectRow {
  id: string;
  kind: string;
  body: string;
}

export interface ChangeRow {
  seq: number;
  tx: number;
  kind: string;
  id: string;
  op: string;
  version: number;
  body: string;
}

interface LearnedRow {
  tbl: string;
  scope: string;
  key: string;
  value: string;
  origin: string;
  expires_at: number;
  seq: number;
}

export function rowToObj(r: ObjectRow): Obj {
  return JSON.parse(r.body) as Obj;
}

export function rowToChange(r: ChangeRow): Change {
  return {
    seq: r.seq,
    tx: r.tx,
    kind: r.kind as Kind,
    id: r.id,
    op: r.op as ChangeOp,
    version: r.version,
    object: JSON.parse(r.body) as Obj,
  };
}

export function rowToLearned(r: LearnedRow): LearnedChange {
  return {
    table: r.tbl as LearnedTable,
    scope: r.scope,
    key: r.key,
    value: r.value,
    origin: r.origin,
    expiresAt: r.expires_at,
    seq: r.seq,
  };
}

/** Every statement the store runs, prepared once per handle. */
export function prepareStatements(db: Database.Database) {
  return {
    get: db.prepare<[string], ObjectRow>('SELECT id, kind, body FROM objects WHERE id = ?'),
    idByName: db.prepare<[string, string], { id: string }>(
      'SELECT id FROM objects WHERE kind = ? AND name = ?',
    ),
    listKind: db.prepare<[string], ObjectRow>('SELECT id, kind, body FROM objects WHERE kind = ?'),
    listAll: db.prepare<[], ObjectRow>('SELECT id, kind, body FROM objects'),
    referrerRows: db.prepare<[string], ObjectRow>(
      'SELECT o.id, o.kind, o.body FROM refs r JOIN objects o ON o.id = r.holder WHERE r.target = ?',
    ),
    referrerIds: db.prepare<[string], { id: string; kind: string }>(
      'SELECT o.id, o.kind FROM refs r JOIN objects o ON o.id = r.holder WHERE r.target = ?',
    ),
    binding: db.prepare<[string, string], { id: string }>(
      "SELECT id FROM objects WHERE kind = 'port' AND json_extract(body, '$.hostId') = ? AND json_extract(body, '$.interfaceName') = ?",
    ),
    maxTunnelKey: db.prepare<[], { k: number | null }>(
      "SELECT max(json_extract(body, '$.tunnelKey')) AS k FROM objects WHERE kind = 'port'",
    ),
    meta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare<[string, number]>(
      'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ),
    insert: db.prepare<[string, string, string | null, number, string]>(
      'INSERT INTO objects(id, kind, name, version, body) VALUES (?, ?, ?, ?, ?)',
    ),
    update: db.prepare<[string | null, number, string, string, number]>(
      'UPDATE objects SET name = ?, version = ?, body = ? WHERE id = ? AND version = ?',
    ),
    remove: db.prepare<[string, number]>('DELETE FROM objects WHERE id = ? AND version = ?'),
    delRefs: db.prepare<[string]>('DELETE FROM refs WHERE holder = ?'),
    addRef: db.prepare<[string, string]>('INSERT OR IGNORE INTO refs(target, holder) VALUES (?, ?)'),
    addChange: db.prepare<[number, string, string, string, number, string, number]>(
      'INSERT INTO changes(tx, kind, id, op, version, body, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    nextSeq: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
    last: db.prepare<[], { seq: number; tx: number }>(
      'SELECT seq, tx FROM changes ORDER BY seq DESC LIMIT 1',
    ),
    changesSince: db.prepare<[number, number], ChangeRow>(
      'SELECT seq, tx, kind, id, op, version, body FROM changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    // A kind-filtered watch (store.ts WatchHandlers.kinds): the kinds as a JSON array.
    changesOfKinds: db.prepare<[number, number, string, number], ChangeRow>(
      'SELECT seq, tx, kind, id, op, version, body FROM changes WHERE seq > ? AND seq <= ? ' +
        'AND kind IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?',
    ),
    // Compaction (retention.ts): the oldest entry held, where young entries start, transaction starts.
    oldest: db.prepare<[number], { seq: number; at: number }>(
      'SELECT seq, at FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1',
    ),
    firstSince: db.prepare<[number, number], { seq: number }>(
      'SELECT seq FROM changes WHERE seq >= ? AND at >= ? ORDER BY seq LIMIT 1',
    ),
    txAt: db.prepare<[number], { tx: number }>('SELECT tx FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1'),
    dropChanges: db.prepare<[number]>('DELETE FROM changes WHERE seq < ?'),
    heartbeat: db.prepare<[string, number, number, string]>(
      'INSERT INTO liveness(host_id, renewed_at, expires_at, info) VALUES (?, ?, ?, ?) ON CONFLICT(host_id) DO UPDATE SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at, info = excluded.info',
    ),
    goodbye: db.prepare<[number, string]>('UPDATE liveness SET expires_at = ? WHERE host_id = ?'),
    liveness: db.prepare<[], { host_id: string; renewed_at: number; expires_at: number; info: string }>(
      'SELECT host_id, renewed_at, expires_at, info FROM liveness ORDER BY host_id',
    ),
    claimLease: db.prepare<[string, string, number, number]>(
      `INSERT INTO leases(grp, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT(grp) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at < ?`,
    ),
    leaseHolder: db.prepare<[string], { holder: string; expires_at: number }>(
      'SELECT holder, expires_at FROM leases WHERE grp = ?',
    ),
    dropLease: db.prepare<[string, string]>('DELETE FROM leases WHERE grp = ? AND holder = ?'),
    putLearned: db.prepare<[string, string, string, string, string, number, number]>(
      `INSERT INTO learned(tbl, scope, key, value, origin, expires_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(tbl, scope, key) DO UPDATE SET value = excluded.value, origin = excluded.origin,
         expires_at = excluded.expires_at, seq = excluded.seq`,
    ),
    purgeLearned: db.prepare<[number]>('DELETE FROM learned WHERE expires_at < ?'),
    learnedSince: db.prepare<[number, number], LearnedRow>(
      'SELECT tbl, scope, key, value, origin, expires_at, seq FROM learned WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    learnedOfDevicesSince: db.prepare<[string, number, number], LearnedRow>(
      `SELECT tbl, scope, key, value, origin, expires_at, seq FROM learned
       WHERE ${LEARNED_DEVICE} IN (SELECT value FROM json_each(?)) AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    learnedOfDeviceUpTo: db.prepare<[string, number], LearnedRow>(
      `SELECT tbl, scope, key, value, origin, expires_at, seq FROM learned
       WHERE ${LEARNED_DEVICE} = ? AND seq <= ? ORDER BY seq`,
    ),
    lastLearned: db.prepare<[], { seq: number }>('SELECT seq FROM learned ORDER BY seq DESC LIMIT 1'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
