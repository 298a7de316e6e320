/**
 * What the controller tells other agents about its flows, and what it does with what they tell it:
 *
 * - Flow state (NAT bindings, tracked connections) a committed result made or a FIN ended goes to
 *   the hosts that may see its reply or a later packet (flow-state-sync.ts decides which), before
 *   the packet that made it goes out, and to the store (the durable copy); what peers or the store
 *   share is applied, and the flows that read its absence are deleted; aged state is swept and live
 *   state renewed.
 * - A predicted reply that enters on another host (reply-flow.ts): that host's agent is asked to
 *   install the reply's flow, and the forward packet's PACKET_OUT is held until it answers that the
 *   flow is written to its switch, so the reply cannot reach that switch before its flow (the race
 *   that made the reply a packet-in there). The hold is bounded (`waitMs`); a host whose last answer
 *   did not come in time is not waited for again until it answers (an agent that does not answer
 *   costs one bounded wait, not one per flow). Without a timer (`later`), nothing is held.
 *
 * Invariants: every held PACKET_OUT is released exactly once (by the answer or by the timer,
 * whichever comes first; the other finds nothing); a held packet owns a copy of its bytes. Nothing
 * here does I/O: messages to peers go through PeerSender, OpenFlow messages are returned.
 */
import { performance } from 'node:perf_hooks';
import type { Outgoing } from '../openflow/index.js';
import type { Effect, SimDone } from '../sim/result.js';
import { Tags } from '../sim/tags.js';
import type { LearnedEntry } from '../state/store.js';
import type { FlowStateSync } from './flow-state-sync.js';
import type { LearnedSync } from './learned-sync.js';
import type { PortLocator } from './locations.js';
import type { CtStateEntry, NatStateEntry, PeerMessage } from './peer-codec.js';
import type { AgentStats } from './stats.js';
import { isTcpEnd } from './tcp-end.js';
import type { Waits } from './waits.js';

/** Where the controller's messages to other agents go (peers.ts; a recorder in tests). */
export interface PeerSender {
  send(hostId: string, msg: PeerMessage): boolean;
  broadcast(msg: PeerMessage): void;
}

export const NO_PEERS: PeerSender = { send: () => false, broadcast: () => undefined };

/** Calls `release` once, `ms` from now, and sends what it returns (the daemon's timer). */
export type Later = (ms: number, release: () => Outgoing[]) => void;

/** The effects FlowStateSync.outgoing shares with other hosts. */
function sharesFlowState(e: Effect): boolean {
  return e.kind === 'natCreated' || e.kind === 'conntrackForward';
}

export interface FlowSharingDeps {
  readonly hostId: string;
  readonly peers: PeerSender;
  readonly flowState: FlowStateSync;
  readonly learned: LearnedSync;
  readonly ports: PortLocator;
  readonly waits: Waits;
  readonly stats: AgentStats;
  /** Deletions of the flows tagged with any of `tags` (controller.invalidate). */
  readonly invalidate: (tags: Iterable<string>) => Outgoing[];
  readonly later: Later | undefined;
  /** Longest a first packet waits for the egress agent's answer (ms). */
  readonly waitMs: number;
}

/** A first packet's PACKET_OUT waiting for the answer to reply-flow request `id`. */
interface Held {
  readonly hostId: string;
  readonly msg: Outgoing;
  /** performance.now() when it was held. */
  readonly since: number;
}

export class FlowSharing {
  private readonly held = new Map<number, Held>();
  /** Hosts whose last answer did not come within waitMs (not waited for until they answer). */
  private readonly silent = new Set<string>();
  private nextId = 1;

  constructor(private readonly d: FlowSharingDeps) {}

  /** Hosts the result's outputs go to through tunnels. */
  egressHosts(res: SimDone): string[] {
    const hosts: string[] = [];
    for (const a of res.actions) {
      if (a.kind !== 'output') continue;
      const loc = this.d.ports.locate(a.portId);
      if (loc.kind === 'remote') hosts.push(loc.hostId);
    }
    return hosts;
  }

  /**
   * Shares what a committed result made: new NAT bindings and connections with the hosts that need
   * them, what it taught (MAC, ARP, ND) with every agent.
   */
  committed(res: SimDone, now: number): void {
    this.offerLearned(res.effects, now);
    if (!res.effects.some(sharesFlowState)) return;
    const shared = this.d.flowState.outgoing(res.effects, this.egressHosts(res), now);
    if (shared === undefined) return;
    for (const h of shared.to) this.d.peers.send(h, shared.msg);
    if (shared.msg.kind === 'flowState')
      this.d.learned.queue(this.d.flowState.toStore(shared.msg.nat, shared.msg.ct));
  }

  /** Broadcasts what `effects` taught this host and other agents do not know yet (learned-sync.ts). */
  offerLearned(effects: readonly Effect[], now: number): void {
    const fresh = this.d.learned.offer(effects, now);
    if (fresh.length > 0) this.d.peers.broadcast({ kind: 'learned', from: this.d.hostId, entries: fresh });
  }

