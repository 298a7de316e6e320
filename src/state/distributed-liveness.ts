/**
 * Host liveness of the distributed backend, in ZooKeeper, under the store's root:
 *   hosts/alive/<host>  ephemeral, owned by the session of the process that keeps the host alive: it
 *                       goes when that session ends (process death, network partition, `goodbye`).
 *   hosts/seen/<host>   persistent: the last renewal time and what the agent reported about itself.
 *
 * Invariant: a host is alive exactly while some session holds its `alive` node; after a session
 * expiry this handle re-creates the nodes of the hosts it keeps alive (a restarted agent takes over
 * the node an earlier session of the same host still holds).
 */
import { segment } from './distributed-recipes.js';
import type { HostLiveness } from './store.js';
import { ZkError, zkPath, type ZkSession } from './zk.js';

export class HostRecords {
  /** Hosts this handle keeps alive, with their last info. */
  private readonly hosts = new Map<string, Record<string, unknown>>();
  private readonly offSession: () => void;

  constructor(
    private readonly zk: ZkSession,
    /** The store's root znode. */
    private readonly root: string,
  ) {
    this.offSession = zk.onSession(() => void this.reassert());
  }

  private path(which: 'alive' | 'seen', hostId: string): string {
    return zkPath(this.root, 'hosts', which, segment(hostId));
  }

  /**
   * Keeps the host's ephemeral `alive` node held by this session: created when missing, taken over
   * from an earlier session of the host (a restarted agent). Its data is read by nobody (liveness
   * reads the names), so a node this session holds is only read, not written again: the beat's one
   * write is `seen`.
   */
  private async keepAlive(hostId: string, data: Buffer): Promise<void> {
    const path = this.path('alive', hostId);
    const n = await this.zk.get(path);
    if (n && n.ephemeralOwner === this.zk.sessionId) return;
    if (n) await this.zk.remove(path).catch(() => undefined);
    await this.createOrSet(path, data, 'ephemeral');
  }

  /** Puts the host's `seen` record: set, or created when it is not there yet. */
  private async putSeen(hostId: string, data: Buffer): Promise<void> {
    const path = this.path('seen', hostId);
    try {
      await this.zk.set(path, data);
      return;
    } catch (e) {
      if (!(e instanceof ZkError && e.code === 'no-node')) throw e;
    }
    await this.createOrSet(path, data, 'persistent');
  }

  /** Creates the node at `path`, or sets its data when another call created it meanwhile. */
  private async createOrSet(path: string, data: Buffer, mode: 'persistent' | 'ephemeral'): Promise<void> {
    try {
      await this.zk.create(path, data, mode);
    } catch (e) {
      if (e instanceof ZkError && e.code === 'node-exists') await this.zk.set(path, data);
      else throw e;
    }
  }

  async heartbeat(hostId: string, ttlMs: number, info: Record<string, unknown>): Promise<void> {
    const data = Buffer.from(JSON.stringify({ renewedAt: Date.now(), ttlMs, info }));
    this.hosts.set(hostId, info);
    await Promise.all([this.keepAlive(hostId, data), this.putSeen(hostId, data)]);
  }

  /** After session expiry: the hosts this handle keeps alive get their ephemeral nodes back. */
  private async reassert(): Promise<void> {
    for (const [hostId, info] of this.hosts) {
      await this.heartbeat(hostId, 0, info).catch(() => undefined);
    }
  }

  async goodbye(hostId: string): Promise<void> {
    this.hosts.delete(hostId);
    await this.zk.remove(this.path('alive', hostId)).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'no-node')) throw e;
    });
  }

  async liveness(): Promise<HostLiveness[]> {
    const seenDir = zkPath(this.root, 'hosts', 'seen');
    const seen = (await this.zk.children(seenDir)) ?? [];
    const alive = new Set((await this.zk.children(zkPath(this.root, 'hosts', 'alive'))) ?? []);
    const nodes = await Promise.all(seen.map((s) => this.zk.get(zkPath(seenDir, s))));
    const out: HostLiveness[] = [];
    seen.forEach((s, i) => {
      const n = nodes[i];
      if (!n) return;
      const d = JSON.parse(n.data.toString()) as { renewedAt: number; info: Record<string, unknown> };
      out.push({ hostId: decodeURIComponent(s), alive: alive.has(s), renewedAt: d.renewedAt, info: d.info });
    });
    return out.sort((a, b) => (a.hostId < b.hostId ? -1 : 1));
  }

  close(): void {
    this.offSession();
    this.hosts.clear();
  }
}
