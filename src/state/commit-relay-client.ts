/**
 * The commit relay's writer side: a store handle that is not the leader sends its transactions to
 * the leader (found in the ephemeral znode `relay/leader`, commit-relay-leader.ts) over a ZeroMQ
 * DEALER socket, and answers its caller with the leader's result or error, as if it had committed
 * them itself. With no leader, a transaction the leader sends back untried, or ops JSON would change
 * (`relayable`), it commits through its own commit loop (`local`).
 *
 * With no answer within REPLY_MS, or the connection to the leader lost while waiting, the writer
 * decides on its own: it creates the transaction's marker itself (the fence, commit-relay-wire.ts).
 * Created: the leader has not committed it and now never will, so it commits it itself. Already
 * there: the leader committed it, and the marker's first position and results, with the log's
 * changes from that position, are the answer.
 *
 * Invariants: a write the caller was told of is seen by its next read through this handle (before
 * a read, `settle` makes its own session catch up with the leader's commits); a transaction is
 * applied at most once (relayed, committed locally only after a
 * successful fence); the caller is answered only with a committed result or an error for a
 * transaction that was not committed, as `transact` itself does; a writer decides only within
 * DECIDE_MS of its bucket (past it the marker may be swept), else it fails as 'unavailable'.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Dealer } from 'zeromq';
import { retryInterrupted } from '../control/zmq-interrupted.js';
import {
  BUCKET_MS,
  DECIDE_MS,
  FENCE,
  REPLY_MS,
  bucketOf,
  bucketPath,
  decode,
  encode,
  errorOf,
  markerPath,
  readLeader,
  relayable,
  type LeaderInfo,
  type MarkerData,
  type RelayReply,
} from './commit-relay-wire.js';
import { StoreError } from './errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeLog } from './distributed-log.js';
import type { Op, TxResult } from './store.js';
import { ZkError, type ZkSession } from './zk.js';

/** After the leader failed to answer, how long to commit locally before trying it again. */
const AVOID_MS = 2_000;
/** How many times (2 ms apart) a writer reads `head` until its session has seen a relayed commit. */
const CATCH_UP_TRIES = 250;
/** How long a known leader is trusted without a watch firing. */
const REFRESH_MS = 5_000;

interface Connection {
  readonly info: LeaderInfo;
  readonly sock: Dealer;
  /** Waiting transactions: their answer, and whether their send began (if not, it never will: the
   * leader cannot have it). */
  readonly pending: Map<string, { done: (r: RelayReply | undefined) => void; started: boolean }>;
  sending: Promise<unknown>;
  /** A send failed or the endpoint refused: later requests on it are sent back at once. */
  dead: boolean;
}

export class RelayClient {
  private leader: LeaderInfo | undefined;
  private readAt = 0;
  private reading: Promise<void> | undefined;
  private conn: Connection | undefined;
  private avoidUntil = 0;
  /** The highest position the leader answered this handle with, and the highest its session saw. */
  private mustSee = 0;
  private seen = 0;
  private closed = false;
  /** Whether a watch on the leader znode is set (a new session has none). */
  private readonly watch = { armed: false };
  private readonly unsubscribe: () => void;
  /** Transactions relayed, committed locally, and decided by a fence (counters for tests and benchmarks). */
  readonly stats = { relayed: 0, local: 0, fenced: 0, recovered: 0 };

  constructor(
    private readonly zk: ZkSession,
    private readonly root: string,
    /** The handle's log: its changes (to answer a transaction the leader committed unanswered), its
     * head (read through this handle's own session), and `poke` (wakes this handle's watches). */
    private readonly changeLog: Pick<ChangeLog, 'since' | 'head' | 'poke'>,
    private readonly log: Logger,
    /** The leader of this same handle, if it volunteers (its own transactions stay local). */
    private readonly self?: () => string | undefined,
  ) {
    this.unsubscribe = zk.onSession(() => {
      this.watch.armed = false;
      this.readAt = 0;
    });
  }

  /** Commits `ops` through the leader when there is one, else through `local`. */
  async transact(ops: readonly Op[], local: (ops: readonly Op[]) => Promise<TxResult>): Promise<TxResult> {
    const info = Date.now() < this.avoidUntil || this.closed ? undefined : await this.current();
    if (!info || info.token === this.self?.() || !relayable(ops)) {
      this.stats.local++;
      return local(ops);
    }
    const txid = randomUUID();
    const bucket = bucketOf(Date.now());
    const reply = await this.request(info, txid, bucket, ops);
    if (reply && 'ok' in reply) {
      this.stats.relayed++;
      this.mustSee = Math.max(this.mustSee, reply.ok.position);
      this.changeLog.poke();
      return reply.ok;
    }
    if (reply && 'err' in reply) {
      this.stats.relayed++;
      throw errorOf(reply.err);
    }
    if (reply) {
      // Sent back untried: the leader will not commit it.
      this.log.debug({ why: reply.back }, 'commit relay: sent back');
      this.stats.local++;
      return local(ops);
    }
    this.avoidUntil = Date.now() + AVOID_MS;
    this.readAt = 0;
    return this.decide(txid, bucket, ops, local);
  }

  /**
   * Waits until this handle's own ZooKeeper session has seen every commit the leader answered it for
   * (the leader committed on its own session; a follower this one reads from may lag), so what is
   * read next through this handle includes those writes, as after a local commit. Reads call it;
   * writes need not (a plan on an older head fails its version check and is made again).
   */
  async settle(): Promise<void> {
    const want = this.mustSee;
    if (want <= this.seen) return;
    for (let i = 0; i < CATCH_UP_TRIES; i++) {
      const seq = (await this.changeLog.head()).seq;
      if (seq >= want) {
        this.seen = Math.max(this.seen, seq);
        return;
      }
      await sleep(2);
    }
  }

