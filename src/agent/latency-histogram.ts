/**
 * A latency histogram fine enough to read p50 and p99 from: log-linear buckets in microseconds, 90
 * per decade (each decade 10^k..10^(k+1) cut in steps of 10^(k-1): 0.1 us steps from 1 to 10 us, 1 us
 * steps to 100 us, 10 us steps to 1 ms, ...) from 1 us to 1 s, then +Inf. A quantile read from it is
 * the upper bound of its bucket: at most 10% (at a decade's start; 1% at its end) above the true value.
 *
 * Every bound of the coarse 1-2-5 series (5, 10, 20, 50, 100 us...) is one of the fine bounds, so the
 * Prometheus export (metrics.ts) gives that series exactly, as cumulative sums of fine buckets.
 *
 * Invariants: bucket i counts the observations v with BOUNDS[i-1] < v <= BOUNDS[i] (Prometheus' `le`);
 * the last bound is +Inf, so every observation lands in exactly one bucket. Observing formats nothing
 * and allocates nothing (a binary search over a fixed array).
 */

function fineBounds(): Float64Array {
  const out: number[] = [];
  for (let decade = 0; decade < 6; decade++)
    for (let m = 10; m < 100; m++) out.push(decade === 0 ? m / 10 : m * 10 ** (decade - 1));
  out.push(1e6, Infinity);
  return Float64Array.from(out);
}

/** Upper bounds (us) of the fine buckets, ascending; the last is +Inf. */
export const LATENCY_BOUNDS_US: Float64Array = fineBounds();

/** The 1-2-5 series among LATENCY_BOUNDS_US, 1 us to 1 s, then +Inf (what Prometheus is given). */
export const COARSE_BOUNDS_US: readonly number[] = Array.from(LATENCY_BOUNDS_US).filter((b) => {
  if (b === Infinity) return true;
  const m = b / 10 ** Math.floor(Math.log10(b) + 1e-9);
  return [1, 2, 5].some((c) => Math.abs(m - c) < 1e-9);
});

/** A bucket's bound as JSON and Prometheus carry it: a number, or '+Inf'. */
export type Le = number | '+Inf';

/** What stats show: the non-empty buckets only, by upper bound, ascending. */
export interface HistogramSnapshot {
  readonly buckets: Array<{ le: Le; count: number }>;
  readonly sum: number;
  readonly count: number;
}

export class LatencyHistogram {
  /** Observations per fine bucket (index into LATENCY_BOUNDS_US). */
  readonly counts = new Float64Array(LATENCY_BOUNDS_US.length);
  sumUs = 0;
  count = 0;

  observe(us: number): void {
    this.count++;
    this.sumUs += us;
    // The first bound >= us (NaN goes to +Inf).
    let lo = 0;
    let hi = LATENCY_BOUNDS_US.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (us <= LATENCY_BOUNDS_US[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]!++;
  }

  /** The upper bound (us) of the bucket holding quantile q (0..1); 0 when empty. */
  quantile(q: number): number {
    return quantileOf(this.counts, (i) => LATENCY_BOUNDS_US[i]!, this.count, q);
  }

  /** Observations at or below `le`, which must be one of LATENCY_BOUNDS_US. */
  cumulative(le: number): number {
    let n = 0;
    for (let i = 0; i < LATENCY_BOUNDS_US.length && LATENCY_BOUNDS_US[i]! <= le; i++) n += this.counts[i]!;
    return n;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<{ le: Le; count: number }> = [];
    this.counts.forEach((count, i) => {
      if (count > 0) buckets.push({ le: leOf(LATENCY_BOUNDS_US[i]!), count });
    });
    return { buckets, sum: Math.round(this.sumUs), count: this.count };
  }
}

export function leOf(bound: number): Le {
  return bound === Infinity ? '+Inf' : bound;
}

/**
 * The bound of the bucket where the cumulative count first reaches q of `total` (rank ceil(q x
 * total), at least 1); 0 when total is 0.
 */
export function quantileOf(
  counts: ArrayLike<number>,
  boundOf: (i: number) => number,
  total: number,
  q: number,
): number {
  if (total <= 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return boundOf(i);
  }
  return Infinity;
}

/** Buckets as a snapshot carries them, perhaps through JSON (`le` a number or '+Inf'). */
export type BucketList = { readonly buckets: ReadonlyArray<{ le: number | string; count: number }> };

/**
 * p50 and p99 (bucket upper bounds, us) of the observations made between two sets of snapshots (one
 * per agent, same order): buckets are matched by their bound, so sparse snapshots combine.
 */
export function snapshotDelta(
  before: readonly BucketList[],
  after: readonly BucketList[],
): { p50: number; p99: number; count: number } {
  const byLe = new Map<number, number>();
  const add = (hs: readonly BucketList[], sign: number) => {
    for (const h of hs)
      for (const b of h.buckets) {
        const le = b.le === '+Inf' ? Infinity : Number(b.le);
        byLe.set(le, (byLe.get(le) ?? 0) + sign * b.count);
      }
  };
  add(after, 1);
  add(before, -1);
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => Math.max(0, byLe.get(le)!));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return { p50: NaN, p99: NaN, count: 0 };
  const q = (p: number) => quantileOf(counts, (i) => les[i]!, total, p);
  return { p50: q(0.5), p99: q(0.99), count: total };
}
