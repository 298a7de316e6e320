/**
 * MULTIPART_REQUEST / MULTIPART_REPLY bodies: switch description (DESC), flow statistics (FLOW),
 * port descriptions (PORT_DESC) and the empty TABLE_FEATURES request. Each kind is one entry of a
 * table (OFPMP_* code, body layout) that drives both directions.
 *
 * Wire form after ofp_header: u16 type, u16 flags (OFPMPF_MORE), pad[4], then the body, which runs
 * to the end of the message. Invariant: a body decodes only if it fills the message exactly;
 * multipart kinds not in the table decode to `{ type: 'raw' }` and encode back byte for byte.
 */

import { type Instruction, instructionListCodec } from './actions.js';
import { type Match, matchCodec } from './oxm.js';
import { portCodec, type Port } from './port.js';
import {
  type Codec,
  CodecError,
  field,
  fixedString,
  listOf,
  pad,
  type Reader,
  selfSized,
  struct,
  u16,
  u32,
  u64,
  u8,
  withContext,
  type Writer,
} from './wire.js';

/** A multipart kind this codec does not describe, kept verbatim. */
export interface RawMultipart {
  readonly type: 'raw';
  /** OFPMP_* code. */
  readonly code: number;
  readonly body: Buffer;
}

/** Body of a MULTIPART_REQUEST. */
export type MultipartRequestBody =
  | { readonly type: 'desc' }
  | {
      readonly type: 'flow';
      /** Table to read, or OFPTT.ALL. */
      readonly tableId: number;
      /** Only flows with an output to this port; OFPP.ANY for no restriction. */
      readonly outPort: number;
      /** Only flows with an output to this group; OFPG.ANY for no restriction. */
      readonly outGroup: number;
      readonly cookie: bigint;
      /** Bits of `cookie` that must match; 0n for no restriction. */
      readonly cookieMask: bigint;
      readonly match: Match;
    }
  | { readonly type: 'port_desc' }
  /** Request for the current table features (an empty body; setting features is not supported). */
  | { readonly type: 'table_features' }
  | RawMultipart;

/** One flow entry in a FLOW multipart reply (ofp_flow_stats). */
export interface FlowStats {
  readonly tableId: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly priority: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  /** OFPFF_* bits. */
  readonly flags: number;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly match: Match;
  readonly instructions: Instruction[];
}

/** Body of a MULTIPART_REPLY. */
export type MultipartReplyBody =
  | {
      readonly type: 'desc';
      readonly mfrDesc: string;
      readonly hwDesc: string;
      readonly swDesc: string;
      readonly serialNum: string;
      readonly dpDesc: string;
    }
  | { readonly type: 'flow'; readonly flows: FlowStats[] }
  | { readonly type: 'port_desc'; readonly ports: Port[] }
  | RawMultipart;

type Kind<U> = Exclude<U, RawMultipart>;
type Body<U, K> = Omit<Extract<U, { type: K }>, 'type'>;
type Table<U extends { type: string }> = {
  readonly [K in Kind<U>['type']]: { readonly code: number; readonly body: Codec<Body<U, K>> };
};

type Req<K extends string> = Body<MultipartRequestBody, K>;
type Rep<K extends string> = Body<MultipartReplyBody, K>;

const MULTIPART_REQUESTS: Table<MultipartRequestBody> = {
  desc: { code: 0, body: struct<Req<'desc'>>() },
  flow: {
    code: 1,
    body: struct<Req<'flow'>>(
      field('tableId', u8),
      pad(3),
      field('outPort', u32),
      field('outGroup', u32),
      pad(4),
      field('cookie', u64),
      field('cookieMask', u64),
      field('match', matchCodec),
    ),
  },
  table_features: { code: 12, body: struct<Req<'table_features'>>() },
  port_desc: { code: 13, body: struct<Req<'port_desc'>>() },
};

const flowStatsCodec = selfSized(
  'flow stats entry',
  struct<FlowStats>(
    field('tableId', u8),
    pad(1),
    field('durationSec', u32),
    field('durationNsec', u32),
    field('priority', u16),
    field('idleTimeout', u16),
    field('hardTimeout', u16),
    field('flags', u16),
    pad(4),
    field('cookie', u64),
    field('packetCount', u64),
    field('byteCount', u64),
    field('match', matchCodec),
    field('instructions', instructionListCodec),
  ),
);

const MULTIPART_REPLIES: Table<MultipartReplyBody> = {
  desc: {
    code: 0,
    body: struct<Rep<'desc'>>(
      field('mfrDesc', fixedString(256)),
      field('hwDesc', fixedString(256)),
      field('swDesc', fixedString(256)),
      field('serialNum', fixedString(32)),
      field('dpDesc', fixedString(256)),
    ),
  },
  flow: { code: 1, body: struct<Rep<'flow'>>(field('flows', listOf(flowStatsCodec, 'flow stats'))) },
  port_desc: { code: 13, body: struct<Rep<'port_desc'>>(field('ports', listOf(portCodec, 'port'))) },
};

/** The part of a multipart message after ofp_header. */
export interface MultipartEnvelope<U> {
  /** OFPMPF_MORE when more parts follow. */
  readonly flags: number;
  readonly body: U;
}

function multipartCodec<U extends { type: string }>(
  what: string,
  table: Table<U>,
): Codec<MultipartEnvelope<U | RawMultipart>> {
  const tags = Object.keys(table) as Kind<U>['type'][];
  const byCode = new Map<number, Kind<U>['type']>();
  for (const tag of tags) byCode.set(table[tag].code, tag);
  return {
    encode(w: Writer, v: MultipartEnvelope<U | RawMultipart>): void {
      const b = v.body;
      if (b.type === 'raw') {
        const raw = b as RawMultipart;
        w.u16(raw.code, `${what} type`);
        w.u16(v.flags, `${what} flags`);
        w.zeros(4);
        w.bytes(raw.body);
        return;
      }
      const tag = b.type as Kind<U>['type'];
      const entry = table[tag] as { code: number; body: Codec<Body<U, typeof tag>> } | undefined;
      if (entry === undefined) throw new CodecError(`unknown ${what} type "${tag}"`);
      w.u16(entry.code);
      w.u16(v.flags, `${what} flags`);
      w.zeros(4);
      const { type: _type, ...rest } = b as Extract<U, { type: typeof tag }>;
      withContext(tag, () => entry.body.encode(w, rest as unknown as Body<U, typeof tag>));
    },
    decode(r: Reader): MultipartEnvelope<U | RawMultipart> {
      const code = r.u16(`${what} type`);
      const flags = r.u16(`${what} flags`);
      r.zeros(4, `${what} padding`);
      const tag = byCode.get(code);
      if (tag === undefined) return { flags, body: { type: 'raw', code, body: r.bytes(r.remaining) } };
      const entry = table[tag] as { code: number; body: Codec<Body<U, typeof tag>> };
      const body = withContext(tag, () => entry.body.decode(r));
      withContext(tag, () => r.expectEnd('body'));
      return { flags, body: { type: tag, ...body } as unknown as U };
    },
  };
}

export const multipartRequestCodec = multipartCodec<MultipartRequestBody>(
  'multipart request',
  MULTIPART_REQUESTS,
);
export const multipartReplyCodec = multipartCodec<MultipartReplyBody>('multipart reply', MULTIPART_REPLIES);
