/**
 * From a simulation result to OpenFlow: the wildcard mask becomes an OXM match, and the result's
 * actions become OpenFlow actions, with each virtual egress port resolved to a local OpenFlow port or
 * to a tunnel (tun_dst = the remote host's tunnel-zone address, tun_id = the port's tunnel key).
 *
 * Invariant: the match is never less specific than the mask (a mask bit OpenFlow cannot express for a
 * field widens that field to exact, which is safe: extra bits only make the flow narrower), and an
 * output that cannot be resolved is reported in `unresolved`, never silently dropped from a flow that
 * is then cached: the caller makes such a result uncacheable.
 */
import {
  ARP_SHA_HI,
  ARP_SHA_LO,
  ETH_TYPE_IPV6,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ETH_TYPE_ARP,
  FULL,
  ICMP_CODE,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
  formatMacNumber,
} from '../sim/flow-match.js';
import type { Action as SimAction } from '../sim/result.js';
import { formatIpv4, formatIpv6 } from '../addr.js';
import { matchIpv6 } from './translate6.js';
import { OFPP, OFPVID_PRESENT, type Action, type Match, type OxmField } from '../openflow/index.js';

/** Where a virtual port is, as the agent knows it. */
export type PortLocation =
  | { readonly kind: 'local'; readonly ofport: number }
  | {
      readonly kind: 'remote';
      readonly tunnelPort: number;
      readonly remoteIp: string;
      readonly tunnelKey: number;
      /** The host the port is bound to. */
      readonly hostId: string;
    }
  | { readonly kind: 'unknown'; readonly why: string }
  /** On a host that is down: nothing is sent there, and the flow carries `tag` to be redone when it is back. */
  | { readonly kind: 'down'; readonly tag: string };

function macOf(v: readonly number[], hi: number, lo: number): string {
  return formatMacNumber(v[hi]! * 0x100000000 + (v[lo]! >>> 0));
}

/** The MAC of `pkt` under `mask` (both as FlowMatch words). */
function maskedMac(pkt: readonly number[], mask: readonly number[], hi: number, lo: number): string {
  return formatMacNumber((pkt[hi]! & mask[hi]!) * 0x100000000 + ((pkt[lo]! & mask[lo]!) >>> 0));
}

/** Pushes the match of a MAC field (exact, or value and mask) when the mask reads any of its bits. */
function pushMac(
  m: OxmField[],
  name: 'eth_src' | 'eth_dst',
  mask: readonly number[],
  pkt: readonly number[],
  hi: number,
  lo: number,
): void {
  if (!mask[hi] && !mask[lo]) return;
  if (mask[hi] === FULL[hi] && mask[lo] === FULL[lo]) m.push({ field: name, value: macOf(pkt, hi, lo) });
  else m.push({ field: name, value: maskedMac(pkt, mask, hi, lo), mask: macOf(mask, hi, lo) });
}

/** Pushes the match of an IPv4 address field (exact, or value and mask) when the mask reads it. */
function pushIp(
  m: OxmField[],
  name: 'ipv4_src' | 'ipv4_dst' | 'arp_spa' | 'arp_tpa',
  mask: readonly number[],
  pkt: readonly number[],
  f: number,
): void {
  if (!mask[f]) return;
  if (mask[f] === FULL[f]) m.push({ field: name, value: formatIpv4(pkt[f]!) });
  else m.push({ field: name, value: formatIpv4((pkt[f]! & mask[f]) >>> 0), mask: formatIpv4(mask[f]) });
}

