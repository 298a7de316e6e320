/**
 * A promise wrapper over node-zookeeper-client, written once for the whole state layer: one
 * `ZkSession` per store handle, with typed results, typed errors and bounded waits.
 *
 * The client library has a callback API, one-shot watchers, and a session that dies for good when the
 * server expires it. This module turns that into:
 * - `get`/`children`/`exists` that return `undefined` for a missing node instead of throwing, with an
 *   optional one-shot watcher;
 * - `multi`, the atomic multi-op, throwing a ZkError whose `code` names the first failing op's reason;
 * - a session that replaces itself after expiry: a new client is made and connected, and every
 *   `onSession` listener runs so that owners re-create their ephemeral nodes and re-arm their
 *   watchers (ZooKeeper forgets both with the old session).
 *
 * Reads are answered by whichever server the session is on, which may lag the leader. After a
 * connection loss the client moves the session to another server no older than the last zxid it saw;
 * a session renewed after expiry starts from no zxid, so may land on a server behind what the old one
 * read. The library has no `sync`: a read that decides something (not a hint) is preceded by a write
 * on the session, which orders it after the leader's state (cassandra-commit.ts, `barrierOps`), and a
 * renewed session sends such a write (a check of `/`) before its listeners run, so what they read
 * again is no older than what the expired session had seen.
 *
 * Invariant: no call waits forever. A request that gets no answer within `opTimeoutMs` (the ensemble
 * is unreachable) fails with ZkError('connection-loss'); connecting fails after `connectTimeoutMs`.
 * Every error names the connection string, so a StoreError built from it says what could not be reached.
 */
import zookeeper from 'node-zookeeper-client';
import type { Client, Event, Stat } from 'node-zookeeper-client';

export type ZkErrorCode =
  | 'no-node'
  | 'node-exists'
  | 'bad-version'
  | 'not-empty'
  | 'connection-loss'
  | 'session-expired'
  | 'closed'
  | 'other';

export class ZkError extends Error {
  constructor(
    readonly code: ZkErrorCode,
    message: string,
    /** For a failed multi: the index of the op that failed, when known. */
    readonly opIndex?: number,
  ) {
    super(message);
    this.name = 'ZkError';
  }
}

export type ZkCreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

/** One op of an atomic multi-op. A version of -1 (the default) matches any version. */
export type ZkOp =
  | { readonly op: 'create'; readonly path: string; readonly data?: Buffer; readonly mode?: ZkCreateMode }
  | { readonly op: 'set'; readonly path: string; readonly data: Buffer; readonly version?: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number }
  | { readonly op: 'remove'; readonly path: string; readonly version?: number };

export interface ZkNode {
  readonly data: Buffer;
  /** The node's data version (bumped by every setData). */
  readonly version: number;
  /** Session id owning the node when ephemeral, else all zeros. */
  readonly ephemeralOwner: string;
}

export interface ZkSessionOptions {
  /** Requested session timeout (ms); the server clamps it to its min/max. */
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly opTimeoutMs?: number;
}

const MODES: Record<ZkCreateMode, number> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  'persistent-sequential': zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
  'ephemeral-sequential': zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

const EX = zookeeper.Exception as unknown as Record<string, number>;

