/**
 * The OpenFlow messages the agent builds for its reactive flows, in one place: the FLOW_MOD that
 * installs a simulated flow, the FLOW_MOD that deletes flows by cookie, and the PACKET_OUT that sends
 * a packet with a flow's actions (or, for a metered flow, through table 0 so the meter sees it).
 *
 * Invariant: every reactive flow is added with a cookie whose top bit is clear (flow-table.ts), no
 * timeout and SEND_FLOW_REM (so the switch reports its deletion and the agent's table stays honest),
 * and is deleted by its exact cookie in every table; messages carry no xid (the connection stamps it).
 * The agent expires idle flows itself (idle-expiry.ts): a flow with a timeout sits on Open vSwitch's
 * list of expirable rules, which its main thread walks whole after every revalidation, that is after
 * every batch of new flows (docs/first-packet-tail.md "Idle expiry in the agent").
 */
import {
  OFPFF,
  OFPG,
  OFPP,
  OFPTT,
  OFP_NO_BUFFER,
  type Action,
  type Match,
  type Outgoing,
} from '../openflow/index.js';

export interface FlowSettings {
  /** Seconds a flow may go unused before the agent deletes it (idle-expiry.ts; not the switch's timeout). */
  readonly idleTimeout: number;
  readonly priority: number;
}

/** FLOW_MOD adding a reactive flow; with `meterId`, its packets go through that meter first (qos.ts). */
export function addFlow(
  cookie: number,
  match: Match,
  actions: Action[],
  s: FlowSettings,
  meterId?: number,
): Outgoing {
  return {
    type: 'flow_mod',
    cookie: BigInt(cookie),
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: s.priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: OFPFF.SEND_FLOW_REM,
    match,
    instructions:
      meterId === undefined
        ? actions.length > 0
          ? [{ type: 'apply_actions', actions }]
          : []
        : actions.length > 0
          ? [
              { type: 'meter', meterId },
              { type: 'apply_actions', actions },
            ]
          : [{ type: 'meter', meterId }],
  };
}

/** FLOW_MOD deleting the flow(s) whose cookie equals `cookie` under `mask`, in every table. */
export function deleteByCookie(cookie: number | bigint, mask = 0xffffffffffffffffn): Outgoing {
  return {
    type: 'flow_mod',
    cookie: BigInt(cookie),
    cookieMask: mask,
    tableId: OFPTT.ALL,
    command: 'delete',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
  };
}

/**
 * The table-miss flow of a controller that just connected: every packet that matches nothing else goes
 * to the controller whole (OpenFlow 1.3 drops misses by default). Used by the floor's controllers
 * (bench/min-controller.ts, the evaluation's flush of them).
 */
export function tableMissToController(): Outgoing {
  return {
    type: 'flow_mod',
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [
      { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }] },
    ],
  };
}

/** PACKET_OUT of a packet that entered on `inPort` (OFPP.CONTROLLER for a generated one). */
export function packetOut(actions: Action[], inPort: number, bufferId: number, data: Buffer): Outgoing {
  return {
    type: 'packet_out',
    bufferId,
    inPort,
    actions,
    data: bufferId === OFP_NO_BUFFER ? data : Buffer.alloc(0),
  };
}

/**
 * The one action of a PACKET_OUT that sends a packet through table 0 as if it had just entered at
 * its in_port (OFPP_TABLE): it meets the flow installed for it, instructions (a meter) included.
 */
export function throughTable(): Action[] {
  return [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }];
}

/** Whether a FLOW_MOD puts its packets through a meter (a `meter` instruction). */
export function metered(msg: Outgoing): boolean {
  return msg.type === 'flow_mod' && msg.instructions.some((i) => i.type === 'meter');
}
