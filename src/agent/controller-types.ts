/**
 * The controller's types: what it talks to besides the switch (peers, NAT blocks, DHCP, on-demand
 * topology, a timer), its configuration, and what a simulation result becomes on this host (a
 * planned flow, a decision). Types only: no code, no state.
 */
import type { Action, Match, Outgoing } from '../openflow/index.js';
import type { FlowSettings } from './flow-mods.js';
import type { Later, PeerSender } from './flow-sharing.js';
import type { NatBlockSource } from './waits.js';

/** Where DHCP client messages go (dhcp-service.ts): answered asynchronously, by PACKET_OUT. */
export interface DhcpSink {
  request(dhcpId: string, portId: string, frame: Uint8Array): void;
}

/**
 * Where the controller asks for topology objects a simulation needs (interest-keeper.ts); absent, a
 * packet that needs one is dropped (the replica is the whole topology).
 */
export interface TopologyDemand {
  /** Loads `ids` in the background; `waits.loaded` is called once they are in. */
  load(ids: readonly string[], now: number): void;
  /** The store is known not to have `id`. */
  absent(id: string, now: number): boolean;
}

/** What the controller talks to besides the switch (all optional: tests give what they use). */
export interface ControllerDeps {
  readonly peers?: PeerSender;
  readonly natBlocks?: NatBlockSource;
  readonly dhcp?: DhcpSink;
  readonly demand?: TopologyDemand;
  /** Uniform in [0, 1): the random intervals of router advertisements (default Math.random). */
  readonly random?: () => number;
  /** A timer: without one, a first packet never waits for the egress agent's reply flow. */
  readonly later?: Later;
}

export interface ControllerConfig extends FlowSettings {
  readonly hostId: string;
  readonly macLifetimeMs: number;
  /** Install the predicted reply's flow with the forward one (default true). */
  readonly replyFlows?: boolean;
  /** Longest a first packet waits for another host's agent to install its reply's flow (ms; 5). */
  readonly replyWaitMs?: number;
}

export interface TraceRequest {
  remaining: number;
  readonly results: string[];
  readonly done: () => void;
}

/** A flow a result can be (flow-plan.ts). */
export interface PlannedFlow {
  readonly mask: readonly number[];
  readonly tags: string[];
  readonly match: Match;
}

export interface Planned {
  readonly flow: PlannedFlow | null;
  readonly actions: Action[];
}

/** What one simulation result becomes on this host. */
export interface Decided {
  /**
   * The flow to install, or null (forward this packet only); `replaced`: the cookie of a flow with the
   * same match, to delete first (flow-table.ts).
   */
  readonly flow: {
    readonly cookie: number;
    readonly msg: Outgoing;
    readonly replaced: number | undefined;
    /** The mask installed (the result's, widened where the agent watches something). */
    readonly mask: readonly number[];
  } | null;
  /** OpenFlow actions for this packet. */
  readonly actions: Action[];
}
