/**
 * Route import: makes a port's routes with source 'bgp' in the store equal the routes its speaker
 * learned from FRR, as differences written in batched transactions, capped per peer.
 *
 * Invariant: a write returns only once the replica has caught up with it (or the catch-up timeout has
 * passed), so the next difference is computed from a replica that holds this write (no duplicate
 * creates).
 */
import type { Logger } from '../log.js';
import type { Op, TopologyStore } from '../state/store.js';
import type { RouterConfig } from './config.js';
import type { PortService } from './port-service.js';
import type { Replica } from './replica.js';
import { routeOps } from './routes.js';

export class RouteImport {
  constructor(
    private readonly store: () => TopologyStore,
    private readonly replica: Replica,
    private readonly cfg: RouterConfig,
    private readonly log: Logger,
  ) {}

  /** Makes the port's BGP routes equal `learned`, in batched transactions. */
  async write(svc: PortService, learned: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
    const existing = this.replica
      .all('route')
      .filter((r) => r.nextHopPortId === svc.spec.portId && r.source === 'bgp');
    const diff = routeOps(existing, learned, {
      routerId: svc.spec.routerId,
      portId: svc.spec.portId,
      cap: this.cfg.maxRoutesPerPeer,
      skip: new Set(svc.spec.config.networks.map((n) => n.prefix)),
    });
    for (const [peer, n] of diff.capped)
      if (svc.capped.get(peer) !== n)
        this.log.warn(
          { port: svc.spec.portName, peer, leftOut: n, cap: this.cfg.maxRoutesPerPeer },
          'learned routes over the cap',
        );
    svc.capped = diff.capped;
    let n = 0;
    for (const l of learned.values()) n += l.size;
    svc.learnedRoutes = existing.length - diff.deleted + diff.created;
    if (diff.ops.length === 0) return;
    let position = 0;
    for (let i = 0; i < diff.ops.length; i += this.cfg.routeBatch) {
      const batch: Op[] = diff.ops.slice(i, i + this.cfg.routeBatch);
      position = (await this.store().transact(batch)).position;
    }
    this.log.info(
      { port: svc.spec.portName, created: diff.created, deleted: diff.deleted, learned: n },
      'learned routes written',
    );
    await this.replica.waitFor(position);
  }
}