/** OXM match for a mask over the original packet `pkt`, entering at OpenFlow port `inPort`. */
export function matchFromMask(mask: readonly number[], pkt: readonly number[], inPort: number): Match {
  const m: OxmField[] = [{ field: 'in_port', value: inPort }];
  if (mask[TUNNEL_ID]) {
    m.push(
      mask[TUNNEL_ID] === FULL[TUNNEL_ID]
        ? { field: 'tunnel_id', value: BigInt(pkt[TUNNEL_ID]!) }
        : {
            field: 'tunnel_id',
            value: BigInt(pkt[TUNNEL_ID]! & mask[TUNNEL_ID]),
            mask: BigInt(mask[TUNNEL_ID]),
          },
    );
  }
  pushMac(m, 'eth_dst', mask, pkt, ETH_DST_HI, ETH_DST_LO);
  pushMac(m, 'eth_src', mask, pkt, ETH_SRC_HI, ETH_SRC_LO);
  if (mask[VLAN]) {
    // Any VLAN bit read: match the tag exactly (present with this id, or absent).
    m.push({ field: 'vlan_vid', value: pkt[VLAN] === 0 ? 0 : OFPVID_PRESENT | pkt[VLAN]! });
  }
  if (!mask[ETH_TYPE]) return m;
  const ethType = pkt[ETH_TYPE]!;
  m.push({ field: 'eth_type', value: ethType });
  if (ethType === ETH_TYPE_ARP) {
    if (mask[IP_PROTO]) m.push({ field: 'arp_op', value: pkt[IP_PROTO]! });
    pushIp(m, 'arp_spa', mask, pkt, IP_SRC);
    pushIp(m, 'arp_tpa', mask, pkt, IP_DST);
    if (mask[ARP_SHA_HI] || mask[ARP_SHA_LO])
      m.push({ field: 'arp_sha', value: macOf(pkt, ARP_SHA_HI, ARP_SHA_LO) });
    return m;
  }
  if (ethType === ETH_TYPE_IPV6) return matchIpv6(m, mask, pkt);
  if (ethType !== 0x0800) return m;
  pushIp(m, 'ipv4_src', mask, pkt, IP_SRC);
  pushIp(m, 'ipv4_dst', mask, pkt, IP_DST);
  if (mask[IP_TOS]! & 0xfc) m.push({ field: 'ip_dscp', value: pkt[IP_TOS]! >> 2 });
  if (mask[IP_TOS]! & 0x03) m.push({ field: 'ip_ecn', value: pkt[IP_TOS]! & 3 });
  if (mask[IP_FRAG]) m.push({ field: 'ip_frag', value: pkt[IP_FRAG]! & mask[IP_FRAG], mask: mask[IP_FRAG] });
  if (!mask[IP_PROTO]) return m;
  const proto = pkt[IP_PROTO]!;
  m.push({ field: 'ip_proto', value: proto });
  const l4 =
    proto === PROTO_TCP ? 'tcp' : proto === PROTO_UDP ? 'udp' : proto === PROTO_SCTP ? 'sctp' : undefined;
  if (l4 === 'tcp' || l4 === 'udp') {
    if (mask[TP_SRC]) m.push({ field: `${l4}_src`, value: pkt[TP_SRC]! });
    if (mask[TP_DST]) m.push({ field: `${l4}_dst`, value: pkt[TP_DST]! });
  }
  if (l4 === 'tcp' && mask[TCP_FLAGS])
    m.push({ field: 'tcp_flags', value: pkt[TCP_FLAGS]! & mask[TCP_FLAGS], mask: mask[TCP_FLAGS] });
  if (proto === 1) {
    if (mask[ICMP_TYPE]) m.push({ field: 'icmpv4_type', value: pkt[ICMP_TYPE]! });
    if (mask[ICMP_CODE]) m.push({ field: 'icmpv4_code', value: pkt[ICMP_CODE]! });
  }
  return m;
}

/** Fields of the mask that no OpenFlow match above expresses (ports of a protocol other than TCP/UDP). */
export function unmatchable(mask: readonly number[], pkt: readonly number[]): string | null {
  const proto = pkt[IP_PROTO];
  if ((mask[TP_SRC] || mask[TP_DST]) && proto !== PROTO_TCP && proto !== PROTO_UDP)
    return `L4 ports of IP protocol ${proto}`;
  if (mask[TCP_FLAGS] && proto !== PROTO_TCP) return 'TCP flags of a non-TCP packet';
  return null;
}

export interface Translated {
  readonly actions: Action[];
  /** Virtual egress ports whose location is not known (the result must not be cached). */
  readonly unresolved: readonly string[];
  /** Tunnel destinations used (for tags and counters). */
  readonly remote: boolean;
  /** Extra tags: outputs skipped because their host is down. */
  readonly tags: readonly string[];
}

