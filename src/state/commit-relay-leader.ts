/**
 * The commit relay's leader: a long-lived store handle (API server, router daemon, agent, when its
 * store URL says `relay=lead`) that commits the transactions of other handles through its own commit
 * loop, so writers in separate processes share its grouped, pipelined commits (cassandra-group.ts,
 * cassandra-pipeline.ts) instead of taking turns on `head`.
 *
 * Election: the volunteers race to create the ephemeral znode `relay/leader` holding the leader's
 * endpoint and a token (the simplest ZooKeeper election: one node, its owner leads; it goes with the
 * owner's session). The others watch it and race again when it is gone. A standby volunteer
 * (`relay=standby`, the router daemon) leads only while no preferred one (`relay=lead`, the API
 * server, each registered as an ephemeral `relay/candidates/<token>`) is up: it does not race while
 * one is registered, and steps down (removes its leader znode) when one registers, so the busiest
 * writer's own transactions stay local whenever it runs. Requests come on a ZeroMQ
 * ROUTER socket (plain TCP; the token, readable only by those who can read the store's znodes,
 * admits a request: the relay lets in exactly who could write to ZooKeeper and Cassandra directly).
 * The leader also removes marker buckets older than SWEEP_MS (commit-relay-wire.ts).
 *
 * Invariant: leadership is only where writers send; correctness never rests on it. A relayed
 * transaction is committed only by the leader's multi-op that also creates its marker, so a stale
 * leader, two leaders, or a writer that gave up and committed itself can never apply it twice
 * (commit-relay-wire.ts); a transaction whose bucket is older than ACCEPT_MS is sent back untried.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Router } from 'zeromq';
import { retryInterrupted } from '../control/zmq-interrupted.js';
import {
  ACCEPT_MS,
  BUCKET_MS,
  SWEEP_MS,
  bucketPath,
  candidatesPath,
  decode,
  encode,
  errorReply,
  leaderPath,
  markerPath,
  markersPath,
  readLeader,
  type LeaderInfo,
  type RelayReply,
  type RelayRequest,
} from './commit-relay-wire.js';
import type { Op, TxResult } from './store.js';
import { ZkError, zkPath, type ZkSession } from './zk.js';

/** How often a volunteer checks the leader znode without a watch firing, and the sweep period. */
const POLL_MS = 2_000;
const SWEEP_EVERY_MS = 10_000;

/** Commits a relayed transaction through the leader's own commit loop. */
export type RelayedTransact = (
  ops: readonly Op[],
  relay: { readonly txid: string; readonly marker: string },
) => Promise<TxResult>;

export class RelayLeader {
  private sock: Router | undefined;
  private info: LeaderInfo | undefined;
  private closed = false;
  private leading = false;
  private wake: (() => void) | undefined;
  private readonly buckets = new Set<number>();
  private sending: Promise<unknown> = Promise.resolve();
  private sweptAt = 0;
  private loop: Promise<void> | undefined;
  /** Whether a watch on the leader znode is set (polling covers a new session's lost watches). */
  private readonly watch = { armed: false };
  /** Relayed transactions taken, and sent back untried (counters for tests and benchmarks). */
  readonly stats = { relayed: 0, sentBack: 0 };

  constructor(
    private readonly zk: ZkSession,
    private readonly root: string,
    /** The address to bind and publish (an IP address or host name others can reach). */
    private readonly host: string,
    private readonly transact: RelayedTransact,
    private readonly log: Logger,
    /** A standby volunteer: leads only while no preferred one is registered. */
    private readonly standby = false,
  ) {}

  /** Binds the socket and starts volunteering. */
  async start(): Promise<void> {
    const sock = retryInterrupted(() => new Router({ linger: 0, receiveHighWaterMark: 100000 }));
    await sock.bind(`tcp://${this.host}:0`);
    this.sock = sock;
    this.info = {
      endpoint: sock.lastEndpoint!.replace(/^tcp:\/\/[^:]+:/, `tcp://${this.host}:`),
      token: randomBytes(16).toString('hex'),
      pid: process.pid,
    };
    void this.serve(sock);
    this.loop = this.volunteer();
  }

  /** This leader's token (a writer handle in the same process sends nothing to itself). */
  get token(): string | undefined {
    return this.info?.token;
  }

  /** Whether this handle leads now (as far as its last look at the znode tells). */
  get isLeader(): boolean {
    return this.leading;
  }

