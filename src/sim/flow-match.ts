/**
 * FlowMatch: the packet headers a simulation works on, with a record of every bit it read.
 *
 * A packet is a fixed set of numeric header fields (see the field indices below). `orig` holds the
 * packet as it arrived and never changes during a simulation; `cur` holds the headers as devices
 * rewrite them; `mask` holds, per field, the bits some decision depended on; `written` holds the bits
 * a device overwrote (a later read of a written bit depends on the write, not on the packet, so it
 * sets no mask bit).
 *
 * INVARIANT: every decision the walk takes is a function of (orig & mask) and the topology/state it
 * consulted. Extra mask bits are safe (the flow is only more specific than needed); a missing mask bit
 * is a bug (a packet that differs there could get the same flow but a different treatment). So every
 * read that can influence the result goes through `read`/the getters; only logging and generated
 * replies (which make the result uncacheable anyway) use `peek`.
 *
 * Choices recorded here so callers need not rediscover them:
 * - `in_port` is always in the mask: every flow is installed per ingress port.
 * - ARP packets use the OVS convention: IP_SRC/IP_DST hold the sender/target protocol addresses and
 *   IP_PROTO holds the ARP opcode.
 * - TTL is never a mask field (OpenFlow 1.3 cannot match it). A router that forwards applies
 *   `decTtl` (OpenFlow DEC_NW_TTL, which sends packets whose TTL would expire to the controller), and a
 *   packet whose TTL is <= 1 at a router gets ICMP time exceeded and an uncacheable result.
 * - TCP window size and the ICMP echo identifier cannot be matched by the datapath: reading either
 *   makes the result uncacheable.
 * - MACs are split into a 16-bit high word and a 32-bit low word so every mask word is a uint32.
 * - Of ARP, the sender hardware address is a field (port security reads it).
 * - IPv6 packets keep their addresses in IPV6_SRC/IPV6_DST (four words each; IP_SRC/IP_DST stay 0)
 *   and a neighbour solicitation's or advertisement's target in ND_TARGET; IP_PROTO holds the next
 *   header, IP_TTL the hop limit, IP_TOS the traffic class, ICMP_TYPE/ICMP_CODE the ICMPv6 type and
 *   code, TP_SRC/TP_DST the TCP/UDP ports (OVS's nw_proto, nw_ttl, nw_tos, icmp_type, tp_src do the same).
 *
 * Over 450 lines: one job, the packet fields with their read tracking (field table, getters, masks, building a match from fields); every read of the simulation goes through it.
 */
import {
  formatIpv4,
  formatIpv6,
  parseIpv6,
  formatMac as formatMacNumber,
  isMulticastMac,
  macToNumber,
  normalizeMac,
  parseIpv4,
} from '../addr.js';

// ---- field indices -----------------------------------------------------------------------------

export const IN_PORT = 0;
export const ETH_SRC_HI = 1;
export const ETH_SRC_LO = 2;
export const ETH_DST_HI = 3;
export const ETH_DST_LO = 4;
/** 0 = untagged, else the 12-bit VLAN id. */
export const VLAN = 5;
export const ETH_TYPE = 6;
export const IP_SRC = 7;
export const IP_DST = 8;
export const IP_PROTO = 9;
export const IP_TOS = 10;
/** Never masked (see header). */
export const IP_TTL = 11;
export const TP_SRC = 12;
export const TP_DST = 13;
export const TCP_FLAGS = 14;
/** TCP flag bits as TCP_FLAGS holds them. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;
export const ICMP_TYPE = 15;
export const ICMP_CODE = 16;
/** OVS nw_frag encoding: bit 0 = is a fragment, bit 1 = is a later (non-first) fragment. */
export const IP_FRAG = 17;
export const TUNNEL_ID = 18;
/** Not matchable by the datapath (see header). */
export const TCP_WINDOW = 19;
/** The identifier of an ICMP echo request or reply; not matchable by the datapath (see header). */
export const ICMP_ID = 20;
/** ARP sender hardware address (arp_sha), split like the Ethernet MACs; 0 for other frames. */
export const ARP_SHA_HI = 21;
export const ARP_SHA_LO = 22;
/** IPv6 source address (ipv6_src), four words most significant first (addr.ts Ipv6Words); 0 unless IPv6. */
export const IPV6_SRC_0 = 23;
export const IPV6_SRC_1 = 24;
export const IPV6_SRC_2 = 25;
export const IPV6_SRC_3 = 26;
/** IPv6 destination address (ipv6_dst), four words like the source; 0 unless IPv6. */
export const IPV6_DST_0 = 27;
export const IPV6_DST_1 = 28;
export const IPV6_DST_2 = 29;
export const IPV6_DST_3 = 30;
/** Target address of an ICMPv6 neighbour solicitation or advertisement (nd_target); 0 otherwise. */
export const ND_TARGET_0 = 31;
export const ND_TARGET_1 = 32;
export const ND_TARGET_2 = 33;
export const ND_TARGET_3 = 34;
export const NUM_FIELDS = 35;

