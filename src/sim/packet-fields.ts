/**
 * A packet described by plain values (the CLI's trace options, the agent's generated replies, tests)
 * and the FlowMatch it stands for: `buildFlowMatch` builds one, naming every bad value; `packetFieldsOf`
 * gives a match's packet back as plain values.
 *
 * Invariant: packetFieldsOf(buildFlowMatch(p).match) sets again every field p set (the inverse for the
 * fields it sets); a bad value is an error in the result, never a throw.
 */
import {
  formatIpv4,
  formatIpv6,
  formatMac as formatMacNumber,
  macToNumber,
  normalizeMac,
  parseIpv4,
  parseIpv6,
} from '../addr.js';
import { TCP_FLAGS as MODEL_TCP_FLAG_NAMES } from '../state/model.js';
import { quote } from '../quote.js';
import { FlowMatch } from './flow-match.js';
import {
  ARP_REQUEST,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ICMP_CODE,
  ICMP_ID,
  ICMP_TYPE,
  IPV6_DST_0,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  ND_TARGET_0,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  TCP_FLAGS,
  TCP_WINDOW,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
  arpShaOf,
  ipv6SrcOf,
  setArpSha,
  setIpv6Src,
  setWords6,
  words6,
} from './flow-fields.js';

/** A packet described by plain values, as the CLI's trace options or a test gives them. */
export interface PacketFields {
  readonly inPort?: string;
  readonly srcMac?: string;
  readonly dstMac?: string;
  /** 0 or absent: untagged. */
  readonly vlan?: number;
  /** Default 0x0800 (IPv4). */
  readonly ethertype?: number;
  readonly srcIp?: string;
  readonly dstIp?: string;
  readonly proto?: number | 'tcp' | 'udp' | 'icmp';
  readonly tos?: number;
  /** Default 64. */
  readonly ttl?: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** A bit set (FIN = bit 0) or flag names ('syn', 'ack', ...). */
  readonly tcpFlags?: number | readonly string[];
  readonly tcpWindow?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** The identifier of an ICMP echo request or reply. */
  readonly icmpId?: number;
  readonly fragment?: 'none' | 'first' | 'later';
  readonly tunnelId?: number;
  /** ARP opcode (1 request, 2 reply) when ethertype is 0x0806; srcIp/dstIp are then SPA/TPA. */
  readonly arpOp?: number;
  /** ARP sender hardware address; default: srcMac (as a host's own ARP has it). */
  readonly arpSha?: string;
  /** IPv6 source address when ethertype is 0x86dd (srcIp/dstIp stay IPv4-only). */
  readonly srcIp6?: string;
  /** IPv6 destination address when ethertype is 0x86dd. */
  readonly dstIp6?: string;
  /** The target of an ICMPv6 neighbour solicitation (135) or advertisement (136). */
  readonly ndTarget?: string;
}

/** Flag names by bit (FIN = bit 0), as rule conditions name them. */
const TCP_FLAG_NAMES: readonly string[] = MODEL_TCP_FLAG_NAMES;

export type BuildResult =
  { readonly ok: true; readonly match: FlowMatch } | { readonly ok: false; readonly error: string };

function intIn(name: string, v: number | undefined, max: number, errs: string[]): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > max)
    errs.push(`${name} must be an integer 0 to ${max}, got ${quote(v)}`);
  return v;
}

