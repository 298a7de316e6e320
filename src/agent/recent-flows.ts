/**
 * Flows installed in the last moments, per OpenFlow ingress port, so a PACKET_IN that one of them
 * already covers is sent on with that flow's actions instead of being simulated and installed again.
 *
 * Why: after a FLOW_MOD, Open vSwitch keeps the datapath flow its first miss created (which sends to
 * the controller) until its revalidators run, so the next few packets of the flow come up again. They
 * need no new decision: the flow the agent just installed is the decision.
 *
 * Lookup is keyed by the match, as in a switch's classifier: a port's entries are grouped by mask,
 * and within a group filed under the hash of the packet's bits under the mask (matchHash), so `find`
 * costs one hash lookup per distinct mask, not one comparison per entry.
 *
 * Invariant: an entry is used only while its flow is live in the agent's flow table (the caller checks
 * the cookie), only within `windowMs` of its installation, and only for a packet that agrees with the
 * flow's original packet on every bit of its mask (the same test OVS applies), so a hit gets exactly
 * the actions the flow would give it. Of entries with the same mask and masked bits the newest is
 * used (two different matches whose hashes collide: the older is not found, and its packet is
 * simulated, which is safe). Memory is bounded: at most `perPort` entries per ingress port, the
 * oldest dropped first.
 */
import type { Action } from '../openflow/index.js';
import { agreesOnMask } from '../sim/mask.js';
import { matchHash } from './flow-table.js';

export interface RecentFlow {
  readonly cookie: number;
  readonly mask: readonly number[];
  readonly packet: readonly number[];
  readonly actions: Action[];
  readonly at: number;
}

/** The entries of one port with one mask, by the hash of their masked packet. */
interface MaskGroup {
  readonly mask: readonly number[];
  readonly byKey: Map<number, Entry>;
  /** Entries of the port's queue in this group (found or not). */
  count: number;
  /** The newest entry's sequence number. */
  newest: number;
}

interface Entry {
  readonly flow: RecentFlow;
  readonly group: MaskGroup;
  readonly key: number;
  readonly seq: number;
}

interface PortRecent {
  /** Oldest first. */
  readonly queue: Entry[];
  readonly groups: MaskGroup[];
}

export class RecentFlows {
  private readonly byPort = new Map<number, PortRecent>();
  private seq = 0;

  constructor(
    private readonly windowMs = 1000,
    private readonly perPort = 64,
  ) {}

  add(ofport: number, f: RecentFlow): void {
    let p = this.byPort.get(ofport);
    if (p === undefined) this.byPort.set(ofport, (p = { queue: [], groups: [] }));
    if (p.queue.length >= this.perPort) drop(p);
    let g = p.groups.find((x) => sameMask(x.mask, f.mask));
    if (g === undefined) p.groups.push((g = { mask: f.mask, byKey: new Map(), count: 0, newest: 0 }));
    const e: Entry = { flow: f, group: g, key: matchHash(0, f.mask, f.packet), seq: ++this.seq };
    g.byKey.set(e.key, e);
    g.count++;
    g.newest = e.seq;
    p.queue.push(e);
  }

  /** The newest recent flow on `ofport` whose mask covers `packet`, if any. */
  find(ofport: number, packet: readonly number[], now: number): RecentFlow | undefined {
    const p = this.byPort.get(ofport);
    if (p === undefined) return undefined;
    while (p.queue.length > 0 && now - p.queue[0]!.flow.at > this.windowMs) drop(p);
    let best: Entry | undefined;
    for (const g of p.groups) {
      if (best !== undefined && g.newest < best.seq) continue;
      const e = g.byKey.get(matchHash(0, g.mask, packet));
      if (e === undefined || (best !== undefined && e.seq < best.seq)) continue;
      if (agreesOnMask(g.mask, e.flow.packet, packet)) best = e;
    }
    return best?.flow;
  }

  /** How many entries are kept (every port). */
  get size(): number {
    let n = 0;
    for (const p of this.byPort.values()) n += p.queue.length;
    return n;
  }

  clear(): void {
    this.byPort.clear();
  }
}

/** Drops a port's oldest entry. */
function drop(p: PortRecent): void {
  const e = p.queue.shift()!;
  const g = e.group;
  if (g.byKey.get(e.key) === e) g.byKey.delete(e.key);
  if (--g.count === 0) p.groups.splice(p.groups.indexOf(g), 1);
}

function sameMask(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
