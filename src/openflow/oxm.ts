/**
 * OXM match fields and ofp_match. `OXM_FIELDS` is the one table that says, for each field the
 * project uses, its OXM class and field number, its value type and whether a mask is allowed; the
 * `OxmField` domain type, the encoder and the decoder are all derived from it.
 *
 * Wire form of one OXM TLV: u16 class, u7 field, u1 hasmask, u8 payload length, then the value
 * and (if hasmask) a mask of the same size. An ofp_match is u16 type (1 = OXM), u16 length
 * (header + TLVs, excluding padding), the TLVs, then zero padding to a multiple of 8.
 *
 * Invariants: a decoded match has no duplicate fields and every TLV's payload length equals the
 * table's size (doubled with a mask); masks appear only on maskable fields. Fields not in the
 * table (OVS registers, conntrack state, experimenter OXMs) decode to `{ field: 'raw' }` and encode
 * back byte for byte, so a PACKET_IN from OVS never fails to decode because of an extra field.
 * The codec does not check prerequisites (e.g. tcp_dst needs eth_type=0x0800 and ip_proto=6 before
 * it): OVS checks them, in order, and answers OFPBMC_BAD_PREREQ.
 */

import { OXM_CLASS } from './constants.js';
import {
  CodecError,
  type Codec,
  type FixedCodec,
  inContext,
  ipv4,
  ipv6,
  mac,
  Reader,
  u16,
  u32,
  u64,
  u8,
  withContext,
  Writer,
} from './wire.js';

/** Description of one OXM field: where it lives and how its value is written. */
export interface OxmSpec<V, M extends boolean> {
  readonly oxmClass: number;
  readonly field: number;
  readonly value: FixedCodec<V>;
  readonly maskable: M;
}

function basic<V, M extends boolean>(field: number, value: FixedCodec<V>, maskable: M): OxmSpec<V, M> {
  return { oxmClass: OXM_CLASS.OPENFLOW_BASIC, field, value, maskable };
}

function nxm1<V, M extends boolean>(field: number, value: FixedCodec<V>, maskable: M): OxmSpec<V, M> {
  return { oxmClass: OXM_CLASS.NXM_1, field, value, maskable };
}

const MASK = true;
const EXACT = false;

/**
 * The OXM fields the codec knows, by domain name. Numbers are OpenFlow 1.3 OFPXMT_OFB_*, and for
 * the tunnel endpoints OVS's NXM_NX_TUN_IPV4_SRC/DST (class NXM_1, fields 31 and 32), which OVS
 * accepts in OpenFlow 1.3 matches and set_field actions; likewise NXM_NX_IP_FRAG (26) and
 * NXM_NX_TCP_FLAGS (34), which OpenFlow 1.3's basic class lacks.
 */
export const OXM_FIELDS = {
  in_port: basic(0, u32, EXACT),
  in_phy_port: basic(1, u32, EXACT),
  metadata: basic(2, u64, MASK),
  eth_dst: basic(3, mac, MASK),
  eth_src: basic(4, mac, MASK),
  eth_type: basic(5, u16, EXACT),
  /** 12-bit VLAN id OR'ed with OFPVID_PRESENT (0x1000); OFPVID_NONE (0) matches untagged. */
  vlan_vid: basic(6, u16, MASK),
  vlan_pcp: basic(7, u8, EXACT),
  ip_dscp: basic(8, u8, EXACT),
  ip_ecn: basic(9, u8, EXACT),
  ip_proto: basic(10, u8, EXACT),
  ipv4_src: basic(11, ipv4, MASK),
  ipv4_dst: basic(12, ipv4, MASK),
  tcp_src: basic(13, u16, EXACT),
  tcp_dst: basic(14, u16, EXACT),
  udp_src: basic(15, u16, EXACT),
  udp_dst: basic(16, u16, EXACT),
  icmpv4_type: basic(19, u8, EXACT),
  icmpv4_code: basic(20, u8, EXACT),
  arp_op: basic(21, u16, EXACT),
  arp_spa: basic(22, ipv4, MASK),
  arp_tpa: basic(23, ipv4, MASK),
  arp_sha: basic(24, mac, MASK),
  arp_tha: basic(25, mac, MASK),
  ipv6_src: basic(26, ipv6, MASK),
  ipv6_dst: basic(27, ipv6, MASK),
  /** 20-bit flow label in a 32-bit field. */
  ipv6_flabel: basic(28, u32, MASK),
  icmpv6_type: basic(29, u8, EXACT),
  icmpv6_code: basic(30, u8, EXACT),
  /** Target address of an ICMPv6 neighbour solicitation or advertisement (needs icmpv6_type 135/136). */
  ipv6_nd_target: basic(31, ipv6, EXACT),
  tunnel_id: basic(38, u64, MASK),
  tun_ipv4_src: nxm1(31, ipv4, MASK),
  tun_ipv4_dst: nxm1(32, ipv4, MASK),
  /** NXM_NX_IP_FRAG: bit 0 = a fragment, bit 1 = a later (non-first) fragment (OVS nw_frag). */
  ip_frag: nxm1(26, u8, MASK),
  /** NXM_NX_TCP_FLAGS: the 12 TCP flag bits. */
  tcp_flags: nxm1(34, u16, MASK),
} as const;

