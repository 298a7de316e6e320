/**
 * Flows installed in the last moments, per OpenFlow ingress port, so a PACKET_IN that one of them
 * already covers is sent on with that flow's actions instead of being simulated and installed again.
 *
 * Why: after a FLOW_MOD, Open vSwitch keeps the datapath flow its first miss created (which sends to
 * the controller) until its revalidators run, so the next few packets of the flow come up again. They
 * need no new decision: the flow the agent just installed is the decision.
 *
 * Invariant: an entry is used only while its flow is live in the agent's flow table (the caller checks
 * the cookie), only within `windowMs` of its installation, and only for a packet that agrees with the
 * flow's original packet on every bit of its mask (the same test OVS applies), so a hit gets exactly
 * the actions the flow would give it. Memory is bounded: at most `perPort` entries per ingress port.
 */
import type { Action } from '../openflow/index.js';
import { agreesOnMask } from '../sim/mask.js';

export interface RecentFlow {
  readonly cookie: number;
  readonly mask: readonly number[];
  readonly packet: readonly number[];
  readonly actions: Action[];
  readonly at: number;
}

export class RecentFlows {
  private readonly byPort = new Map<number, RecentFlow[]>();

  constructor(
    private readonly windowMs = 1000,
    private readonly perPort = 64,
  ) {}

  add(ofport: number, f: RecentFlow): void {
    let list = this.byPort.get(ofport);
    if (list === undefined) this.byPort.set(ofport, (list = []));
    if (list.length >= this.perPort) list.shift();
    list.push(f);
  }

  /** The newest recent flow on `ofport` whose mask covers `packet`, if any. */
  find(ofport: number, packet: readonly number[], now: number): RecentFlow | undefined {
    const list = this.byPort.get(ofport);
    if (list === undefined) return undefined;
    while (list.length > 0 && now - list[0]!.at > this.windowMs) list.shift();
    for (let i = list.length - 1; i >= 0; i--) {
      const f = list[i]!;
      if (agreesOnMask(f.mask, f.packet, packet)) return f;
    }
    return undefined;
  }

  clear(): void {
    this.byPort.clear();
  }
}
