/**
 * A TopologyStore that is a client of midonet-api: what `midonet-cli --api URL --token T` and the CNI
 * plugin use instead of opening the store themselves. Reads map to the object, snapshot, feed and
 * liveness routes; every write is one POST /v1/transactions, so it runs through the API's transaction
 * planner exactly as a direct write would, and a refusal comes back as the same StoreError (code,
 * message, issues), so the CLI prints the same line either way.
 *
 * What only agents and routers do (heartbeats, learned MAC/ARP state, leader election) is not served
 * by the API: those calls fail with 'unavailable' saying so.
 *
 * Invariant: a response the API did not give as JSON, a refused token, or an unreachable server is a
 * StoreError('unavailable') naming the URL; `watch` delivers each change once, in order, reconnecting
 * from the last position it delivered when the stream breaks.
 */
import { quote } from '../quote.js';
import { StoreError, type ErrorIssue, type StoreErrorCode } from '../state/errors.js';
import type { ApiToken, Kind, Obj, TokenRole } from '../state/model.js';
import type {
  Campaign,
  Change,
  HostLiveness,
  LearnedChange,
  LearnedWatch,
  Op,
  Referrer,
  Snapshot,
  TopologyStore,
  TxResult,
  Watch,
  WatchHandlers,
} from '../state/store.js';
import { kindFiltered } from '../state/store.js';
import { StoreBase } from '../state/store-base.js';
import { KIND_PATHS } from './kinds.js';
import type { WireError } from './errors.js';

const STORE_CODES = new Set<StoreErrorCode>([
  'invalid',
  'not-found',
  'exists',
  'conflict',
  'referenced',
  'exhausted',
  'unavailable',
  'position-gone',
]);

function pathOf(kind: Kind): string {
  if (kind === 'api-token')
    throw new StoreError(
      'invalid',
      'api-token objects are served by /v1/tokens only (midonet-cli token ...)',
    );
  return `/v1/${KIND_PATHS[kind]}`;
}

export class HttpStore extends StoreBase implements TopologyStore {
  readonly url: string;
  private readonly base: string;
  private readonly streams = new Set<AbortController>();
  private closed = false;

