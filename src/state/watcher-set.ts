/**
 * The open watchers of a feed (polled-feed.ts, distributed-log.ts), with the timer that looks for
 * new items while there is any watcher: it starts with the first watcher and stops with the last.
 *
 * Invariant: a watcher is in the set exactly while it is open; `remove` closes it, and nothing stays
 * scheduled once the set is empty or cleared.
 */
import type { Watch } from './store.js';

export class WatcherSet<W extends { open: boolean }> implements Iterable<W> {
  private readonly watchers = new Set<W>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Brings the watchers up to date; run soon after each `add`, and every `intervalMs`. */
    private readonly tick: () => void,
    /** undefined: no timer (the feed is only woken). */
    private readonly intervalMs?: number,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /** Adds an open watcher; the returned Watch removes it. */
  add(w: W): Watch {
    this.watchers.add(w);
    if (this.intervalMs !== undefined && !this.timer) this.timer = setInterval(this.tick, this.intervalMs);
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

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  [Symbol.iterator](): Iterator<W> {
    return this.watchers.values();
  }
}
