/**
 * Flow history: why each recent reactive flow left the agent, for `midonet-cli agent flow-history`.
 * No anchor explains a removed flow (ovs-ofctl shows only the flows that are there); this does:
 *
 *   idle          unused for its idle timeout: the agent deleted it (idle-expiry.ts), or the switch
 *                 did, for a flow of an earlier version with a timeout (FLOW_REMOVED)
 *   hard-timeout  the switch removed it at its hard timeout
 *   evicted       the switch evicted it (table full)
 *   deleted       the switch reported it deleted by someone else (another controller, ovs-ofctl)
 *   invalidated   something it depended on changed: a store change (the object's kind, name, id and
 *                 the change's feed position), a learned MAC/ARP entry, a port's location, a host's
 *                 liveness, the tunnel zones
 *   replaced      a new flow with the same match took its place
 *   reset         every reactive flow was dropped at once (the switch (re)connected, the host was told
 *                 to forget)
 *
 * Hook API: the agent makes one FlowHistory and makes four calls, each a line:
 *   history.attach(flowTable)        once: listens to the table's removals (flow-table.ts onRemove)
 *   history.changes(batch)           before the flows of a batch of store changes are invalidated
 *   history.fromSwitch(flowRemoved)  before a FLOW_REMOVED from the switch is applied to the table
 *   history.reset(why)               before every reactive flow is dropped at once
 * A context given by changes/fromSwitch/reset applies to removals in the same synchronous turn only
 * (it is cleared on the next microtask), so it can never explain a later, unrelated removal.
 *
 * Invariant: memory is bounded: a ring of `capacity` entries (default 4,096), oldest overwritten first;
 * an entry holds the removed flow's record as the table read it back for the removal (its tag array,
 * whose strings are the table's interned instances) and a few small values. The table tells it only
 * the last `capacity` removals of one invalidation (onRemoveKeeps): the ring would drop the others.
 */
import type { Change } from '../state/store.js';
import type { FlowRecord, FlowTable, RemovedBy } from './flow-table.js';

export type RemovalReason =
  'idle' | 'hard-timeout' | 'evicted' | 'deleted' | 'invalidated' | 'replaced' | 'reset';

/** The store change that explains an invalidation. */
export interface ChangeCause {
  /** Feed position of the change. */
  readonly seq: number;
  readonly op: Change['op'];
  readonly kind: string;
  readonly id: string;
  readonly name: string | null;
}

export interface FlowRemoval {
  /** The flow's cookie, hex as in the switch (`0x2a`). */
  readonly cookie: string;
  /** Ingress port id. */
  readonly inPort: string;
  readonly installedAt: number;
  readonly removedAt: number;
  readonly reason: RemovalReason;
  /** One line for people: `invalidated by update of chain 'fw' (d19f...) at change 42`. */
  readonly detail: string;
  /** invalidated: the tag through which the flow was found. */
  readonly tag?: string;
  /** invalidated by a store change: that change. */
  readonly change?: ChangeCause;
  /** replaced: the cookie of the flow that took its place. */
  readonly replacedBy?: string;
  /** From the switch's FLOW_REMOVED: packets and seconds the flow lived. */
  readonly packets?: number;
  readonly durationSec?: number;
  readonly tags: readonly string[];
}

/** The fields of a FLOW_REMOVED the history reads. */
export interface SwitchRemoval {
  readonly cookie: bigint;
  /** OFPRR_*: 0 idle timeout, 1 hard timeout, 2 delete, 3 group delete, 5 eviction (OF1.4 code). */
  readonly reason: number;
  readonly durationSec: number;
  readonly packetCount: bigint;
}

export interface HistoryQuery {
  /** Ingress port id. */
  readonly port?: string;
  /** Cookie as a number or hex string. */
  readonly cookie?: number;
  /** Newest first, at most this many (default all kept). */
  readonly limit?: number;
}

type Context =
  | { readonly kind: 'changes'; readonly changes: readonly Change[] }
  | { readonly kind: 'switch'; readonly removal: SwitchRemoval }
  | { readonly kind: 'reset'; readonly why: string };

const SWITCH_REASON: Record<number, RemovalReason> = {
  0: 'idle',
  1: 'hard-timeout',
  2: 'deleted',
  3: 'deleted',
  5: 'evicted',
};

const hex = (cookie: number): string => `0x${cookie.toString(16)}`;

export class FlowHistory {
  private readonly ring: Array<FlowRemoval | undefined>;
  private next = 0;
  private count = 0;
  private context: Context | undefined;
  private clearing = false;