/** The four words of an IPv6 address field starting at `f0` (IPV6_SRC_0, IPV6_DST_0, ND_TARGET_0). */
export function words6(v: readonly number[], f0: number): [number, number, number, number] {
  return [v[f0]!, v[f0 + 1]!, v[f0 + 2]!, v[f0 + 3]!];
}

/** Writes the four words of an IPv6 address field starting at `f0` into `v` (a packet's fields). */
export function setWords6(v: number[], f0: number, w: readonly [number, number, number, number]): void {
  [v[f0], v[f0 + 1], v[f0 + 2], v[f0 + 3]] = w;
}

/** Non-zero when any bit of the IPv6 address field starting at `f0` is in the mask. */
export function bits6(mask: readonly number[], f0: number): number {
  return mask[f0]! | mask[f0 + 1]! | mask[f0 + 2]! | mask[f0 + 3]!;
}

/** The IPv6 source words of `v` (a packet's fields or a mask). */
export function ipv6SrcOf(v: readonly number[]): [number, number, number, number] {
  return [v[IPV6_SRC_0]!, v[IPV6_SRC_1]!, v[IPV6_SRC_2]!, v[IPV6_SRC_3]!];
}

/** Writes IPv6 source words into `v` (a packet's fields). */
export function setIpv6Src(v: number[], w: readonly [number, number, number, number]): void {
  [v[IPV6_SRC_0], v[IPV6_SRC_1], v[IPV6_SRC_2], v[IPV6_SRC_3]] = w;
}

/** Non-zero when any bit of the IPv6 source is in the mask. */
export function ipv6SrcBits(mask: readonly number[]): number {
  return mask[IPV6_SRC_0]! | mask[IPV6_SRC_1]! | mask[IPV6_SRC_2]! | mask[IPV6_SRC_3]!;
}

/** The ARP sender MAC of `v` (a packet's fields). */
export function arpShaOf(v: readonly number[]): number {
  return v[ARP_SHA_HI]! * 0x100000000 + v[ARP_SHA_LO]!;
}

/** Writes the ARP sender MAC into `v` (a packet's fields). */
export function setArpSha(v: number[], mac: number): void {
  v[ARP_SHA_HI] = Math.floor(mac / 0x100000000);
  v[ARP_SHA_LO] = mac % 0x100000000;
}

/** Names as OpenFlow/OVS would print them, per field index. */
export const FIELD_NAMES: readonly string[] = [
  'in_port',
  'eth_src_hi',
  'eth_src_lo',
  'eth_dst_hi',
  'eth_dst_lo',
  'vlan_vid',
  'eth_type',
  'ip_src',
  'ip_dst',
  'ip_proto',
  'ip_tos',
  'ip_ttl',
  'tp_src',
  'tp_dst',
  'tcp_flags',
  'icmp_type',
  'icmp_code',
  'ip_frag',
  'tunnel_id',
  'tcp_window',
  'icmp_id',
  'arp_sha_hi',
  'arp_sha_lo',
  'ipv6_src_0',
  'ipv6_src_1',
  'ipv6_src_2',
  'ipv6_src_3',
  'ipv6_dst_0',
  'ipv6_dst_1',
  'ipv6_dst_2',
  'ipv6_dst_3',
  'nd_target_0',
  'nd_target_1',
  'nd_target_2',
  'nd_target_3',
];

/** All bits of each field. */
export const FULL: readonly number[] = [
  0xffffffff, 0xffff, 0xffffffff, 0xffff, 0xffffffff, 0xfff, 0xffff, 0xffffffff, 0xffffffff, 0xff, 0xff, 0xff,
  0xffff, 0xffff, 0xff, 0xff, 0xff, 0x3, 0xffffff, 0xffff, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff,
];

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_SCTP = 132;
export const PROTO_ICMPV6 = 58;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

const FULL_ARR: readonly number[] = FULL;