/** The `unresolved` and `tags` of most translations (one shared empty list, never written). */
const NONE: readonly string[] = Object.freeze([]);

/**
 * OpenFlow actions for a simulation's actions, applied to a packet that entered at `inPort` with the
 * original headers `pkt`. `locate` says where each virtual port is.
 */
export function translateActions(
  actions: readonly SimAction[],
  pkt: readonly number[],
  inPort: number,
  locate: (portId: string) => PortLocation,
): Translated {
  const out: Action[] = [];
  let unresolved: string[] | undefined;
  let tags: string[] | undefined;
  let remote = false;
  // TTL first: when dec_nw_ttl sends an expiring packet to the controller, the packet must still be
  // the one that entered (no MAC rewritten yet), so that simulating it again gives time exceeded.
  // Outputs that lead the list (a mirror's copy of the packet as it entered) go out before it.
  let lead = 0;
  while (lead < actions.length && actions[lead]!.kind === 'output') lead++;
  let vlan = pkt[VLAN]!;
  const proto = pkt[IP_PROTO]!;
  for (let i = 0; i < actions.length; i++) {
    if (i === lead) for (const a of actions) if (a.kind === 'decTtl') out.push({ type: 'dec_nw_ttl' });
    const a = actions[i]!;
    switch (a.kind) {
      case 'setField':
        switch (a.field) {
          case 'eth_src':
          case 'eth_dst':
            out.push({ type: 'set_field', field: { field: a.field, value: formatMacNumber(a.value) } });
            break;
          case 'ip_src':
            out.push({ type: 'set_field', field: { field: 'ipv4_src', value: formatIpv4(a.value) } });
            break;
          case 'ip_dst':
            out.push({ type: 'set_field', field: { field: 'ipv4_dst', value: formatIpv4(a.value) } });
            break;
          case 'ip_tos':
            out.push({ type: 'set_field', field: { field: 'ip_dscp', value: a.value >> 2 } });
            out.push({ type: 'set_field', field: { field: 'ip_ecn', value: a.value & 3 } });
            break;
          case 'tp_src':
          case 'tp_dst': {
            const l4 = proto === PROTO_UDP ? 'udp' : 'tcp';
            out.push({
              type: 'set_field',
              field: { field: `${l4}_${a.field === 'tp_src' ? 'src' : 'dst'}`, value: a.value },
            });
            break;
          }
          case 'vlan_vid':
            if (a.value === 0) {
              if (vlan !== 0) out.push({ type: 'pop_vlan' });
            } else {
              if (vlan === 0) out.push({ type: 'push_vlan', ethertype: 0x8100 });
              out.push({ type: 'set_field', field: { field: 'vlan_vid', value: OFPVID_PRESENT | a.value } });
            }
            vlan = a.value;
            break;
        }
        break;
      case 'setField6':
        out.push({ type: 'set_field', field: { field: a.field, value: formatIpv6(a.value) } });
        break;
      case 'decTtl':
        break;
      case 'output': {
        const loc = locate(a.portId);
        switch (loc.kind) {
          case 'local':
            out.push({ type: 'output', port: loc.ofport === inPort ? OFPP.IN_PORT : loc.ofport, maxLen: 0 });
            break;
          case 'remote':
            remote = true;
            out.push({ type: 'set_field', field: { field: 'tun_ipv4_dst', value: loc.remoteIp } });
            out.push({ type: 'set_field', field: { field: 'tunnel_id', value: BigInt(loc.tunnelKey) } });
            out.push({
              type: 'output',
              port: loc.tunnelPort === inPort ? OFPP.IN_PORT : loc.tunnelPort,
              maxLen: 0,
            });
            break;
          case 'unknown':
            (unresolved ??= []).push(`${a.portId} (${loc.why})`);
            break;
          case 'down':
            (tags ??= []).push(loc.tag);
            break;
        }
        break;
      }
      case 'emit':
      case 'drop':
        break;
    }
  }
  return { actions: out, unresolved: unresolved ?? NONE, remote, tags: tags ?? NONE };
}
