/**
 * Port mirroring in the simulation: which copies of a packet the installed flow sends, and to where.
 *
 * A mirror (model kind `mirror`) has sources (ports, and/or every port of a bridge), a direction, a
 * match filter and a destination port. After the walk, the packet's exterior ingress port is a source
 * for `in` mirrors and each exterior port it is output to for `out` mirrors; a bridge source stands
 * for the bridge's exterior ports. A selected mirror adds one output to its destination port: an `in`
 * copy before anything is rewritten (the packet as the VM sent it), an `out` copy right after the
 * output it copies (the packet as the VM receives it). An interior port (a router port, a bridge's
 * uplink) named as a source is one too: the walk records where it crossed one (context.ts `crossed`:
 * `in` when the packet reached the port, `out` when it left its device through it) with the headers
 * there, and the copy goes out with those headers, placed among the outputs (actions.ts). The copy is
 * never simulated through the topology: the agent resolves the destination like any egress port (a local interface, or the tunnel
 * to its host, where the proactive tunnel flow delivers it). At most one copy per destination port per
 * packet, the first selection winning (as OVS mirrors do).
 *
 * The filter takes the stateless rule conditions and reads the headers as the packet entered the
 * topology, whichever direction selected it, through the match's tracked reads, so the flow's mask
 * covers what the filter read and a flow that carries a copy never serves a packet the filter refuses.
 *
 * Invariant: every flow whose simulation consulted a mirror carries that mirror's tag (selected or
 * not, down or up), and a mirror change returns that tag plus the tags of the ports and bridges it
 * newly names (flows through those carry the port and bridge tags), so changing or deleting a mirror
 * invalidates exactly the flows that consulted it and creating one the flows through its sources.
 */
import type { Obj } from '../state/model.js';
import type { Output, SimContext } from './context.js';
import { NUM_FIELDS, type FlowMatch } from './flow-match.js';
import type { Action } from './result.js';
import { compileRule, ruleMatches, type CompiledRule } from './rule-match.js';
import { Tags, type Tag } from './tags.js';

export interface MirrorView {
  readonly id: string;
  readonly name: string;
  readonly adminStateUp: boolean;
  readonly copiesIn: boolean;
  readonly copiesOut: boolean;
  readonly toPortId: string;
  /** The match filter as a rule (null: copies every packet). */
  readonly filter: CompiledRule | null;
  readonly tag: Tag;
}

function viewOf(m: Obj<'mirror'>): MirrorView {
  const hasFilter = Object.keys(m.conditions).length > 0;
  return {
    id: m.id,
    name: m.name,
    adminStateUp: m.adminStateUp,
    copiesIn: m.direction !== 'out',
    copiesOut: m.direction !== 'in',
    toPortId: m.toPortId,
    filter: hasFilter
      ? compileRule(
          {
            id: m.id,
            version: 1,
            name: m.name,
            chainId: m.id,
            action: 'accept',
            jumpChainId: null,
            conditions: m.conditions,
            natTargets: [],
            setDscp: null,
            ownerId: null,
          },
          0,
        )
      : null,
    tag: Tags.mirror(m.id),
  };
}

function sourcesOf(m: Obj<'mirror'>): string[] {
  return m.bridgeId === null ? m.portIds : [...m.portIds, m.bridgeId];
}

/** The mirrors of a topology, indexed by source (a port id or a bridge id). */
export class Mirrors {
  private readonly views = new Map<string, MirrorView>();
  private readonly bySource = new Map<string, Set<string>>();

  /** Mirrors that name `sourceId` (a port or a bridge), in id order. */
  of(sourceId: string): readonly MirrorView[] {
    const ids = this.bySource.get(sourceId);
    if (ids === undefined || ids.size === 0) return NONE;
    return [...ids].sort().map((id) => this.views.get(id)!);
  }

  get size(): number {
    return this.views.size;
  }

  /** Whether a mirror names `portId` as a source port (not through its bridge). */
  names(portId: string): boolean {
    return (this.bySource.get(portId)?.size ?? 0) > 0;
  }

  /** Replaces mirror `old` by `now` (either may be absent); returns the tags of the flows to invalidate. */
  change(old: Obj<'mirror'> | undefined, now: Obj<'mirror'> | undefined): Tag[] {
    const tags: Tag[] = [];
    const before = new Set(old ? sourcesOf(old) : []);
    if (old !== undefined) {
      tags.push(Tags.mirror(old.id));
      for (const s of before) this.bySource.get(s)?.delete(old.id);
      this.views.delete(old.id);
    }
    if (now !== undefined) {
      this.views.set(now.id, viewOf(now));
      for (const s of sourcesOf(now)) {
        let set = this.bySource.get(s);
        if (set === undefined) this.bySource.set(s, (set = new Set()));
        set.add(now.id);
        if (!before.has(s)) tags.push(now.bridgeId === s ? Tags.bridge(s) : Tags.port(s));
      }
    }
    return tags;
  }
}

