/**
 * Tells the watchers of a SQLite store, in any process on the machine, that someone wrote to it: the
 * database's directory is watched (fs.watch, inotify on Linux) for writes to the file's write-ahead
 * log (`<file>-wal`, where every commit in WAL mode lands first) and to the file itself, so a commit
 * reaches the other processes' feeds at once instead of at their next poll (polled-feed.ts keeps a
 * slower poll as the fallback). The directory, not the file, is watched: the log is deleted when the
 * last connection closes and created again by the next writer, and a file replaced under its name
 * keeps being watched.
 *
 * Invariants: a signal only says "look now": what is read and delivered stays the feeds' business
 * (their cursors), so a signal that is lost, spurious or repeated can delay a delivery until the
 * fallback poll but never skip, reorder or repeat one. One directory watch per store object while it
 * has subscribers, none otherwise; a watch that fails (the directory removed, inotify out of
 * watches) tells every subscriber once (`lost`: they poll at the fast rate again) and is not retried
 * until a subscriber comes anew.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Something that says when a feed's source may have new items (watcher-set.ts). */
export interface WakeSignal {
  /**
   * Calls `wake` whenever the source may have changed, until the returned function is called;
   * undefined when it cannot watch. `lost` is called once if it stops working later.
   */
  subscribe(wake: () => void, lost: () => void): (() => void) | undefined;
  /** How often the feed still polls while subscribed: the fallback for a missed signal (ms; undefined: never). */
  readonly fallbackMs: number | undefined;
}

interface Subscriber {
  readonly wake: () => void;
  readonly lost: () => void;
}

export class CommitSignal implements WakeSignal {
  private watcher: FSWatcher | undefined;
  private readonly subscribers = new Set<Subscriber>();
  /** The names in the directory whose writes are commits (the file, its log). */
  private readonly names: ReadonlySet<string>;
  private readonly dir: string;

  constructor(
    /** The absolute path of the database file. */
    file: string,
    readonly fallbackMs: number | undefined,
  ) {
    this.dir = dirname(file);
    const base = basename(file);
    this.names = new Set([base, `${base}-wal`]);
  }

  /** Is the directory being watched now (tests, statistics)? */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  subscribe(wake: () => void, lost: () => void): (() => void) | undefined {
    if (this.watcher === undefined && !this.start()) return undefined;
    const s: Subscriber = { wake, lost };
    this.subscribers.add(s);
    return () => {
      this.subscribers.delete(s);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  private start(): boolean {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        // No name (some platforms): any write may be a commit.
        if (name !== null && !this.names.has(String(name))) return;
        for (const s of [...this.subscribers]) s.wake();
      });
    } catch {
      return false;
    }
    this.watcher.on('error', () => {
      const gone = [...this.subscribers];
      this.subscribers.clear();
      this.stop();
      for (const s of gone) s.lost();
    });
    return true;
  }

  private stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Stops watching; subscribers are dropped without a word (the store is closing). */
  close(): void {
    this.subscribers.clear();
    this.stop();
  }
}
