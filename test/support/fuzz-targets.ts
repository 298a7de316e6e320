/**
 * The fuzz targets: each makes inputs from the seeded corpus (fuzz-corpus.ts, fuzz-corpus-openflow.ts)
 * through the mutator (fuzz-mutate.ts) and runs one decoder on them, checking the invariants its
 * module comment promises. The suite runs every target a bounded number of times with a fixed seed
 * (test/unit/fuzz.test.ts); `npm run bench -- fuzz` runs 1,000,000 inputs per target and reports
 * crashes, hangs and peak memory.
 *
 * A crash is anything `run` throws: an exception escaping a decoder that promises never to throw, or a
 * broken invariant (a parse that does not build back to its bytes, the packet-in fast path disagreeing
 * with the table-driven decoder, the agent's match path disagreeing with the packet codec).
 *
 * Invariant: `input(r)` depends on `r` only, and `run` has no side effect outside its own objects, so a
 * failing input found by the bench is reproduced by its seed and index, or by its bytes alone.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { decodePeerMessage, encodePeerMessage } from '../../src/agent/peer-codec.js';
import { decodeMessage, encodeMessage, OpenFlowFramer, readPacketIn } from '../../src/openflow/index.js';
import { buildDhcp, buildEthernet, findMalformed, parseDhcp, parseEthernet } from '../../src/packet/index.js';
import { FlowMatch } from '../../src/sim/flow-match.js';
import { dhcpSeed, frameSeed, int, peerSeed, randomBytes } from './fuzz-corpus.js';
import { openflowSeed } from './fuzz-corpus-openflow.js';
import { mutate } from './fuzz-mutate.js';
import { codecView } from './frame-oracle.js';
import type { Rand } from './random-topology.js';

export interface FuzzTarget {
  readonly name: string;
  /** What the target exercises, for the bench's table. */
  readonly what: string;
  input(r: Rand): Uint8Array;
  /** Runs the code under test on one input; throws on a crash or a broken invariant. */
  run(input: Uint8Array): void;
}

function u16(b: Uint8Array, o: number): number {
  return o + 1 < b.length ? (b[o]! << 8) | b[o + 1]! : 0;
}

/** Offsets of the fields that steer the Ethernet/IP/L4 decoders in `b`. */
export function frameHotOffsets(b: Uint8Array): number[] {
  const hot = [12];
  let s = 14;
  let type = u16(b, 12);
  for (let i = 0; i < 2 && (type === 0x8100 || type === 0x88a8); i++) {
    hot.push(s, s + 2);
    type = u16(b, s + 2);
    s += 4;
  }
  if (type < 0x600) hot.push(s, s + 6);
  if (type === 0x0806) hot.push(s, s + 2, s + 4, s + 5, s + 6);
  if (type === 0x86dd) hot.push(s, s + 4, s + 6);
  if (type === 0x0800) {
    hot.push(s, s + 2, s + 6, s + 9);
    const l4 = s + ((b[s] ?? 0x45) & 0x0f) * 4;
    hot.push(l4, l4 + 4, l4 + 12, l4 + 8 + 1, l4 + 8 + 236, l4 + 8 + 240);
  }
  return hot;
}

const DHCP_HOT = [0, 1, 2, 28, 34, 236, 238, 240, 241, 242, 243];
const OPENFLOW_HOT = [0, 1, 2, 8, 16, 18, 24, 26, 48, 50];
const PEER_HOT = [0, 1, 2, 3, 4, 5];

function near(r: Rand, seed: (r: Rand) => Uint8Array, hot: (b: Uint8Array) => readonly number[]): Uint8Array {
  const s = seed(r);
  const x = r();
  if (x < 0.04) return s; // the seed itself
  if (x < 0.06) return randomBytes(r, int(r, 0, 96)); // noise
  return mutate(r, s, { hot: hot(s), other: seed(r) });
}

const sameBytes = (a: Uint8Array, b: Uint8Array, what: string) =>
  ok(Buffer.from(a).equals(Buffer.from(b)), `${what} does not give back the input bytes`);

export const ethernetTarget: FuzzTarget = {
  name: 'ethernet',
  what: 'packet codec: Ethernet/VLAN/ARP/IPv4/IPv6/TCP/UDP/ICMP parse, lossless build',
  input: (r) => near(r, frameSeed, frameHotOffsets),
  run(b) {
    const f = parseEthernet(b);
    findMalformed(f);
    sameBytes(buildEthernet(f), b, 'buildEthernet(parseEthernet(b))');
  },
};

export const dhcpTarget: FuzzTarget = {
  name: 'dhcp',
  what: 'packet codec: DHCP parse (options, cookie, chaddr), lossless build',
  input: (r) => near(r, dhcpSeed, () => DHCP_HOT),
  run(b) {
    const d = parseDhcp(b);
    if (d.kind === 'dhcp') sameBytes(buildDhcp(d), b, 'buildDhcp(parseDhcp(b))');
  },
};