const NONE: readonly MirrorView[] = [];

/**
 * One copy the flow sends: before everything (`afterPortId` null), after the output to a port, or, of
 * a packet crossing an interior port, with the headers it had there (`at`).
 */
export interface MirrorCopy {
  readonly mirrorId: string;
  readonly toPortId: string;
  readonly afterPortId: string | null;
  readonly at: Output | null;
}

/** Whether the filter selects the packet, read on the headers as it entered (the mask records it). */
function selects(ctx: SimContext, v: MirrorView, inPortId: string): boolean {
  if (v.filter === null) return true;
  const m: FlowMatch = ctx.m;
  const saved = m.save();
  m.restore({ cur: m.orig, written: ZERO, ttlDecrements: 0, wroteAny: false });
  ctx.inPortId = inPortId;
  ctx.outPortId = null;
  ctx.zone = '';
  const yes = ruleMatches(v.filter, m, ctx);
  m.restore(saved);
  return yes;
}

const ZERO: readonly number[] = new Array<number>(NUM_FIELDS).fill(0);

/**
 * The copies the mirrors of the topology ask for, for the walk `ctx` just made from `inPortId`
 * (`ingress`: false when the packet did not enter there, e.g. a generated reply leaving a port).
 */
export function mirrorCopies(
  ctx: SimContext,
  mirrors: Mirrors,
  inPortId: string,
  ingress: boolean,
): MirrorCopy[] {
  if (mirrors.size === 0) return [];
  const copies: MirrorCopy[] = [];
  const decided = new Map<string, boolean>();
  const consider = (portId: string, dir: 'in' | 'out', at: Output | null = null): void => {
    const port = ctx.topo.port(portId);
    // A bridge stands for its exterior ports only.
    const lists =
      port === undefined || at !== null
        ? [mirrors.of(portId)]
        : [mirrors.of(portId), mirrors.of(port.deviceId)];
    for (const list of lists)
      for (const v of list) {
        ctx.addTag(v.tag);
        if (!v.adminStateUp || !(dir === 'in' ? v.copiesIn : v.copiesOut)) continue;
        let yes = decided.get(v.id);
        if (yes === undefined) decided.set(v.id, (yes = selects(ctx, v, inPortId)));
        if (!yes || copies.some((c) => c.toPortId === v.toPortId)) continue;
        // The destination's location is the agent's to resolve, but only for a port it holds.
        if (ctx.topo.port(v.toPortId) === undefined) ctx.need(v.toPortId);
        copies.push({
          mirrorId: v.id,
          toPortId: v.toPortId,
          afterPortId: dir === 'in' || at !== null ? null : portId,
          at: at === null ? null : { ...at, portId: v.toPortId },
        });
        if (ctx.tracing)
          ctx.line(
            `mirror ${v.name}: copy (${dir} at ${ctx.portName(portId)}) to port ${ctx.portName(v.toPortId)}`,
          );
      }
  };
  if (ingress) consider(inPortId, 'in');
  for (const c of ctx.crossings) consider(c.at.portId, c.dir, c.at);
  for (const o of ctx.outputs) consider(o.portId, 'out');
  return copies;
}

/** The copies made at interior ports, as outputs to their destinations (placed by actionsFromDiff). */
export function interiorCopies(copies: readonly MirrorCopy[]): Output[] {
  const out: Output[] = [];
  for (const c of copies) if (c.at !== null) out.push(c.at);
  return out;
}

/**
 * The actions with the copies of exterior ports added: `in` copies first, `out` copies right after
 * their output (interior copies are among the actions already).
 */
export function withCopies(actions: Action[], copies: readonly MirrorCopy[]): Action[] {
  if (copies.every((c) => c.at !== null)) return actions;
  const out: Action[] = [];
  for (const c of copies)
    if (c.afterPortId === null && c.at === null) out.push({ kind: 'output', portId: c.toPortId });
  const done = new Set<MirrorCopy>();
  for (const a of actions) {
    out.push(a);
    if (a.kind !== 'output') continue;
    for (const c of copies)
      if (c.afterPortId === a.portId && !done.has(c)) {
        done.add(c);
        out.push({ kind: 'output', portId: c.toPortId });
      }
  }
  return out;
}