  /** The leader now (cached; refreshed by a watch, after failures, and every REFRESH_MS). */
  private async current(): Promise<LeaderInfo | undefined> {
    if (Date.now() - this.readAt >= REFRESH_MS) {
      this.reading ??= this.read().finally(() => (this.reading = undefined));
      await this.reading;
    }
    return this.leader;
  }

  private async read(): Promise<void> {
    try {
      this.leader = (await readLeader(this.zk, this.root, this.watch, () => (this.readAt = 0)))?.info;
    } catch (e) {
      this.log.debug({ err: e }, 'commit relay: cannot read the leader znode');
      this.leader = undefined;
    }
    this.readAt = Date.now();
  }

  /** Sends one request; the answer, or undefined when none came (timeout, connection lost). */
  private request(
    info: LeaderInfo,
    txid: string,
    bucket: number,
    ops: readonly Op[],
  ): Promise<RelayReply | undefined> {
    const c = this.connect(info);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), REPLY_MS);
      const done = (r: RelayReply | undefined) => {
        clearTimeout(timer);
        c.pending.delete(txid);
        resolve(r);
      };
      const entry = { done, started: false };
      c.pending.set(txid, entry);
      c.sending = c.sending
        .then(async () => {
          if (c.dead) throw new Error('no connection to the leader');
          entry.started = true; // from here on the leader may have it: only a fence decides
          await c.sock.send([info.token, encode({ txid, bucket, ops })]);
        })
        .catch((e: unknown) => {
          // Not queued (no connection to the leader within the send timeout): it cannot have it.
          this.log.debug({ err: e }, 'commit relay: send failed');
          this.unreachable(c);
          done({ txid, back: `send failed: ${(e as Error).message}` });
        });
    });
  }

  /** The socket to `info`'s endpoint (a new one when the leader changed). */
  private connect(info: LeaderInfo): Connection {
    if (this.conn && this.conn.info.token === info.token) return this.conn;
    this.drop();
    const sock = retryInterrupted(
      () => new Dealer({ linger: 0, immediate: true, sendTimeout: 1000, receiveHighWaterMark: 100000 }),
    );
    retryInterrupted(() => sock.connect(info.endpoint));
    const c: Connection = { info, sock, pending: new Map(), sending: Promise.resolve(), dead: false };
    let connected = false;
    sock.events.on('connect', () => (connected = true));
    // Refused before it ever connected (a dead leader whose znode its expiring session still holds):
    // nothing left, so what waits is sent back at once instead of after the send timeout.
    sock.events.on('connect:retry', () => {
      if (!connected) this.unreachable(c);
    });
    sock.events.on('disconnect', () => {
      if (this.conn !== c) return;
      this.drop(); // every waiting transaction that was sent is decided by its fence
    });
    void (async () => {
      try {
        for await (const [body] of sock) {
          if (!body) continue;
          const r = decode<RelayReply>(body);
          c.pending.get(r.txid)?.done(r);
        }
      } catch {
        /* closed */
      }
    })();
    this.conn = c;
    return c;
  }

  /** The leader at `c` cannot be reached: commit locally for a while, then look for the leader again. */
  private unreachable(c: Connection): void {
    c.dead = true;
    this.avoidUntil = Date.now() + AVOID_MS;
    this.readAt = 0;
    if (this.conn === c) this.drop();
  }

  /** Forgets the connection; its waiting transactions whose send began get no answer (their writers
   * decide by a fence), the others are sent back (the leader cannot have them). */
  private drop(): void {
    const c = this.conn;
    if (!c) return;
    this.conn = undefined;
    this.readAt = 0;
    c.dead = true;
    for (const [txid, p] of [...c.pending])
      p.done(p.started ? undefined : { txid, back: 'the connection to the leader is gone' });
    c.sock.close();
  }

  /** Decides a transaction the leader did not answer: fence and commit locally, or the leader's result. */
  private async decide(
    txid: string,
    bucket: number,
    ops: readonly Op[],
    local: (ops: readonly Op[]) => Promise<TxResult>,
  ): Promise<TxResult> {
    if (Date.now() - bucket * BUCKET_MS > DECIDE_MS)
      throw new StoreError(
        'unavailable',
        `relayed transaction ${txid}: no answer, and too late to tell whether it was committed`,
      );
    const path = markerPath(this.root, bucket, txid);
    try {
      await this.zk.mkdirp(bucketPath(this.root, bucket));
      await this.zk.create(path, FENCE);
    } catch (e) {
      if (!(e instanceof ZkError && e.code === 'node-exists'))
        throw new StoreError(
          'unavailable',
          `relayed transaction ${txid}: cannot tell whether it was committed: ${(e as Error).message}`,
        );
      return this.recover(txid, path);
    }
    this.stats.fenced++;
    this.log.info({ txid }, 'commit relay: no answer from the leader; committing locally');
    return local(ops);
  }

  /** The answer for a transaction the leader committed (its marker exists). */
  private async recover(txid: string, path: string): Promise<TxResult> {
    const node = await this.zk.get(path);
    const m = node && decode<Partial<MarkerData>>(node.data);
    if (!m || m.s === undefined || m.n === undefined || !m.r)
      throw new StoreError('unavailable', `relayed transaction ${txid}: its marker is not a commit`);
    const changes = await this.changeLog.since(m.s - 1, m.n);
    if (changes.length !== m.n || changes[0]!.seq !== m.s)
      throw new StoreError(
        'unavailable',
        `relayed transaction ${txid}: committed at ${m.s}, its changes are no longer in the log`,
      );
    this.stats.recovered++;
    return { position: changes.at(-1)!.seq, results: m.r, changes };
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.drop();
  }
}
