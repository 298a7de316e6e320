/**
 * bench/change-traffic's split of a try on the distributed store: how long the commit's two steps took
 * (the Cassandra write of the rows, then the ZooKeeper multi-op that is the commit point), and which
 * service stalls (GC pauses from each node's gc.log, ZooKeeper log fsyncs over its warning threshold
 * from zookeeper.log) fell inside a try's window.
 *
 * Invariant: timing only. The store handle's two steps are wrapped to note when each call started and
 * ended and then run unchanged (same arguments, same result or error); nothing else is touched.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One call of a commit step, on the monotonic clock (ms). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface StepSpans {
  readonly rows: Span[];
  readonly multi: Span[];
}

type Step = (arg: unknown) => Promise<void>;
interface Steps {
  writeRows?: Step;
  commit?: Step;
}

/**
 * Wraps the commit steps of a distributed store handle (CassandraStore's `writeRows` and `commit`,
 * the steps its commit loop calls through the instance); returns undefined for other stores.
 */
export function timeSteps(store: object, now: () => number): StepSpans | undefined {
  const s = store as Steps;
  if (typeof s.writeRows !== 'function' || typeof s.commit !== 'function') return undefined;
  const spans: StepSpans = { rows: [], multi: [] };
  const wrap = (f: Step, into: Span[]): Step => {
    const bound = f.bind(store);
    return async (arg) => {
      const start = now();
      try {
        await bound(arg);
      } finally {
        into.push({ start, end: now() });
      }
    };
  };
  s.writeRows = wrap(s.writeRows, spans.rows);
  s.commit = wrap(s.commit, spans.multi);
  return spans;
}

/** The total time of the spans that started in [from, to]. */
export function within(spans: readonly Span[], from: number, to: number): number {
  return spans.filter((s) => s.start >= from && s.start <= to).reduce((n, s) => n + s.end - s.start, 0);
}

/** A stall a service logged: when it ended (wall clock, ms), how long it took, what it was. */
export interface Stall {
  readonly at: number;
  readonly ms: number;
  readonly what: string;
}

/** GC pauses (`-Xlog:gc` with time decoration) and ZooKeeper fsync warnings in `root`'s node directories. */
export function serviceStalls(root: string): Stall[] {
  if (!existsSync(root)) return [];
  const out: Stall[] = [];
  for (const node of readdirSync(root)) {
    const dir = join(root, node);
    const gc = join(dir, 'gc.log');
    if (existsSync(gc))
      for (const line of readFileSync(gc, 'utf8').split('\n')) {
        const m = /^\[([^\]]+)\]\[[^\]]*\] GC\(\d+\) (Pause [^(]*)\(.*?([\d.]+)ms$/.exec(line);
        if (m) out.push({ at: Date.parse(m[1]!), ms: Number(m[3]), what: `${node} GC ${m[2]!.trim()}` });
      }
    const zl = join(dir, 'zookeeper.log');
    if (existsSync(zl))
      for (const line of readFileSync(zl, 'utf8').split('\n')) {
        const m = /^(\S+ \S+) WARN .*fsync-ing the write ahead log in \S+ took (\d+)ms/.exec(line);
        if (m)
          out.push({
            at: Date.parse(`${m[1]!.replace(' ', 'T').replace(',', '.')}Z`),
            ms: Number(m[2]),
            what: `${node} fsync`,
          });
      }
  }
  return out;
}

/** The stalls that overlap [from, to] (wall clock, ms), as "what N ms" items. */
export function stallsIn(stalls: readonly Stall[], from: number, to: number): string[] {
  return stalls
    .filter((s) => s.at >= from && s.at - s.ms <= to)
    .map((s) => `${s.what} ${s.ms.toFixed(1)} ms`);
}
