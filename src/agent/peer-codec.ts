/**
 * The messages agents send each other (peers.ts), and their binary form.
 *
 * - `learned`: MAC and ARP entries this host just learned, pushed to the agents that may need them at
 *   once (the store keeps the durable copy), so a first packet across hosts waits for no store poll.
 * - `replyFlow`: "the forward packet of a new flow leaves through your port P; install the flow of its
 *   predicted reply": the reply's headers (FlowMatch words) entering P, so the egress host simulates
 *   it and installs its flow before the reply is sent. `id` (not 0): the sender holds the forward
 *   packet until the receiver answers with `replyFlowDone` of that id, sent once the flow (if any) is
 *   written to its switch.
 * - `replyFlowDone`: the answer to a `replyFlow` with an id.
 * - `flowState`: NAT bindings and tracked connections this host made or renewed, sent before the
 *   packet that made them goes out, to the hosts that may see its reply or a later packet.
 *
 * Wire form: 'M' 'N', version 1 (2: a flowState message with an IPv6 binding, whose bindings each
 * carry a family byte, 4 or 6, and then 4 or 16 address bytes), kind, then the kind's fields: strings are u16 length + UTF-8, numbers
 * are u32 or f64 (timestamps), lists are u16 count + items.
 *
 * Invariant: `decodePeerMessage` never throws and accepts only what `encodePeerMessage` can produce:
 * the magic and version, a known kind, every length within the buffer and within its limit (strings
 * of at most 200 bytes of valid UTF-8, at most 1,000 entries), known table names, finite numbers, no
 * trailing bytes.
 * Anything else is an error value naming what was wrong, so a truncated or forged message is dropped
 * and counted, never applied.
 */
import type { Ipv6Words } from '../addr.js';
import { NUM_FIELDS } from '../sim/flow-match.js';
import { LEARNED_TABLES, type LearnedEntry } from '../state/store.js';

export type PeerMessage =
  | { readonly kind: 'learned'; readonly from: string; readonly entries: readonly LearnedEntry[] }
  | {
      readonly kind: 'replyFlow';
      readonly from: string;
      /** The receiver's local port the reply enters through. */
      readonly portId: string;
      /** The reply's headers, FlowMatch field order (NUM_FIELDS uint32 words). */
      readonly packet: readonly number[];
      /** What to answer with (replyFlowDone); 0: no answer wanted. */
      readonly id: number;
    }
  | { readonly kind: 'replyFlowDone'; readonly from: string; readonly id: number }
  | {
      readonly kind: 'flowState';
      readonly from: string;
      /** NAT bindings made or renewed (nat.ts keys). */
      readonly nat: readonly NatStateEntry[];
      /** Connections tracked (flow-state.ts keys). */
      readonly ct: readonly CtStateEntry[];
    };

/**
 * A NAT binding as agents share it: key -> address and port, live until `expiresAt` (ms); an IPv6
 * binding (a load balancer's) has its address in `ip6` and `ip` 0.
 */
export interface NatStateEntry {
  readonly key: string;
  readonly ip: number;
  readonly port: number;
  readonly ip6?: Ipv6Words;
  readonly expiresAt: number;
}

/** A tracked connection as agents share it; `ended`: a FIN or RST was seen. */
export interface CtStateEntry {
  readonly key: string;
  readonly expiresAt: number;
  readonly ended: boolean;
}

const MAGIC0 = 0x4d; // 'M'
const MAGIC1 = 0x4e; // 'N'
const VERSION = 1;
/** A flowState message with an IPv6 binding: each binding has a family byte (4 or 6) before its address. */
const VERSION_FAMILY = 2;
const KIND_CODES = { learned: 1, replyFlow: 2, flowState: 3, replyFlowDone: 4 } as const;
const MAX_STRING = 200;
const MAX_ENTRIES = 1000;
const TABLES = LEARNED_TABLES;

