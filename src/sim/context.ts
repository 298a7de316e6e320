/**
 * SimContext: the state of one simulation walk — the packet, what was read (tags), what should happen
 * (outputs, generated packets, effects), what was missing, and the trace being built.
 *
 * One context is reused by every simulation (simulate is synchronous and not re-entrant), so the hot
 * path allocates almost nothing; `simulate` copies out everything a result keeps.
 *
 * Invariant: everything the walk consults besides the packet goes through this object (topology views
 * through `topo`, runtime tables through `state`, group lookups through the RuleEnv methods), and each
 * such read adds its tag here.
 */
import { Candidates } from './classifier.js';
import type { FlowMatch } from './flow-match.js';
import type { Action, Effect, TraceNode } from './result.js';
import type { GroupView, RuleEnv } from './rule-match.js';
import type { Conntrack } from './flow-state.js';
import type { RuntimeState } from './runtime-state.js';
import type { Tag } from './tags.js';
import type { Topology } from './topology.js';

/** Most devices one packet (with all its flood branches) may traverse. */
export const MAX_DEVICE_HOPS = 32;
/** Deepest chain jump nesting. */
export const MAX_JUMP_DEPTH = 16;

export interface Output {
  readonly portId: string;
  /** Headers at output; null when nothing was rewritten. */
  readonly headers: readonly number[] | null;
  readonly ttlDecrements: number;
}

/** An interior port the packet crossed, for the mirrors that name it (mirror.ts). */
export interface Crossing {
  /** 'in': the packet entered the port's device through it; 'out': it left its device through it. */
  readonly dir: 'in' | 'out';
  /** The port, and the headers as they were there. */
  readonly at: Output;
}

export class SimContext implements RuleEnv {
  topo!: Topology;
  m!: FlowMatch;
  state!: RuntimeState;
  now = 0;
  /** RuleEnv: the port the packet entered the current device through. */
  inPortId: string | null = null;
  /** RuleEnv: the port the current device chose for output. */
  outPortId: string | null = null;
  /** The VLAN the current bridge switches the frame on (egress pushes or pops tags for it). */
  vlan = 0;
  /** RuleEnv: the device whose chain runs (connection tracking and NAT zone). */
  zone = '';
  // Fresh arrays per simulation (cheaper than truncating, and the result can keep them).
  tags: Tag[] = [];
  effects: Effect[] = [];
  outputs: Output[] = [];
  emits: Action[] = [];
  /** Interior ports crossed that a mirror names, in walk order. */
  crossings: Crossing[] = [];
  needs: string[] = [];
  /** The first reason a branch was dropped. */
  dropReason: string | null = null;
  /** Devices traversed so far (loop guard). */
  hops = 0;
  /** Most TTL decrements on any branch so far. */
  maxTtlDecrements = 0;
  /** A bridge flooded the packet on the walk. */
  flooded = false;
  tracing = false;
  /** See SimulateOptions.waitForFlowState. */
  waitForFlowState = false;
  private readonly stack: TraceNode[] = [];
  private readonly scratch: Candidates[] = [];

  get conntrack(): Conntrack {
    return this.state.conntrack;
  }

  reset(topo: Topology, m: FlowMatch, state: RuntimeState, now: number, tracing: boolean): void {
    this.topo = topo;
    this.m = m;
    this.state = state;
    this.now = now;
    this.inPortId = null;
    this.outPortId = null;
    this.vlan = 0;
    this.zone = '';
    this.tags = [];
    this.effects = [];
    this.outputs = [];
    this.emits = [];
    this.crossings = [];
    this.needs = [];
    this.dropReason = null;
    this.hops = 0;
    this.maxTtlDecrements = 0;
    this.flooded = false;
    this.tracing = tracing;
    if (tracing) this.stack.length = 0;
  }

  addTag(tag: Tag): void {
    const t = this.tags;
    for (let i = 0; i < t.length; i++) if (t[i] === tag) return;
    t.push(tag);
  }
  need(id: string): void {
    if (!this.needs.includes(id)) this.needs.push(id);
  }
  portGroup(id: string): GroupView<string> | undefined {
    return this.topo.portGroup(id);
  }
  ipAddrGroup(id: string): GroupView<number> | undefined {
    return this.topo.ipAddrGroup(id);
  }
  trackForward(key: string): void {
    for (const e of this.effects) if (e.kind === 'conntrackForward' && e.key === key) return;
    this.effects.push({ kind: 'conntrackForward', key });
  }
  /** Scratch candidate lists for chain evaluation at a jump depth. */
  candidates(depth: number): Candidates {
    let c = this.scratch[depth];
    if (c === undefined) this.scratch[depth] = c = new Candidates();
    return c;
  }

  drop(reason: string): void {
    if (this.dropReason === null) this.dropReason = reason;
    if (this.tracing) this.line(`drop: ${reason}`);
  }

  /** Records an output on an exterior port with the headers as they are now. */
  output(portId: string): void {
    this.outputs.push(this.headersAt(portId));
  }

  /** Records the crossing of interior port `portId`, when a mirror names it, with the headers now. */
  crossed(portId: string, dir: 'in' | 'out'): void {
    if (this.topo.mirrors.names(portId)) this.crossings.push({ dir, at: this.headersAt(portId) });
  }

  /** The packet as it is now at `portId` (the written fields join the mask: actions rewrite them). */
  private headersAt(portId: string): Output {
    const m = this.m;
    let headers: number[] | null = null;
    if (m.wroteAny) {
      headers = m.cur.slice();
      m.matchWrittenFields();
    }
    return { portId, headers, ttlDecrements: m.ttlDecrements };
  }

  emit(fromPortId: string, packet: Action & { kind: 'emit' }): void {
    this.m.noCache('generates a reply packet');
    this.emits.push(packet);
    if (this.tracing) this.line(`emit ${packet.why} from port ${this.portName(fromPortId)}`);
  }

  // ---- trace ---------------------------------------------------------------------------------------

  /** The root of the trace (valid while tracing). */
  root: TraceNode = { text: '', children: [] };

  startTrace(text: string): void {
    this.root = { text, children: [] };
    this.stack.length = 0;
    this.stack.push(this.root);
  }
  line(text: string): void {
    this.stack[this.stack.length - 1]!.children.push({ text, children: [] });
  }
  enter(text: string): void {
    const n: TraceNode = { text, children: [] };
    this.stack[this.stack.length - 1]!.children.push(n);
    this.stack.push(n);
  }
  leave(): void {
    if (this.stack.length > 1) this.stack.pop();
  }
  portName(id: string): string {
    return this.topo.port(id)?.name ?? id;
  }
}