export const openflowMessageTarget: FuzzTarget = {
  name: 'openflow-messages',
  what: 'OpenFlow 1.3 decodeMessage (re-encodes to the same bytes) and the packet-in fast path',
  input: (r) => near(r, openflowSeed, () => OPENFLOW_HOT),
  run(b) {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const d = decodeMessage(buf);
    const fast = readPacketIn(buf);
    if (!d.ok) return;
    sameBytes(encodeMessage(d.msg), b, 'encodeMessage(decodeMessage(b))');
    if (d.msg.type === 'packet_in') {
      if (typeof fast === 'string')
        throw new Error(`readPacketIn refused a packet_in the decoder accepts: ${fast}`);
      const m = d.msg;
      const inPort = m.match.findLast((x) => x.field === 'in_port');
      const tun = m.match.findLast((x) => x.field === 'tunnel_id');
      equal(fast.bufferId, m.bufferId);
      equal(fast.totalLen, m.totalLen);
      equal(fast.reason, m.reason);
      equal(fast.tableId, m.tableId);
      equal(fast.inPort, inPort?.field === 'in_port' ? inPort.value : 0);
      if (tun?.field === 'tunnel_id' && tun.value < 2n ** 53n) equal(fast.tunnelId, Number(tun.value));
      ok(Buffer.compare(fast.data, m.data) === 0, 'packet-in data differs');
    }
  },
};

export const openflowFramingTarget: FuzzTarget = {
  name: 'openflow-framing',
  what: 'OpenFlow stream framing: messages split and joined at random points',
  input(r) {
    const parts: Uint8Array[] = [];
    for (let i = int(r, 1, 4); i > 0; i--)
      parts.push(r() < 0.7 ? openflowSeed(r) : near(r, openflowSeed, () => OPENFLOW_HOT));
    const all = Buffer.concat(parts);
    return r() < 0.5 ? all : mutate(r, all, { hot: OPENFLOW_HOT, maxStack: 2 });
  },
  run(b) {
    const framer = new OpenFlowFramer();
    // Chunk sizes from the input's own bytes, so the split is part of the input.
    let at = 0;
    let k = b.length > 0 ? b[b.length - 1]! : 0;
    while (at < b.length) {
      const size = 1 + ((k * 31 + 7) % 97);
      k = b[at]!;
      for (const ev of framer.push(b.subarray(at, Math.min(b.length, at + size)))) {
        if (ev.kind === 'message') sameBytes(encodeMessage(ev.msg), ev.bytes, 'a framed message');
        if (ev.kind === 'framing_error') ok(framer.failure !== undefined);
      }
      ok(framer.bufferedBytes < 65536, `the framer holds ${framer.bufferedBytes} bytes`);
      at += size;
    }
  },
};

export const frameMatchTarget: FuzzTarget = {
  name: 'frame-match',
  what: "agent packet-in match path (fillFromFrame) agrees with the packet codec's view",
  input: (r) => near(r, frameSeed, frameHotOffsets),
  run(b) {
    const m = new FlowMatch();
    const why = fillFromFrame(m, b, 7);
    const view = codecView(b, 7);
    if ('refused' in view) {
      ok(why !== null, `the match path filled a frame the codec view refuses (${view.refused})`);
      return;
    }
    ok(why === null, `the match path refused a frame the codec parses: ${why}`);
    deepStrictEqual(m.orig, view.fields, 'match fields differ from the codec view');
  },
};

export const peerCodecTarget: FuzzTarget = {
  name: 'peer-codec',
  what: "agents' peer-message codec: decode never throws; what it accepts re-encodes and decodes the same",
  input: (r) => near(r, peerSeed, () => PEER_HOT),
  run(b) {
    const d = decodePeerMessage(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    if (!d.ok) return;
    const again = decodePeerMessage(encodePeerMessage(d.msg));
    deepStrictEqual(again, d);
  },
};

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  openflowFramingTarget,
  openflowMessageTarget,
  ethernetTarget,
  dhcpTarget,
  frameMatchTarget,
  peerCodecTarget,
];

/** One failing input: its index in the run, its bytes as hex and what went wrong. */
export interface FuzzFailure {
  readonly index: number;
  readonly hex: string;
  readonly error: string;
}

/** Runs `count` inputs of `t` from `seed`; returns the failures (at most `keep` of them kept). */
export function fuzz(
  t: FuzzTarget,
  r: Rand,
  count: number,
  onInput?: (ms: number, index: number, input: Uint8Array) => void,
  keep = 5,
): { failures: FuzzFailure[]; failed: number } {
  const failures: FuzzFailure[] = [];
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const input = t.input(r);
    const t0 = onInput ? performance.now() : 0;
    try {
      t.run(input);
    } catch (e) {
      failed++;
      if (failures.length < keep)
        failures.push({
          index: i,
          hex: Buffer.from(input).toString('hex'),
          error: e instanceof Error ? e.message.split('\n').slice(0, 12).join('\n') : String(e),
        });
    }
    if (onInput) onInput(performance.now() - t0, i, input);
  }
  return { failures, failed };
}
