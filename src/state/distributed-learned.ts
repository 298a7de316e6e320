/**
 * Learned state of the distributed backend (the agents' shared MAC and ARP tables), in ZooKeeper:
 * each `learn` call appends persistent-sequential nodes under `learned`, one per device its entries
 * belong to (learned-scope.ts `deviceKey`), named after it: `d-<device>-e-<n>` (device id URI-encoded),
 * and `f-e-<n>` for flow state (no device); `e-<n>` nodes, of earlier versions, hold entries of any
 * device. A node holds at most PER_NODE entries; entry i of node n has feed position
 * n * PER_NODE + i + 1 (ZooKeeper numbers the children of `learned` in one sequence whatever their
 * name), so positions grow strictly in commit order and start at 1 (a watch from 0 sees the very
 * first entry). The nodes of one call are created by one multi-op (a few, for a very large call).
 * Watches use a child watch on `learned` (plus a slow poll) and read only the nodes at or after their
 * cursor; a watch per device reads (and decodes) only its devices' nodes, flow state and `e-` nodes, and a
 * device added to it has its nodes up to the cursor read once for its snapshot. Nodes whose entries
 * have all expired are pruned by writers now and then.
 *
 * Invariant: a watch from 0 first gets the newest unexpired value of each key once, then every later
 * write in order; a watch from a position gets every write after it that has not expired; a device
 * added to a scoped watch gets the newest unexpired value of each of its keys as of the cursor, then
 * its writes after the cursor.
 */
import { DeviceScope, deviceKey } from './learned-scope.js';
import type {
  LearnedChange,
  LearnedEntry,
  LearnedWatch,
  LearnedWatchHandlers,
  LearnedWatchOptions,
} from './store.js';
import { ZkError, zkPath, type ZkOp, type ZkSession } from './zk.js';

export const PER_NODE = 1000;
/** Bytes of node data per multi-op at most (ZooKeeper refuses requests over jute.maxbuffer, 1 MB). */
const MULTI_BYTES = 400_000;

/**
 * A node's sequence number and device, from its name ('' for flow state; undefined for a node of an
 * earlier version, holding entries of any device); undefined: not a node of the log.
 */
