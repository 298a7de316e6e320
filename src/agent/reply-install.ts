/**
 * Installs predicted replies' flows (reply-flow.ts predicts them): when a forward flow is installed,
 * its reply's flow is simulated and installed with it when the reply enters at a local port; when it
 * enters on another host, that host's agent is asked to (flow-sharing.ts), and serves such requests
 * from other agents here.
 *
 * Invariant: a predicted flow is installed only when its simulation is final, cacheable, forwards
 * the packet and has no effect but MAC learning; its effects are never committed (it is a
 * prediction: the forward packet's committed effects are what it reads).
 */
import type { Outgoing } from '../openflow/index.js';
import { FlowMatch } from '../sim/flow-match.js';
import type { SimDone } from '../sim/result.js';
import type { MemoryRuntimeState } from '../sim/runtime-state.js';
import { simulate } from '../sim/simulate.js';
import type { Topology } from '../sim/topology.js';
import type { Decided } from './controller-types.js';
import { deleteByCookie } from './flow-mods.js';
import type { FlowSharing } from './flow-sharing.js';
import type { PortLocator } from './locations.js';
import type { RecentFlows } from './recent-flows.js';
import { predictReply } from './reply-flow.js';
import type { AgentStats } from './stats.js';
import type { Waits } from './waits.js';

/** What it uses of the controller (controller.ts passes itself). */
export interface ReplyFlowDeps {
  readonly topology: Topology;
  readonly state: MemoryRuntimeState;
  readonly ports: PortLocator;
  readonly waits: Waits;
  readonly stats: AgentStats;
  readonly sharing: FlowSharing;
  readonly recent: RecentFlows;
  /** Records the result as a flow of local port `entry` and builds its FLOW_MOD (the controller's). */
  decide(res: SimDone, entry: string, ofport: number, now: number): Decided;
  /** The FLOW_MOD `decide` would build, nothing recorded (the controller's; a rehearsal's). */
  planOnly(res: SimDone, entry: string, ofport: number): { msg: Outgoing | null };
}

export class ReplyFlows {
  private readonly match = new FlowMatch();

  constructor(private readonly d: ReplyFlowDeps) {}

  /**
   * The predicted reply's flow (reply-flow.ts): installed here when the reply enters at a local port;
   * when it enters on another host, that host's agent is asked to install it, and the request to wait
   * for before this packet goes out is returned (flow-sharing.ts).
   */
  install(fwd: SimDone, now: number, out: Outgoing[]): { id: number; hostId: string } | undefined {
    const entry = predictReply(fwd, this.match);
    if (entry === undefined) return undefined;
    const ofport = this.d.ports.ofportOf(entry);
    if (ofport !== undefined) {
      this.predictedFlow(entry, ofport, now, out);
      return undefined;
    }
    const loc = this.d.ports.locate(entry);
    if (loc.kind !== 'remote') return undefined;
    const id = this.d.sharing.askReply(loc.hostId, entry, this.match.orig);
    return id === 0 ? undefined : { id, hostId: loc.hostId };
  }

  /**
   * Rehearses the predicted reply of `fwd` when it enters at a local port (rehearsal.ts): simulated
   * and planned, its FLOW_MOD appended to `out`, nothing recorded or asked for.
   */
  rehearse(fwd: SimDone, now: number, out: Outgoing[]): void {
    const entry = predictReply(fwd, this.match);
    const ofport = entry === undefined ? undefined : this.d.ports.ofportOf(entry);
    if (entry === undefined || ofport === undefined) return;
    const res = simulate(this.d.topology, this.match, entry, now, { state: this.d.state });
    if (res.kind !== 'done' || !res.cacheable) return;
    const msg = this.d.planOnly(res, entry, ofport).msg;
    if (msg !== null) out.push(msg);
  }

  /**
   * Another agent asks for the flow of a reply that will enter at local port `portId` (the caller
   * answers it once the messages returned are written).
   */
  remote(portId: string, packet: readonly number[], now: number): Outgoing[] {
    const out: Outgoing[] = [];
    const ofport = this.d.ports.ofportOf(portId);
    if (ofport === undefined || packet.length !== this.match.orig.length) return out;
    for (let i = 0; i < packet.length; i++) this.match.orig[i] = packet[i]! >>> 0;
    this.match.resetHeaders();
    this.predictedFlow(portId, ofport, now, out);
    return out;
  }

  /**
   * Installs the flow of the predicted packet in `replyMatch` entering local port `entry`, when its
   * simulation gives a cacheable flow that forwards it. Its effects are not committed: it is a
   * prediction, and the forward packet's effects (committed first) are what it reads.
   */
  private predictedFlow(entry: string, ofport: number, now: number, out: Outgoing[]): void {
    const res = simulate(this.d.topology, this.match, entry, now, { state: this.d.state });
    if (res.kind !== 'done') return;
    // The reply will need a next hop resolved: ask for it now, while the forward packet travels.
    if (res.effects.some((e) => e.kind === 'arpWanted' || e.kind === 'ndWanted'))
      return this.d.waits.askArp(res.effects, now, out);
    if (!res.cacheable || !res.actions.some((a) => a.kind === 'output')) return;
    if (res.effects.some((e) => e.kind !== 'macLearned')) return;
    const d = this.d.decide(res, entry, ofport, now);
    if (d.flow === null) return;
    this.d.stats.replyFlows++;
    if (d.flow.replaced !== undefined) out.push(deleteByCookie(d.flow.replaced));
    out.push(d.flow.msg);
    this.d.recent.add(ofport, {
      cookie: d.flow.cookie,
      mask: d.flow.mask,
      packet: res.packet,
      actions: d.actions,
      at: now,
    });
  }
}
