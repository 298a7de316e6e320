/**
 * The store's change feed applied to the agent: a batch of changes (or, when the watch fell behind
 * the compacted change log, a whole snapshot) goes into the controller's topology replica, and the
 * answer is the switch messages that delete exactly the flows the changes touched, plus whether this
 * host's bindings must be redone.
 *
 * Invariants: changes are applied in commit order and the flows their tags name are invalidated in
 * the same call, before any later packet-in is simulated; after a resync no reactive flow survives
 * (no tag can say what changed meanwhile).
 */
import type { Outgoing } from '../openflow/index.js';
import { Topology } from '../sim/topology.js';
import type { Tag } from '../sim/tags.js';
import type { Obj } from '../state/model.js';
import type { Change, Snapshot } from '../state/store.js';
import { TUNNEL_ZONES_TAG, type FlowController } from './controller.js';
import type { FlowHistory } from './flow-history.js';
import { deleteByCookie } from './flow-mods.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';

export interface FeedResult {
  out: Outgoing[];
  /** A port of this host was added, moved or removed, or a BGP peer changed: bind and resync. */
  bindings: boolean;
}

/** Applies one batch of changes from the store's feed. */
export function applyChanges(
  ctl: FlowController,
  changes: readonly Change[],
  history: FlowHistory,
): FeedResult {
  const hostId = ctl.cfg.hostId;
  history.changes(changes); // [ops]
  let tunnelZones = false;
  let bindings = false;
  for (const c of changes) {
    if (c.kind === 'tunnel-zone') tunnelZones = true;
    if (c.kind === 'bgp-peer') bindings = true; // BGP steering flows follow the peers (bgp-steering.ts)
    if (c.kind === 'port') {
      const before = ctl.topology.get('port', c.id);
      const after = c.op === 'delete' ? undefined : (c.object as Obj<'port'>);
      if (before?.hostId === hostId || after?.hostId === hostId) bindings = true;
    }
  }
  const deletedPorts = changes.filter((c) => c.kind === 'port' && c.op === 'delete').map((c) => c.id);
  const tags: Tag[] = ctl.topology.apply(changes);
  if (deletedPorts.length > 0) tags.push(...ctl.portsDeleted(deletedPorts));
  ctl.stats.changesApplied += changes.length;
  ctl.stats.lastChangeSeq = changes.at(-1)!.seq;
  if (tunnelZones) {
    ctl.ports.tunnelZonesChanged();
    tags.push(TUNNEL_ZONES_TAG);
  }
  return { out: ctl.invalidate(tags), bindings };
}

/**
 * [state] The smallest correct handling of a resync (the watch fell behind the compacted change log,
 * store.ts): the replica is rebuilt from the snapshot and every reactive flow is invalidated; bindings
 * and proactive flows are redone. To be refined (diff the snapshot against the replica and invalidate
 * only what differs).
 */
export function applySnapshot(ctl: FlowController, snap: Snapshot, history: FlowHistory): FeedResult {
  const kept = new Set(snap.objects.filter((o) => o.kind === 'port').map((o) => o.object.id));
  const gone = ctl.topology
    .all('port')
    .filter((p) => !kept.has(p.id))
    .map((p) => p.id);
  ctl.topology = Topology.from(snap.objects as never);
  ctl.portsDeleted(gone);
  ctl.stats.lastChangeSeq = snap.position;
  ctl.ports.tunnelZonesChanged();
  history.reset('the store watch fell behind the change log and resynced: every reactive flow dropped'); // [ops]
  ctl.forgetFlows();
  return { out: [deleteByCookie(0n, PROACTIVE_COOKIE_BIT)], bindings: true };
}