export type OxmName = keyof typeof OXM_FIELDS;

type FieldOf<N extends OxmName> =
  (typeof OXM_FIELDS)[N] extends OxmSpec<infer V, true>
    ? { readonly field: N; readonly value: V; readonly mask?: V }
    : (typeof OXM_FIELDS)[N] extends OxmSpec<infer V, false>
      ? { readonly field: N; readonly value: V }
      : never;

/** An OXM TLV the table does not describe, kept verbatim. */
export interface RawOxm {
  readonly field: 'raw';
  readonly oxmClass: number;
  /** The 7-bit field number. */
  readonly oxmField: number;
  readonly hasMask: boolean;
  /** The payload (value, then mask if hasMask; for class 0xffff, starting with the experimenter id). */
  readonly payload: Buffer;
}

/** One match field (or set_field target): a known field with value and optional mask, or raw. */
export type OxmField = { [N in OxmName]: FieldOf<N> }[OxmName] | RawOxm;

/** A match: OXM fields in wire order. The empty list matches every packet. */
export type Match = OxmField[];

const byHeader = new Map<number, OxmName>();
for (const name of Object.keys(OXM_FIELDS) as OxmName[]) {
  const spec = OXM_FIELDS[name];
  byHeader.set(spec.oxmClass * 0x80 + spec.field, name);
}

interface AnySpec {
  readonly oxmClass: number;
  readonly field: number;
  readonly value: FixedCodec<unknown>;
  readonly maskable: boolean;
}

/** The table by name, in a Map: a match's fields look their specs up once per encode. */
const SPECS = new Map<string, AnySpec>(Object.entries(OXM_FIELDS));

function specOf(name: OxmName): AnySpec {
  return SPECS.get(name)!;
}

/** Key identifying a field's (class, number) pair, for duplicate detection. */
function headerKey(f: OxmField): number {
  if (f.field === 'raw') return f.oxmClass * 0x80 + f.oxmField;
  const spec = specOf(f.field);
  return spec.oxmClass * 0x80 + spec.field;
}

/** One OXM TLV, its spec looked up already (undefined for a raw field). */
function encodeOxm(w: Writer, f: OxmField, spec: AnySpec | undefined): void {
  if (f.field === 'raw' || spec === undefined) {
    const raw = f as RawOxm;
    w.u16(raw.oxmClass, 'OXM class');
    w.u8(((raw.oxmField & 0x7f) << 1) | (raw.hasMask ? 1 : 0));
    w.u8(raw.payload.length, 'OXM payload length');
    w.bytes(raw.payload);
    return;
  }
  const mask = 'mask' in f ? (f.mask as unknown) : undefined;
  if (mask !== undefined && !spec.maskable) throw new CodecError(`OXM ${f.field} cannot carry a mask`);
  w.u16(spec.oxmClass);
  w.u8((spec.field << 1) | (mask !== undefined ? 1 : 0));
  w.u8(spec.value.size * (mask !== undefined ? 2 : 1));
  try {
    spec.value.encode(w, f.value);
    if (mask !== undefined) spec.value.encode(w, mask);
  } catch (e) {
    throw inContext(`OXM ${f.field}`, e);
  }
}

