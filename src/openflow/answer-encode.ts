/**
 * The encoding fast path for what a controller sends per new flow: FLOW_MOD and PACKET_OUT, written
 * straight into a `Writer` with the OXM match codec but without the table combinators (struct, TLV
 * union, list) that every other message goes through. messages.ts tries it first for these two.
 *
 * Invariant: for every FLOW_MOD and PACKET_OUT it accepts, it writes exactly the bytes the table-driven
 * encoder writes (a property test holds it to that). It accepts only the instructions and actions
 * listed below and values the wire can carry: for anything else (a raw TLV, an out-of-range number) it
 * returns false with nothing written, and the table-driven encoder takes the message (and gives the
 * error, with its context).
 */
import type { Action, Instruction } from './actions.js';
import type { MessageOf } from './messages.js';
import { matchCodec, oxmCodec, type OxmField } from './oxm.js';
import { CodecError, type Writer } from './wire.js';

/** The fields of the two messages, as the fast path reads them (a type-only import: no cycle). */
type FlowModFields = MessageOf<'flow_mod'>;
type PacketOutFields = MessageOf<'packet_out'>;

const OFPT_PACKET_OUT = 13;
const OFPT_FLOW_MOD = 14;
const COMMANDS: Readonly<Record<FlowModFields['command'], number>> = {
  add: 0,
  modify: 1,
  modify_strict: 2,
  delete: 3,
  delete_strict: 4,
};

/** Thrown inside the fast path for a value it does not take; caught in this module only. */
class NotFast extends Error {}
const NOT_FAST = new NotFast('not for the fast path');

/**
 * Writes a FLOW_MOD or PACKET_OUT (header included; its length field is left 0 for the caller to
 * patch, as messages.ts does for every message) and returns true; returns false, with nothing
 * written, for any other message or one the fast path does not take.
 */
export function encodeAnswer(
  w: Writer,
  msg: { readonly type: string },
  xid: number,
  version: number,
): boolean {
  if (msg.type !== 'flow_mod' && msg.type !== 'packet_out') return false;
  const start = w.length;
  try {
    w.u8(version, 'version');
    if (msg.type === 'flow_mod') {
      w.u8(OFPT_FLOW_MOD);
      w.reserve(2);
      w.u32(xid, 'xid');
      flowMod(w, msg as unknown as FlowModFields);
    } else {
      w.u8(OFPT_PACKET_OUT);
      w.reserve(2);
      w.u32(xid, 'xid');
      packetOut(w, msg as unknown as PacketOutFields);
    }
    return true;
  } catch (e) {
    if (e !== NOT_FAST && !(e instanceof CodecError)) throw e;
    w.truncate(start);
    return false;
  }
}

function flowMod(w: Writer, m: FlowModFields): void {
  w.u64(m.cookie);
  w.u64(m.cookieMask);
  w.u8(m.tableId);
  const command = COMMANDS[m.command];
  if (command === undefined) throw NOT_FAST;
  w.u8(command);
  w.u16(m.idleTimeout);
  w.u16(m.hardTimeout);
  w.u16(m.priority);
  w.u32(m.bufferId);
  w.u32(m.outPort);
  w.u32(m.outGroup);
  w.u16(m.flags);
  w.zeros(2);
  matchCodec.encode(w, m.match);
  const ins = m.instructions;
  for (let i = 0; i < ins.length; i++) instruction(w, ins[i]!);
}

function packetOut(w: Writer, m: PacketOutFields): void {
  w.u32(m.bufferId);
  w.u32(m.inPort);
  const at = w.reserve(2);
  w.zeros(6);
  const start = w.length;
  actions(w, m.actions);
  w.patchU16(at, w.length - start);
  w.bytes(m.data);
}

/** An instruction TLV: type, length (padding included, a multiple of 8), body. */
function instruction(w: Writer, ins: Instruction): void {
  const start = w.length;
  switch (ins.type) {
    case 'apply_actions':
    case 'write_actions':
      w.u16(ins.type === 'apply_actions' ? 4 : 3);
      w.reserve(2);
      w.zeros(4);
      actions(w, ins.actions);
      break;
    case 'meter':
      w.u16(6);
      w.reserve(2);
      w.u32(ins.meterId);
      break;
    case 'goto_table':
      w.u16(1);
      w.reserve(2);
      w.u8(ins.tableId);
      w.zeros(3);
      break;
    default:
      throw NOT_FAST;
  }
  w.alignFrom(start, 8);
  w.patchU16(start + 2, w.length - start);
}

function actions(w: Writer, list: readonly Action[]): void {
  for (let i = 0; i < list.length; i++) action(w, list[i]!);
}

/** An action TLV: type, length (padding included, a multiple of 8), body. */
function action(w: Writer, a: Action): void {
  const start = w.length;
  switch (a.type) {
    case 'output':
      w.u16(0);
      w.u16(16);
      w.u32(a.port);
      w.u16(a.maxLen);
      w.zeros(6);
      return;
    case 'set_field':
      if (hasMask(a.field)) throw NOT_FAST;
      w.u16(25);
      w.reserve(2);
      oxmCodec.encode(w, a.field);
      w.alignFrom(start, 8);
      w.patchU16(start + 2, w.length - start);
      return;
    case 'push_vlan':
      w.u16(17);
      w.u16(8);
      w.u16(a.ethertype);
      w.zeros(2);
      return;
    case 'pop_vlan':
    case 'dec_nw_ttl':
      w.u16(a.type === 'pop_vlan' ? 18 : 24);
      w.u16(8);
      w.zeros(4);
      return;
    case 'group':
      w.u16(22);
      w.u16(8);
      w.u32(a.groupId);
      return;
    default:
      throw NOT_FAST;
  }
}

function hasMask(f: OxmField): boolean {
  return f.field === 'raw' ? f.hasMask : 'mask' in f && f.mask !== undefined;
}
