/**
 * An agent's interest set: the objects it needs to simulate packets of its local ports, found by
 * walking the topology from those ports. From a port: its device, host, filter chains, what names
 * it (port groups, BGP peers, DHCP leases, floating IPs; not rules nor its peer), and its link peer
 * (one device further). From a device (bridge, router): everything that names it (ports, routes,
 * DHCP subnets, BGP networks, NAT objects) and its chains. From a chain: its rules, the chains they jump to and
 * the address and port groups they match. Devices are walked at most `depth` links from a local
 * port (default 2: a VM's bridge, its tenant router, the provider router); the ports of the last
 * device are kept, their peers are not (the simulation loads those on demand). A load balancer and
 * its pools go with their router (everything that names them: pools, VIPs, members, health
 * monitors). Also the agent's own host, the tunnel zones that hold it and its NAT blocks, and any
 * extra roots (`roots`: what a simulation asked for), walked like a device at the last depth.
 *
 * Invariant: the result depends only on the topology and the arguments (a pure walk over a reader),
 * so an index in memory and the store itself (`storeReader`) give the same set; everything in it is
 * an object that exists, and a local port's tenant never pulls in another tenant through a chain,
 * a host or a port group (those are followed towards their targets only).
 */
import type { Kind, Obj } from '../state/model.js';
import { referencesOf } from '../state/references.js';
import type { Change, TopologyStore } from '../state/store.js';

export interface Held {
  readonly kind: Kind;
  readonly obj: Obj;
}

/** What the walk reads: an object by id (the kinds it may be), and the objects that name an id. */
export interface InterestReader {
  get(id: string, kinds: readonly Kind[]): Held | undefined | Promise<Held | undefined>;
  holders(id: string): readonly Held[] | Promise<readonly Held[]>;
}

/** Kinds whose references are walked; the others (routes, NAT, DHCP, groups...) are only held. */
export const WALKED: ReadonlySet<Kind> = new Set([
  'port',
  'bridge',
  'router',
  'chain',
  'rule',
  'load-balancer',
  'pool',
]);
/** Kinds whose holders (everything that names them) go with them. */
export const CONTAINERS: ReadonlySet<Kind> = new Set(['bridge', 'router', 'load-balancer', 'pool']);
/**
 * Kinds that name a port without going with it: its link peer (another device, perhaps another
 * tenant's) and rules of any chain that match on it. Everything else that names a port goes with it
 * (port groups, BGP peers, DHCP leases, floating IPs, and kinds added later: a port's mirror or QoS
 * policy must not be missing on the host of the port).
 */
const NOT_WITH_PORT: ReadonlySet<Kind> = new Set(['port', 'rule']);
export const goesWithPort = (kind: Kind): boolean => !NOT_WITH_PORT.has(kind);
/** Kinds that name the agent's own host and go with it. */
export const HOST_HOLDERS: ReadonlySet<Kind> = new Set(['tunnel-zone', 'nat-block']);

/** The ids (with kinds) of the objects an agent with these local ports on `hostId` needs. */
export async function interestSet(
  reader: InterestReader,
  localPortIds: Iterable<string>,
  opts: { hostId?: string; depth?: number; roots?: Iterable<readonly [string, readonly Kind[]]> } = {},
): Promise<Map<string, Held>> {
  const maxDepth = opts.depth ?? 2;
  const held = new Map<string, Held>();
  /** Ports and devices are walked again when reached nearer to a local port than before. */
  const depthOf = new Map<string, number>();
  const todo: Array<[string, readonly Kind[], number]> = [];
  for (const id of localPortIds) todo.push([id, ['port'], 0]);
  for (const [id, kinds] of opts.roots ?? []) todo.push([id, kinds, maxDepth]);
  if (opts.hostId) {
    todo.push([opts.hostId, ['host'], 0]);
    for (const h of await reader.holders(opts.hostId)) if (HOST_HOLDERS.has(h.kind)) add(h, 0);
  }

  function add(h: Held, depth: number): void {
    const seen = depthOf.get(h.obj.id);
    if (seen !== undefined && seen <= depth) return;
    todo.push([h.obj.id, [h.kind], depth]);
  }

  while (todo.length > 0) {
    const [id, kinds, depth] = todo.pop()!;
    const seen = depthOf.get(id);
    if (seen !== undefined && seen <= depth) continue;
    const h = held.get(id) ?? (await reader.get(id, kinds));
    if (!h) continue;
    held.set(id, h);
    depthOf.set(id, depth);
    const { kind, obj } = h;
    if (WALKED.has(kind))
      for (const ref of referencesOf(kind, obj)) {
        if (ref.field === 'peerId') {
          if (depth + 1 <= maxDepth) todo.push([ref.target, ref.targetKinds, depth + 1]);
        } else if (ref.field !== 'ownerId' && !(kind === 'rule' && ref.field === 'chainId'))
          todo.push([ref.target, ref.targetKinds, depth]);
      }
    if (CONTAINERS.has(kind)) {
      for (const x of await reader.holders(id)) add(x, depth);
    } else if (kind === 'port') {
      for (const x of await reader.holders(id)) if (goesWithPort(x.kind)) add(x, depth);
    }
  }
  return held;
}