/** One OXM TLV. */
export const oxmCodec: Codec<OxmField> = {
  encode(w: Writer, f: OxmField): void {
    encodeOxm(w, f, f.field === 'raw' ? undefined : specOf(f.field));
  },
  decode(r: Reader): OxmField {
    const oxmClass = r.u16('OXM header');
    const fieldAndMask = r.u8('OXM header');
    const length = r.u8('OXM header');
    const oxmField = fieldAndMask >> 1;
    const hasMask = (fieldAndMask & 1) === 1;
    const name = byHeader.get(oxmClass * 0x80 + oxmField);
    const label = name ?? `(class 0x${oxmClass.toString(16).padStart(4, '0')}, field ${oxmField})`;
    const sub = r.sub(length, `OXM ${label} payload`);
    if (name === undefined) return { field: 'raw', oxmClass, oxmField, hasMask, payload: sub.bytes(length) };
    const spec = specOf(name);
    if (hasMask && !spec.maskable)
      throw new CodecError(`OXM ${name} has a mask but the field is not maskable`);
    const expected = spec.value.size * (hasMask ? 2 : 1);
    if (length !== expected) {
      throw new CodecError(`OXM ${name}: payload length ${length}, expected ${expected}`);
    }
    const value = spec.value.decode(sub);
    if (!hasMask) return { field: name, value } as OxmField;
    const mask = spec.value.decode(sub);
    return { field: name, value, mask } as OxmField;
  },
};

/** OFPMT_OXM: the only match type of OpenFlow 1.3. */
const OFPMT_OXM = 1;

/** The header keys of the fields of the match being encoded (encoding is synchronous). */
const seenKeys: number[] = [];

/** ofp_match: type, length (excluding padding), OXM TLVs, zero padding to 8. */
export const matchCodec: Codec<Match> = {
  encode(w, fields) {
    const start = w.length;
    w.u16(OFPMT_OXM);
    w.reserve(2);
    const keys = seenKeys;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const spec = f.field === 'raw' ? undefined : specOf(f.field);
      const key = spec === undefined ? headerKey(f) : spec.oxmClass * 0x80 + spec.field;
      // Quadratic, but a match has at most a few dozen fields and no Set is allocated per message.
      for (let j = 0; j < i; j++)
        if (keys[j] === key) throw new CodecError(`match: duplicate OXM field ${f.field}`);
      keys[i] = key;
      encodeOxm(w, f, spec);
    }
    w.patchU16(start + 2, w.length - start, 'match length');
    w.alignFrom(start, 8);
  },
  decode(r) {
    {
      const type = r.u16('match type');
      if (type !== OFPMT_OXM) {
        throw new CodecError(
          `match type ${type} is not OFPMT_OXM (1); standard matches are OpenFlow 1.0/1.1`,
        );
      }
      const length = r.u16('match length');
      if (length < 4) throw new CodecError(`match length ${length} is shorter than its 4-byte header`);
      const sub = r.sub(length - 4, 'match OXM fields');
      const fields: Match = [];
      const seen = new Set<number>();
      while (sub.remaining > 0) {
        const f = withContext(`field[${fields.length}]`, () => oxmCodec.decode(sub));
        const key = headerKey(f);
        if (seen.has(key)) throw new CodecError(`duplicate OXM field ${f.field}`);
        seen.add(key);
        fields.push(f);
      }
      r.zeros((8 - (length % 8)) % 8, 'match padding');
      return fields;
    }
  },
};

/** Looks up a known field of a match by name (first occurrence). */
export function findField<N extends OxmName>(match: readonly OxmField[], name: N): FieldOf<N> | undefined {
  return match.find((f) => f.field === name) as FieldOf<N> | undefined;
}
