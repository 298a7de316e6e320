/**
 * Stream framing for an OpenFlow channel: `OpenFlowFramer` is fed the chunks a socket delivers
 * (a message split across many reads, or many messages in one read) and returns, for each chunk,
 * the complete messages it finished, decoded.
 *
 * Invariants:
 * - Nothing is thrown out of `push`: outcomes are values. A frame whose body does not decode is a
 *   `bad_message` event and the stream goes on (the header delimited it, so the next frame is
 *   found). A header that cannot start a frame (length < 8, length over the limit, a version byte
 *   that is not an OpenFlow version) is a `framing_error`: the byte stream has lost sync, the
 *   framer drops what it holds and stops; later pushes return nothing and `failure` says why.
 * - Memory is bounded: complete frames are taken out as soon as they are complete, so the framer
 *   holds at most one incomplete frame, i.e. fewer than `maxMessageLength` bytes (65535 at most,
 *   the header's u16 length field). Chunks are joined only when a header or a whole frame is
 *   available, so byte-by-byte delivery costs linear time.
 * - The `bytes` of an event is a view of the frame (no copy); decoded messages own their data.
 */

import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './constants.js';
import { decodeMessage, type Message } from './messages.js';

export type FramerEvent =
  /** A complete, decoded message and the frame it came from. */
  | { readonly kind: 'message'; readonly msg: Message; readonly bytes: Buffer }
  /** A complete frame of a type the caller asked to get undecoded (FramerOptions.raw). */
  | { readonly kind: 'raw'; readonly code: number; readonly bytes: Buffer }
  /** A complete frame whose body did not decode; `xid`/`code` from its header for an error reply. */
  | {
      readonly kind: 'bad_message';
      readonly error: string;
      readonly xid: number;
      readonly code: number;
      readonly bytes: Buffer;
    }
  /** The stream is not (or no longer) OpenFlow; the framer has stopped. */
  | { readonly kind: 'framing_error'; readonly error: string };

export interface FramerOptions {
  /** Largest frame accepted, 8..65535 (default 65535). Larger header lengths are framing errors. */
  readonly maxMessageLength?: number;
  /** OFPT_* codes handed out as `raw` frames, for a caller with a faster reader of its own. */
  readonly raw?: ReadonlySet<number>;
}

/** Highest OpenFlow wire version that exists (1.5 = 0x06); a peer's HELLO may carry any of 1..6. */
const MAX_KNOWN_VERSION = 0x06;

export class OpenFlowFramer {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already taken (frames are views of the chunk, not slices of what is left). */
  private offset = 0;
  /** Bytes held and not yet taken. */
  private buffered = 0;
  private failed: string | undefined;
  private readonly maxMessageLength: number;
  private readonly raw: ReadonlySet<number>;

  constructor(options: FramerOptions = {}) {
    this.raw = options.raw ?? new Set();
    const max = options.maxMessageLength ?? OFP_MAX_MESSAGE_LEN;
    this.maxMessageLength = Math.max(OFP_HEADER_LEN, Math.min(OFP_MAX_MESSAGE_LEN, Math.floor(max)));
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Why the framer stopped, or undefined while it is healthy. */
  get failure(): string | undefined {
    return this.failed;
  }

  /** Feeds one chunk from the stream; returns the events of every frame it completed. */
  push(chunk: Uint8Array): FramerEvent[] {
    if (this.failed !== undefined || chunk.length === 0) return [];
    this.chunks.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    this.buffered += chunk.length;
    const events: FramerEvent[] = [];
    while (this.buffered >= OFP_HEADER_LEN) {
      const header = this.head(OFP_HEADER_LEN);
      const version = header[this.offset]!;
      const length = header.readUInt16BE(this.offset + 2);
      const problem =
        version === 0 || version > MAX_KNOWN_VERSION
          ? `not an OpenFlow stream: version byte 0x${version.toString(16).padStart(2, '0')}`
          : length < OFP_HEADER_LEN
            ? `header length ${length} is less than the ${OFP_HEADER_LEN}-byte header`
            : length > this.maxMessageLength
              ? `header length ${length} exceeds the limit of ${this.maxMessageLength} bytes`
              : undefined;
      if (problem !== undefined) {
        this.failed = problem;
        this.chunks = [];
        this.offset = 0;
        this.buffered = 0;
        events.push({ kind: 'framing_error', error: problem });
        break;
      }
      if (this.buffered < length) break;
      const bytes = this.take(length);
      const code = bytes[1]!;
      if (this.raw.has(code)) {
        events.push({ kind: 'raw', code, bytes });
        continue;
      }
      const result = decodeMessage(bytes);
      if (result.ok) {
        events.push({ kind: 'message', msg: result.msg, bytes });
      } else {
        events.push({
          kind: 'bad_message',
          error: result.error,
          xid: bytes.readUInt32BE(4),
          code: bytes.readUInt8(1),
          bytes,
        });
      }
    }
    return events;
  }

  /**
   * The chunk holding the first `n` buffered bytes from `offset` (n <= buffered), joining chunks only
   * when they are split across chunks.
   */
  private head(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= n) return first;
    const joined = Buffer.concat([first.subarray(this.offset), ...this.chunks.slice(1)], this.buffered);
    this.chunks = [joined];
    this.offset = 0;
    return joined;
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered), a view of the chunk. */
  private take(n: number): Buffer {
    const first = this.head(n);
    const bytes = first.subarray(this.offset, this.offset + n);
    this.offset += n;
    this.buffered -= n;
    if (this.offset === first.length) {
      this.chunks.shift();
      this.offset = 0;
    }
    return bytes;
  }
}