class Out {
  private buf = Buffer.alloc(256);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    if (n > MAX_STRING) throw new Error(`peer message: a string of ${n} bytes exceeds ${MAX_STRING}`);
    this.u16(n);
    this.room(n);
    this.buf.write(s, this.len);
    this.len += n;
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Refuses invalid UTF-8 instead of replacing it; keeps a leading U+FEFF as the encoder wrote it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class In {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new PeerCodecError(`truncated ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.b.readDoubleBE(this.pos);
    this.pos += 8;
    if (!Number.isFinite(v)) throw new PeerCodecError(`${what} is not a finite number`);
    return v;
  }
  str(what: string): string {
    const n = this.u16(`${what} length`);
    if (n > MAX_STRING) throw new PeerCodecError(`${what} of ${n} bytes exceeds ${MAX_STRING}`);
    this.need(n, what);
    let s: string;
    try {
      // Not Buffer#toString: it would turn each bad byte into U+FFFD (3 bytes), a string the encoder
      // could then refuse as too long.
      s = UTF8.decode(this.b.subarray(this.pos, this.pos + n));
    } catch {
      throw new PeerCodecError(`${what} is not UTF-8`);
    }
    this.pos += n;
    return s;
  }
  end(): void {
    if (this.pos !== this.b.length) throw new PeerCodecError(`${this.b.length - this.pos} trailing bytes`);
  }
}

class PeerCodecError extends Error {}

/** The bytes of a message. Throws only for values no message can carry (a caller's bug). */
export function encodePeerMessage(m: PeerMessage): Buffer {
  const o = new Out();
  o.u8(MAGIC0);
  o.u8(MAGIC1);
  // Version 1 unless an IPv6 binding needs the family byte: agents of before IPv6 still read the rest.
  const family = m.kind === 'flowState' && m.nat.some((e) => e.ip6 !== undefined);
  o.u8(family ? VERSION_FAMILY : VERSION);
  o.u8(KIND_CODES[m.kind]);
  o.str(m.from);
  switch (m.kind) {
    case 'learned':
      if (m.entries.length > MAX_ENTRIES) throw new Error(`peer message: more than ${MAX_ENTRIES} entries`);
      o.u16(m.entries.length);
      for (const e of m.entries) {
        o.u8(TABLES.indexOf(e.table));
        o.str(e.scope);
        o.str(e.key);
        o.str(e.value);
        o.str(e.origin);
        o.f64(e.expiresAt);
      }
      break;
    case 'replyFlow':
      o.str(m.portId);
      if (m.packet.length !== NUM_FIELDS) throw new Error(`peer message: a packet has ${NUM_FIELDS} fields`);
      for (const v of m.packet) o.u32(v);
      o.u32(m.id);
      break;
    case 'replyFlowDone':
      o.u32(m.id);
      break;
    case 'flowState':
      if (m.nat.length + m.ct.length > MAX_ENTRIES)
        throw new Error(`peer message: more than ${MAX_ENTRIES} entries`);
      o.u16(m.nat.length);
      for (const e of m.nat) {
        o.str(e.key);
        if (family) o.u8(e.ip6 === undefined ? 4 : 6);
        if (e.ip6 === undefined) o.u32(e.ip);
        else for (const w of e.ip6) o.u32(w);
        o.u16(e.port);
        o.f64(e.expiresAt);
      }
      o.u16(m.ct.length);
      for (const e of m.ct) {
        o.str(e.key);
        o.f64(e.expiresAt);
        o.u8(e.ended ? 1 : 0);
      }
      break;
  }
  return o.done();
}

export type PeerDecodeResult =
  { readonly ok: true; readonly msg: PeerMessage } | { readonly ok: false; readonly error: string };

/** Decodes one message; never throws (see the module comment). */
export function decodePeerMessage(b: Buffer): PeerDecodeResult {
  try {
    const r = new In(b);
    if (r.u8('magic') !== MAGIC0 || r.u8('magic') !== MAGIC1) return { ok: false, error: 'bad magic' };
    const version = r.u8('version');
    if (version !== VERSION && version !== VERSION_FAMILY)
      return { ok: false, error: `unknown version ${version}` };
    const code = r.u8('kind');
    const family = version === VERSION_FAMILY;
    if (family && code !== KIND_CODES.flowState)
      return { ok: false, error: `version ${version} is only for flow state` };
    const from = r.str('sender');
    let msg: PeerMessage;
    if (code === KIND_CODES.learned) {
      const n = r.u16('entry count');
      if (n > MAX_ENTRIES) return { ok: false, error: `${n} entries exceed ${MAX_ENTRIES}` };
      const entries: LearnedEntry[] = [];
      for (let i = 0; i < n; i++) {
        const t = r.u8('table');
        const table = TABLES[t];
        if (table === undefined) return { ok: false, error: `unknown table ${t}` };
        entries.push({
          table,
          scope: r.str('scope'),
          key: r.str('key'),
          value: r.str('value'),
          origin: r.str('origin'),
          expiresAt: r.f64('expiry'),
        });
      }
      msg = { kind: 'learned', from, entries };
    } else if (code === KIND_CODES.replyFlow) {
      const portId = r.str('port');
      const packet: number[] = [];
      for (let i = 0; i < NUM_FIELDS; i++) packet.push(r.u32('packet field'));
      msg = { kind: 'replyFlow', from, portId, packet, id: r.u32('id') };
    } else if (code === KIND_CODES.replyFlowDone) {
      msg = { kind: 'replyFlowDone', from, id: r.u32('id') };
    } else if (code === KIND_CODES.flowState) {
      const nn = r.u16('binding count');
      if (nn > MAX_ENTRIES) return { ok: false, error: `${nn} entries exceed ${MAX_ENTRIES}` };
      const nat: NatStateEntry[] = [];
      for (let i = 0; i < nn; i++) {
        const key = r.str('binding key');
        const fam = family ? r.u8('address family') : 4;
        if (fam !== 4 && fam !== 6) return { ok: false, error: `address family ${fam} is not 4 or 6` };
        if (fam === 4)
          nat.push({ key, ip: r.u32('address'), port: r.u16('port'), expiresAt: r.f64('expiry') });
        else {
          const ip6: Ipv6Words = [r.u32('address'), r.u32('address'), r.u32('address'), r.u32('address')];
          nat.push({ key, ip: 0, port: r.u16('port'), ip6, expiresAt: r.f64('expiry') });
        }
      }
      if (family && !nat.some((e) => e.ip6 !== undefined))
        return { ok: false, error: `version ${version} without an IPv6 binding` };
      const nc = r.u16('connection count');
      if (nn + nc > MAX_ENTRIES) return { ok: false, error: `${nn + nc} entries exceed ${MAX_ENTRIES}` };
      const ct: CtStateEntry[] = [];
      for (let i = 0; i < nc; i++) {
        const key = r.str('connection key');
        const expiresAt = r.f64('expiry');
        const ended = r.u8('ended');
        if (ended > 1) return { ok: false, error: `ended flag ${ended} is not 0 or 1` };
        ct.push({ key, expiresAt, ended: ended === 1 });
      }
      msg = { kind: 'flowState', from, nat, ct };
    } else {
      return { ok: false, error: `unknown kind ${code}` };
    }
    r.end();
    return { ok: true, msg };
  } catch (e) {
    if (e instanceof PeerCodecError) return { ok: false, error: e.message };
    return { ok: false, error: `internal decoder error: ${(e as Error).message}` };
  }
}
