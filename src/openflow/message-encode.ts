/**
 * Encoding OpenFlow 1.3 messages: one message (`encodeMessage`), several back to back into one
 * buffer for one socket write (`encodeMessages`, or `EncodedBatches` for a connection's reused
 * buffer), each by the message table (messages.ts) or, for FLOW_MOD and PACKET_OUT, by the fast path
 * (answer-encode.ts), which writes the same bytes.
 *
 * Invariants: the header's length is the message's own, checked against the table's fixed length and
 * the OpenFlow maximum; `encodeMessage` throws `CodecError` only for values the wire cannot carry
 * (see messages.ts); a batch handed out by `EncodedBatches` is never overwritten while the socket may
 * still hold it.
 */
import { encodeAnswer } from './answer-encode.js';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN, OFP_VERSION } from './constants.js';
import {
  type Body,
  type KnownType,
  type Message,
  type MessageSpec,
  MESSAGES,
  type Outgoing,
} from './messages.js';
import { CodecError, Reader, Writer } from './wire.js';

/**
 * Encodes one message. Throws CodecError only for values the wire cannot carry (see the module
 * comment).
 */
export function encodeMessage(msg: Message): Buffer {
  const w = new Writer();
  encodeOne(w, msg, msg.xid);
  return w.finish();
}

/** One writer reused by every `encodeMessages` call (encoding is synchronous). */
const shared = new Writer();

/**
 * Encodes messages back to back into one buffer (one socket write), the i-th with transaction id
 * `xids[i]`. The scratch writer is reused, so only the returned copy is allocated.
 */
export function encodeMessages(msgs: readonly Outgoing[], xids: readonly number[]): Buffer {
  shared.reset();
  for (let i = 0; i < msgs.length; i++) encodeOne(shared, msgs[i]!, xids[i]!);
  return shared.finish();
}

/** Room a batch is sure to find in an `EncodedBatches` buffer before it grows. */
const BATCH_ROOM = 8 * 1024;

/**
 * One connection's outgoing messages encoded into one reused buffer, a batch per socket write: a
 * batch is a view of the buffer (no copy, no allocation but the view), and the buffer is written
 * from its start again once the socket says it holds no earlier batch (`released`); until then later
 * batches go after the earlier ones, or into a new buffer.
 */
export class EncodedBatches {
  private readonly w = new Writer(64 * 1024);

  /** The messages back to back, the i-th with transaction id `xids[i]`. */
  encode(msgs: readonly Outgoing[], xids: readonly number[]): Buffer {
    const w = this.w;
    w.makeRoom(BATCH_ROOM);
    const start = w.length;
    try {
      for (let i = 0; i < msgs.length; i++) encodeOne(w, msgs[i]!, xids[i]!);
    } catch (e) {
      w.truncate(start);
      throw e;
    }
    return w.take();
  }

  /** Every batch returned so far has been written out (nothing refers to it any more). */
  released(): void {
    this.w.recycle();
  }
}

/** Encodes with the message table only (no fast path): what the fast path is checked against. */
export function encodeMessageByTable(msg: Message): Buffer {
  const w = new Writer();
  encodeOne(w, msg, msg.xid, false);
  return w.finish();
}

function encodeOne(w: Writer, msg: Outgoing, xid: number, fast = true): void {
  const start = w.length;
  const version = msg.type === 'hello' ? msg.version : OFP_VERSION;
  if (fast && encodeAnswer(w, msg, xid, version)) {
    // FLOW_MOD or PACKET_OUT, written by the fast path (answer-encode.ts).
  } else if (msg.type === 'unknown') {
    w.u8(version);
    w.u8(msg.code, 'message type');
    w.reserve(2);
    w.u32(xid, 'xid');
    w.bytes(msg.body);
  } else {
    encodeBody(msg.type, msg, xid, w, version);
  }
  const length = w.length - start;
  if (length > OFP_MAX_MESSAGE_LEN) {
    throw new CodecError(
      `${msg.type}: ${length} bytes exceed the OpenFlow maximum of ${OFP_MAX_MESSAGE_LEN}`,
    );
  }
  w.patchU16(start + 2, length);
}

function encodeBody<T extends KnownType>(
  type: T,
  msg: Outgoing,
  xid: number,
  w: Writer,
  version: number,
): void {
  const spec: MessageSpec<T> = MESSAGES[type];
  const start = w.length;
  w.u8(version, 'version');
  w.u8(spec.code);
  w.reserve(2);
  w.u32(xid, 'xid');
  try {
    // The body's struct reads its own fields by name; type, xid and version are not among them.
    spec.body.encode(w, msg as unknown as Body<T>);
  } catch (e) {
    if (e instanceof CodecError) throw new CodecError(`${type}: ${e.message}`);
    throw e;
  }
  if (spec.length !== 0 && w.length - start !== spec.length) {
    throw new CodecError(`${type}: encoded ${w.length - start} bytes, expected ${spec.length}`);
  }
  if (spec.select !== undefined && !spec.select(new Reader(w.view(start), OFP_HEADER_LEN))) {
    throw new CodecError(
      `${type}: these values would decode as another message (errType 0xffff is experimenter_error)`,
    );
  }
}
