/**
 * The open watchers of a feed (polled-feed.ts, distributed-log.ts), with what makes the feed look for
 * new items while there is any watcher: a timer, and optionally a wake signal (commit-signal.ts:
 * another process wrote to the store), both started with the first watcher and stopped with the last.
 * While the signal works the timer runs at the signal's slower fallback interval; a signal is followed
 * by a look at once and one more a moment later (a writer may still be publishing the commit it just
 * wrote: its WAL frames are written before the index that makes them visible to readers).
 *
 * Invariant: a watcher is in the set exactly while it is open; `remove` closes it, and nothing stays
 * scheduled or subscribed once the set is empty or cleared.
 */
import type { WakeSignal } from './commit-signal.js';
import type { Watch } from './store.js';

/** How long after a signal the feed looks once more (ms). */
export const SIGNAL_RECHECK_MS = 2;

export class WatcherSet<W extends { open: boolean }> implements Iterable<W> {
  private readonly watchers = new Set<W>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private recheck: NodeJS.Timeout | undefined;

  constructor(
    /** Brings the watchers up to date; run soon after each `add`, every interval, and on a signal. */
    private readonly tick: () => void,
    /** undefined: no timer (the feed is only woken). */
    private readonly intervalMs?: number,
    private readonly signal?: WakeSignal,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /** Is the feed following a wake signal now (rather than polling at `intervalMs`)? */
  get signalled(): boolean {
    return this.unsubscribe !== undefined;
  }

  /** Adds an open watcher; the returned Watch removes it. */
  add(w: W): Watch {
    this.watchers.add(w);
    if (this.watchers.size === 1) this.start();
    setImmediate(this.tick);
    return { close: () => this.remove(w) };
  }

  remove(w: W): void {
    w.open = false;
    this.watchers.delete(w);
    if (this.watchers.size === 0) this.stop();
  }

  clear(): void {
    for (const w of this.watchers) w.open = false;
    this.watchers.clear();
    this.stop();
  }

  private start(): void {
    this.unsubscribe = this.signal?.subscribe(
      () => this.woken(),
      () => {
        // The signal stopped working: poll at the fast rate again.
        this.unsubscribe = undefined;
        this.setTimer(this.intervalMs);
      },
    );
    this.setTimer(this.unsubscribe ? this.signal?.fallbackMs : this.intervalMs);
  }

  private setTimer(ms: number | undefined): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = ms === undefined ? undefined : setInterval(this.tick, ms);
  }

  /** A signal: look at once (one look for a burst of signals) and once more a moment later. */
  private woken(): void {
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      this.tick();
    });
    this.recheck ??= setTimeout(() => {
      this.recheck = undefined;
      this.tick();
    }, SIGNAL_RECHECK_MS);
  }

  private stop(): void {
    this.setTimer(undefined);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    if (this.recheck) clearTimeout(this.recheck);
    this.immediate = this.recheck = undefined;
  }

  [Symbol.iterator](): Iterator<W> {
    return this.watchers.values();
  }
}
