/**
 * Change-log retention, shared by every backend: how it is written in a store URL (`retain=N`,
 * `retainSeconds=S`) and how much of a log that has grown past it goes. Compaction runs as part of
 * writes (the log only grows through them); a backend removes whole transactions, oldest first, and
 * never the newest transaction, so the log always says where the feed is.
 *
 * Invariant: `countCut` only asks for a cut once the log holds `slack` entries more than it should,
 * so compaction happens in batches of at least `slack` entries, not on every commit.
 */
import { quote } from '../quote.js';
import { DEFAULT_RETENTION, type LogRetention } from './store.js';

/** Reads `retain` and `retainSeconds` from URL query parameters; `bad` reports what is wrong. */
export function parseRetention(q: URLSearchParams, bad: (why: string) => never): LogRetention {
  const num = (key: string, min: number, max: number): number | undefined => {
    const v = q.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (!/^[0-9]+$/.test(v) || n < min || n > max)
      bad(`${key} ${quote(v)} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const entries = num('retain', 10, 100_000_000) ?? DEFAULT_RETENTION.entries;
  const seconds = num('retainSeconds', 1, 10 * 365 * 86400);
  return { entries, maxAgeMs: seconds === undefined ? DEFAULT_RETENTION.maxAgeMs : seconds * 1000 };
}

/** Entries beyond the retention that are left until the next compaction. */
export function slackOf(r: LogRetention): number {
  return Math.max(1, Math.floor(r.entries / 10));
}

/**
 * The position below which entries go because there are too many (the log holds `start`..`last`),
 * or undefined when the log is within retention plus slack. The caller rounds it down to the start
 * of a transaction.
 */
export function countCut(r: LogRetention, start: number, last: number): number | undefined {
  if (last - start + 1 <= r.entries + slackOf(r)) return undefined;
  return last - r.entries + 1;
}
