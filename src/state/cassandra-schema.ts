/**
 * The distributed backend's Cassandra keyspace: its tables, the statements run against them, the
 * partition bucket of an id, and the one-time creation of the keyspace (under a ZooKeeper lock, once
 * per keyspace and schema version, recorded in the `schema` znode).
 *
 * Tables (replication factor `rf`, LOCAL_QUORUM reads and writes, prepared statements):
 *   objects   ((kind, bucket), id, version, txid) -> seq, committed, deleted, body: one row per written
 *             version of an object, keyed by the writing transaction's id, so two writers never
 *             overwrite each other's rows; a delete writes a row with `deleted` and the last body.
 *   names, refs, bindings: candidate indexes (name -> ids, target -> holders, host interface -> ports),
 *             checked against the committed object on every use, so stale or orphan rows are harmless.
 *   flow_state: NAT and connection-tracking state with a TTL (kept for the agents).
 *
 * Invariant: schema statements only create what is missing (IF NOT EXISTS), with consistency ALL, so
 * a store opened twice, or by two processes at once, ends with the same schema.
 */
import cassandra from 'cassandra-driver';
import { lock } from './distributed-recipes.js';
import { ZkError, zkPath, type ZkSession } from './zk.js';
import type { CassandraUrl } from './cassandra-url.js';

export const BUCKETS = 8;
const SCHEMA_VERSION = 1;

/** The partition bucket of an id (spreads big kinds over several partitions, read in parallel). */
export function bucketOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(h) % BUCKETS;
}

function schema(ks: string, rf: number): string[] {
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${rf}}`,
    `CREATE TABLE IF NOT EXISTS ${ks}.objects (kind text, bucket int, id text, version int, txid text, seq bigint,
       committed boolean, deleted boolean, body text, PRIMARY KEY ((kind, bucket), id, version, txid))
       WITH CLUSTERING ORDER BY (id ASC, version DESC, txid ASC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.names (kind text, name text, id text, txid text, PRIMARY KEY ((kind, name), id, txid))`,
    `CREATE TABLE IF NOT EXISTS ${ks}.refs (target text, holder text, holder_kind text, txid text, PRIMARY KEY ((target), holder, txid))`,
    `CREATE TABLE IF NOT EXISTS ${ks}.bindings (host_id text, iface text, id text, txid text, PRIMARY KEY ((host_id, iface), id, txid))`,
    `CREATE TABLE IF NOT EXISTS ${ks}.flow_state (key text PRIMARY KEY, value blob) WITH default_time_to_live = 3600`,
  ];
}

/** The statements of the store, for keyspace `ks`. */
export function statements(ks: string) {
  return {
    pointerRow: `SELECT deleted, body FROM ${ks}.objects WHERE kind = ? AND bucket = ? AND id = ? AND version = ? AND txid = ?`,
    scan: `SELECT id, version, txid, seq, committed, deleted, body FROM ${ks}.objects WHERE kind = ? AND bucket = ?`,
    scanWithAge: `SELECT id, version, txid, seq, committed, deleted, body, WRITETIME(body) AS wt FROM ${ks}.objects WHERE kind = ? AND bucket = ?`,
    insert: `INSERT INTO ${ks}.objects (kind, bucket, id, version, txid, seq, committed, deleted, body) VALUES (?, ?, ?, ?, ?, ?, false, ?, ?)`,
    mark: `UPDATE ${ks}.objects SET committed = true WHERE kind = ? AND bucket = ? AND id = ? AND version = ? AND txid = ?`,
    remove: `DELETE FROM ${ks}.objects WHERE kind = ? AND bucket = ? AND id = ? AND version = ? AND txid = ?`,
    nameIds: `SELECT id FROM ${ks}.names WHERE kind = ? AND name = ?`,
    namesIn: `SELECT name, id FROM ${ks}.names WHERE kind = ? AND name IN ?`,
    addName: `INSERT INTO ${ks}.names (kind, name, id, txid) VALUES (?, ?, ?, ?)`,
    delName: `DELETE FROM ${ks}.names WHERE kind = ? AND name = ? AND id = ? AND txid = ?`,
    holders: `SELECT holder, holder_kind FROM ${ks}.refs WHERE target = ?`,
    addRef: `INSERT INTO ${ks}.refs (target, holder, holder_kind, txid) VALUES (?, ?, ?, ?)`,
    delRef: `DELETE FROM ${ks}.refs WHERE target = ? AND holder = ? AND txid = ?`,
    bound: `SELECT id FROM ${ks}.bindings WHERE host_id = ? AND iface = ?`,
    addBinding: `INSERT INTO ${ks}.bindings (host_id, iface, id, txid) VALUES (?, ?, ?, ?)`,
    delBinding: `DELETE FROM ${ks}.bindings WHERE host_id = ? AND iface = ? AND id = ? AND txid = ?`,
  };
}

export type Statements = ReturnType<typeof statements>;

/** Creates the keyspace and tables unless the `schema` znode says this version exists already. */
export async function ensureSchema(zk: ZkSession, db: cassandra.Client, cfg: CassandraUrl): Promise<void> {
  const marker = zkPath(cfg.root, 'schema');
  const want = JSON.stringify({ keyspace: cfg.keyspace, version: SCHEMA_VERSION });
  if ((await zk.get(marker))?.data.toString() === want) return;
  const l = await lock(zk, zkPath(cfg.root, 'locks', 'schema'), 'schema', 120000);
  try {
    if ((await zk.get(marker))?.data.toString() === want) return;
    for (const stmt of schema(cfg.keyspace, cfg.rf)) {
      await db.execute(stmt, [], { consistency: cassandra.types.consistencies.all });
    }
    await zk.set(marker, Buffer.from(want)).catch(async (e: unknown) => {
      if (e instanceof ZkError && e.code === 'no-node') await zk.create(marker, Buffer.from(want));
      else throw e;
    });
  } finally {
    await l.release();
  }
}
