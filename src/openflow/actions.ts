/**
 * OpenFlow 1.3 actions (ofp_action_*) and instructions (ofp_instruction_*), each described once in
 * a table of TLV variants (type code, exact length or 0 for computed, body layout) from which both
 * directions of the codec are built.
 *
 * Invariant: every action and instruction on the wire is a multiple of 8 bytes long, its length
 * field counts the padding, and padding is zero. Type codes not in the tables (experimenter
 * actions such as Nicira's, MPLS/PBB actions) decode to `{ type: 'raw' }` and encode back byte for
 * byte. set_field carries exactly one unmasked OXM (OpenFlow 1.3 has no masked set_field).
 */

import { type OxmField, oxmCodec } from './oxm.js';
import {
  type Codec,
  CodecError,
  field,
  listOf,
  pad,
  type RawTlv,
  struct,
  tlvUnion,
  u16,
  u32,
  u64,
  u8,
} from './wire.js';

/** An action in an action list or action set. Numbers are OFPP_*, group ids, TTLs, ethertypes. */
export type Action =
  /** Output to `port` (or OFPP.CONTROLLER etc.); `maxLen` bytes go to the controller (OFPCML). */
  | { readonly type: 'output'; readonly port: number; readonly maxLen: number }
  | { readonly type: 'copy_ttl_out' }
  | { readonly type: 'copy_ttl_in' }
  /** Push a VLAN tag with TPID `ethertype` (0x8100 or 0x88a8); set vlan_vid afterwards. */
  | { readonly type: 'push_vlan'; readonly ethertype: number }
  | { readonly type: 'pop_vlan' }
  | { readonly type: 'set_queue'; readonly queueId: number }
  | { readonly type: 'group'; readonly groupId: number }
  | { readonly type: 'set_nw_ttl'; readonly ttl: number }
  | { readonly type: 'dec_nw_ttl' }
  /** Rewrite one header field; `field` has no mask. */
  | { readonly type: 'set_field'; readonly field: OxmField }
  | RawTlv;

function hasMask(f: OxmField): boolean {
  return f.field === 'raw' ? f.hasMask : 'mask' in f && f.mask !== undefined;
}

/** The OXM of a set_field action: one TLV, never masked in OpenFlow 1.3. */
const setFieldOxm: Codec<OxmField> = {
  encode(w, f) {
    if (hasMask(f)) throw new CodecError(`set_field ${f.field}: OpenFlow 1.3 set_field takes no mask`);
    oxmCodec.encode(w, f);
  },
  decode(r) {
    const f = oxmCodec.decode(r);
    if (hasMask(f)) throw new CodecError(`set_field ${f.field}: OpenFlow 1.3 set_field takes no mask`);
    return f;
  },
};

type Known<U> = Exclude<U, RawTlv>;
type B<T extends string> = Omit<Extract<Known<Action>, { type: T }>, 'type'>;

/** Action codec table: OFPAT_* code, total length (0 = computed), body after the 4-byte header. */
const actionCodec = tlvUnion<Known<Action>>(
  'action',
  {
    output: {
      code: 0,
      length: 16,
      body: struct<B<'output'>>(field('port', u32), field('maxLen', u16), pad(6)),
    },
    copy_ttl_out: { code: 11, length: 8, body: struct<B<'copy_ttl_out'>>(pad(4)) },
    copy_ttl_in: { code: 12, length: 8, body: struct<B<'copy_ttl_in'>>(pad(4)) },
    push_vlan: { code: 17, length: 8, body: struct<B<'push_vlan'>>(field('ethertype', u16), pad(2)) },
    pop_vlan: { code: 18, length: 8, body: struct<B<'pop_vlan'>>(pad(4)) },
    set_queue: { code: 21, length: 8, body: struct<B<'set_queue'>>(field('queueId', u32)) },
    group: { code: 22, length: 8, body: struct<B<'group'>>(field('groupId', u32)) },
    set_nw_ttl: { code: 23, length: 8, body: struct<B<'set_nw_ttl'>>(field('ttl', u8), pad(3)) },
    dec_nw_ttl: { code: 24, length: 8, body: struct<B<'dec_nw_ttl'>>(pad(4)) },
    set_field: { code: 25, length: 0, body: struct<B<'set_field'>>(field('field', setFieldOxm)) },
  },
  true,
);

/** A list of actions running to the end of the enclosing region. */
export const actionListCodec = listOf<Action>(actionCodec, 'action');

/** An instruction of a flow entry. */
export type Instruction =
  | { readonly type: 'goto_table'; readonly tableId: number }
  | { readonly type: 'write_metadata'; readonly metadata: bigint; readonly mask: bigint }
  | { readonly type: 'write_actions'; readonly actions: Action[] }
  | { readonly type: 'apply_actions'; readonly actions: Action[] }
  | { readonly type: 'clear_actions' }
  | { readonly type: 'meter'; readonly meterId: number }
  | RawTlv;

type I<T extends string> = Omit<Extract<Known<Instruction>, { type: T }>, 'type'>;

/** Instruction codec table: OFPIT_* code, total length (0 = computed), body after the header. */
const instructionCodec = tlvUnion<Known<Instruction>>(
  'instruction',
  {
    goto_table: { code: 1, length: 8, body: struct<I<'goto_table'>>(field('tableId', u8), pad(3)) },
    write_metadata: {
      code: 2,
      length: 24,
      body: struct<I<'write_metadata'>>(pad(4), field('metadata', u64), field('mask', u64)),
    },
    write_actions: {
      code: 3,
      length: 0,
      body: struct<I<'write_actions'>>(pad(4), field('actions', actionListCodec)),
    },
    apply_actions: {
      code: 4,
      length: 0,
      body: struct<I<'apply_actions'>>(pad(4), field('actions', actionListCodec)),
    },
    clear_actions: { code: 5, length: 8, body: struct<I<'clear_actions'>>(pad(4)) },
    meter: { code: 6, length: 8, body: struct<I<'meter'>>(field('meterId', u32)) },
  },
  true,
);

/** A list of instructions running to the end of the enclosing region. */
export const instructionListCodec = listOf<Instruction>(instructionCodec, 'instruction');
