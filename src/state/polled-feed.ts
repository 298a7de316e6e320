/**
 * A feed of positioned items (changes, learned entries) that watchers follow from a position, for
 * backends whose log can be read synchronously (SQLite, memory). The backend gives a `FeedSource`;
 * the feed keeps the watchers' cursors, reads what each one has not seen in batches, and delivers it.
 * It reads when woken (after a commit through the same handle), on a signal (`signal`: a commit made
 * by another handle or process, commit-signal.ts) and, with `pollMs`, on a timer (for commits made
 * elsewhere; slower while the signal works).
 *
 * Invariants: each watcher gets every item after its position exactly once, in position order, one
 * batch at a time and never after `close()`; when the source no longer holds what follows a
 * watcher's position, the watcher resyncs (its `resync` handler says where it goes on from) or, with
 * no such handler, fails once with StoreError('position-gone'). A handler that throws ends only its
 * own watch (through `onError`). A watcher that reads for itself (`read`: a learned-state watch per
 * device, learned-scope.ts) or wants some keys only (`only`: a change watch of some kinds, read with
 * the source's `afterOnly` where it has one) gets what it reads, in the same way.
 */
import type { WakeSignal } from './commit-signal.js';
import { StoreError } from './errors.js';
import { WatcherSet } from './watcher-set.js';
import { kindFiltered } from './store.js';
import type { Change, Snapshot, Watch, WatchHandlers } from './store.js';

export interface FeedSource<T> {
  /** Position of the newest item (0 when there is none). */
  last(): number;
  /** Up to `limit` items after `cursor`, oldest first; 'gone' when items after `cursor` were removed. */
  after(cursor: number, limit: number): readonly T[] | 'gone';
  /** An item's position. */
  position(item: T): number;
  /**
   * Optional: up to `limit` items after `cursor` and at most at `upTo` whose key is one of `only`
   * (a watcher's `only`), oldest first; 'gone' as `after`. Without it such a watcher reads every item
   * and its `deliver` leaves out the others.
   */
  afterOnly?(cursor: number, upTo: number, limit: number, only: readonly string[]): readonly T[] | 'gone';
}

export interface FeedHandlers<T> {
  readonly deliver: (items: readonly T[]) => void;
  /**
   * A watcher that takes only some items reads them itself (instead of the source's `after`): up to
   * `limit` it wants after `cursor`, in position order. A shorter batch means none more up to the
   * source's `last`, which the cursor then moves to.
   */
  readonly read?: (cursor: number, limit: number) => readonly T[] | 'gone';
  /** Only items with one of these keys are wanted (read with the source's `afterOnly`, when it has one). */
  readonly only?: readonly string[];
  /** Called before each read of the watcher, with its position (a scoped watch's snapshots). */
  readonly catchUp?: (cursor: number) => void;
  /** Takes the whole state instead of the missing items; returns the position to go on from. */
  readonly resync?: () => number;
  readonly onError?: (e: Error) => void;
}

interface Watcher<T> {
  cursor: number;
  open: boolean;
  readonly handlers: FeedHandlers<T>;
}

const BATCH = 1000;

export class PolledFeed<T> {
  private readonly watchers: WatcherSet<Watcher<T>>;
  private closed = false;

  constructor(
    private readonly source: FeedSource<T>,
    /** What the feed is, for errors (e.g. "sqlite:/x.db: change feed"). */
    private readonly what: string,
    /** Read interval for items committed elsewhere; undefined: only when woken. */
    pollMs?: number,
    /** Says when another handle or process committed (the timer then runs at its fallback rate). */
    signal?: WakeSignal,
  ) {
    this.watchers = new WatcherSet(() => this.poll(), pollMs, signal);
  }

  /** Is the feed following a wake signal now (rather than polling at `pollMs`)? */
  get signalled(): boolean {
    return this.watchers.signalled;
  }

  watch(from: number, handlers: FeedHandlers<T>): Watch {
    if (this.closed) throw new StoreError('unavailable', `${this.what}: the store is closed`);
    return this.watchers.add({ cursor: from, open: true, handlers });
  }

  /** Reads soon (a commit through this handle just happened). */
  wake(): void {
    if (this.watchers.size > 0) setImmediate(() => this.poll());
  }

  private poll(): void {
    if (this.closed || this.watchers.size === 0) return;
    let last: number;
    try {
      last = this.source.last();
    } catch (e) {
      for (const w of [...this.watchers]) this.fail(w, e as Error);
      return;
    }
    for (const w of [...this.watchers]) {
      for (;;) {
        // Before every read: a device its handler added during the last delivery gets its snapshot up
        // to the cursor first, so the next read's entries of that device are not delivered twice.
        try {
          if (w.open) w.handlers.catchUp?.(w.cursor);
        } catch (e) {
          this.fail(w, e instanceof Error ? e : new Error(String(e)));
        }
        if (!w.open || w.cursor >= last) break;
        try {
          const only = this.source.afterOnly && w.handlers.only;
          const read =
            w.handlers.read ??
            (only ? (c: number, n: number) => this.source.afterOnly!(c, last, n, only) : undefined);
          const batch = read ? read(w.cursor, BATCH) : this.source.after(w.cursor, BATCH);
          if (batch === 'gone') {
            if (!w.handlers.resync)
              throw new StoreError(
                'position-gone',
                `${this.what}: position ${w.cursor} is no longer in the change log (it was compacted); reload a snapshot`,
              );
            w.cursor = w.handlers.resync();
            continue;
          }
          if (batch.length > 0) w.cursor = this.source.position(batch.at(-1)!);
          if (read && batch.length < BATCH) w.cursor = Math.max(w.cursor, last);
          if (batch.length === 0) break;
          w.handlers.deliver(batch);
        } catch (e) {
          this.fail(w, e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
  }

  private fail(w: Watcher<T>, e: Error): void {
    if (!w.open) return;
    this.watchers.remove(w);
    w.handlers.onError?.(e);
  }

  close(): void {
    this.closed = true;
    this.watchers.clear();
  }
}

/**
 * A change-feed watch over `feed`: a watcher behind the log resyncs from `snapshot()` (store.ts); one
 * that wants some kinds only reads only those where the source can (`afterOnly`).
 */
export function watchChanges(
  feed: PolledFeed<Change>,
  from: number,
  handlers: WatchHandlers,
  snapshot: () => Snapshot,
): Watch {
  const onResync = handlers.onResync;
  return feed.watch(from, {
    deliver: kindFiltered(handlers).onChanges,
    ...(handlers.kinds && { only: handlers.kinds }),
    ...(onResync && {
      resync: () => {
        const snap = snapshot();
        onResync(snap);
        return snap.position;
      },
    }),
    ...(handlers.onError && { onError: handlers.onError }),
  });
}
