/**
 * Public API of the OpenFlow 1.3 codec: domain types for messages, matches, actions and
 * instructions; `encodeMessage` / `decodeMessage`; `OpenFlowFramer` for stream framing; named
 * protocol constants. Decoding never throws and does no I/O.
 *
 * Invariant: nothing outside src/openflow needs wire.ts; callers see domain values and Buffers.
 */

export * from './constants.js';
export type { Action, Instruction } from './actions.js';
export { OXM_FIELDS, findField, type Match, type OxmField, type OxmName, type RawOxm } from './oxm.js';
export type { Port } from './port.js';
export type { FlowStats, MultipartReplyBody, MultipartRequestBody, RawMultipart } from './multipart.js';
export {
  decodeMessage,
  helloOffersOpenFlow13,
  type ControllerRole,
  type DecodeResult,
  type FlowModCommand,
  type HelloElement,
  type Message,
  type MessageOf,
  type MessageType,
  type Outgoing,
  type PortStatusReason,
  type AsyncConfig,
} from './messages.js';
export { encodeMessage, encodeMessages, encodeMessageByTable, EncodedBatches } from './message-encode.js';
export { readPacketIn, PACKET_IN_CODE, type PacketInView } from './packet-in.js';
export { scanFlowCounts, multipartFlags, MULTIPART_REPLY_CODE } from './flow-counts.js';
export { OpenFlowFramer, type FramerEvent, type FramerOptions } from './framing.js';
export { CodecError, type RawTlv } from './wire.js';