export function learnedNode(name: string): { seq: number; device: string | undefined } | undefined {
  const m = /^(?:d-(.+)-|(f)-)?e-(\d{10})$/.exec(name);
  if (!m) return undefined;
  const device = m[1] !== undefined ? decodeURIComponent(m[1]) : m[2] !== undefined ? '' : undefined;
  return { seq: Number(m[3]), device };
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

interface Listed {
  readonly name: string;
  readonly seq: number;
  readonly device: string | undefined;
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
    const byDevice = new Map<string, LearnedEntry[]>();
    for (const e of entries) {
      const d = deviceKey(e);
      const list = byDevice.get(d);
      if (list) list.push(e);
      else byDevice.set(d, [e]);
    }
    const multis: ZkOp[][] = [];
    let bytes = Infinity;
    for (const [device, list] of byDevice)
      for (let i = 0; i < list.length; i += PER_NODE) {
        const part = list.slice(i, i + PER_NODE);
        const node: StoredNode = { until: Math.max(...part.map((e) => e.expiresAt)), entries: part };
        const data = Buffer.from(JSON.stringify(node));
        const name = device === '' ? 'f-e-' : `d-${encodeURIComponent(device)}-e-`;
        if (bytes + data.length > MULTI_BYTES) {
          multis.push([]);
          bytes = 0;
        }
        bytes += data.length;
        multis
          .at(-1)!
          .push({ op: 'create', path: zkPath(this.dir, name), data, mode: 'persistent-sequential' });
      }
    for (const ops of multis)
      if (ops.length === 1)
        await this.zk.create(ops[0]!.path, (ops[0] as { data: Buffer }).data, 'persistent-sequential');
      else await this.zk.multi(ops);
    if (++this.writes % 100 === 0) await this.prune(Date.now());
  }

  /** The log's nodes, oldest first. */
  private async list(watch?: () => void): Promise<Listed[]> {
    const names = (await this.zk.children(this.dir, watch)) ?? [];
    const out: Listed[] = [];
    for (const name of names) {
      const n = learnedNode(name);
      if (n) out.push({ name, ...n });
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Removes the oldest nodes whose entries have all expired. */
  private async prune(now: number): Promise<void> {
    const nodes = await this.list();
    for (const { name } of nodes.slice(0, -1)) {
      const n = await this.zk.get(zkPath(this.dir, name));
      if (!n) continue;
      if ((JSON.parse(n.data.toString()) as StoredNode).until > now) break;
      await this.zk.remove(zkPath(this.dir, name)).catch(() => undefined);
    }
  }

  /** The entries of `nodes`, with their positions, in position order. */
  private async read(nodes: readonly Listed[]): Promise<LearnedChange[]> {
    const data = await Promise.all(nodes.map((w) => this.zk.get(zkPath(this.dir, w.name))));
    const out: LearnedChange[] = [];
    nodes.forEach((w, k) => {
      const n = data[k];
      if (!n) return;
      (JSON.parse(n.data.toString()) as StoredNode).entries.forEach((e, i) => {
        out.push({ ...e, seq: w.seq * PER_NODE + i + 1 });
      });
    });
    return out;
  }

  watch(
    from: number,
    handlers: LearnedWatchHandlers,
    opts: LearnedWatchOptions = {},
    pollMs = 2000,
  ): LearnedWatch {
    const scope = opts.devices === undefined ? undefined : new DeviceScope(opts.devices);
    let cursor = from;
    let open = true;
    let armed = false;
    let busy = false;
    let again = false;
    let first = true;
    /**
     * One look: reads the nodes after the cursor (of the watch's devices, flow state's and earlier
     * versions' `e-` ones) and, for the devices in `fresh`, their nodes up to the cursor (their
     * snapshot); moves the cursor past what it read; returns what to deliver.
     */
    const look = async (
      watch: (() => void) | undefined,
      fresh: ReadonlySet<string>,
    ): Promise<LearnedChange[]> => {
      const devices = scope && new Set(scope.devices);
      const nodes = await this.list(watch);
      const at = cursor;
      const after = (n: Listed) => (n.seq + 1) * PER_NODE > at;
      const mine = (n: Listed) =>
        devices === undefined || n.device === undefined || n.device === '' || devices.has(n.device);
      const due = (n: Listed) => n.seq * PER_NODE < at && (n.device === undefined || fresh.has(n.device));
      const read = await this.read(nodes.filter((n) => (after(n) && mine(n)) || (fresh.size > 0 && due(n))));
      const now = Date.now();
      const snapshot = newestPerKey(
        read.filter((c) => c.seq <= at && fresh.has(deviceKey(c))),
        now,
      );
      const changes = read.filter((c) => c.seq > at);
      const out = [
        ...snapshot,
        ...(first && from === 0 ? newestPerKey(changes, now) : changes.filter((c) => c.expiresAt > now)),
      ];
      first = false;
      // Nodes listed here that this watch skipped are of other devices: the cursor passes them too.
      const top = scope && nodes.at(-1);
      cursor = Math.max(cursor, changes.at(-1)?.seq ?? 0, top ? (top.seq + 1) * PER_NODE : 0);
      if (scope === undefined || devices === undefined) return out;
      // Entries of devices dropped meanwhile are not delivered (nor those of `e-` nodes of an earlier
      // version, holding any device's entries, not in the set read for).
      return out.filter((c) => {
        const d = deviceKey(c);
        return d === '' || (devices.has(d) && scope.devices.has(d));
      });
    };
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
      const fresh = new Set(scope?.takeFresh());
      void look(watch, fresh)
        .then((out) => {
          if (open && out.length > 0) handlers.onEntries(out);
        })
        .catch((e: unknown) => {
          if (watch) armed = false;
          scope?.again(fresh); // their snapshot is still due
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
      addDevices: (ids) => {
        if (scope?.add(ids)) pump();
      },
      dropDevices: (ids) => scope?.drop(ids),
    };
  }
}