function codeOf(e: unknown): ZkErrorCode {
  const c = (e as { code?: number } | null)?.code;
  switch (c) {
    case EX.NO_NODE:
      return 'no-node';
    case EX.NODE_EXISTS:
      return 'node-exists';
    case EX.BAD_VERSION:
      return 'bad-version';
    case EX.NOT_EMPTY:
      return 'not-empty';
    case EX.CONNECTION_LOSS:
    case EX.OPERATION_TIMEOUT:
      return 'connection-loss';
    case EX.SESSION_EXPIRED:
      return 'session-expired';
    default:
      return 'other';
  }
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

/** Joins path segments under a root: zkPath('/midonet', 'log', 'c-1') = '/midonet/log/c-1'. */
export function zkPath(root: string, ...parts: string[]): string {
  return [root.replace(/\/+$/, ''), ...parts].join('/');
}

export class ZkSession {
  protected client!: Client;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  /** Counts clients made; events of an older client than the current one are ignored. */
  protected generation = 0;
  private readonly sessionTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly opTimeoutMs: number;

  protected constructor(
    /** host:port[,host:port...] */
    readonly connect: string,
    opts: ZkSessionOptions,
  ) {
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10000;
    this.opTimeoutMs = opts.opTimeoutMs ?? 20000;
  }

  /** Connects a new session; fails with ZkError('connection-loss') when no server answers in time. */
  static async open(connect: string, opts: ZkSessionOptions = {}): Promise<ZkSession> {
    const s = new ZkSession(connect, opts);
    await s.start();
    return s;
  }

  protected start(extra: { sessionId?: Buffer; sessionPassword?: Buffer } = {}): Promise<void> {
    const client = zookeeper.createClient(this.connect, {
      sessionTimeout: this.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
      ...extra,
    });
    this.client = client;
    const gen = ++this.generation;
    client.on('expired', () => {
      if (this.closed || gen !== this.generation) return;
      client.close();
      void this.renew();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(
          new ZkError(
            'connection-loss',
            `ZooKeeper ${this.connect}: no server answered within ${this.connectTimeoutMs} ms`,
          ),
        );
      }, this.connectTimeoutMs);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
  }

  /** Makes a new session after expiry (retrying until the ensemble answers), then tells listeners. */
  protected async renew(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2000)) {
      try {
        await this.start();
      } catch {
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      // The session this loop made; if it expires too, its 'expired' handler starts another renewal,
      // which then owns the session: this loop stops without closing or announcing anything.
      const gen = this.generation;
      const client = this.client;
      try {
        await this.multi([{ op: 'check', path: '/', version: -1 }]);
      } catch {
        if (gen !== this.generation) return;
        client.close(); // the barrier found no server that answers; start again
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      if (gen !== this.generation) return;
      for (const l of [...this.listeners]) l();
      return;
    }
  }

  /** Runs `fn` each time a new session replaces an expired one. Returns an unsubscribe function. */
  onSession(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get sessionId(): string {
    return hex(this.client.getSessionId());
  }

  /** True while the client has a live connection to a server. */
  get connected(): boolean {
    return this.client.getState() === zookeeper.State.SYNC_CONNECTED;
  }

  private call<T>(what: string, path: string, fn: (cb: (e: unknown, v?: T) => void) => void): Promise<T> {
    if (this.closed)
      return Promise.reject(new ZkError('closed', `ZooKeeper ${this.connect}: session closed`));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(
          new ZkError(
            'connection-loss',
            `ZooKeeper ${this.connect}: ${what} ${path}: no answer within ${this.opTimeoutMs} ms`,
          ),
        );
      }, this.opTimeoutMs);
      fn((e, v) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (e) {
          const err = e as Error & { opIndex?: number };
          reject(
            new ZkError(codeOf(e), `ZooKeeper ${this.connect}: ${what} ${path}: ${err.message}`, err.opIndex),
          );
        } else resolve(v as T);
      });
    });
  }

  /** The node's data and version, or undefined when it does not exist. */
  async get(path: string, watcher?: (e: Event) => void): Promise<ZkNode | undefined> {
    try {
      return await this.call<ZkNode>('getData', path, (cb) => {
        const done = (e: unknown, data?: Buffer, stat?: Stat) =>
          cb(
            e,
            e
              ? undefined
              : {
                  data: data ?? Buffer.alloc(0),
                  version: stat!.version,
                  ephemeralOwner: hex(stat!.ephemeralOwner),
                },
          );
        if (watcher) this.client.getData(path, watcher, done);
        else this.client.getData(path, done);
      });
    } catch (e) {
      if (e instanceof ZkError && e.code === 'no-node') return undefined;
      throw e;
    }
  }

  async children(path: string, watcher?: (e: Event) => void): Promise<string[] | undefined> {
    try {
      return await this.call<string[]>('getChildren', path, (cb) => {
        const done = (e: unknown, ch?: string[]) => cb(e, ch);
        if (watcher) this.client.getChildren(path, watcher, done);
        else this.client.getChildren(path, done);
      });
    } catch (e) {
      if (e instanceof ZkError && e.code === 'no-node') return undefined;
      throw e;
    }
  }

  /** Whether the node exists; with a watcher, fires on its creation, change or deletion. */
  async exists(path: string, watcher?: (e: Event) => void): Promise<boolean> {
    const stat = await this.call<Stat | null>('exists', path, (cb) => {
      const done = (e: unknown, st?: Stat) => cb(e, st ?? null);
      if (watcher) this.client.exists(path, watcher, done);
      else this.client.exists(path, done);
    });
    return stat !== null;
  }

  /** Creates a node; returns its actual path (with the sequence suffix for sequential modes). */
  create(path: string, data: Buffer = Buffer.alloc(0), mode: ZkCreateMode = 'persistent'): Promise<string> {
    return this.call<string>('create', path, (cb) => this.client.create(path, data, MODES[mode], cb));
  }

  /** Sets data if the version matches (-1: any); returns the new version. */
  async set(path: string, data: Buffer, version = -1): Promise<number> {
    const stat = await this.call<Stat>('setData', path, (cb) => this.client.setData(path, data, version, cb));
    return stat.version;
  }

  remove(path: string, version = -1): Promise<void> {
    return this.call<void>('delete', path, (cb) => this.client.remove(path, version, (e) => cb(e)));
  }

  /** Creates a path and its missing parents (persistent, empty); an existing path is fine. */
  async mkdirp(path: string): Promise<void> {
    await this.call<string>('mkdirp', path, (cb) => this.client.mkdirp(path, cb));
  }

  /** Applies every op or none. The error names the first op that failed and why. */
  async multi(ops: readonly ZkOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.call<unknown>('multi', `(${ops.length} ops, first ${ops[0]!.path})`, (cb) => {
      const t = this.client.transaction();
      for (const o of ops) {
        switch (o.op) {
          case 'create':
            t.create(o.path, o.data ?? Buffer.alloc(0), MODES[o.mode ?? 'persistent']);
            break;
          case 'set':
            t.setData(o.path, o.data, o.version ?? -1);
            break;
          case 'check':
            t.check(o.path, o.version);
            break;
          case 'remove':
            t.remove(o.path, o.version ?? -1);
            break;
        }
      }
      t.commit((e, results) => {
        if (e && Array.isArray(results)) {
          const i = (results as Array<{ err?: number }>).findIndex(
            (r) => r.err !== undefined && r.err !== 0 && r.err !== EX.RUNTIME_INCONSISTENCY,
          );
          const err = e as Error & { opIndex?: number };
          if (i >= 0) {
            err.opIndex = i;
            err.message = `${err.message} at op ${i + 1} (${ops[i]!.op} ${ops[i]!.path})`;
          }
        }
        cb(e, results);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.client.close();
  }
}
