/**
 * OpenFlow 1.3 messages on the wire: `MESSAGES`, the one table that gives each
 * message its OFPT_* code, its exact length (0 = variable, computed on encode) and its body layout.
 * `decodeMessage` (here) and `encodeMessage` (message-encode.ts) are both driven by that table; the
 * messages' types are in message-types.ts (re-exported here).
 *
 * Invariants:
 * - `decodeMessage` never throws and does no I/O. It returns `{ ok: false, error }` for a buffer
 *   shorter than the header, a header length that disagrees with the buffer, a version other than
 *   0x04 (HELLO excepted: version negotiation needs the peer's HELLO whatever its version), a
 *   fixed-size message of the wrong size, a body that is truncated, over-long or has non-zero
 *   padding, and unknown codes inside known structures where the code decides the layout (flow_mod
 *   command, role, port-status reason).
 * - A message type this codec does not describe (GROUP_MOD, METER_MOD, ...) is not an error: it
 *   decodes to `{ type: 'unknown', code, body }` so the caller can answer OFPBRC_BAD_TYPE with the
 *   xid, and encodes back to the same bytes.
 * - For every message m: decodeMessage(encodeMessage(m)) deep-equals m; for every buffer b that
 *   decodes, encodeMessage(decoded) equals b.
 * - `encodeMessage` throws `CodecError` only for values the wire cannot carry (out-of-range
 *   numbers, malformed addresses, a message over 65535 bytes): caller bugs, not peer input.
 */

import { actionListCodec, instructionListCodec } from './actions.js';
import { OFP_HEADER_LEN, OFP_VERSION, OFPHET_VERSIONBITMAP } from './constants.js';
import { multipartReplyCodec, multipartRequestCodec } from './multipart.js';
import { matchCodec } from './oxm.js';
import { portCodec } from './port.js';
import {
  type Codec,
  CodecError,
  enumOf,
  field,
  lengthPrefixed,
  listOf,
  pad,
  type RawTlv,
  Reader,
  restBytes,
  struct,
  tlvUnion,
  u16,
  u32,
  u64,
  u8,
  withContext,
} from './wire.js';
import type {
  AsyncConfig,
  Body,
  ControllerRole,
  FlowModCommand,
  HelloElement,
  Message,
  MessageOf,
  MessageType,
  PortStatusReason,
} from './message-types.js';

export type * from './message-types.js';

/** How one message sits on the wire after the 8-byte header. */
export interface MessageSpec<T extends MessageType> {
  /** OFPT_* */
  readonly code: number;
  /** Exact total length including the header; 0 = variable (computed on encode). */
  readonly length: number;
  readonly body: Codec<Body<T>>;
  /** When several messages share a code, picks this one by peeking at the body. */
  readonly select?: (body: Reader) => boolean;
}

type MessageTable = { readonly [T in Exclude<MessageType, 'unknown'>]: MessageSpec<T> };

const helloElementCodec = tlvUnion<Exclude<HelloElement, RawTlv>>(
  'hello element',
  {
    versionbitmap: {
      code: OFPHET_VERSIONBITMAP,
      length: 0,
      body: struct<Omit<Exclude<HelloElement, RawTlv>, 'type'>>(field('bitmaps', listOf(u32, 'bitmap'))),
    },
  },
  false,
);

/** The body of SET_ASYNC and GET_ASYNC_REPLY: three pairs of masks (master/equal, then slave). */
const asyncConfig = struct<AsyncConfig>(
  field('packetInMaster', u32),
  field('packetInSlave', u32),
  field('portStatusMaster', u32),
  field('portStatusSlave', u32),
  field('flowRemovedMaster', u32),
  field('flowRemovedSlave', u32),
);

const flowModCommand = enumOf<FlowModCommand>(u8, 'flow_mod command', {
  add: 0,
  modify: 1,
  modify_strict: 2,
  delete: 3,
  delete_strict: 4,
});
const portStatusReason = enumOf<PortStatusReason>(u8, 'port_status reason', { add: 0, delete: 1, modify: 2 });
const controllerRole = enumOf<ControllerRole>(u32, 'controller role', {
  nochange: 0,
  equal: 1,
  master: 2,
  slave: 3,
});

const OFPET_EXPERIMENTER = 0xffff;

/** ofp_error_experimenter_msg after its type field. */
const experimenterErrorRest = struct<Body<'experimenter_error'>>(
  field('expType', u16),
  field('experimenter', u32),
  field('data', restBytes),
);

