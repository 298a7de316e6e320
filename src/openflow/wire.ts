/**
 * Wire primitives for the OpenFlow codec (the `Reader` and `Writer` of wire-buffers.ts), as
 * symmetric `Codec<T>` values (integers, MAC/IPv4/IPv6 addresses, fixed strings, zero padding,
 * structs, enums, lists, TLV unions) from which every message, action and match field is described.
 *
 * Invariant: a codec's `encode` and `decode` are two readings of one description, so
 * `decode(encode(x))` deep-equals `x` for every well-formed `x`, and `encode(decode(b))` gives back
 * `b` byte for byte for every `b` that decodes. A `Reader` never reads past its end: every shortfall,
 * bad length or non-zero padding throws a `CodecError` naming what was being read. `CodecError` is the
 * only exception a decoder raises on malformed input, and it never leaves this codec: the public
 * `decodeMessage` turns it into an error value. `encode` throws `CodecError` for values that cannot be
 * represented (a u16 of 70000, a malformed MAC string): those are programming errors of the caller.
 *
 * The bytes they read and write (`Reader`, `Writer`, `CodecError`) are in wire-buffers.ts.
 */

import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../addr.js';
import { CodecError, inContext, withContext, type Reader, type Writer } from './wire-buffers.js';

export { CodecError, Reader, Writer, inContext, withContext } from './wire-buffers.js';

/** One symmetric description of how a value of type T sits on the wire. */
export interface Codec<T> {
  encode(w: Writer, value: T): void;
  decode(r: Reader): T;
}

/** A codec whose encoding always has `size` bytes (usable as an OXM value). */
export interface FixedCodec<T> extends Codec<T> {
  readonly size: number;
}

export const u8: FixedCodec<number> = { size: 1, encode: (w, v) => w.u8(v), decode: (r) => r.u8() };
export const u16: FixedCodec<number> = { size: 2, encode: (w, v) => w.u16(v), decode: (r) => r.u16() };
export const u32: FixedCodec<number> = { size: 4, encode: (w, v) => w.u32(v), decode: (r) => r.u32() };
export const u64: FixedCodec<bigint> = { size: 8, encode: (w, v) => w.u64(v), decode: (r) => r.u64() };

/**
 * Address codecs over src/addr.ts: text in the domain, bytes on the wire. Encoding parses the text
 * to a number (no regular expression, no intermediate buffer: MACs and IPv4 addresses are in every
 * FLOW_MOD); text that is not such an address is a CodecError naming it.
 */
function notAddress(v: string, what: string): never {
  throw new CodecError(`${JSON.stringify(v)} is not ${what}`);
}

/** MAC address as lowercase "aa:bb:cc:dd:ee:ff" (either case accepted on encode). */
export const mac: FixedCodec<string> = {
  size: 6,
  encode(w, v) {
    const n = v.charCodeAt(2) === 58 ? parseMac(v) : undefined;
    if (n === undefined) return notAddress(v, 'a MAC address like aa:bb:cc:dd:ee:ff');
    w.u16(Math.floor(n / 0x100000000));
    w.u32(n >>> 0);
  },
  decode: (r) => formatMac(r.bytes(6, 'MAC address'), 0),
};

/** IPv4 address as a dotted-quad string. */
export const ipv4: FixedCodec<string> = {
  size: 4,
  encode(w, v) {
    const n = parseIpv4(v);
    if (n === undefined) return notAddress(v, 'a dotted-quad IPv4 address');
    w.u32(n);
  },
  decode: (r) => formatIpv4(r.bytes(4, 'IPv4 address'), 0),
};

/** IPv6 address as RFC 5952 text ("2001:db8::1"); any valid text form is accepted on encode. */
export const ipv6: FixedCodec<string> = {
  size: 16,
  encode(w, v) {
    const words = parseIpv6(v);
    if (words === undefined) return notAddress(v, 'an IPv6 address');
    for (const x of words) w.u32(x);
  },
  decode: (r) => formatIpv6(r.bytes(16, 'IPv6 address'), 0),
};

/** Exactly `n` opaque bytes. */
export function fixedBytes(n: number): FixedCodec<Buffer> {
  return {
    size: n,
    encode(w, v) {
      if (v.length !== n) throw new CodecError(`expected ${n} bytes, got ${v.length}`);
      w.bytes(v);
    },
    decode: (r) => r.bytes(n),
  };
}

/** All bytes up to the end of the enclosing reader (packet data, echo payload, error data). */
export const restBytes: Codec<Buffer> = {
  encode: (w, v) => w.bytes(v),
  decode: (r) => r.bytes(r.remaining),
};

