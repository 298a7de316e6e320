/**
 * The agent's CURVE key pair for the channel between agents (peers.ts), kept in its state directory
 * so the public key other agents know survives restarts, and Z85 (ZeroMQ's text form of keys)
 * decoding so the authenticator can compare the raw 32-byte keys libzmq hands it.
 *
 * Invariant: the secret key file is created with mode 0600 and never logged; a file that does not
 * hold a valid key pair is an error naming the file, never silently replaced (agents would stop
 * recognising this host).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';

export interface CurveKeys {
  /** Z85, 40 characters. */
  readonly publicKey: string;
  readonly secretKey: string;
}

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_VALUE = new Map<string, number>([...Z85].map((c, i) => [c, i]));

/** Decodes Z85 text (length a multiple of 5) into bytes; undefined when malformed. */
export function z85Decode(s: string): Buffer | undefined {
  if (s.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((s.length / 5) * 4);
  for (let i = 0; i < s.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const d = Z85_VALUE.get(s[i + j]!);
      if (d === undefined) return undefined;
      v = v * 85 + d;
    }
    if (v > 0xffffffff) return undefined;
    out.writeUInt32BE(v, (i / 5) * 4);
  }
  return out;
}

/** Encodes bytes (length a multiple of 4) as Z85 text. */
export function z85Encode(b: Uint8Array): string {
  let s = '';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < b.length; i += 4) {
    let v = dv.getUint32(i);
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(Z85[v % 85]!);
      v = Math.floor(v / 85);
    }
    s += chunk.join('');
  }
  return s;
}

/** True for a Z85 CURVE key (40 characters, 32 bytes). */
export function isCurveKey(s: string): boolean {
  return s.length === 40 && z85Decode(s) !== undefined;
}

/** The key pair in `stateDir/peer-curve.json`, made on first use. */
export function loadOrCreateKeys(stateDir: string): CurveKeys {
  const file = join(stateDir, 'peer-curve.json');
  if (existsSync(file)) {
    let k: Partial<CurveKeys>;
    try {
      k = JSON.parse(readFileSync(file, 'utf8')) as Partial<CurveKeys>;
    } catch (e) {
      throw new Error(`${file}: not JSON (${(e as Error).message}); remove it to make a new key pair`);
    }
    if (
      typeof k.publicKey !== 'string' ||
      !isCurveKey(k.publicKey) ||
      typeof k.secretKey !== 'string' ||
      !isCurveKey(k.secretKey)
    )
      throw new Error(
        `${file}: expected {"publicKey", "secretKey"} as 40-character Z85 keys; remove it to make a new pair`,
      );
    return { publicKey: k.publicKey, secretKey: k.secretKey };
  }
  const k = curveKeyPair();
  writeFileSync(file, `${JSON.stringify(k)}\n`, { mode: 0o600 });
  return k;
}
