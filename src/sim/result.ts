/**
 * What a simulation returns: a closed set of results, actions and effects, all plain data.
 *
 * Invariant: a `done` result is complete on its own. Its actions were derived from the difference
 * between the packet as received and the headers at each output (never appended ad hoc), its mask and
 * tags cover every read, and its effects are only proposals: nothing was changed while simulating, the
 * caller commits effects only for a final result. A `notYet` result carries nothing else: the caller
 * loads the named objects and simulates again from scratch.
 */
import type { PortSecurityReason } from './port-security.js';
import type { PacketFields } from './packet-fields.js';
import type { FlowMask } from './mask.js';
import type { Tag } from './tags.js';
import type { NatBinding } from './nat.js';
import type { Ipv6Words } from '../addr.js';

/** Header fields an action may set (MACs are 48-bit numbers, IPs uint32). */
export type SetFieldName =
  'eth_src' | 'eth_dst' | 'vlan_vid' | 'ip_src' | 'ip_dst' | 'ip_tos' | 'tp_src' | 'tp_dst';

export type Action =
  /** Send out of an exterior virtual port (local interface or tunnel, the agent decides). */
  | { readonly kind: 'output'; readonly portId: string }
  /** Rewrite one header field; `vlan_vid` 0 means pop the tag. */
  | { readonly kind: 'setField'; readonly field: SetFieldName; readonly value: number }
  /** Rewrite an IPv6 address (a load balancer's translation; the datapath fixes the L4 checksum). */
  | { readonly kind: 'setField6'; readonly field: 'ipv6_src' | 'ipv6_dst'; readonly value: Ipv6Words }
  /** Decrement the IP TTL (OpenFlow DEC_NW_TTL: packets that would expire go to the controller). */
  | { readonly kind: 'decTtl' }
  /** A packet generated in reply (ARP reply, ICMP error or echo reply, TCP RST), to be simulated
   * leaving `fromPortId` (an egress from that device port). */
  | {
      readonly kind: 'emit';
      readonly fromPortId: string;
      readonly packet: PacketFields;
      readonly why: string;
      /** Neighbour discovery messages: what the packet carries beyond its fields (ndp.ts). */
      readonly ndp?: NdpExtra;
    }
  /** Nothing is output; the reason is the first drop the walk met. */
  | { readonly kind: 'drop'; readonly reason: string };

/** The body of a generated neighbour advertisement (flags) or router advertisement (prefix, MTU). */
export type NdpExtra =
  | { readonly kind: 'na'; readonly solicited: boolean; readonly router?: boolean }
  | { readonly kind: 'ra'; readonly prefix: string; readonly prefixLen: number; readonly mtu: number };

/** SNAT ports of (ip, proto) within [portFrom, portTo]: what a wanted or exhausted effect names. */
export interface SnatPortRange {
  readonly ip: number;
  readonly proto: number;
  readonly portFrom: number;
  readonly portTo: number;
}

export type Effect =
  /** Learn (or refresh) `mac` on `portId` in the bridge's table for `vlan`. */
  | {
      readonly kind: 'macLearned';
      readonly bridgeId: string;
      readonly vlan: number;
      readonly mac: number;
      readonly portId: string;
    }
  /** Send an ARP request for `ip` out of the router port (the next hop MAC is unknown). */
  | { readonly kind: 'arpWanted'; readonly routerId: string; readonly portId: string; readonly ip: number }
  /** An ARP reply (or request) taught the router `ip` is at `mac`. */
  | { readonly kind: 'arpLearned'; readonly routerId: string; readonly ip: number; readonly mac: number }
  /** Send a neighbour solicitation for `ip` (IPv6, canonical text) out of the router port (ndp.ts). */
  | { readonly kind: 'ndWanted'; readonly routerId: string; readonly portId: string; readonly ip: string }
  /** A neighbour solicitation or advertisement taught the router `ip` (IPv6, canonical) is at `mac`. */
  | { readonly kind: 'ndLearned'; readonly routerId: string; readonly ip: string; readonly mac: number }
  /** A forward flow passed a conntrack check: record the connection so its return flow is recognised. */
  | { readonly kind: 'conntrackForward'; readonly key: string }
  /**
   * A NAT rule chose a translation for a new connection: `forwardKey` maps to `forward` (the
   * translated address and port), `reverseKey` (its replies) maps back to `reverse` (nat.ts).
   */
  | {
      readonly kind: 'natCreated';
      readonly zone: string;
      readonly forwardKey: string;
      readonly forward: NatBinding;
      readonly reverseKey: string;
      readonly reverse: NatBinding;
      /** A load balancer chose this pool member (id) for a new connection (counted per member). */
      readonly lbMember?: string;
    }
  /** A reply found no binding to translate it back: its flow state may still be on its way. */
  | { readonly kind: 'natStateWanted'; readonly key: string }
  /** SNAT needs a block of ports for (ip, proto), within [portFrom, portTo], that this host lacks. */
  | ({ readonly kind: 'natPortsWanted' } & SnatPortRange)
  /**
   * A DHCP client message (UDP 68 -> 67) entered exterior port `portId` of a bridge the agent serves
   * DHCP on (subnet `dhcpId`): the agent answers it (dhcp-server.ts); the result is never a flow.
   */
  | { readonly kind: 'dhcpRequest'; readonly dhcpId: string; readonly portId: string }
  /** Port security dropped the packet at `portId` (port-security.ts); the agent counts it per reason. */
  | { readonly kind: 'portSecurityDrop'; readonly portId: string; readonly reason: PortSecurityReason }
  /** Every SNAT port this host holds for (ip, proto) is in use (another block is asked for too). */
  | ({ readonly kind: 'natExhausted' } & SnatPortRange);

/** One line of the trace tree and what happened below it. */
export interface TraceNode {
  readonly text: string;
  readonly children: TraceNode[];
}

export interface SimDone {
  readonly kind: 'done';
  readonly actions: readonly Action[];
  /** Bits of the packet the result depends on (flow-match.ts states the invariant). */
  readonly mask: FlowMask;
  /** The packet as received (for printing the mask with its values). */
  readonly packet: readonly number[];
  readonly inPort: string;
  /** Every object and table entry consulted, without duplicates. */
  readonly tags: readonly Tag[];
  readonly effects: readonly Effect[];
  /** False: handle this packet but install no flow. */
  readonly cacheable: boolean;
  readonly uncacheableReason: string | null;
  /**
   * Routers on the longest branch that checked and decremented the TTL: the result holds for packets
   * whose TTL is above this. TTL is not matchable; outputs carry decTtl (the datapath sends packets
   * that would expire to the controller), but a flow that drops also silently drops a packet that
   * would have expired on the way (no ICMP time exceeded for it), as in MidoNet.
   */
  readonly ttlHops: number;
  /** True when a bridge flooded the packet (its destination was not known) somewhere on the walk. */
  readonly flooded: boolean;
  readonly trace: TraceNode | null;
}

export interface NotYet {
  readonly kind: 'notYet';
  /** Ids of objects the walk needed and the topology did not hold. */
  readonly need: readonly string[];
}

export type SimResult = SimDone | NotYet;
