/**
 * Learned state of the distributed backend (the agents' shared MAC and ARP tables), in ZooKeeper:
 * each `learn` call appends one persistent-sequential node `learned/e-<n>` holding its entries (at
 * most PER_NODE per node), and entry i of node n has feed position n * PER_NODE + i + 1, so positions
 * grow strictly in commit order and start at 1 (a watch from 0 sees the very first entry). Watches use a child watch on `learned` (plus a slow poll) and read
 * only the nodes at or after their cursor. Nodes whose entries have all expired are pruned by
 * writers now and then.
 *
 * Invariant: a watch from 0 first gets the newest unexpired value of each key once, then every later
 * write in order; a watch from a position gets every write after it that has not expired.
 */
import type { LearnedChange, LearnedEntry, LearnedWatchHandlers, Watch } from './store.js';
import { ZkError, zkPath, type ZkSession } from './zk.js';

export const PER_NODE = 1000;

export function learnedSeq(name: string): number | undefined {
  const m = /^e-(\d{10})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Keeps the newest value of each (table, scope, key), dropping expired ones; ordered by position. */
export function newestPerKey(changes: readonly LearnedChange[], now: number): LearnedChange[] {
  const m = new Map<string, LearnedChange>();
  for (const c of changes) {
    const k = `${c.table}\u0000${c.scope}\u0000${c.key}`;
    const old = m.get(k);
    if (!old || old.seq < c.seq) m.set(k, c);
  }
  return [...m.values()].filter((c) => c.expiresAt > now).sort((a, b) => a.seq - b.seq);
}

interface StoredNode {
  /** Latest expiry of the node's entries. */
  readonly until: number;
  readonly entries: readonly LearnedEntry[];
}

export class LearnedLog {
  private writes = 0;

  constructor(
    private readonly zk: ZkSession,
    private readonly root: string,
  ) {}

  private get dir(): string {
    return zkPath(this.root, 'learned');
  }

  async learn(entries: readonly LearnedEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += PER_NODE) {
      const part = entries.slice(i, i + PER_NODE);
      const node: StoredNode = { until: Math.max(...part.map((e) => e.expiresAt)), entries: part };
      await this.zk.create(
        zkPath(this.dir, 'e-'),
        Buffer.from(JSON.stringify(node)),
        'persistent-sequential',
      );
    }
    if (++this.writes % 100 === 0) await this.prune(Date.now());
  }

  /** Removes the oldest nodes whose entries have all expired. */
  private async prune(now: number): Promise<void> {
    const names = ((await this.zk.children(this.dir)) ?? []).sort();
    for (const name of names.slice(0, -1)) {
      const n = await this.zk.get(zkPath(this.dir, name));
      if (!n) continue;
      if ((JSON.parse(n.data.toString()) as StoredNode).until > now) break;
      await this.zk.remove(zkPath(this.dir, name)).catch(() => undefined);
    }
  }

  /** Changes after `from`, by reading the nodes that can hold them. */
  private async read(from: number, watch?: () => void): Promise<LearnedChange[]> {
    const names = (await this.zk.children(this.dir, watch)) ?? [];
    const wanted = names
      .map((n) => ({ n, s: learnedSeq(n) }))
      .filter((x): x is { n: string; s: number } => x.s !== undefined && (x.s + 1) * PER_NODE > from)
      .sort((a, b) => a.s - b.s);
    const nodes = await Promise.all(wanted.map((w) => this.zk.get(zkPath(this.dir, w.n))));
    const out: LearnedChange[] = [];
    wanted.forEach((w, k) => {
      const n = nodes[k];
      if (!n) return;
      (JSON.parse(n.data.toString()) as StoredNode).entries.forEach((e, i) => {
        const seq = w.s * PER_NODE + i + 1;
        if (seq > from) out.push({ ...e, seq });
      });
    });
    return out;
  }

  watch(from: number, handlers: LearnedWatchHandlers, pollMs = 2000): Watch {
    let cursor = from;
    let open = true;
    let armed = false;
    let busy = false;
    let again = false;
    let first = true;
    const pump = (): void => {
      if (!open) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      let watch: (() => void) | undefined;
      if (!armed) {
        armed = true;
        watch = () => {
          armed = false;
          pump();
        };
      }
      void this.read(cursor, watch)
        .then((changes) => {
          const now = Date.now();
          const out =
            first && from === 0 ? newestPerKey(changes, now) : changes.filter((c) => c.expiresAt > now);
          first = false;
          if (changes.length > 0) cursor = changes.at(-1)!.seq;
          if (open && out.length > 0) handlers.onEntries(out);
        })
        .catch((e: unknown) => {
          if (watch) armed = false;
          if (e instanceof ZkError && (e.code === 'connection-loss' || e.code === 'session-expired')) return;
          open = false;
          handlers.onError?.(e instanceof Error ? e : new Error(String(e)));
        })
        .finally(() => {
          busy = false;
          if (again) {
            again = false;
            pump();
          }
        });
    };
    const timer = setInterval(pump, pollMs);
    const off = this.zk.onSession(() => {
      armed = false;
      pump();
    });
    setImmediate(pump);
    return {
      close: () => {
        open = false;
        clearInterval(timer);
        off();
      },
    };
  }
}