  private async volunteer(): Promise<void> {
    await this.zk.mkdirp(markersPath(this.root)).catch(() => undefined);
    await this.zk.mkdirp(candidatesPath(this.root)).catch(() => undefined);
    while (!this.closed) {
      try {
        const node = await readLeader(this.zk, this.root, this.watch, () => this.wake?.());
        const yielding = this.standby && (await this.preferredUp());
        if (!this.standby) await this.register();
        if (!node && !yielding) {
          await this.zk.create(leaderPath(this.root), encode(this.info!), 'ephemeral').catch((e: unknown) => {
            if (!(e instanceof ZkError && e.code === 'node-exists')) throw e;
          });
          continue; // look again: ours, or the one that won
        }
        this.setLeading(node?.info.token === this.info!.token);
        if (this.leading && yielding) {
          await this.resign();
          continue;
        }
        if (this.leading && Date.now() - this.sweptAt >= SWEEP_EVERY_MS) {
          this.sweptAt = Date.now();
          await this.sweep().catch((e: unknown) => this.log.warn({ err: e }, 'commit relay: sweep failed'));
        }
      } catch (e) {
        if (this.closed) break;
        this.log.warn({ err: e }, 'commit relay: cannot read or take the leader znode');
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.log.info({ endpoint: this.info!.endpoint, leading, standby: this.standby }, 'commit relay');
  }

  /** A preferred volunteer's registration (ephemeral: a new session makes it again). */
  private async register(): Promise<void> {
    const path = zkPath(candidatesPath(this.root), this.info!.token);
    if (await this.zk.exists(path)) return;
    await this.zk.create(path, Buffer.alloc(0), 'ephemeral').catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'node-exists')) throw e;
    });
  }

  /** Whether a preferred volunteer is registered. */
  private async preferredUp(): Promise<boolean> {
    return ((await this.zk.children(candidatesPath(this.root))) ?? []).length > 0;
  }

  /** Removes the leader znode if it is still this handle's (its version read with its token). */
  private async resign(): Promise<void> {
    const node = await this.zk.get(leaderPath(this.root));
    if (node && decode<LeaderInfo>(node.data).token === this.info!.token)
      await this.zk
        .multi([{ op: 'remove', path: leaderPath(this.root), version: node.version }])
        .catch(() => undefined);
    this.setLeading(false);
  }

  private async serve(sock: Router): Promise<void> {
    try {
      for await (const [route, token, body] of sock) {
        if (!route || !token || !body) continue;
        let req: RelayRequest;
        try {
          req = decode<RelayRequest>(body);
        } catch {
          continue; // not one of ours
        }
        if (this.closed) {
          this.reply(route, { txid: req.txid, back: 'the leader is closing' });
          continue;
        }
        if (token.toString() !== this.info!.token) {
          this.reply(route, { txid: req.txid, back: 'the relay token does not match' });
          continue;
        }
        void this.handle(route, req);
      }
    } catch (e) {
      if (!this.closed) this.log.warn({ err: e }, 'commit relay: socket failed');
    }
  }

  private async handle(route: Buffer, req: RelayRequest): Promise<void> {
    const age = Date.now() - req.bucket * BUCKET_MS;
    if (age > ACCEPT_MS || age < -ACCEPT_MS) {
      this.stats.sentBack++;
      this.reply(route, { txid: req.txid, back: `bucket ${req.bucket} is not current on the leader` });
      return;
    }
    try {
      if (!this.buckets.has(req.bucket)) {
        await this.zk.mkdirp(bucketPath(this.root, req.bucket));
        this.buckets.add(req.bucket);
      }
    } catch (e) {
      this.stats.sentBack++;
      this.reply(route, { txid: req.txid, back: `cannot make the marker bucket: ${(e as Error).message}` });
      return;
    }
    this.stats.relayed++;
    let reply: RelayReply;
    try {
      const ok = await this.transact(req.ops, {
        txid: req.txid,
        marker: markerPath(this.root, req.bucket, req.txid),
      });
      reply = { txid: req.txid, ok };
    } catch (e) {
      reply = errorReply(req.txid, e);
    }
    this.reply(route, reply);
  }

  /** Sends one answer; a ROUTER socket takes one send at a time. */
  private reply(route: Buffer, r: RelayReply): void {
    const sock = this.sock;
    if (!sock) return;
    this.sending = this.sending.then(() => sock.send([route, encode(r)])).catch(() => undefined); // the writer is gone: it decides on its own
  }

  /** Removes marker buckets older than SWEEP_MS, their markers first. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const name of (await this.zk.children(markersPath(this.root))) ?? []) {
      const bucket = Number(name);
      if (!Number.isInteger(bucket) || now - bucket * BUCKET_MS < SWEEP_MS) continue;
      const dir = bucketPath(this.root, bucket);
      const kids = (await this.zk.children(dir)) ?? [];
      for (let i = 0; i < kids.length; i += 500)
        await this.zk.multi(
          kids.slice(i, i + 500).map((k) => ({ op: 'remove', path: zkPath(dir, k) }) as const),
        );
      await this.zk.multi([{ op: 'remove', path: dir }]).catch(() => undefined);
      this.buckets.delete(bucket);
    }
  }

  /** Stops leading (the znode is removed); new requests are sent back untried. */
  async stop(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
    if (!this.standby && this.info)
      await this.zk
        .multi([{ op: 'remove', path: zkPath(candidatesPath(this.root), this.info.token) }])
        .catch(() => undefined);
    if (this.leading) await this.resign().catch(() => undefined);
    this.leading = false;
  }

  /** After `stop` and once the handle's commits are answered: sends what is owed, closes the socket. */
  async close(): Promise<void> {
    await this.stop();
    await this.sending;
    this.sock?.close();
    this.sock = undefined;
  }
}