/** The message table: one entry per message type. */
export const MESSAGES: MessageTable = {
  hello: {
    code: 0,
    length: 0,
    body: struct<Body<'hello'>>(field('elements', listOf(helloElementCodec, 'element'))),
  },
  error: {
    code: 1,
    length: 0,
    select: (r) => r.peekU16() !== OFPET_EXPERIMENTER,
    body: struct<Body<'error'>>(field('errType', u16), field('code', u16), field('data', restBytes)),
  },
  experimenter_error: {
    code: 1,
    length: 0,
    select: (r) => r.peekU16() === OFPET_EXPERIMENTER,
    body: {
      encode(w, v) {
        w.u16(OFPET_EXPERIMENTER);
        experimenterErrorRest.encode(w, v);
      },
      decode(r) {
        r.u16();
        return experimenterErrorRest.decode(r);
      },
    },
  },
  echo_request: { code: 2, length: 0, body: struct<Body<'echo_request'>>(field('data', restBytes)) },
  echo_reply: { code: 3, length: 0, body: struct<Body<'echo_reply'>>(field('data', restBytes)) },
  experimenter: {
    code: 4,
    length: 0,
    body: struct<Body<'experimenter'>>(
      field('experimenter', u32),
      field('expType', u32),
      field('data', restBytes),
    ),
  },
  features_request: { code: 5, length: 8, body: struct<Body<'features_request'>>() },
  features_reply: {
    code: 6,
    length: 32,
    body: struct<Body<'features_reply'>>(
      field('datapathId', u64),
      field('nBuffers', u32),
      field('nTables', u8),
      field('auxiliaryId', u8),
      pad(2),
      field('capabilities', u32),
      field('reserved', u32),
    ),
  },
  get_config_request: { code: 7, length: 8, body: struct<Body<'get_config_request'>>() },
  get_config_reply: {
    code: 8,
    length: 12,
    body: struct<Body<'get_config_reply'>>(field('flags', u16), field('missSendLen', u16)),
  },
  set_config: {
    code: 9,
    length: 12,
    body: struct<Body<'set_config'>>(field('flags', u16), field('missSendLen', u16)),
  },
  packet_in: {
    code: 10,
    length: 0,
    body: struct<Body<'packet_in'>>(
      field('bufferId', u32),
      field('totalLen', u16),
      field('reason', u8),
      field('tableId', u8),
      field('cookie', u64),
      field('match', matchCodec),
      pad(2),
      field('data', restBytes),
    ),
  },
  flow_removed: {
    code: 11,
    length: 0,
    body: struct<Body<'flow_removed'>>(
      field('cookie', u64),
      field('priority', u16),
      field('reason', u8),
      field('tableId', u8),
      field('durationSec', u32),
      field('durationNsec', u32),
      field('idleTimeout', u16),
      field('hardTimeout', u16),
      field('packetCount', u64),
      field('byteCount', u64),
      field('match', matchCodec),
    ),
  },
  port_status: {
    code: 12,
    length: 80,
    body: struct<Body<'port_status'>>(field('reason', portStatusReason), pad(7), field('port', portCodec)),
  },
  packet_out: {
    code: 13,
    length: 0,
    body: struct<Body<'packet_out'>>(
      field('bufferId', u32),
      field('inPort', u32),
      field('actions', lengthPrefixed('actions_len', 6, actionListCodec)),
      field('data', restBytes),
    ),
  },
  flow_mod: {
    code: 14,
    length: 0,
    body: struct<Body<'flow_mod'>>(
      field('cookie', u64),
      field('cookieMask', u64),
      field('tableId', u8),
      field('command', flowModCommand),
      field('idleTimeout', u16),
      field('hardTimeout', u16),
      field('priority', u16),
      field('bufferId', u32),
      field('outPort', u32),
      field('outGroup', u32),
      field('flags', u16),
      pad(2),
      field('match', matchCodec),
      field('instructions', instructionListCodec),
    ),
  },
  multipart_request: { code: 18, length: 0, body: multipartRequestCodec },
  multipart_reply: { code: 19, length: 0, body: multipartReplyCodec },
  barrier_request: { code: 20, length: 8, body: struct<Body<'barrier_request'>>() },
  barrier_reply: { code: 21, length: 8, body: struct<Body<'barrier_reply'>>() },
  role_request: {
    code: 24,
    length: 24,
    body: struct<Body<'role_request'>>(field('role', controllerRole), pad(4), field('generationId', u64)),
  },
  role_reply: {
    code: 25,
    length: 24,
    body: struct<Body<'role_reply'>>(field('role', controllerRole), pad(4), field('generationId', u64)),
  },
  get_async_request: { code: 26, length: 8, body: struct<Body<'get_async_request'>>() },
  get_async_reply: { code: 27, length: 32, body: asyncConfig },
  set_async: { code: 28, length: 32, body: asyncConfig },
};

