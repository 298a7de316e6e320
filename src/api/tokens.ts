/**
 * Bearer tokens of midonet-api. A token is `mnt_<token id, 32 hex>_<secret, 43 base64url characters>`;
 * the store keeps an `api-token` object (name, role, SHA-256 of the whole token, creation time) and
 * never the token itself, which is shown once, when it is made.
 *
 * Why a kind of the store and not a table of its own: every backend (embedded, distributed, in-memory)
 * stores it with no new code, writes are atomic and unique by name through the same planner, and the
 * change feed tells every API process at once when a token is deleted. The front doors never return
 * the digest (the API's generic routes do not serve this kind; `token list` prints no digest).
 * The secret has 256 random bits, so a plain SHA-256 suffices: a digest cannot be turned back into a
 * token, and no slow password hash is needed for a value that was never guessable.
 *
 * Verifying hashes a token once: the index then remembers, by token id, the token it accepted with
 * the stored object it accepted it against, and accepts the same token again by comparing it with the
 * remembered one (in constant time), without hashing. The memory holds only while that very object is
 * the one the index holds: a change or delete from the feed (or `forget`) replaces or drops it, and the
 * next request hashes again against what is stored now.
 *
 * Invariant: `TokenIndex.verify` accepts a token only if an `api-token` object with its id exists and
 * its digest matches (compared in constant time) or it equals the token last accepted against that
 * same object; a deleted or changed token stops working as soon as the feed delivers the change to
 * this process, and at once when it was revoked through this process (`forget`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StoreError } from '../state/errors.js';
import type { ApiToken, TokenRole } from '../state/model.js';
import type { TopologyStore, Watch } from '../state/store.js';

const TOKEN_RE = /^mnt_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function idFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Makes a token and stores its digest; returns the stored object and the token (shown once). */
export async function createToken(
  store: TopologyStore,
  name: string,
  role: TokenRole,
  now: number,
): Promise<{ object: ApiToken; token: string }> {
  const id = idFromHex(randomBytes(16).toString('hex'));
  const token = `mnt_${id.replace(/-/g, '')}_${randomBytes(32).toString('base64url')}`;
  const object = await store.create(
    'api-token',
    { name, role, secretHash: digest(token), createdAt: now },
    { id },
  );
  return { object, token };
}

/** What may be shown of a token object: everything but the digest. */
export function publicToken(t: ApiToken): Omit<ApiToken, 'secretHash'> {
  const { secretHash: _secretHash, ...rest } = t;
  return rest;
}

/** Tokens by id, loaded at start and kept current by the store's change feed. */
export class TokenIndex {
  private readonly byId = new Map<string, ApiToken>();
  /** By token id: the token last accepted, and the object of `byId` it was accepted against. */
  private readonly accepted = new Map<string, { readonly object: ApiToken; readonly token: Buffer }>();
  /** Counts token changes from the feed and `forget`s: a read of the store that raced one is not kept. */
  private generation = 0;
  private watch: Watch | undefined;

  constructor(private readonly store: TopologyStore) {}

  async start(onError: (e: Error) => void): Promise<void> {
    const position = await this.store.position();
    for (const t of await this.store.list('api-token')) this.byId.set(t.id, t);
    this.watch = this.store.watch(position, {
      kinds: ['api-token'],
      onChanges: (cs) => {
        for (const c of cs) {
          this.generation++;
          this.accepted.delete(c.id);
          if (c.op === 'delete') this.byId.delete(c.id);
          else this.byId.set(c.id, c.object as ApiToken);
        }
      },
      onError,
    });
  }

  stop(): void {
    this.watch?.close();
  }

  /** Drops the token with this id (just deleted through this process): refused from now on. */
  forget(id: string): void {
    this.generation++;
    this.byId.delete(id);
    this.accepted.delete(id);
  }

  /** The token's object when the bearer token is valid; undefined otherwise. */
  async verify(token: string): Promise<ApiToken | undefined> {
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const id = idFromHex(m[1]!);
    let t = this.byId.get(id);
    if (t === undefined) {
      // Made a moment ago by another process, before the feed brought it here.
      const generation = this.generation;
      try {
        t = await this.store.get('api-token', id);
      } catch (e) {
        if (e instanceof StoreError && e.code === 'not-found') return undefined;
        throw e;
      }
      if (t === undefined) return undefined;
      if (generation !== this.generation) return this.matches(t, token) ? t : undefined;
      this.byId.set(id, t);
    }
    const given = Buffer.from(token);
    const seen = this.accepted.get(id);
    if (seen !== undefined && seen.object === t)
      return seen.token.length === given.length && timingSafeEqual(seen.token, given) ? t : undefined;
    if (!this.matches(t, token)) return undefined;
    this.accepted.set(id, { object: t, token: given });
    return t;
  }

  /** Whether `token` hashes to the digest `t` holds (compared in constant time). */
  private matches(t: ApiToken, token: string): boolean {
    const want = Buffer.from(t.secretHash, 'hex');
    const got = Buffer.from(digest(token), 'hex');
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
