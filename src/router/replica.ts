/**
 * The replica midonet-router keeps of the topology objects BGP depends on (hosts, ports, routers,
 * routes, BGP peers and networks), kept in step with the store's change feed, and the waits for it to
 * catch up with a write of this process.
 *
 * Invariants:
 * - `position` is the change-feed position of the state held: objects of other kinds are never held.
 * - A waiter is released once `position` reaches its position, or after its timeout: never earlier.
 */
import type { Kind, Obj } from '../state/model.js';
import type { Change } from '../state/store.js';
import type { TopologyView } from './desired.js';

const KINDS_OF_INTEREST: ReadonlySet<Kind> = new Set<Kind>([
  'host',
  'port',
  'router',
  'route',
  'bgp-peer',
  'bgp-network',
]);

/** How long a write waits for the replica to catch up with it before going on anyway. */
const CATCH_UP_TIMEOUT_MS = 10000;

/** The objects midonet-router reads, kept in step with the change feed. */
export class Replica implements TopologyView {
  private readonly objs = new Map<Kind, Map<string, Obj>>();
  private readonly waiters: Array<{ position: number; resolve: () => void }> = [];
  position = 0;

  /** Replaces everything held with `objects`, the state at `position`. */
  load(objects: ReadonlyArray<{ kind: Kind; object: Obj }>, position: number): void {
    this.objs.clear();
    for (const o of objects) if (KINDS_OF_INTEREST.has(o.kind)) this.map(o.kind).set(o.object.id, o.object);
    this.position = position;
    this.caughtUp();
  }

  private map(kind: Kind): Map<string, Obj> {
    let m = this.objs.get(kind);
    if (m === undefined) this.objs.set(kind, (m = new Map<string, Obj>()));
    return m;
  }

  /** Applies changes; true when one of them may change a speaker (anything but a BGP route). */
  apply(changes: readonly Change[]): boolean {
    let relevant = false;
    for (const c of changes) {
      if (!KINDS_OF_INTEREST.has(c.kind)) continue;
      if (c.op === 'delete') this.map(c.kind).delete(c.id);
      else this.map(c.kind).set(c.id, c.object);
      if (!(c.kind === 'route' && (c.object as Obj<'route'>).source === 'bgp')) relevant = true;
    }
    if (changes.length > 0) this.position = changes.at(-1)!.seq;
    this.caughtUp();
    return relevant;
  }

  all<K extends Kind>(kind: K): Obj<K>[] {
    return [...(this.objs.get(kind)?.values() ?? [])] as Obj<K>[];
  }

  get<K extends Kind>(kind: K, id: string): Obj<K> | undefined {
    return this.objs.get(kind)?.get(id);
  }

  /** Resolves once the replica holds the state at `position` (or after the catch-up timeout). */
  waitFor(position: number): Promise<void> {
    if (this.position >= position) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { position, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, CATCH_UP_TIMEOUT_MS);
    });
  }

  /** Releases the waiters whose position the replica has reached. */
  private caughtUp(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.position >= w.position) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