export type KnownType = Exclude<MessageType, 'unknown'>;

/** OFPT_* code -> the message types that use it (more than one only for ERROR). */
const BY_CODE = new Map<number, KnownType[]>();
for (const t of Object.keys(MESSAGES) as KnownType[]) {
  const code = MESSAGES[t].code;
  BY_CODE.set(code, [...(BY_CODE.get(code) ?? []), t]);
}

/** Result of decoding one message. `xid` and `code` are set whenever the header could be read. */
export type DecodeResult =
  | { readonly ok: true; readonly msg: Message }
  | { readonly ok: false; readonly error: string; readonly xid?: number; readonly code?: number };

/**
 * Decodes exactly one message occupying all of `buf`. Never throws; see the module comment for
 * what is rejected.
 */
export function decodeMessage(buf: Uint8Array): DecodeResult {
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length < OFP_HEADER_LEN) {
    return {
      ok: false,
      error: `truncated header: ${bytes.length} bytes, an OpenFlow header is ${OFP_HEADER_LEN}`,
    };
  }
  const version = bytes.readUInt8(0);
  const code = bytes.readUInt8(1);
  const length = bytes.readUInt16BE(2);
  const xid = bytes.readUInt32BE(4);
  const fail = (error: string): DecodeResult => ({ ok: false, error, xid, code });
  if (length < OFP_HEADER_LEN)
    return fail(`header length ${length} is less than the ${OFP_HEADER_LEN}-byte header`);
  if (length > bytes.length)
    return fail(`truncated message: header length ${length}, only ${bytes.length} bytes`);
  if (length < bytes.length) {
    return fail(`header length ${length} is shorter than the ${bytes.length}-byte buffer (trailing bytes)`);
  }
  const types = BY_CODE.get(code);
  if (version !== OFP_VERSION && !(types?.[0] === 'hello')) {
    return fail(
      `unsupported OpenFlow version 0x${version.toString(16).padStart(2, '0')} (only 0x04, OpenFlow 1.3)`,
    );
  }
  if (types === undefined) {
    return {
      ok: true,
      msg: { type: 'unknown', xid, code, body: Buffer.from(bytes.subarray(OFP_HEADER_LEN)) },
    };
  }
  const peek = new Reader(bytes, OFP_HEADER_LEN);
  const type = types.find((t) => MESSAGES[t].select?.(peek) ?? true) ?? types[0]!;
  try {
    const msg = decodeBody(type, bytes, xid, version);
    return { ok: true, msg };
  } catch (e) {
    if (e instanceof CodecError) return fail(e.message);
    return fail(`${type}: internal decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function decodeBody<T extends KnownType>(type: T, bytes: Buffer, xid: number, version: number): Message {
  const spec: MessageSpec<T> = MESSAGES[type];
  if (spec.length !== 0 && bytes.length !== spec.length) {
    throw new CodecError(`${type}: length ${bytes.length}, expected ${spec.length}`);
  }
  return withContext(type, () => {
    const r = new Reader(bytes, OFP_HEADER_LEN);
    const body = spec.body.decode(r);
    r.expectEnd('message body');
    const header = type === 'hello' ? { type, xid, version } : { type, xid };
    return { ...header, ...body } as unknown as Message;
  });
}

/** True when a peer's HELLO offers OpenFlow 1.3 (by its bitmap, or by its header version). */
export function helloOffersOpenFlow13(msg: MessageOf<'hello'>): boolean {
  const bitmap = msg.elements.find(
    (e): e is { type: 'versionbitmap'; bitmaps: number[] } => e.type === 'versionbitmap',
  );
  if (bitmap !== undefined) return ((bitmap.bitmaps[0] ?? 0) & (1 << OFP_VERSION)) !== 0;
  return msg.version >= OFP_VERSION;
}
