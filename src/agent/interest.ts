/**
 * An agent's interest set: the objects it needs to simulate packets of its local ports, found by
 * walking the topology from those ports. From a port: its device, host, filter chains, the port
 * groups, BGP peers, DHCP leases, floating IPs and mirrors that name it, and its link peer (one device
 * further). From a device (bridge, router): everything that names it (ports, routes, DHCP subnets,
 * BGP networks, NAT objects) and its chains. From a chain: its rules, the chains they jump to and
 * the address and port groups they match. Devices are walked at most `depth` links from a local
 * port (default 2: a VM's bridge, its tenant router, the provider router); the ports of the last
 * device are kept, their peers are not (the simulation loads those on demand). Also the agent's own
 * host, the tunnel zones that hold it and its NAT blocks.
 *
 * Invariant: the result depends only on the topology and the arguments (a pure walk over a reader),
 * so an index in memory and the store itself (`storeReader`) give the same set; everything in it is
 * an object that exists, and a local port's tenant never pulls in another tenant through a chain,
 * a host or a port group (those are followed towards their targets only).
 */
import type { Kind, Obj } from '../state/model.js';
import { referencesOf } from '../state/references.js';
import type { TopologyStore } from '../state/store.js';

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
const WALKED: ReadonlySet<Kind> = new Set(['port', 'bridge', 'router', 'chain', 'rule']);
/** Kinds that name a port and go with it. */
const PORT_HOLDERS: ReadonlySet<Kind> = new Set([
  'port-group',
  'bgp-peer',
  'dhcp-lease',
  'floating-ip',
  'mirror',
]);
/** Kinds that name the agent's own host and go with it. */
const HOST_HOLDERS: ReadonlySet<Kind> = new Set(['tunnel-zone', 'nat-block']);

/** The ids (with kinds) of the objects an agent with these local ports on `hostId` needs. */
export async function interestSet(
  reader: InterestReader,
  localPortIds: Iterable<string>,
  opts: { hostId?: string; depth?: number } = {},
): Promise<Map<string, Held>> {
  const maxDepth = opts.depth ?? 2;
  const held = new Map<string, Held>();
  /** Ports and devices are walked again when reached nearer to a local port than before. */
  const depthOf = new Map<string, number>();
  const todo: Array<[string, readonly Kind[], number]> = [];
  for (const id of localPortIds) todo.push([id, ['port'], 0]);
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
    if (kind === 'bridge' || kind === 'router') {
      for (const x of await reader.holders(id)) add(x, depth);
    } else if (kind === 'port') {
      for (const x of await reader.holders(id)) if (PORT_HOLDERS.has(x.kind)) add(x, depth);
    }
  }
  return held;
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
