/**
 * The store's change feed applied to the agent: a batch of changes (or, when the watch fell behind
 * the compacted change log, a whole snapshot) goes into the controller's topology replica, and the
 * answer is the switch messages that delete exactly the flows the changes touched, plus whether this
 * host's bindings must be redone.
 *
 * Invariants: changes are applied in commit order and the flows their tags name are invalidated in
 * the same call, before any later packet-in is simulated; a resync invalidates exactly the flows that
 * read an object the snapshot created, updated or deleted, as if the missed changes had come one by
 * one.
 */
import type { Outgoing } from '../openflow/index.js';
import type { Topology } from '../sim/topology.js';
import type { Tag } from '../sim/tags.js';
import type { Obj } from '../state/model.js';
import type { Change, Snapshot } from '../state/store.js';
import { TUNNEL_ZONES_TAG, type FlowController } from './controller.js';
import type { FlowHistory } from './flow-history.js';
import { devicesMoved, forgetDevices } from './interest-learned.js';

export interface FeedResult {
  out: Outgoing[];
  /** A port of this host was added, moved or removed, or a BGP peer changed: bind and resync. */
  bindings: boolean;
  /** A bridge or router came into the replica or left it: the learned-state subscription follows (interest-learned.ts). */
  devicesMoved?: boolean;
}

/**
 * Applies one batch of changes from the store's feed; `loaded`: changes an agent that loads on demand
 * made itself (objects loaded or dropped, interest-keeper.ts), which leave the feed's position and
 * counters alone.
 */
export function applyChanges(
  ctl: FlowController,
  changes: readonly Change[],
  history: FlowHistory,
  loaded = false,
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
  const devices = devicesMoved(ctl.topology, changes);
  const tags: Tag[] = ctl.topology.apply(changes);
  if (deletedPorts.length > 0) tags.push(...ctl.portsDeleted(deletedPorts));
  if (devices.left.length > 0) tags.push(...forgetDevices(ctl.state, ctl.learned, devices.left));
  if (!loaded) {
    ctl.stats.changesApplied += changes.length;
    ctl.stats.lastChangeSeq = changes.at(-1)!.seq;
  }
  if (tunnelZones) {
    ctl.ports.tunnelZonesChanged();
    tags.push(TUNNEL_ZONES_TAG);
  }
  const moved = devices.entered.length > 0 || devices.left.length > 0;
  return { out: ctl.invalidate(tags), bindings, devicesMoved: moved };
}

/**
 * A resync (the watch fell behind the compacted change log, store.ts, e.g. after a long store
 * outage): the difference between the replica and the snapshot becomes changes (`changesBetween`),
 * applied like any others, so exactly the flows that read what changed meanwhile are deleted.
 */
export function applySnapshot(ctl: FlowController, snap: Snapshot, history: FlowHistory): FeedResult {
  const changes = changesBetween(ctl.topology, snap);
  const r = changes.length > 0 ? applyChanges(ctl, changes, history) : { out: [], bindings: false };
  ctl.stats.lastChangeSeq = snap.position;
  return r;
}

/**
 * The changes from `replica` to `snap`, all at the snapshot's position, deletes first: an object only
 * in the snapshot is created, one only in the replica deleted, one whose version differs updated.
 * Applied to the replica they give the snapshot's objects; an object with the same kind, id and
 * version in both is not named (versions grow by one per write: equal versions are the same write).
 */
export function changesBetween(replica: Topology, snap: Snapshot): Change[] {
  const seq = snap.position;
  const seen = new Set<string>();
  const upserts: Change[] = [];
  for (const { kind, object } of snap.objects) {
    seen.add(`${kind}/${object.id}`);
    const had = replica.get(kind, object.id);
    if (had !== undefined && had.version === object.version) continue;
    upserts.push({
      seq,
      tx: seq,
      kind,
      id: object.id,
      op: had === undefined ? 'create' : 'update',
      version: object.version,
      object,
    });
  }
  const deletes: Change[] = [];
  for (const { kind, object } of replica.objects())
    if (!seen.has(`${kind}/${object.id}`))
      deletes.push({ seq, tx: seq, kind, id: object.id, op: 'delete', version: object.version + 1, object });
  return [...deletes, ...upserts];
}