/**
 * A string in a fixed `n`-byte field, NUL-padded (port names, switch descriptions). Characters are
 * bytes (latin1), as interface names are. Encode zero-fills; decode stops at the first NUL and
 * requires the rest of the field to be zero, so decode and encode are exact inverses.
 */
export function fixedString(n: number): FixedCodec<string> {
  return {
    size: n,
    encode(w, v) {
      if ([...v].some((c) => c === '\0' || c.charCodeAt(0) > 0xff))
        throw new CodecError(`string "${v}" has NUL or non-latin1 characters`);
      if (v.length > n) throw new CodecError(`string "${v}" is ${v.length} bytes, the field has ${n}`);
      w.bytes(Buffer.from(v, 'latin1'));
      w.zeros(n - v.length);
    },
    decode(r) {
      const b = r.bytes(n, 'string');
      const nul = b.indexOf(0);
      if (nul < 0) return b.toString('latin1');
      for (let i = nul; i < n; i++) {
        if (b[i] !== 0) throw new CodecError(`non-zero byte after the NUL terminator of a ${n}-byte string`);
      }
      return b.subarray(0, nul).toString('latin1');
    },
  };
}

/** A closed enumeration carried as a number on the wire and as a name in the domain. */
export function enumOf<N extends string>(
  base: FixedCodec<number>,
  what: string,
  table: Readonly<Record<N, number>>,
): FixedCodec<N> {
  const byCode = new Map<number, N>();
  for (const name of Object.keys(table) as N[]) byCode.set(table[name], name);
  return {
    size: base.size,
    encode(w, v) {
      const code = table[v];
      if (code === undefined) throw new CodecError(`unknown ${what} "${String(v)}"`);
      base.encode(w, code);
    },
    decode(r) {
      const code = base.decode(r);
      const name = byCode.get(code);
      if (name === undefined) throw new CodecError(`unknown ${what} ${code}`);
      return name;
    },
  };
}

/** Repeats `item` until the enclosing reader is exhausted. */
export function listOf<T>(item: Codec<T>, what: string): Codec<T[]> {
  return {
    encode(w, vs) {
      for (const v of vs) item.encode(w, v);
    },
    decode(r) {
      const out: T[] = [];
      while (r.remaining > 0) {
        const index = out.length;
        out.push(withContext(`${what}[${index}]`, () => item.decode(r)));
      }
      return out;
    },
  };
}

/**
 * `lenCodec` giving the byte length of `inner`, then `padAfter` zero bytes, then `inner` (e.g.
 * PACKET_OUT's actions_len, pad[6], actions). The length is computed on encode.
 */
export function lengthPrefixed<T>(lenWhat: string, padAfter: number, inner: Codec<T>): Codec<T> {
  return {
    encode(w, v) {
      const at = w.reserve(2);
      w.zeros(padAfter);
      const start = w.length;
      inner.encode(w, v);
      w.patchU16(at, w.length - start, lenWhat);
    },
    decode(r) {
      const n = r.u16(lenWhat);
      r.zeros(padAfter);
      const sub = r.sub(n, lenWhat);
      const v = inner.decode(sub);
      sub.expectEnd(lenWhat);
      return v;
    },
  };
}

/**
 * A record whose first u16 is its own total length including that u16 (ofp_flow_stats). The
 * length is computed on encode; on decode `inner` must consume exactly the record.
 */
