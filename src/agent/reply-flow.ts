/**
 * The reply a forward flow predicts: the packet its destination will send back, entering the topology
 * where the forward packet left it. Installing the reply's flow together with the forward one saves
 * the reply's trip through the controller channel, so a first ping costs one trip, not two.
 *
 * Only what is predictable is predicted: UDP and TCP over IPv4 or IPv6, ICMP and ICMPv6 echo, and an
 * IPv6 neighbour solicitation, sent to a known destination (not flooded), leaving through exactly one
 * exterior port. The reply's headers are the forward packet's headers at that port with addresses and
 * ports swapped (an echo request's reply is an echo reply; a SYN is answered by SYN+ACK; a unicast
 * neighbour solicitation, as a VM sends to confirm a neighbour it talks to, by the advertisement of
 * its target, from that target to the solicitor, with hop limit 255). Whether the reply is then
 * forwarded, and with which mask and tags, is decided by simulating it like any packet: a prediction
 * never decides anything itself.
 *
 * Invariant: `predictReply` is pure; it fills `into` only when it returns a port id, and the headers it
 * fills are a function of the forward result alone.
 */
import {
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ICMP_CODE,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  IPV6_DST_0,
  IPV6_SRC_0,
  ND_TARGET_0,
  NUM_FIELDS,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FLAGS,
  TCP_SYN,
  TCP_WINDOW,
  TP_DST,
  TP_SRC,
  VLAN,
  bits6,
  setWords6,
  type FlowMatch,
} from '../sim/flow-match.js';
import { ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT } from '../sim/ndp.js';
import type { SimDone } from '../sim/result.js';

/** ICMP requests whose reply is predicted, with the reply's type: an echo request's echo reply. */
const ICMP_REPLY: ReadonlyMap<number, number> = new Map([[8, 0]]);
/**
 * The same for ICMPv6: an echo request's echo reply, and a solicitation's advertisement (a unicast
 * solicitation only: a multicast one floods, so it is never predicted).
 */
const ICMP6_REPLY: ReadonlyMap<number, number> = new Map([
  [ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY],
  [ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT],
]);

/** The headers of the packet as it leaves through the result's only output, or undefined. */
export function headersAtOutput(res: SimDone): { portId: string; headers: number[] } | undefined {
  let portId: string | undefined;
  const h = res.packet.slice();
  for (const a of res.actions) {
    if (a.kind === 'output') {
      if (portId !== undefined) return undefined;
      portId = a.portId;
    } else if (a.kind === 'setField' && portId === undefined) {
      switch (a.field) {
        case 'eth_src':
          h[ETH_SRC_HI] = Math.floor(a.value / 0x100000000);
          h[ETH_SRC_LO] = a.value % 0x100000000;
          break;
        case 'eth_dst':
          h[ETH_DST_HI] = Math.floor(a.value / 0x100000000);
          h[ETH_DST_LO] = a.value % 0x100000000;
          break;
        case 'vlan_vid':
          h[VLAN] = a.value;
          break;
        case 'ip_src':
          h[IP_SRC] = a.value;
          break;
        case 'ip_dst':
          h[IP_DST] = a.value;
          break;
        case 'ip_tos':
          h[IP_TOS] = a.value;
          break;
        case 'tp_src':
          h[TP_SRC] = a.value;
          break;
        case 'tp_dst':
          h[TP_DST] = a.value;
          break;
      }
    } else if (a.kind === 'setField6' && portId === undefined) {
      setWords6(h, a.field === 'ipv6_src' ? IPV6_SRC_0 : IPV6_DST_0, a.value);
    }
  }
  return portId === undefined ? undefined : { portId, headers: h };
}

/**
 * Fills `into.orig` with the reply to the forward result `res` and returns the port it enters
 * through; undefined when the reply is not predictable.
 */
export function predictReply(res: SimDone, into: FlowMatch): string | undefined {
  // A flooded packet's destination is unknown: its reply would be a guess, not a prediction.
  if (!res.cacheable || res.flooded || res.packet[IP_FRAG] !== 0) return undefined;
  const ethType = res.packet[ETH_TYPE]!;
  if (ethType !== ETH_TYPE_IPV4 && ethType !== ETH_TYPE_IPV6) return undefined;
  // The reply's ICMP type; null for UDP and TCP (ports swapped instead); undefined: not predicted.
  let replyIcmp: number | null | undefined;
  const proto = res.packet[IP_PROTO]!;
  if (proto === PROTO_UDP || proto === PROTO_TCP) replyIcmp = null;
  else if (ethType === ETH_TYPE_IPV4 && proto === PROTO_ICMP)
    replyIcmp = ICMP_REPLY.get(res.packet[ICMP_TYPE]!);
  else if (ethType === ETH_TYPE_IPV6 && proto === PROTO_ICMPV6)
    replyIcmp = ICMP6_REPLY.get(res.packet[ICMP_TYPE]!);
  if (replyIcmp === undefined) return undefined;
  const at = headersAtOutput(res);
  if (at === undefined) return undefined;
  const f = at.headers;
  // A solicitation from :: (duplicate address detection) is answered to all nodes: not predicted.
  if (replyIcmp === ND_NEIGHBOR_ADVERT && bits6(f, IPV6_SRC_0) === 0) return undefined;
  const o = into.orig;
  for (let i = 0; i < NUM_FIELDS; i++) o[i] = 0;
  o[ETH_SRC_HI] = f[ETH_DST_HI]!;
  o[ETH_SRC_LO] = f[ETH_DST_LO]!;
  o[ETH_DST_HI] = f[ETH_SRC_HI]!;
  o[ETH_DST_LO] = f[ETH_SRC_LO]!;
  o[VLAN] = f[VLAN]!;
  o[ETH_TYPE] = ethType;
  o[IP_PROTO] = proto;
  o[IP_TOS] = f[IP_TOS]!;
  o[IP_TTL] = 64;
  if (ethType === ETH_TYPE_IPV4) {
    o[IP_SRC] = f[IP_DST]!;
    o[IP_DST] = f[IP_SRC]!;
  } else if (replyIcmp === ND_NEIGHBOR_ADVERT) {
    // A neighbour advertisement comes from the solicited address, to the solicitor (RFC 4861 7.2.4).
    for (let i = 0; i < 4; i++) {
      o[IPV6_SRC_0 + i] = f[ND_TARGET_0 + i]!;
      o[IPV6_DST_0 + i] = f[IPV6_SRC_0 + i]!;
      o[ND_TARGET_0 + i] = f[ND_TARGET_0 + i]!;
    }
    o[IP_TTL] = 255;
  } else {
    for (let i = 0; i < 4; i++) {
      o[IPV6_SRC_0 + i] = f[IPV6_DST_0 + i]!;
      o[IPV6_DST_0 + i] = f[IPV6_SRC_0 + i]!;
    }
  }
  if (replyIcmp !== null) {
    o[ICMP_TYPE] = replyIcmp;
    o[ICMP_CODE] = 0;
  } else {
    o[TP_SRC] = f[TP_DST]!;
    o[TP_DST] = f[TP_SRC]!;
  }
  if (proto === PROTO_TCP) {
    const flags = f[TCP_FLAGS]!;
    o[TCP_FLAGS] = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN ? TCP_SYN | TCP_ACK : flags;
    o[TCP_WINDOW] = f[TCP_WINDOW]!;
  }
  into.resetHeaders();
  return at.portId;
}
