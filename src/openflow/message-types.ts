/**
 * The OpenFlow 1.3 messages as values: the `Message` union tagged by `type` (xid and version from the
 * header, the body's fields), with the names derived from it (`MessageOf`, `Outgoing`, `Body`). Their
 * wire layout is the table of messages.ts, which re-exports these types.
 *
 * Invariant: types only, no code: each variant has exactly the fields its wire layout carries, so
 * decoding and encoding one are two readings of the same value.
 */
import type { Action, Instruction } from './actions.js';
import type { MultipartReplyBody, MultipartRequestBody } from './multipart.js';
import type { Match } from './oxm.js';
import type { Port } from './port.js';
import type { RawTlv } from './wire.js';

/** An element of a HELLO message. */
export type HelloElement =
  /** Bit n of the bitmap set means version n is supported (bit 4 = OpenFlow 1.3). */
  { readonly type: 'versionbitmap'; readonly bitmaps: number[] } | RawTlv;

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';
export type PortStatusReason = 'add' | 'delete' | 'modify';
export type ControllerRole = 'nochange' | 'equal' | 'master' | 'slave';

/** Every OpenFlow 1.3 message the codec describes, tagged by `type`; `xid` is the transaction id. */
export type Message =
  | {
      readonly type: 'hello';
      readonly xid: number;
      /** Header version: the highest version the sender speaks (4 when we send). */
      readonly version: number;
      readonly elements: HelloElement[];
    }
  | {
      readonly type: 'error';
      readonly xid: number;
      /** OFPET_* */
      readonly errType: number;
      /** OFP*C_* code for errType. */
      readonly code: number;
      /** Usually the first 64 bytes of the offending request. */
      readonly data: Buffer;
    }
  | {
      /** An ERROR with type OFPET_EXPERIMENTER (0xffff). */
      readonly type: 'experimenter_error';
      readonly xid: number;
      readonly expType: number;
      readonly experimenter: number;
      readonly data: Buffer;
    }
  | { readonly type: 'echo_request'; readonly xid: number; readonly data: Buffer }
  | { readonly type: 'echo_reply'; readonly xid: number; readonly data: Buffer }
  | {
      readonly type: 'experimenter';
      readonly xid: number;
      readonly experimenter: number;
      readonly expType: number;
      readonly data: Buffer;
    }
  | { readonly type: 'features_request'; readonly xid: number }
  | {
      readonly type: 'features_reply';
      readonly xid: number;
      readonly datapathId: bigint;
      readonly nBuffers: number;
      readonly nTables: number;
      readonly auxiliaryId: number;
      /** OFPC_* bits. */
      readonly capabilities: number;
      readonly reserved: number;
    }
  | { readonly type: 'get_config_request'; readonly xid: number }
  | {
      readonly type: 'get_config_reply';
      readonly xid: number;
      /** OFPC_FRAG_* */
      readonly flags: number;
      readonly missSendLen: number;
    }
  | {
      readonly type: 'set_config';
      readonly xid: number;
      readonly flags: number;
      readonly missSendLen: number;
    }
  | {
      readonly type: 'packet_in';
      readonly xid: number;
      /** OFP_NO_BUFFER when the whole packet is in `data`. */
      readonly bufferId: number;
      /** Length of the original packet. */
      readonly totalLen: number;
      /** OFPR_* */
      readonly reason: number;
      readonly tableId: number;
      readonly cookie: bigint;
      /** Pipeline fields: in_port, tunnel metadata, metadata, ... */
      readonly match: Match;
      readonly data: Buffer;
    }
  | {
      readonly type: 'flow_removed';
      readonly xid: number;
      readonly cookie: bigint;
      readonly priority: number;
      /** OFPRR_* */
      readonly reason: number;
      readonly tableId: number;
      readonly durationSec: number;
      readonly durationNsec: number;
      readonly idleTimeout: number;
      readonly hardTimeout: number;
      readonly packetCount: bigint;
      readonly byteCount: bigint;
      readonly match: Match;
    }
  | {
      readonly type: 'port_status';
      readonly xid: number;
      readonly reason: PortStatusReason;
      readonly port: Port;
    }
  | {
      readonly type: 'packet_out';
      readonly xid: number;
      /** OFP_NO_BUFFER when the packet is in `data`. */
      readonly bufferId: number;
      /** Ingress port for the actions (OFPP.CONTROLLER when none). */
      readonly inPort: number;
      readonly actions: Action[];
      readonly data: Buffer;
    }
  | {
      readonly type: 'flow_mod';
      readonly xid: number;
      readonly cookie: bigint;
      /** For modify/delete: bits of `cookie` that must match. */
      readonly cookieMask: bigint;
      readonly tableId: number;
      readonly command: FlowModCommand;
      /** Seconds; 0 = none. */
      readonly idleTimeout: number;
      readonly hardTimeout: number;
      readonly priority: number;
      readonly bufferId: number;
      /** For delete: only flows outputting to this port (OFPP.ANY = any). */
      readonly outPort: number;
      readonly outGroup: number;
      /** OFPFF_* bits. */
      readonly flags: number;
      readonly match: Match;
      readonly instructions: Instruction[];
    }
  | {
      readonly type: 'multipart_request';
      readonly xid: number;
      readonly flags: number;
      readonly body: MultipartRequestBody;
    }
  | {
      readonly type: 'multipart_reply';
      readonly xid: number;
      readonly flags: number;
      readonly body: MultipartReplyBody;
    }
  | { readonly type: 'barrier_request'; readonly xid: number }
  | { readonly type: 'barrier_reply'; readonly xid: number }
  | {
      readonly type: 'role_request';
      readonly xid: number;
      readonly role: ControllerRole;
      readonly generationId: bigint;
    }
  | {
      readonly type: 'role_reply';
      readonly xid: number;
      readonly role: ControllerRole;
      readonly generationId: bigint;
    }
  | { readonly type: 'get_async_request'; readonly xid: number }
  | ({ readonly type: 'get_async_reply'; readonly xid: number } & AsyncConfig)
  | ({ readonly type: 'set_async'; readonly xid: number } & AsyncConfig)
  | {
      /** A message type the codec does not describe, kept verbatim. */
      readonly type: 'unknown';
      readonly xid: number;
      /** OFPT_* code. */
      readonly code: number;
      /** Bytes after the header. */
      readonly body: Buffer;
    };

/**
 * Which asynchronous messages a controller gets (OFPT_SET_ASYNC / GET_ASYNC_REPLY): bit n of a mask
 * set means reason n is sent (packet-in OFPR_*, port-status OFPPR_*, flow-removed OFPRR_*), when the
 * controller's role is master or equal, and when it is slave.
 */
export interface AsyncConfig {
  readonly packetInMaster: number;
  readonly packetInSlave: number;
  readonly portStatusMaster: number;
  readonly portStatusSlave: number;
  readonly flowRemovedMaster: number;
  readonly flowRemovedSlave: number;
}

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

type WithoutXid<T> = T extends unknown ? Omit<T, 'xid'> & { readonly xid?: number } : never;
/**
 * A message to send, its transaction id optional: the connection that sends it stamps a fresh one,
 * so the code that builds messages never threads xids through.
 */
export type Outgoing = WithoutXid<Message>;

/** The fields of a message that its body carries (the header carries type, xid and version). */
export type Body<T extends MessageType> = Omit<MessageOf<T>, 'type' | 'xid' | 'version'>;