export function selfSized<T>(what: string, inner: Codec<T>): Codec<T> {
  return {
    encode(w, v) {
      const start = w.length;
      w.reserve(2);
      inner.encode(w, v);
      w.patchU16(start, w.length - start, `${what} length`);
    },
    decode(r) {
      const n = r.u16(`${what} length`);
      if (n < 2) throw new CodecError(`${what} length ${n} is shorter than its own length field`);
      const sub = r.sub(n - 2, what);
      const v = inner.decode(sub);
      sub.expectEnd(what);
      return v;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Structs: an ordered layout of named fields and zero padding.

/** One entry of a struct layout: a named field of T, or zero padding. */
export type StructEntry<T> =
  | { readonly kind: 'field'; readonly key: keyof T & string; readonly codec: Codec<T[keyof T]> }
  | { readonly kind: 'pad'; readonly n: number };

/** A named field of the struct being described; its codec must carry the field's type. */
export function field<T, K extends keyof T & string>(key: K, codec: Codec<T[K]>): StructEntry<T> {
  return { kind: 'field', key, codec };
}

/** `n` bytes of zero padding (checked on decode). */
export function pad<T>(n: number): StructEntry<T> {
  return { kind: 'pad', n };
}

/** A struct: its entries in wire order. Each field key must appear exactly once. */
export function struct<T>(...entries: StructEntry<T>[]): Codec<T> {
  return {
    encode(w, v) {
      for (const e of entries) {
        if (e.kind === 'pad') {
          w.zeros(e.n);
          continue;
        }
        try {
          e.codec.encode(w, v[e.key]);
        } catch (err) {
          throw inContext(e.key, err);
        }
      }
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (const e of entries) {
        if (e.kind === 'pad') {
          r.zeros(e.n, 'padding');
          continue;
        }
        try {
          out[e.key] = e.codec.decode(r);
        } catch (err) {
          throw inContext(e.key, err);
        }
      }
      return out as T;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// TLV unions: u16 type, u16 length, body; used for actions, instructions and HELLO elements.

/** The fallback member of a TLV union: a type code this codec does not describe, kept verbatim. */
export interface RawTlv {
  readonly type: 'raw';
  /** The TLV's type code. */
  readonly code: number;
  /** The bytes after the 4-byte TLV header (including any padding the length covers). */
  readonly body: Buffer;
}

/** Description of one TLV variant: its type code, its exact length (0 = computed), its body. */
export interface TlvVariant<B> {
  readonly code: number;
  /** Exact total length including the 4-byte header; 0 means variable, computed on encode. */
  readonly length: number;
  readonly body: Codec<B>;
}

type Body<U, K> = Omit<Extract<U, { type: K }>, 'type'>;

/** The table of variants of a TLV union, one per `type` tag except 'raw'. */
export type TlvTable<U extends { type: string }> = {
  readonly [K in Exclude<U['type'], 'raw'>]: TlvVariant<Body<U, K>>;
};

/**
 * A TLV union codec. `lengthCoversPadding`: actions and instructions count their padding to 8 in
 * the length field; HELLO elements do not (but are still padded to 8). Unknown codes decode to a
 * `raw` member and encode back byte for byte.
 */
export function tlvUnion<U extends { type: string }>(
  what: string,
  table: TlvTable<U>,
  lengthCoversPadding: boolean,
): Codec<U | RawTlv> {
  const tags = Object.keys(table) as Exclude<U['type'], 'raw'>[];
  const byCode = new Map<number, Exclude<U['type'], 'raw'>>();
  for (const tag of tags) byCode.set(table[tag].code, tag);
  return {
    encode(w, v) {
      const start = w.length;
      let fixedLength = 0;
      if (v.type === 'raw') {
        const raw = v as RawTlv;
        w.u16(raw.code, `${what} type`);
        w.reserve(2);
        w.bytes(raw.body);
      } else {
        const tag = v.type as Exclude<U['type'], 'raw'>;
        const variant: TlvVariant<Body<U, typeof tag>> | undefined = table[tag];
        if (variant === undefined) throw new CodecError(`unknown ${what} type "${tag}"`);
        fixedLength = variant.length;
        w.u16(variant.code);
        w.reserve(2);
        try {
          // The variant's struct reads its own fields by name; `type` is not among them.
          variant.body.encode(w, v as unknown as Body<U, typeof tag>);
        } catch (err) {
          throw inContext(tag, err);
        }
      }
      const unpadded = w.length - start;
      w.alignFrom(start, 8);
      const length = lengthCoversPadding ? w.length - start : unpadded;
      if (fixedLength !== 0 && length !== fixedLength) {
        throw new CodecError(`${what} ${v.type}: encoded ${length} bytes, expected ${fixedLength}`);
      }
      w.patchU16(start + 2, length, `${what} length`);
    },
    decode(r) {
      const start = r.offset;
      const code = r.u16(`${what} type`);
      const length = r.u16(`${what} length`);
      if (length < 4) throw new CodecError(`${what} length ${length} is shorter than its 4-byte header`);
      if (lengthCoversPadding && length % 8 !== 0) {
        throw new CodecError(`${what} length ${length} is not a multiple of 8`);
      }
      if (length - 4 > r.remaining) {
        throw new CodecError(
          `${what} (type ${code}) length ${length} runs past the end (${r.remaining} bytes left after its header)`,
        );
      }
      const sub = r.sub(length - 4, `${what} (type ${code})`);
      const tag = byCode.get(code);
      let out: U | RawTlv;
      if (tag === undefined) {
        out = { type: 'raw', code, body: sub.bytes(sub.remaining) };
      } else {
        const variant: TlvVariant<Body<U, typeof tag>> = table[tag];
        if (variant.length !== 0 && length !== variant.length) {
          throw new CodecError(`${what} ${tag}: length ${length}, expected ${variant.length}`);
        }
        const body = withContext(tag, () => variant.body.decode(sub));
        const rest = sub.remaining;
        withContext(tag, () => sub.zeros(rest, 'trailing padding'));
        out = { type: tag, ...body } as unknown as U;
      }
      if (!lengthCoversPadding) {
        r.zeros((8 - ((r.offset - start) % 8)) % 8, `${what} padding`);
      }
      return out;
    },
  };
}
