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
 * The field table is flow-fields.ts (re-exported here: a match and its fields go together); building a
 * match from plain values is packet-fields.ts.
 */
import { formatMac as formatMacNumber, isMulticastMac } from '../addr.js';
import {
  ARP_SHA_HI,
  ARP_SHA_LO,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  FULL,
  ICMP_ID,
  IN_PORT,
  IPV6_DST_0,
  IPV6_DST_1,
  IPV6_DST_2,
  IPV6_DST_3,
  IPV6_SRC_0,
  IPV6_SRC_1,
  IPV6_SRC_2,
  IPV6_SRC_3,
  IP_DST,
  IP_PROTO,
  IP_SRC,
  IP_TTL,
  ND_TARGET_0,
  ND_TARGET_1,
  ND_TARGET_2,
  ND_TARGET_3,
  NUM_FIELDS,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  TCP_WINDOW,
  TP_DST,
  TP_SRC,
  words6,
} from './flow-fields.js';

export * from './flow-fields.js';

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

export { formatMacNumber, isMulticastMac };