function zeros(): number[] {
  const a: number[] = [];
  for (let f = 0; f < NUM_FIELDS; f++) a.push(0);
  return a;
}

/** The rewritable state of a match, saved before a flood branch and restored after it. */
export interface SavedHeaders {
  readonly cur: readonly number[];
  readonly written: readonly number[];
  readonly ttlDecrements: number;
  readonly wroteAny: boolean;
}

export class FlowMatch {
  /** The virtual port the packet entered through (an exterior port's id). */
  inPort = '';
  // Plain arrays of uint32 values (packed, never holey): cheaper to copy into results than typed arrays.
  // `orig` is filled by whoever builds the packet; `cur`, `mask` and `written` are read-only outside
  // this class, so every write goes through the methods below and the "written" bookkeeping (which
  // keeps reads of rewritten bits out of the mask) cannot be bypassed.
  /** The packet as received; read-only during a simulation. */
  readonly orig: number[] = zeros();
  private readonly c: number[] = zeros();
  private readonly k: number[] = zeros();
  private readonly w: number[] = zeros();
  /** The headers as rewritten so far. */
  get cur(): readonly number[] {
    return this.c;
  }
  /** Per field, the bits a decision depended on. */
  get mask(): readonly number[] {
    return this.k;
  }
  /** Per field, the bits a device overwrote. */
  get written(): readonly number[] {
    return this.w;
  }
  /** TTL decrements applied so far (one per router hop). */
  ttlDecrements = 0;
  /** Why the result cannot be installed as a flow; null while it can. */
  uncacheable: string | null = null;
  /** True once any field was written in this simulation. */
  wroteAny = false;
  /**
   * For an ICMP error: the 5-tuple (proto, src, sport, dst, dport) of the datagram it quotes, set by
   * whoever fills the packet; null otherwise. Not matchable: read it through relatedTuple().
   */
  related: readonly number[] | null = null;

  /** Starts a simulation: headers back to the packet, mask and writes cleared, in_port masked. */
  begin(inPort: string): void {
    this.inPort = inPort;
    const { c: cur, orig, k: mask, w: written } = this;
    for (let f = 0; f < NUM_FIELDS; f++) {
      cur[f] = orig[f]!;
      mask[f] = 0;
      written[f] = 0;
    }
    mask[IN_PORT] = 0xffffffff;
    this.ttlDecrements = 0;
    this.uncacheable = null;
    this.wroteAny = false;
  }

  /** Reads `bits` of field `f`, recording them in the mask. Returns an unsigned value. */
  read(f: number, bits: number): number {
    this.k[f] = (this.k[f]! | (bits & ~this.w[f]!)) >>> 0;
    return (this.c[f]! & bits) >>> 0;
  }

  /** Reads a whole field, recording it in the mask. */
  readAll(f: number): number {
    this.k[f] = (this.k[f]! | (FULL_ARR[f]! & ~this.w[f]!)) >>> 0;
    return this.c[f]!;
  }

  /** Untracked read: for logging, traces and generated replies only. */
  peek(f: number): number {
    return this.c[f]!;
  }

  /** Overwrites a whole field. */
  write(f: number, v: number): void {
    this.c[f] = v;
    this.w[f] = FULL_ARR[f]!;
    this.wroteAny = true;
  }

  /** Overwrites a whole IPv6 address field (four words from `f0`: IPV6_SRC_0 or IPV6_DST_0). */
  write6(f0: number, w: readonly [number, number, number, number]): void {
    for (let i = 0; i < 4; i++) this.write(f0 + i, w[i]!);
  }

  /**
   * A router forwards: TTL - 1 (the caller checked it is above 1). TTL is never a mask field nor a
   * set-field action: the datapath's dec_nw_ttl does it (see the header).
   */
  decTtl(): void {
    this.c[IP_TTL] = this.c[IP_TTL]! - 1;
    this.ttlDecrements++;
  }

  /**
   * Called at an output with rewritten headers: the actions for a written field depend on the
   * packet's own value (a write of the value it already has emits nothing; pop_vlan only applies to a
   * tagged frame), so the flow matches every written field exactly. In practice this costs no
   * wildcarding: devices that rewrite a field (router MACs, bridge VLAN) have read it already.
   */
  matchWrittenFields(): void {
    for (let f = 0; f < NUM_FIELDS; f++) if (this.w[f] !== 0) this.k[f] = FULL_ARR[f]!;
  }