  constructor(
    apiUrl: string,
    private readonly token: string,
  ) {
    super();
    this.base = apiUrl.replace(/\/+$/, '');
    this.url = this.base;
    if (!/^https?:\/\/[^/]+/.test(this.base))
      throw new StoreError(
        'unavailable',
        `API URL ${quote(apiUrl)}: expected http://HOST:PORT or https://HOST:PORT`,
      );
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, accept: 'application/json', ...extra };
  }

  /** One request; JSON in, JSON out; an error answer becomes the StoreError it stands for. */
  async request<T>(method: string, path: string, body?: unknown, notFound?: T): Promise<T> {
    if (this.closed) throw new StoreError('unavailable', `${this.url}: the store is closed`);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: this.headers(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new StoreError('unavailable', `${this.url}: cannot reach midonet-api: ${cause}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StoreError('unavailable', `${this.url}${path}: HTTP ${res.status} without a JSON body`);
    }
    if (res.ok) return json as T;
    if (res.status === 404 && notFound !== undefined) return notFound;
    const err = (json as { error?: WireError }).error;
    if (!err) throw new StoreError('unavailable', `${this.url}${path}: HTTP ${res.status}`);
    const code = STORE_CODES.has(err.code as StoreErrorCode) ? (err.code as StoreErrorCode) : 'unavailable';
    const message =
      code === 'unavailable' && err.code !== 'unavailable'
        ? `midonet-api ${this.url}: ${err.message}`
        : err.message;
    const issues: ErrorIssue[] | undefined = err.issues?.map((i) => ({
      field: i.field,
      ...(i.value !== undefined ? { value: i.value } : {}),
      message: i.allowed,
    }));
    throw new StoreError(code, message, issues);
  }

  // ---- reads ---------------------------------------------------------------------------------------

  async get<K extends Kind>(kind: K, id: string): Promise<Obj<K> | undefined> {
    const r = await this.request<Obj<K> | null>(
      'GET',
      `${pathOf(kind)}/${encodeURIComponent(id)}`,
      undefined,
      null,
    );
    return r === null || r.id !== id ? undefined : r;
  }

  resolve<K extends Kind>(kind: K, ref: string): Promise<Obj<K>> {
    return this.request<Obj<K>>('GET', `${pathOf(kind)}/${encodeURIComponent(ref)}`);
  }

  async list<K extends Kind>(kind: K, filter?: { readonly refersTo?: string }): Promise<Obj<K>[]> {
    const out: Obj<K>[] = [];
    let after: string | null = null;
    do {
      const q = new URLSearchParams();
      if (filter?.refersTo !== undefined) q.set('refersTo', filter.refersTo);
      if (after !== null) q.set('after', after);
      const qs = q.toString();
      const page: { items: Obj<K>[]; next: string | null } = await this.request(
        'GET',
        `${pathOf(kind)}${qs ? `?${qs}` : ''}`,
      );
      out.push(...page.items);
      after = page.next;
    } while (after !== null);
    return out;
  }

  referrers(id: string): Promise<Referrer[]> {
    return this.request('GET', `/v1/referrers/${encodeURIComponent(id)}`);
  }

  snapshot(): Promise<Snapshot> {
    return this.request('GET', '/v1/snapshot');
  }

  async position(): Promise<number> {
    return (await this.request<{ position: number }>('GET', '/v1/position')).position;
  }

  async changesSince(from: number, limit = 1000): Promise<Change[]> {
    const r = await this.request<{ changes: Change[] }>(
      'GET',
      `/v1/changes?from=${from}&limit=${Math.min(limit, 10000)}`,
    );
    return r.changes;
  }

  liveness(): Promise<HostLiveness[]> {
    return this.request('GET', '/v1/liveness');
  }

  // ---- writes --------------------------------------------------------------------------------------

  transact(ops: readonly Op[]): Promise<TxResult> {
    return this.request('POST', '/v1/transactions', { ops });
  }

  /** Token administration through the API (admin tokens only). */
  readonly tokens = {
    create: (name: string, role: TokenRole) =>
      this.request<Omit<ApiToken, 'secretHash'> & { token: string }>('POST', '/v1/tokens', { name, role }),
    list: () => this.request<Array<Omit<ApiToken, 'secretHash'>>>('GET', '/v1/tokens'),
    delete: (ref: string) =>
      this.request<{ deleted: Array<{ kind: Kind; id: string; name: string | null }> }>(
        'DELETE',
        `/v1/tokens/${encodeURIComponent(ref)}`,
      ),
  };

  // ---- the feed ------------------------------------------------------------------------------------

  watch(from: number, given: WatchHandlers): Watch {
    const handlers = kindFiltered(given);
    const ctl = new AbortController();
    this.streams.add(ctl);
    let last = from;
    let stopped = false;
    const stop = () => {
      stopped = true;
      ctl.abort();
      this.streams.delete(ctl);
    };
    const fail = (e: Error) => {
      if (stopped) return;
      stop();
      handlers.onError?.(e);
    };
    const follow = async (): Promise<void> => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          const res = await fetch(`${this.base}/v1/feed?from=${last}`, {
            headers: this.headers({ accept: 'application/x-ndjson' }),
            signal: ctl.signal,
          });
          if (!res.ok || !res.body) {
            const j = (await res.json().catch(() => ({}))) as { error?: WireError };
            const code = res.status === 410 ? 'position-gone' : 'unavailable';
            return fail(
              new StoreError(code, `${this.url}/v1/feed: ${j.error?.message ?? `HTTP ${res.status}`}`),
            );
          }
          attempt = 0;
          let buf = '';
          const decoder = new TextDecoder();
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            buf += decoder.decode(chunk, { stream: true });
            const lines = buf.split('\n');
            buf = lines.pop()!;
            const batch: Change[] = [];
            for (const line of lines) {
              if (line.trim() === '') continue;
              const msg = JSON.parse(line) as Change | { error: WireError };
              if ('error' in msg) {
                const code = STORE_CODES.has(msg.error.code as StoreErrorCode)
                  ? (msg.error.code as StoreErrorCode)
                  : 'unavailable';
                return fail(new StoreError(code, msg.error.message));
              }
              if (msg.seq > last) batch.push(msg);
            }
            if (batch.length > 0 && !stopped) {
              last = batch.at(-1)!.seq;
              handlers.onChanges(batch);
            }
          }
        } catch (e) {
          if (stopped) return;
          if (attempt >= 20)
            return fail(new StoreError('unavailable', `${this.url}/v1/feed: ${(e as Error).message}`));
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(attempt, 6))));
      }
    };
    void follow();
    return { close: stop };
  }

  // ---- what only agents and routers do -------------------------------------------------------------

  private notServed(what: string): StoreError {
    return new StoreError(
      'unavailable',
      `${what} is not served by midonet-api: agents and routers use the store directly`,
    );
  }

  heartbeat(): Promise<void> {
    return Promise.reject(this.notServed('heartbeat'));
  }

  goodbye(): Promise<void> {
    return Promise.reject(this.notServed('goodbye'));
  }

  learn(): Promise<void> {
    return Promise.reject(this.notServed('learned state'));
  }

  watchLearned(
    _from: number,
    handlers: { onEntries: (entries: readonly LearnedChange[]) => void; onError?: (e: Error) => void },
  ): LearnedWatch {
    queueMicrotask(() => handlers.onError?.(this.notServed('learned state')));
    return { close: () => undefined, addDevices: () => undefined, dropDevices: () => undefined };
  }

  campaign(): Promise<Campaign> {
    return Promise.reject(this.notServed('leader election'));
  }

  close(): Promise<void> {
    this.closed = true;
    for (const c of this.streams) c.abort();
    this.streams.clear();
    return Promise.resolve();
  }
}
