/**
 * A structure-aware byte mutator for the fuzzers: from a well-formed seed it makes a near-valid input
 * by a few stacked mutations, most of them aimed where decoders make decisions.
 *
 * "Structure-aware" here means two things. The caller passes the offsets of the fields that steer a
 * decoder (length, type and version fields; `hot`), and the mutator also finds 16-bit words whose value
 * looks like a length (between 4 and the input's size): those get boundary values (0, 1, the length
 * itself, one less, one more, 0xffff) far more often than a random byte would. The other mutations are
 * the classic ones: bit flips, interesting bytes, truncation, extension, insertion, deletion,
 * duplication and splicing with another seed.
 *
 * Invariant: the result is a function of the random source and the inputs only, and never longer than
 * `maxLength` (65535 by default), so a run is reproducible and bounded in memory.
 */
import type { Rand } from './random-topology.js';

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 0x40, 0x45, 0x06, 0x11, 0x08];

function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** Offsets of 16-bit words whose value could be a length field of `b` (4 <= value <= b.length + 8). */
export function lengthLikeOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < b.length && i < 512; i++) {
    const v = (b[i]! << 8) | b[i + 1]!;
    if (v >= 4 && v <= b.length + 8) out.push(i);
  }
  return out;
}

function put16(b: Uint8Array, o: number, v: number): void {
  if (o + 1 >= b.length) return;
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function boundaryValue(r: Rand, b: Uint8Array, at: number): number {
  const cur = at + 1 < b.length ? (b[at]! << 8) | b[at + 1]! : 0;
  return (
    [0, 1, 4, 7, 8, 19, 20, 28, 0xffff, 0x8000, cur - 1, cur + 1, b.length, b.length - at, int(r, 0, 0xffff)][
      int(r, 0, 14)
    ]! & 0xffff
  );
}

export interface MutateOptions {
  /** Offsets of the fields that steer decoding (lengths, types, versions). */
  readonly hot?: readonly number[];
  /** Another seed, for splicing. */
  readonly other?: Uint8Array;
  readonly maxLength?: number;
  /** Mutations stacked at most (at least 1). */
  readonly maxStack?: number;
}

/** A mutated copy of `seed`. */
export function mutate(r: Rand, seed: Uint8Array, opts: MutateOptions = {}): Uint8Array {
  const maxLength = opts.maxLength ?? 65535;
  let b = Uint8Array.from(seed);
  const hot = opts.hot ?? [];
  const stack = int(r, 1, opts.maxStack ?? 4);
  for (let k = 0; k < stack; k++) {
    const n = b.length;
    const at = () => (n === 0 ? 0 : int(r, 0, n - 1));
    switch (int(r, 0, 13)) {
      case 0: // flip one bit
        if (n > 0) {
          const i = at();
          b[i] = b[i]! ^ (1 << int(r, 0, 7));
        }
        break;
      case 1: // an interesting byte
        if (n > 0) b[at()] = INTERESTING_8[int(r, 0, INTERESTING_8.length - 1)]!;
        break;
      case 2: // a random byte
        if (n > 0) b[at()] = int(r, 0, 255);
        break;
      case 3:
      case 4: {
        // a boundary value in a steering field
        if (hot.length > 0) {
          const o = hot[int(r, 0, hot.length - 1)]!;
          if (r() < 0.5) put16(b, o, boundaryValue(r, b, o));
          else if (o < n)
            b[o] = INTERESTING_8[int(r, 0, INTERESTING_8.length - 1)]! ^ (r() < 0.5 ? 0 : b[o]!);
        }
        break;
      }
      case 5:
      case 6: {
        // a boundary value in a length-looking word
        const cands = lengthLikeOffsets(b);
        if (cands.length > 0) {
          const o = cands[int(r, 0, cands.length - 1)]!;
          put16(b, o, boundaryValue(r, b, o));
        }
        break;
      }
      case 7: // truncate, often just before or after a steering field
        if (n > 0) {
          const cut = hot.length > 0 && r() < 0.5 ? hot[int(r, 0, hot.length - 1)]! + int(r, -2, 4) : at();
          b = b.slice(0, Math.max(0, Math.min(n, cut)));
        }
        break;
      case 8: {
        // extend with zeros (Ethernet padding) or random bytes
        const extra = new Uint8Array(int(r, 1, 64));
        if (r() < 0.5) for (let i = 0; i < extra.length; i++) extra[i] = int(r, 0, 255);
        const c = new Uint8Array(n + extra.length);
        c.set(b);
        c.set(extra, n);
        b = c;
        break;
      }
      case 9: {
        // insert random bytes
        const i = at();
        const ins = new Uint8Array(int(r, 1, 8));
        for (let j = 0; j < ins.length; j++) ins[j] = int(r, 0, 255);
        const c = new Uint8Array(n + ins.length);
        c.set(b.subarray(0, i));
        c.set(ins, i);
        c.set(b.subarray(i), i + ins.length);
        b = c;
        break;
      }
      case 10: {
        // delete a range
        if (n > 1) {
          const i = at();
          const len = int(r, 1, Math.min(16, n - i));
          const c = new Uint8Array(n - len);
          c.set(b.subarray(0, i));
          c.set(b.subarray(i + len), i);
          b = c;
        }
        break;
      }
      case 11: {
        // duplicate a range
        if (n > 0) {
          const i = at();
          const len = int(r, 1, Math.min(32, n - i));
          const c = new Uint8Array(n + len);
          c.set(b.subarray(0, i + len));
          c.set(b.subarray(i, i + len), i + len);
          c.set(b.subarray(i + len), i + 2 * len);
          b = c;
        }
        break;
      }
      case 12: {
        // splice: our head, another seed's tail
        const o = opts.other;
        if (o !== undefined && o.length > 0) {
          const i = at();
          const j = int(r, 0, o.length - 1);
          const c = new Uint8Array(i + o.length - j);
          c.set(b.subarray(0, i));
          c.set(o.subarray(j), i);
          b = c;
        }
        break;
      }
      default: // overwrite a run with one byte value
        if (n > 0) {
          const i = at();
          b.fill(pickByte(r), i, Math.min(n, i + int(r, 1, 8)));
        }
    }
  }
  return b.length > maxLength ? b.slice(0, maxLength) : b;
}

function pickByte(r: Rand): number {
  return INTERESTING_8[int(r, 0, INTERESTING_8.length - 1)]!;
}
