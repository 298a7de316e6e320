/**
 * Wire primitives for the OpenFlow codec: a bounds-checked `Reader`, a growable `Writer`, and
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
 * Over 450 lines: one job, the codec combinators every OpenFlow message is built from; split, a reader would chase one combinator across files.
 */

import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../addr.js';

/** Malformed bytes (on decode) or an unrepresentable value (on encode). */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** Prefixes a CodecError's message with where it happened; other errors pass through. */
export function withContext<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw inContext(what, e);
  }
}

/** The error to rethrow for `e` caught while coding `what` (no closure: for the hot loops). */
export function inContext(what: string, e: unknown): unknown {
  return e instanceof CodecError ? new CodecError(`${what}: ${e.message}`) : e;
}

/** Bounds-checked big-endian cursor over `buf[start, end)`. */
export class Reader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Offset of the cursor from the start of the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new CodecError(`truncated ${what}: need ${n} bytes, ${this.remaining} left`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A copy of the next `n` bytes (copies, so decoded messages do not pin the stream buffer). */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** Skips `n` bytes that must be zero. */
  zeros(n: number, what = 'padding'): void {
    this.need(n, what);
    for (let i = 0; i < n; i++) {
      if (this.buf[this.pos + i] !== 0) {
        throw new CodecError(`non-zero ${what} byte at offset ${this.pos + i}`);
      }
    }
    this.pos += n;
  }

  /** Peeks a u16 at the cursor without consuming it; undefined if fewer than 2 bytes are left. */
  peekU16(): number | undefined {
    return this.remaining >= 2 ? this.buf.readUInt16BE(this.pos) : undefined;
  }

  /** A reader over the next `n` bytes; this reader moves past them. */
  sub(n: number, what: string): Reader {
    if (n > this.remaining) {
      throw new CodecError(`${what} length ${n} runs past the end (${this.remaining} bytes left)`);
    }
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** Fails if any bytes are left unread. */
  expectEnd(what: string): void {
    if (this.remaining !== 0)
      throw new CodecError(`${this.remaining} unexpected trailing bytes after ${what}`);
  }
}

/**
 * Growable big-endian output buffer with back-patching for computed lengths. A writer can also hand
 * out what it wrote in pieces without copying (`take`): a piece is a view of the writer's buffer,
 * and the writer never writes again over bytes a piece may still show (it appends after them, and
 * moves to a new buffer when it grows or `makeRoom` finds too little space) until `recycle` says no
 * piece is referenced any more.
 */
export class Writer {
  private buf: Buffer;
  /** A DataView of `buf`: writes a bigint's 64 bits without building the two halves as bigints. */
  private view64: DataView;
  private len = 0;
  /** Start of the bytes not yet taken (`take`). */
  private mark = 0;

  constructor(size = 256) {
    this.buf = Buffer.alloc(size);
    this.view64 = dataViewOf(this.buf);
  }

  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    this.view64 = dataViewOf(next);
  }

  u8(v: number, what?: string): void {
    checkUint(v, 0xff, what);
    this.ensure(1);
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
  }

  u16(v: number, what?: string): void {
    checkUint(v, 0xffff, what);
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  u32(v: number, what?: string): void {
    checkUint(v, 0xffffffff, what);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }

  u64(v: bigint, what?: string): void {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
      throw new CodecError(`${label(what)}${String(v)} is not an unsigned 64-bit bigint`);
    }
    this.ensure(8);
    this.view64.setBigUint64(this.len, v);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  zeros(n: number): void {
    this.ensure(n);
    if (n <= 16) for (let i = 0; i < n; i++) this.buf[this.len + i] = 0;
    else this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  /** Writes `n` zero bytes and returns their offset, to be patched once a length is known. */
  reserve(n: number): number {
    const at = this.len;
    this.zeros(n);
    return at;
  }

  patchU16(at: number, v: number, what = 'length'): void {
    checkUint(v, 0xffff, what);
    this.buf.writeUInt16BE(v, at);
  }

  /** Pads with zeros until the length since `start` is a multiple of `align`. */
  alignFrom(start: number, align: number): void {
    this.zeros((align - ((this.len - start) % align)) % align);
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  /** A view (no copy) of bytes written so far, valid until the next write or reset. */
  view(start: number, end = this.len): Buffer {
    return this.buf.subarray(start, end);
  }

  /** Empties the writer, keeping its buffer (a writer reused for many messages allocates once). */
  reset(): void {
    this.len = 0;
    this.mark = 0;
  }

  /** Forgets what was written after offset `at` (a failed attempt's bytes); `at` >= the last take. */
  truncate(at: number): void {
    this.len = at;
  }

  /** The bytes written since the last take, as a view (no copy); later writes go after them. */
  take(): Buffer {
    const piece = this.buf.subarray(this.mark, this.len);
    this.mark = this.len;
    return piece;
  }

  /** No piece taken so far is referenced any more: the buffer is written from its start again. */
  recycle(): void {
    this.reset();
  }

  /**
   * Ensures `n` bytes of room after the pieces taken: if there is less, later writes go to a new
   * buffer of at least `n` bytes, and the old one is left to the pieces that show it.
   */
  makeRoom(n: number): void {
    if (this.buf.length - this.len >= n) return;
    this.buf = Buffer.alloc(Math.max(n, this.buf.length));
    this.view64 = dataViewOf(this.buf);
    this.reset();
  }
}

function dataViewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function checkUint(v: number, max: number, what: string | undefined): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new CodecError(`${label(what)}${String(v)} is not an integer in 0..${max}`);
  }
}

function label(what: string | undefined): string {
  return what === undefined ? '' : `${what}: `;
}

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