  /**
   * A TCP FIN or RST: the connections the result read end here, and the hosts it goes to and the
   * store are told. True when some did (its flow is not installed: the end is watched packet by packet).
   * A FIN or RST of connections that had all ended already ends nothing: its flow is installed, tagged
   * with the connection, and goes when the connection's entry does (a burst of RSTs answering data
   * in flight then costs the agent one packet-in, not one each). The flows of the connections that
   * end go (their deletions to `out`): simulated again, a packet of a connection in its closing time
   * reads the SYN and ACK bits, so a new SYN on the same 5-tuple reaches the agent and opens it again.
   */
  connectionEnd(res: SimDone, now: number, out: Outgoing[]): boolean {
    if (!isTcpEnd(res.packet)) return false;
    const ct = this.d.flowState.ended(res.tags, now);
    if (ct.length === 0) return false;
    out.push(...this.d.invalidate(ct.map((e) => Tags.conntrack(e.key))));
    for (const h of this.egressHosts(res))
      this.d.peers.send(h, { kind: 'flowState', from: this.d.hostId, nat: [], ct });
    this.d.learned.queue(this.d.flowState.toStore([], ct));
    return true;
  }

  /** Applies flow state another agent (or the store) shared; returns deletions of flows it changes. */
  apply(nat: readonly NatStateEntry[], ct: readonly CtStateEntry[], now: number): Outgoing[] {
    const out = this.d.invalidate(this.d.flowState.apply(nat, ct, now));
    this.d.waits.natStateArrived(
      nat.map((e) => e.key),
      now,
      out,
    );
    return out;
  }

  /**
   * Applies the flow state among learned entries (other tables are skipped), other hosts' only unless
   * `includeOwn` (start-up: what an earlier run of this host wrote to the store).
   */
  applyFromStore(entries: readonly LearnedEntry[], now: number, includeOwn: boolean): Outgoing[] {
    const own = this.d.hostId;
    const fs = this.d.flowState.fromStore(includeOwn ? entries : entries.filter((e) => e.origin !== own));
    return fs.nat.length + fs.ct.length > 0 ? this.apply(fs.nat, fs.ct, now) : [];
  }

  /**
   * Removes aged NAT bindings and connections (returns deletions of the flows that used them), and
   * renews, with the hosts that hold copies, the state installed flows still use.
   */
  sweep(now: number, renew: boolean): Outgoing[] {
    const fs = this.d.flowState;
    if (renew) {
      for (const r of fs.renewals(now)) this.d.peers.send(r.to, r.msg);
      const live = fs.live(now);
      this.d.learned.queue(fs.toStore(live.nat, live.ct));
    }
    return this.d.invalidate(fs.sweep(now));
  }

  // ---- reply flows on other hosts ----------------------------------------------------------------

  /**
   * Asks `hostId`'s agent for the flow of the reply `packet` entering its port `portId`; returns the
   * id to hold the forward packet on (hold), or 0 when nothing was asked or it is not to be waited for.
   */
  askReply(hostId: string, portId: string, packet: readonly number[]): number {
    const waits = this.d.later !== undefined && this.d.waitMs > 0;
    const id = waits ? this.nextId : 0;
    if (waits) this.nextId = id >= 0xffffffff ? 1 : id + 1;
    const sent = this.d.peers.send(hostId, { kind: 'replyFlow', from: this.d.hostId, portId, packet, id });
    if (!sent) return 0;
    this.d.stats.replyFlowRequests++;
    return this.silent.has(hostId) ? 0 : id;
  }

  /**
   * Holds `msg` (a PACKET_OUT owning its bytes) until request `id` is answered, at most waitMs.
   * Returns false (the caller sends it now) when there is no timer.
   */
  hold(id: number, hostId: string, msg: Outgoing): boolean {
    const later = this.d.later;
    if (later === undefined) return false;
    this.held.set(id, { hostId, msg, since: performance.now() });
    later(this.d.waitMs, () => this.release(id, false));
    return true;
  }

  /** `hostId` answered request `id`: its switch has the reply's flow. Returns the held packet. */
  answered(hostId: string, id: number): Outgoing[] {
    this.silent.delete(hostId);
    return this.release(id, true);
  }

  private release(id: number, answered: boolean): Outgoing[] {
    const h = this.held.get(id);
    if (h === undefined) return [];
    this.held.delete(id);
    this.d.stats.replyFlowWait.observe((performance.now() - h.since) * 1000);
    if (answered) this.d.stats.replyFlowAnswers++;
    else {
      this.d.stats.replyFlowWaitsExpired++;
      this.silent.add(h.hostId);
    }
    return [h.msg];
  }

  /** First packets held now (a gauge for tests). */
  get holding(): number {
    return this.held.size;
  }
}
