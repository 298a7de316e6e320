/**
 * Opens a TopologyStore from a store URL, the one place that knows the URL schemes:
 *   sqlite:/var/lib/midonet/state.db   the embedded backend (default), a path absolute or relative
 *   cassandra://127.0.0.1:9042?zk=127.0.0.1:2181&rf=1   the distributed backend (Cassandra + ZooKeeper)
 *   memory:NAME                        an in-memory store (tests); `memory:` alone is a fresh one
 * Every scheme takes the change-log retention parameters `retain=N` and `retainSeconds=S`
 * (retention.ts), e.g. sqlite:/var/lib/midonet/state.db?retain=50000.
 *
 * `busyTimeoutMs` (SQLite only) is how long a write waits for another process's write lock before it
 * fails: better-sqlite3 waits synchronously, so a daemon whose event loop carries packets (the agent)
 * asks for a short one and retries its writes itself, rather than stopping for the default 10 s.
 *
 * Invariant: an unknown scheme or an unusable location is a StoreError('unavailable') naming the URL
 * and what is allowed, never a crash.
 */
import type { Logger } from 'pino';
import { parseCassandraUrl, type RelayMode } from './cassandra-url.js';
import { StoreError } from './errors.js';
import { MemoryStore } from './memory-store.js';
import { parseRetention } from './retention.js';
import { SqliteStore } from './sqlite-store.js';
import type { TopologyStore } from './store.js';
import { quote } from '../quote.js';

export const DEFAULT_STORE_URL = 'sqlite:/var/lib/midonet/state.db';

export interface OpenOptions {
  /** SQLite: how long a write waits for the write lock (ms; default 10,000). */
  readonly busyTimeoutMs?: number;
  /** SQLite: the file must exist already (an agent that ran before treats a missing file as the store gone). */
  readonly mustExist?: boolean;
  /** Cassandra: the commit relay's mode when the URL has no `relay` parameter (cassandra-url.ts):
   * midonet-api passes `lead`, midonet-router `standby`; default `use`. */
  readonly relay?: RelayMode;
  /** Cassandra: where the commit relay logs (default: warnings and errors to stderr). */
  readonly logger?: Logger;
}

const SCHEMES = `sqlite:PATH (e.g. ${DEFAULT_STORE_URL}), cassandra://HOST:PORT?zk=HOST:PORT (e.g. cassandra://127.0.0.1:9042?zk=127.0.0.1:2181&rf=1), memory:[NAME]`;

/** What a store URL names, checked in full (nothing opened or contacted). */
type StoreLocation =
  | { readonly scheme: 'sqlite'; readonly path: string; readonly retention: ReturnType<typeof query> }
  | {
      readonly scheme: 'memory';
      readonly name: string | undefined;
      readonly retention: ReturnType<typeof query>;
    }
  | { readonly scheme: 'cassandra' };

function locate(url: string, bad: (why: string) => never): StoreLocation {
  const m = /^([a-z]+):([^?]*)(?:\?(.*))?$/.exec(url);
  if (m?.[1] === 'sqlite') {
    const path = m[2]!.replace(/^\/\/(?=\/)/, '');
    if (path === '') bad("no file path after 'sqlite:'");
    return { scheme: 'sqlite', path, retention: query(m[3], bad) };
  }
  if (m?.[1] === 'memory') {
    const name = m[2]!;
    if (name !== '' && !/^[A-Za-z0-9_.-]{1,128}$/.test(name))
      bad('a memory store name is letters, digits, _ . - (at most 128)');
    return { scheme: 'memory', name: name === '' ? undefined : name, retention: query(m[3], bad) };
  }
  if (m?.[1] === 'cassandra') {
    parseCassandraUrl(url);
    return { scheme: 'cassandra' };
  }
  return bad(`unknown scheme; allowed: ${SCHEMES}`);
}

/**
 * What is wrong with a store URL, in the words openStore would refuse it with, or undefined when it
 * is a URL openStore takes; the configuration files check their `store` with it, so a daemon given a
 * wrong URL stops before it makes anything.
 */
export function storeUrlProblem(url: string): string | undefined {
  try {
    locate(url, (why) => {
      throw new StoreError('unavailable', why);
    });
    return undefined;
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
    return e.message.replace(/^store URL '(?:[^'\\]|\\.)*'(?: \(\d+ characters\))?: /, '');
  }
}

export async function openStore(url: string, opts: OpenOptions = {}): Promise<TopologyStore> {
  const bad = (why: string): never => {
    throw new StoreError('unavailable', `store URL ${quote(url)}: ${why}`);
  };
  const at = locate(url, bad);
  switch (at.scheme) {
    case 'sqlite':
      return new SqliteStore(at.path, {
        retention: at.retention,
        ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}),
        ...(opts.mustExist === true ? { mustExist: true } : {}),
      });
    case 'memory':
      return new MemoryStore(url, at.name, at.retention);
    case 'cassandra': {
      // Loaded only when used: the drivers cost start-up time every CLI call would otherwise pay.
      const { CassandraStore } = await import('./cassandra-store.js');
      return CassandraStore.open(url, {
        ...(opts.relay ? { relay: opts.relay } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      });
    }
  }
}

/** The retention parameters of a URL's query; any other parameter is refused. */
function query(q: string | undefined, bad: (why: string) => never): ReturnType<typeof parseRetention> {
  const params = new URLSearchParams(q ?? '');
  for (const k of params.keys())
    if (k !== 'retain' && k !== 'retainSeconds')
      bad(`unknown parameter ${quote(k)}; allowed: retain, retainSeconds`);
  return parseRetention(params, bad);
}
