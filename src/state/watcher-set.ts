/**
 * The open watchers of a feed (polled-feed.ts, distributed-log.ts), with what makes the feed look for
 * new items while there is any watcher: a timer, and optionally a wake signal (commit-signal.ts:
 * another process wrote to the store), both started with the first watcher and stopped with the last.
 * While the signal works the timer runs at the signal's slower fallback interval; a signal is followed
 * by a look at once and more looks 2, 10, 50 and 250 ms after the latest signal (a writer may still be
 * publishing the commit it just wrote: its WAL frames are written, and signalled, before the shared
 * memory index that makes them visible to readers is updated, which makes no signal; a writer descheduled
 * in between on a loaded machine is caught by a later look, not only by the fallback poll).
 *
 * Invariant: a watcher is in the set exactly while it is open; `remove` closes it, and nothing stays
 * scheduled or subscribed once the set is empty or cleared.
 */
import type { WakeSignal } from './commit-signal.js';
import type { Watch } from './store.js';

/** When, after the latest signal, the feed looks again (ms). */
export const SIGNAL_RECHECKS_MS: readonly number[] = [2, 10, 50, 250];

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

  /** A signal: look at once (one look for a burst of signals), then again at each SIGNAL_RECHECKS_MS. */
  private woken(): void {
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      this.tick();
    });
    if (this.recheck) clearTimeout(this.recheck);
    this.recheckFrom(0, 0);
  }

  /** Schedules the recheck `step` (the previous one ran `elapsed` ms after the latest signal). */
  private recheckFrom(step: number, elapsed: number): void {
    const at = SIGNAL_RECHECKS_MS[step];
    if (at === undefined) {
      this.recheck = undefined;
      return;
    }
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      this.tick();
      // The tick may have closed the last watcher (stop): then nothing more is scheduled.
      if (this.watchers.size > 0 && this.recheck === undefined) this.recheckFrom(step + 1, at);
    }, at - elapsed);
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