  /** The rewritable state, to go back to after a flood branch. */
  save(): SavedHeaders {
    return {
      cur: this.c.slice(),
      written: this.w.slice(),
      ttlDecrements: this.ttlDecrements,
      wroteAny: this.wroteAny,
    };
  }
  restore(s: SavedHeaders): void {
    for (let f = 0; f < NUM_FIELDS; f++) {
      this.c[f] = s.cur[f]!;
      this.w[f] = s.written[f]!;
    }
    this.ttlDecrements = s.ttlDecrements;
    this.wroteAny = s.wroteAny;
  }

  /** Marks the result uncacheable (the first reason is kept). */
  noCache(reason: string): void {
    if (this.uncacheable === null) this.uncacheable = reason;
  }

  // ---- tracked getters ---------------------------------------------------------------------------

  get ethType(): number {
    return this.readAll(ETH_TYPE);
  }
  get ethSrc(): number {
    return this.readAll(ETH_SRC_HI) * 0x100000000 + this.readAll(ETH_SRC_LO);
  }
  get ethDst(): number {
    return this.readAll(ETH_DST_HI) * 0x100000000 + this.readAll(ETH_DST_LO);
  }
  get ipSrc(): number {
    return this.readAll(IP_SRC);
  }
  /** ARP sender hardware address (0 unless ARP). */
  get arpSha(): number {
    return this.readAll(ARP_SHA_HI) * 0x100000000 + this.readAll(ARP_SHA_LO);
  }
  /** The IPv6 source address as Ipv6Words (all zero unless IPv6); allocates, so off the hot path. */
  ipv6Src(): readonly [number, number, number, number] {
    return [
      this.readAll(IPV6_SRC_0),
      this.readAll(IPV6_SRC_1),
      this.readAll(IPV6_SRC_2),
      this.readAll(IPV6_SRC_3),
    ];
  }
  get ipDst(): number {
    return this.readAll(IP_DST);
  }
  /** The IPv6 destination as Ipv6Words, read whole; allocates, so off the hot path. */
  ipv6Dst(): [number, number, number, number] {
    return [
      this.readAll(IPV6_DST_0),
      this.readAll(IPV6_DST_1),
      this.readAll(IPV6_DST_2),
      this.readAll(IPV6_DST_3),
    ];
  }
  /**
   * Reads the first `len` bits (0 to 128) of the IPv6 address field starting at `f0` into `out`
   * (the other bits 0) and records exactly those bits in the mask: a route or rule prefix test.
   */
  readPrefix6(f0: number, len: number, out: number[]): void {
    for (let i = 0; i < 4; i++) {
      const n = len - 32 * i;
      const bits = n <= 0 ? 0 : n >= 32 ? 0xffffffff : (0xffffffff << (32 - n)) >>> 0;
      out[i] = bits === 0 ? 0 : this.read(f0 + i, bits);
    }
  }
  /** The ND target as Ipv6Words, read whole (0 unless NS/NA). */
  ndTarget(): [number, number, number, number] {
    return [
      this.readAll(ND_TARGET_0),
      this.readAll(ND_TARGET_1),
      this.readAll(ND_TARGET_2),
      this.readAll(ND_TARGET_3),
    ];
  }
  /** Untracked IPv6 address field (replies, traces). */
  peek6(f0: number): [number, number, number, number] {
    return words6(this.c, f0);
  }
  get ipProto(): number {
    return this.readAll(IP_PROTO);
  }
  get tpSrc(): number {
    return this.readAll(TP_SRC);
  }
  get tpDst(): number {
    return this.readAll(TP_DST);
  }
  /** TCP window: not matchable, so reading it makes the result uncacheable. */
  get tcpWindow(): number {
    this.noCache('reads the TCP window size, which the datapath cannot match');
    return this.c[TCP_WINDOW]!;
  }
  /** ICMP echo identifier: not matchable, so reading it makes the result uncacheable. */
  get icmpId(): number {
    this.noCache('reads the ICMP echo identifier, which the datapath cannot match');
    return this.c[ICMP_ID]!;
  }
  /** The quoted datagram's 5-tuple of an ICMP error (see `related`); the result cannot be a flow. */
  relatedTuple(): readonly number[] | null {
    this.noCache('reads the connection an ICMP error quotes, which the datapath cannot match');
    return this.related;
  }
  /** True when the (current) frame is IPv4; reads eth_type. */
  isIpv4(): boolean {
    return this.readAll(ETH_TYPE) === ETH_TYPE_IPV4;
  }
  /** True for IPv4 TCP/UDP/SCTP; reads eth_type and ip_proto. */
  hasPorts(): boolean {
    if (this.readAll(ETH_TYPE) !== ETH_TYPE_IPV4) return false;
    const p = this.readAll(IP_PROTO);
    return p === PROTO_TCP || p === PROTO_UDP || p === PROTO_SCTP;
  }
  /** True when the (current) frame is IPv6; reads eth_type. */
  isIpv6(): boolean {
    return this.readAll(ETH_TYPE) === ETH_TYPE_IPV6;
  }
  /** True for IPv4 with the given protocol; reads eth_type and ip_proto. */
  isProto(proto: number): boolean {
    return this.readAll(ETH_TYPE) === ETH_TYPE_IPV4 && this.readAll(IP_PROTO) === proto;
  }
  /** True when the (current) frame is IPv4 or IPv6; reads eth_type. */
  isIp(): boolean {
    const et = this.readAll(ETH_TYPE);
    return et === ETH_TYPE_IPV4 || et === ETH_TYPE_IPV6;
  }
  /** True for IPv4 or IPv6 with the given protocol (IPv6: the upper-layer header); reads eth_type and ip_proto. */
  isIpProto(proto: number): boolean {
    return this.isIp() && this.readAll(IP_PROTO) === proto;
  }
  /** True for IPv4 or IPv6 TCP/UDP/SCTP (rule conditions on ports); reads eth_type and ip_proto. */
  hasIpPorts(): boolean {
    if (!this.isIp()) return false;
    const p = this.readAll(IP_PROTO);
    return p === PROTO_TCP || p === PROTO_UDP || p === PROTO_SCTP;
  }

