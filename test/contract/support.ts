/**
 * What the contract suite's aspect files share: the fixture a backend provides, and helpers to expect
 * a StoreError and to collect watch deliveries.
 */
import assert from 'node:assert/strict';
import { StoreError } from '../../src/state/errors.js';
import type { Change, Snapshot, TopologyStore } from '../../src/state/store.js';

export interface StoreFixture {
  /** A fresh, empty store. */
  readonly store: TopologyStore;
  /** A URL another process can open the same store with (undefined: the backend lives in this process). */
  readonly url: string | undefined;
  /** A second handle on the same store, as another process would have. */
  reopen(): Promise<TopologyStore>;
  cleanup(): Promise<void>;
}

/**
 * Makes a fixture; `params` are store URL query parameters (e.g. {retain: '10'} for a store whose
 * change log keeps ten entries).
 */
export type FixtureFactory = (params?: Readonly<Record<string, string>>) => Promise<StoreFixture>;

/** A fixture on the store at `url` (opened with `open`); its cleanup closes it, then runs `after`. */
export async function fixtureAt(
  url: string,
  open: (url: string) => Promise<TopologyStore>,
  after: () => Promise<void> | void = () => undefined,
): Promise<StoreFixture> {
  const store = await open(url);
  return {
    store,
    url,
    reopen: () => open(url),
    cleanup: async () => {
      await store.close();
      await after();
    },
  };
}

export interface ContractContext {
  /** The fixture of the suite, made before the aspects run (one store for all of them). */
  fx(): StoreFixture;
  /** Makes another fixture (e.g. with a small retention); the aspect cleans it up. */
  readonly make: FixtureFactory;
  /** A name no other case of the run uses. */
  uniq(prefix: string): string;
}

export async function rejects(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

/** What a watch delivered, in order: changes, and snapshots when it resynced. */
export type Delivery = { readonly changes: readonly Change[] } | { readonly resync: Snapshot };

/** Collects watch deliveries until `n` changes arrived (or times out). */
export function collect(store: TopologyStore, from: number, n: number, timeoutMs = 10000): Promise<Change[]> {
  return new Promise((resolve, reject) => {
    const got: Change[] = [];
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`watch: got ${got.length} of ${n} changes in ${timeoutMs} ms`));
    }, timeoutMs);
    const w = store.watch(from, {
      onChanges: (cs) => {
        got.push(...cs);
        if (got.length >= n) {
          clearTimeout(timer);
          w.close();
          resolve(got);
        }
      },
      onError: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
  });
}
