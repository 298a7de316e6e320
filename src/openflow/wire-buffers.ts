/**
 * The bytes of the OpenFlow codec (wire.ts): a bounds-checked `Reader` over a received buffer and a
 * growable `Writer` that encodes into one reused buffer, and `CodecError`, the one error they raise.
 *
 * Invariant: a `Reader` never reads past its end (every shortfall, bad length or non-zero padding
 * throws a `CodecError` naming what was being read), and a `Writer` never writes an integer out of
 * its range (it throws instead), so bytes either decode whole or not at all.
 */

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