  setEthSrc(mac: number): void {
    this.write(ETH_SRC_HI, Math.floor(mac / 0x100000000));
    this.write(ETH_SRC_LO, mac % 0x100000000);
  }
  setEthDst(mac: number): void {
    this.write(ETH_DST_HI, Math.floor(mac / 0x100000000));
    this.write(ETH_DST_LO, mac % 0x100000000);
  }
  /** Untracked 48-bit MACs (trace/replies). */
  peekEthSrc(): number {
    return this.c[ETH_SRC_HI]! * 0x100000000 + this.c[ETH_SRC_LO]!;
  }
  peekEthDst(): number {
    return this.c[ETH_DST_HI]! * 0x100000000 + this.c[ETH_DST_LO]!;
  }

  /** Copies `orig` into the current headers (after a caller filled `orig`). */
  resetHeaders(): void {
    for (let f = 0; f < NUM_FIELDS; f++) this.c[f] = this.orig[f]!;
  }

  /** A fresh match with the same packet (orig) and in_port. */
  clonePacket(): FlowMatch {
    const m = new FlowMatch();
    m.inPort = this.inPort;
    for (let f = 0; f < NUM_FIELDS; f++) m.orig[f] = this.orig[f]!;
    m.resetHeaders();
    return m;
  }
}

// ---- building a packet from plain fields -------------------------------------------------------------

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

const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

export type BuildResult =
  { readonly ok: true; readonly match: FlowMatch } | { readonly ok: false; readonly error: string };

function intIn(name: string, v: number | undefined, max: number, errs: string[]): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > max) errs.push(`${name} must be an integer 0 to ${max}, got ${v}`);
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
      errs.push(`${name} is not a MAC address: ${s}`);
      return 0;
    }
    return macToNumber(n);
  };
  const ip = (name: string, s: string | undefined): number => {
    if (s === undefined) return 0;
    const n = parseIpv4(s);
    if (n === undefined) {
      errs.push(`${name} is not an IPv4 address: ${s}`);
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
    if (w === undefined) errs.push(`srcIp6 needs an IPv6 packet and an IPv6 address, got ${p.srcIp6}`);
    else setIpv6Src(o, w);
  }
  for (const [name, text, f0] of [
    ['dstIp6', p.dstIp6, IPV6_DST_0],
    ['ndTarget', p.ndTarget, ND_TARGET_0],
  ] as const) {
    if (text === undefined) continue;
    const w = ethType === ETH_TYPE_IPV6 ? parseIpv6(text) : undefined;
    if (w === undefined) errs.push(`${name} needs an IPv6 packet and an IPv6 address, got ${text}`);
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
        if (i < 0) errs.push(`unknown TCP flag ${f} (known: ${TCP_FLAG_NAMES.join(', ')})`);
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

export { formatMacNumber, isMulticastMac };
