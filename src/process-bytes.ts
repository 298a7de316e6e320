/**
 * This process's command line and environment as the bytes it was given. Node hands them over as
 * strings, each malformed UTF-8 sequence silently replaced by U+FFFD, so a name given as bytes that
 * are not UTF-8 would be taken as another name. Linux keeps the bytes in /proc/self/cmdline and
 * /proc/self/environ (NUL-ended entries); the front ends read them there to refuse such a value
 * (midonet-cli its arguments, midonet-cni its CNI_* variables).
 *
 * Invariant: these only read; when the bytes cannot be read (another OS) they give undefined, and the
 * caller then takes the values as Node decoded them.
 */
import { readFileSync } from 'node:fs';

function entries(file: string): Uint8Array[] | undefined {
  let all: Buffer;
  try {
    all = readFileSync(file);
  } catch {
    return undefined;
  }
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < all.length; i++)
    if (all[i] === 0) {
      out.push(all.subarray(start, i));
      start = i + 1;
    }
  return out;
}

/** The bytes of the last `count` arguments of this process, or undefined when they cannot be read. */
export function argvBytes(count: number): Uint8Array[] | undefined {
  const all = entries('/proc/self/cmdline');
  return all !== undefined && all.length >= count ? all.slice(all.length - count) : undefined;
}

/** The bytes of the values of this process's environment at its start, by name (names as UTF-8). */
export function environBytes(): Map<string, Uint8Array> | undefined {
  const all = entries('/proc/self/environ');
  if (all === undefined) return undefined;
  const out = new Map<string, Uint8Array>();
  for (const e of all) {
    const eq = e.indexOf(0x3d);
    if (eq > 0) out.set(Buffer.from(e.subarray(0, eq)).toString('utf8'), e.subarray(eq + 1));
  }
  return out;
}