  constructor(
    readonly capacity = 4096,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`flow history: capacity ${capacity}`);
    this.ring = new Array<FlowRemoval | undefined>(capacity);
  }

  /** Hook: listens to every removal from `table`. */
  attach(table: FlowTable): void {
    table.onRemove = (f, why) => this.removed(f, why);
    table.onRemoveKeeps = this.capacity; // the ring would drop earlier ones of a batch at once
  }

  /** Hook: the removals of this turn are the invalidations of these store changes. */
  changes(batch: readonly Change[]): void {
    this.set({ kind: 'changes', changes: batch });
  }

  /** Hook: the switch removed a flow (FLOW_REMOVED); called before the table hears of it. */
  fromSwitch(removal: SwitchRemoval): void {
    this.set({ kind: 'switch', removal });
  }

  /** Hook: every reactive flow is about to be dropped, for this reason ("switch reconnected"). */
  reset(why: string): void {
    this.set({ kind: 'reset', why });
  }

  private set(c: Context): void {
    this.context = c;
    if (this.clearing) return;
    this.clearing = true;
    queueMicrotask(() => {
      this.context = undefined;
      this.clearing = false;
    });
  }

  /** Records one removal (the table's listener). */
  removed(f: FlowRecord, why: RemovedBy): void {
    const base = {
      cookie: hex(f.cookie),
      inPort: f.inPort,
      installedAt: f.installedAt,
      removedAt: this.clock(),
      tags: f.tags,
    };
    this.push({ ...base, ...this.explain(f, why) });
  }

  private explain(
    f: FlowRecord,
    why: RemovedBy,
  ): Pick<FlowRemoval, 'reason' | 'detail' | 'tag' | 'change' | 'replacedBy' | 'packets' | 'durationSec'> {
    const ctx = this.context;
    switch (why.kind) {
      case 'replaced':
        return {
          reason: 'replaced',
          detail: `replaced by flow ${hex(why.by)} with the same match`,
          replacedBy: hex(why.by),
        };
      case 'idle': {
        const durationSec = Math.round((this.clock() - f.installedAt) / 1000);
        return {
          reason: 'idle',
          detail: `idle timeout (unused ${why.idleMs / 1000} s) after ${durationSec} s, ${why.packets} packets`,
          packets: why.packets,
          durationSec,
        };
      }
      case 'cleared':
        return {
          reason: 'reset',
          detail: ctx?.kind === 'reset' ? ctx.why : 'every reactive flow was dropped',
        };
      case 'tag': {
        const change = ctx?.kind === 'changes' ? explainingChange(why.tag, ctx.changes) : undefined;
        if (change === undefined)
          return { reason: 'invalidated', detail: `invalidated: ${describeTag(why.tag)}`, tag: why.tag };
        return {
          reason: 'invalidated',
          detail: `invalidated by ${change.op} of ${change.kind} ${change.name === null ? change.id : `'${change.name}' (${change.id})`} at change ${change.seq}`,
          tag: why.tag,
          change,
        };
      }
      case 'other': {
        if (ctx?.kind === 'switch' && Number(ctx.removal.cookie) === f.cookie) {
          const reason = SWITCH_REASON[ctx.removal.reason] ?? 'deleted';
          const packets = Number(ctx.removal.packetCount);
          return {
            reason,
            detail: `${reason === 'idle' ? 'idle timeout' : reason === 'deleted' ? 'deleted in the switch' : reason} after ${ctx.removal.durationSec} s, ${packets} packets`,
            packets,
            durationSec: ctx.removal.durationSec,
          };
        }
        return { reason: 'deleted', detail: 'removed from the table' };
      }
    }
  }

  private push(e: FlowRemoval): void {
    this.ring[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** How many removals are kept. */
  get size(): number {
    return this.count;
  }

  /** Kept removals, newest first, filtered by ingress port or cookie. */
  list(q: HistoryQuery = {}): FlowRemoval[] {
    const out: FlowRemoval[] = [];
    const limit = q.limit ?? this.capacity;
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity]!;
      if (q.port !== undefined && e.inPort !== q.port) continue;
      if (q.cookie !== undefined && e.cookie !== hex(q.cookie)) continue;
      out.push(e);
    }
    return out;
  }
}

/** The id a tag names (`chain:ID` -> ID, `mac:BRIDGE/VLAN/MAC` -> BRIDGE). */
export function tagObjectId(tag: string): string {
  const rest = tag.slice(tag.indexOf(':') + 1);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

/** The change of `batch` that explains an invalidation through `tag`, the first one wins. */
export function explainingChange(tag: string, batch: readonly Change[]): ChangeCause | undefined {
  const kind = tag.slice(0, tag.indexOf(':'));
  const id = tagObjectId(tag);
  const cause = (c: Change): ChangeCause => ({
    seq: c.seq,
    op: c.op,
    kind: c.kind,
    id: c.id,
    name: typeof c.object.name === 'string' ? c.object.name : null,
  });
  if (kind === 'tunnel-zones') {
    const c = batch.find((x) => x.kind === 'tunnel-zone');
    return c && cause(c);
  }
  // The object itself changed, else an object that refers to it (a rule of a chain, a route of a
  // router, a port of a bridge).
  const own = batch.find((c) => c.id === id);
  if (own) return cause(own);
  const referring = batch.find((c) =>
    Object.values(c.object as unknown as Record<string, unknown>).some((v) => v === id),
  );
  return referring && cause(referring);
}

/** A tag as words, for an invalidation no store change explains. */
export function describeTag(tag: string): string {
  const kind = tag.slice(0, tag.indexOf(':'));
  const rest = tag.slice(kind.length + 1);
  switch (kind) {
    case 'mac':
      return `MAC table entry ${rest} (bridge/vlan/mac) changed`;
    case 'arp':
      return `ARP entry ${rest} (router/address) changed`;
    case 'ct':
      return `connection ${rest} changed`;
    case 'location':
      return `port ${rest} moved on this host (its OpenFlow port changed)`;
    case 'liveness':
      return `host ${rest} came back or went down`;
    case 'tunnel-zones':
      return 'tunnel zones changed';
    default:
      return `${kind} ${rest} changed`;
  }
}