/** The ids the walk goes on to from an object (its link peer included): none for a kind not walked. */
function followed(kind: Kind, obj: Obj): string[] {
  if (!WALKED.has(kind)) return [];
  const out: string[] = [];
  for (const r of referencesOf(kind, obj))
    if (r.field !== 'ownerId' && !(kind === 'rule' && r.field === 'chainId')) out.push(r.target);
  return out;
}

/** An object the walk passes through without going on: a walked kind that leads nowhere and holds nothing. */
function isLeaf(kind: Kind, obj: Obj): boolean {
  return WALKED.has(kind) && !CONTAINERS.has(kind) && kind !== 'port' && followed(kind, obj).length === 0;
}

const sameIds = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((id, i) => id === b[i]);

/**
 * Whether a change the feed brings, taken into the replica (`had`: the object held before it, if
 * any), may change the interest set by more than the objects of its own batch (`batch`, by id), so
 * the set must be walked again. Not when it keeps its references; not for a new object of a kind the
 * walk does not go on from (a route, a DHCP host: the walk holds it exactly as it attaches), nor for a
 * leaf (a rule matching on no port or group, jumping nowhere) coming or going; not when a walked
 * object's references change only by leaves created or deleted in the same batch (a chain's list of
 * its rules as one is added or removed). Anything else, conservatively, may (a port, a device, a
 * reference moved to an object held elsewhere in the walk, or at another depth).
 */
export function movesInterest(c: Change, had: Obj | undefined, batch: ReadonlyMap<string, Change>): boolean {
  if (c.op === 'delete') return WALKED.has(c.kind) && !isLeaf(c.kind, c.object);
  if (had === undefined) return WALKED.has(c.kind) && !isLeaf(c.kind, c.object);
  const before = referencesOf(c.kind, had);
  const after = referencesOf(c.kind, c.object);
  if (
    sameIds(
      before.map((r) => r.target),
      after.map((r) => r.target),
    )
  )
    return false;
  if (!WALKED.has(c.kind)) return true; // what holds it may have changed
  const fixed = (o: Obj) =>
    referencesOf(c.kind, o)
      .filter((r) => r.field === 'ownerId' || (c.kind === 'rule' && r.field === 'chainId'))
      .map((r) => r.target);
  if (!sameIds(fixed(had), fixed(c.object))) return true;
  const was = new Set(followed(c.kind, had));
  const now = new Set(followed(c.kind, c.object));
  const leafIn = (id: string, op: 'create' | 'delete') => {
    const b = batch.get(id);
    return b !== undefined && b.op === op && isLeaf(b.kind, b.object);
  };
  for (const id of now) if (!was.has(id) && !leafIn(id, 'create')) return true;
  for (const id of was) if (!now.has(id) && !leafIn(id, 'delete')) return true;
  return false;
}

/** A reader over a store: what an agent uses to load its share at start, object by object. */
export function storeReader(store: TopologyStore): InterestReader {
  return {
    async get(id, kinds) {
      for (const kind of kinds) {
        const obj = await store.get(kind, id);
        if (obj) return { kind, obj };
      }
      return undefined;
    },
    async holders(id) {
      const out: Held[] = [];
      for (const r of await store.referrers(id)) {
        const obj = await store.get(r.kind, r.id);
        if (obj) out.push({ kind: r.kind, obj });
      }
      return out;
    },
  };
}

/** An index of a whole topology in memory (from a snapshot, kept by changes), readable by the walk. */
export class TopologyIndex implements InterestReader {
  private readonly byId = new Map<string, Held>();
  private readonly holdersOf = new Map<string, Set<string>>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Held | undefined {
    return this.byId.get(id);
  }

  holders(id: string): Held[] {
    return [...(this.holdersOf.get(id) ?? [])].map((h) => this.byId.get(h)!);
  }

  /** Puts (or, with `obj` null, removes) one object. */
  put(kind: Kind, id: string, obj: Obj | null): void {
    const old = this.byId.get(id);
    if (old)
      for (const r of referencesOf(old.kind, old.obj)) {
        const s = this.holdersOf.get(r.target);
        s?.delete(id);
        if (s?.size === 0) this.holdersOf.delete(r.target);
      }
    if (!obj) {
      this.byId.delete(id);
      return;
    }
    this.byId.set(id, { kind, obj });
    for (const r of referencesOf(kind, obj)) {
      let s = this.holdersOf.get(r.target);
      if (!s) this.holdersOf.set(r.target, (s = new Set()));
      s.add(id);
    }
  }
}