/** Builds a FlowMatch from plain fields; every bad value is named in the error. */
export function buildFlowMatch(p: PacketFields): BuildResult {
  const errs: string[] = [];
  const m = new FlowMatch();
  const o = m.orig;
  const mac = (name: string, s: string | undefined): number => {
    if (s === undefined) return 0;
    const n = normalizeMac(s);
    if (n === undefined) {
      errs.push(`${name} is not a MAC address: ${quote(s)}`);
      return 0;
    }
    return macToNumber(n);
  };
  const ip = (name: string, s: string | undefined): number => {
    if (s === undefined) return 0;
    const n = parseIpv4(s);
    if (n === undefined) {
      errs.push(`${name} is not an IPv4 address: ${quote(s)}`);
      return 0;
    }
    return n;
  };
  const src = mac('srcMac', p.srcMac);
  const dst = mac('dstMac', p.dstMac);
  o[ETH_SRC_HI] = Math.floor(src / 0x100000000);
  o[ETH_SRC_LO] = src % 0x100000000;
  o[ETH_DST_HI] = Math.floor(dst / 0x100000000);
  o[ETH_DST_LO] = dst % 0x100000000;
  o[VLAN] = intIn('vlan', p.vlan, 4094, errs);
  const ethType = p.ethertype ?? (p.arpOp !== undefined ? ETH_TYPE_ARP : ETH_TYPE_IPV4);
  o[ETH_TYPE] = intIn('ethertype', ethType, 0xffff, errs);
  if (ethType === ETH_TYPE_ARP) {
    setArpSha(o, p.arpSha === undefined ? src : mac('arpSha', p.arpSha));
  } else if (p.arpSha !== undefined) errs.push('arpSha needs an ARP packet (ethertype 0x0806)');
  if (p.srcIp6 !== undefined) {
    const w = ethType === ETH_TYPE_IPV6 ? parseIpv6(p.srcIp6) : undefined;
    if (w === undefined) errs.push(`srcIp6 needs an IPv6 packet and an IPv6 address, got ${quote(p.srcIp6)}`);
    else setIpv6Src(o, w);
  }
  for (const [name, text, f0] of [
    ['dstIp6', p.dstIp6, IPV6_DST_0],
    ['ndTarget', p.ndTarget, ND_TARGET_0],
  ] as const) {
    if (text === undefined) continue;
    const w = ethType === ETH_TYPE_IPV6 ? parseIpv6(text) : undefined;
    if (w === undefined) errs.push(`${name} needs an IPv6 packet and an IPv6 address, got ${quote(text)}`);
    else setWords6(o, f0, w);
  }
  o[IP_SRC] = ip('srcIp', p.srcIp);
  o[IP_DST] = ip('dstIp', p.dstIp);
  let proto = 0;
  if (ethType === ETH_TYPE_ARP) proto = intIn('arpOp', p.arpOp ?? ARP_REQUEST, 0xff, errs);
  else if (p.proto === 'tcp') proto = PROTO_TCP;
  else if (p.proto === 'udp') proto = PROTO_UDP;
  else if (p.proto === 'icmp') proto = ethType === ETH_TYPE_IPV6 ? PROTO_ICMPV6 : PROTO_ICMP;
  else proto = intIn('proto', p.proto, 0xff, errs);
  o[IP_PROTO] = proto;
  o[IP_TOS] = intIn('tos', p.tos, 0xff, errs);
  o[IP_TTL] = intIn('ttl', p.ttl ?? 64, 0xff, errs);
  const l4 = proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP;
  if ((ethType === ETH_TYPE_IPV4 || ethType === ETH_TYPE_IPV6) && l4) {
    o[TP_SRC] = intIn('srcPort', p.srcPort, 0xffff, errs);
    o[TP_DST] = intIn('dstPort', p.dstPort, 0xffff, errs);
  } else if (p.srcPort !== undefined || p.dstPort !== undefined) {
    errs.push('srcPort/dstPort need an IPv4 or IPv6 TCP, UDP or SCTP packet');
  }
  if (p.tcpFlags !== undefined) {
    if (typeof p.tcpFlags === 'number') o[TCP_FLAGS] = intIn('tcpFlags', p.tcpFlags, 0xff, errs);
    else {
      let bits = 0;
      for (const f of p.tcpFlags) {
        const i = TCP_FLAG_NAMES.indexOf(f.toLowerCase());
        if (i < 0) errs.push(`unknown TCP flag ${quote(f)} (known: ${TCP_FLAG_NAMES.join(', ')})`);
        else bits |= 1 << i;
      }
      o[TCP_FLAGS] = bits;
    }
  }
  o[TCP_WINDOW] = intIn('tcpWindow', p.tcpWindow, 0xffff, errs);
  o[ICMP_TYPE] = intIn('icmpType', p.icmpType, 0xff, errs);
  o[ICMP_CODE] = intIn('icmpCode', p.icmpCode, 0xff, errs);
  o[ICMP_ID] = intIn('icmpId', p.icmpId, 0xffff, errs);
  o[IP_FRAG] = p.fragment === 'first' ? 1 : p.fragment === 'later' ? 3 : 0;
  o[TUNNEL_ID] = intIn('tunnelId', p.tunnelId, 0xffffff, errs);
  if (errs.length > 0) return { ok: false, error: errs.join('; ') };
  m.inPort = p.inPort ?? '';
  m.resetHeaders();
  return { ok: true, match: m };
}

/** The packet (orig) of a match as plain fields; inverse of buildFlowMatch for the fields it sets. */
export function packetFieldsOf(m: FlowMatch, which: 'orig' | 'cur' = 'orig'): PacketFields {
  const v = which === 'orig' ? m.orig : m.cur;
  const mac = (hi: number, lo: number) => formatMacNumber(v[hi]! * 0x100000000 + v[lo]!);
  const ethertype = v[ETH_TYPE]!;
  const proto = v[IP_PROTO]!;
  const out: Record<string, unknown> = {
    srcMac: mac(ETH_SRC_HI, ETH_SRC_LO),
    dstMac: mac(ETH_DST_HI, ETH_DST_LO),
    ethertype,
    srcIp: formatIpv4(v[IP_SRC]!),
    dstIp: formatIpv4(v[IP_DST]!),
    ttl: v[IP_TTL]!,
  };
  if (m.inPort !== '') out.inPort = m.inPort;
  if (v[VLAN]! !== 0) out.vlan = v[VLAN];
  if (ethertype === ETH_TYPE_ARP) {
    out.arpOp = proto;
    const sha = formatMacNumber(arpShaOf(v));
    if (sha !== out.srcMac) out.arpSha = sha;
  } else out.proto = proto;
  if (ethertype === ETH_TYPE_IPV6) {
    out.srcIp6 = formatIpv6(ipv6SrcOf(v));
    out.dstIp6 = formatIpv6(words6(v, IPV6_DST_0));
    if (proto === PROTO_ICMPV6 && (v[ICMP_TYPE] === 135 || v[ICMP_TYPE] === 136))
      out.ndTarget = formatIpv6(words6(v, ND_TARGET_0));
  }
  if (v[IP_TOS]! !== 0) out.tos = v[IP_TOS];
  if (proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP) {
    out.srcPort = v[TP_SRC];
    out.dstPort = v[TP_DST];
  }
  if (proto === PROTO_TCP) {
    out.tcpFlags = v[TCP_FLAGS];
    out.tcpWindow = v[TCP_WINDOW];
  }
  if (proto === PROTO_ICMP || (proto === PROTO_ICMPV6 && ethertype === ETH_TYPE_IPV6)) {
    out.icmpType = v[ICMP_TYPE];
    out.icmpCode = v[ICMP_CODE];
    if (v[ICMP_ID]! !== 0) out.icmpId = v[ICMP_ID];
  }
  if (v[IP_FRAG]! !== 0) out.fragment = v[IP_FRAG] === 1 ? 'first' : 'later';
  if (v[TUNNEL_ID]! !== 0) out.tunnelId = v[TUNNEL_ID];
  return out;
}
