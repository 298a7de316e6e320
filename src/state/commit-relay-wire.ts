/**
 * The commit relay's shared parts (commit-relay-leader.ts serves, commit-relay-client.ts sends): what
 * a relayed transaction and its answer look like on the wire, where the leader's address is kept, and
 * the transaction markers that make a relayed transaction's outcome checkable.
 *
 * A relayed transaction carries an id (`txid`) and a bucket (the 10 s slice of the writer's clock it
 * was sent in). The leader commits it with the create of `relay/tx/<bucket>/<txid>` in the same
 * ZooKeeper multi-op (cassandra-commit.ts), the marker holding the transaction's first position and
 * results. A writer that gets no answer creates that same znode itself (the fence): if its create
 * succeeds, the leader's commit can no longer succeed and the writer commits on its own; if the znode
 * exists, the leader committed it and the marker gives the answer.
 *
 * Invariants: a relayed transaction is applied at most once (its marker is created once, by the
 * leader's commit or by the writer's fence, never both); a StoreError crosses the wire with its code,
 * message and issues unchanged; only values JSON carries unchanged are relayed (`relayable`).
 */
import { StoreError, type ErrorIssue, type StoreErrorCode } from './errors.js';
import type { Op, TxResult } from './store.js';
import { zkPath, type ZkSession } from './zk.js';

/** Width of a marker bucket (ms of the writer's clock). */
export const BUCKET_MS = 10_000;
/** The leader takes a relayed transaction only this long after its bucket started (its clock). */
export const ACCEPT_MS = 20_000;
/** A writer decides an unanswered transaction (fence or read) only this long after its bucket started. */
export const DECIDE_MS = 40_000;
/** Buckets are removed this long after they started (their markers with them). */
export const SWEEP_MS = 120_000;
/** How long a writer waits for the leader's answer before it decides on its own. */
export const REPLY_MS = 5_000;

/** What the leader publishes in its ephemeral znode. */
export interface LeaderInfo {
  /** tcp://HOST:PORT of its ROUTER socket. */
  readonly endpoint: string;
  /** Sent with every request: only processes that can read the store's znodes can use the relay. */
  readonly token: string;
  readonly pid: number;
}

/** A relayed transaction. */
export interface RelayRequest {
  readonly txid: string;
  readonly bucket: number;
  readonly ops: readonly Op[];
}

/** The leader's answer: the result, the error the writer would have got, or `back`: not tried (the
 * writer commits it itself; the leader will never commit it). */
export type RelayReply =
  | { readonly txid: string; readonly ok: TxResult }
  | { readonly txid: string; readonly back: string }
  | {
      readonly txid: string;
      readonly err: { code: StoreErrorCode; message: string; issues?: readonly ErrorIssue[] };
    };

/** What a marker holds when the leader committed the transaction. */
export interface MarkerData {
  /** First position of its changes, and the results. */
  readonly s: number;
  readonly r: TxResult['results'];
  readonly n: number;
}

export const leaderPath = (root: string): string => zkPath(root, 'relay', 'leader');
/** Where preferred volunteers (`relay=lead`) register, so standby ones (`relay=standby`) yield. */
export const candidatesPath = (root: string): string => zkPath(root, 'relay', 'candidates');
export const markersPath = (root: string): string => zkPath(root, 'relay', 'tx');
export const bucketOf = (now: number): number => Math.floor(now / BUCKET_MS);
export const bucketPath = (root: string, bucket: number): string => zkPath(markersPath(root), String(bucket));
export const markerPath = (root: string, bucket: number, txid: string): string =>
  zkPath(bucketPath(root, bucket), txid);

/** The fence's content: no commit, the writer took the transaction back. */
export const FENCE = Buffer.from('{"fenced":true}');

export function encode(v: RelayRequest | RelayReply | LeaderInfo | MarkerData): Buffer {
  return Buffer.from(JSON.stringify(v));
}

export function decode<T>(b: Buffer): T {
  return JSON.parse(b.toString('utf8')) as T;
}

/** The answer for `e`, a failure of the leader's `transact` (always a StoreError there). */
export function errorReply(txid: string, e: unknown): RelayReply {
  const se = e instanceof StoreError ? e : new StoreError('unavailable', (e as Error).message);
  return {
    txid,
    err: { code: se.code, message: se.message, ...(se.issues ? { issues: se.issues } : {}) },
  };
}

/** The StoreError a writer throws for an error answer. */
export function errorOf(err: Extract<RelayReply, { err: unknown }>['err']): StoreError {
  // issues pass as given (undefined values were dropped by JSON, as a missing `value` means)
  return new StoreError(err.code, err.message, err.issues);
}

/** Whether `ops` survive JSON unchanged (plain objects, arrays, strings, finite numbers, booleans, null). */
export function relayable(ops: readonly Op[]): boolean {
  const plain = (v: unknown, depth: number): boolean => {
    if (depth > 32) return false;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return Number.isFinite(v);
    if (Array.isArray(v)) return v.every((x) => plain(x, depth + 1));
    if (typeof v !== 'object') return false;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as Record<string, unknown>).every((x) => plain(x, depth + 1));
  };
  return plain(ops, 0);
}

/**
 * Reads the leader znode, setting a watch that calls `changed` when it is created, changed or
 * deleted -- one watch at a time (`armed`), so reading it again and again piles no listeners up.
 */
export async function readLeader(
  zk: ZkSession,
  root: string,
  watch: { armed: boolean },
  changed: () => void,
): Promise<{ info: LeaderInfo; raw: Buffer } | undefined> {
  const w = watch.armed
    ? undefined
    : () => {
        watch.armed = false;
        changed();
      };
  watch.armed = true;
  const node = await zk.get(leaderPath(root), w);
  if (!node && w) await zk.exists(leaderPath(root), w); // a missing node's watch
  return node && { info: decode<LeaderInfo>(node.data), raw: node.data };
}
