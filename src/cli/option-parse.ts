/**
 * Parsing the CLI's option values (the table is options.ts): text to the stored value, names of
 * referenced objects resolved to ids through the store, rule conditions to their condition values.
 *
 * Invariant: a value either parses or throws a CliError naming the option, the value given (quoted:
 * control characters escaped, long values cut) and what is allowed; nothing is written here.
 */
import { quote } from '../quote.js';
import { normalizeMac } from '../addr.js';
import { parsePortRange, TCP_FLAGS, type Kind } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';

export class CliError extends Error {
  /** `exitCode`: 2 for bad usage (the default), 1 for what could not be done (an agent not running). */
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export type OptionType =
  | { t: 'string' }
  | { t: 'int'; min: number; max: number }
  | { t: 'bool' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'ref'; kind: Kind }
  | { t: 'refs'; kind: Kind }
  | { t: 'list' } // comma-separated strings
  | { t: 'nullable-string' }
  | { t: 'nat-targets' } // ADDR[-ADDR][:PORT[-PORT]], comma-separated
  | { t: 'address-pairs' } // ADDR[/LEN][@MAC], comma-separated
  | { t: 'static-routes' } // PREFIX@GATEWAY, comma-separated
  | { t: 'dhcp-options' }; // CODE=0xHEX or CODE=TEXT, comma-separated

/** A rule condition's option: its flag, the condition it sets and its value parser. */
export interface ConditionSpec {
  readonly flag: string;
  readonly cond: string;
  readonly type: OptionType | { t: 'special' };
  readonly describe: string;
}

const NONE = new Set(['none', 'null', '-']);

/** Parses one option value to its field value, resolving object references through the store. */
export async function parseOption(
  store: TopologyStore,
  flag: string,
  type: OptionType,
  raw: string,
): Promise<unknown> {
  const bad = (allowed: string): never => {
    throw new CliError(`--${flag}: ${quote(raw)} is not valid: ${allowed}`);
  };
  switch (type.t) {
    case 'string':
      return raw;
    case 'nullable-string':
      return NONE.has(raw) ? null : raw;
    case 'list':
      return raw === '' ? [] : raw.split(',').map((x) => x.trim());
    case 'int': {
      if (NONE.has(raw)) return null;
      if (!/^[0-9]+$/.test(raw)) bad(`expected a whole number from ${type.min} to ${type.max}`);
      const n = Number(raw);
      if (n < type.min || n > type.max) bad(`expected a whole number from ${type.min} to ${type.max}`);
      return n;
    }
    case 'bool':
      if (['true', 'yes', 'up', '1'].includes(raw)) return true;
      if (['false', 'no', 'down', '0'].includes(raw)) return false;
      return bad('expected true or false');
    case 'enum':
      return type.values.includes(raw) ? raw : bad(`allowed values: ${type.values.join(', ')}`);
    case 'ref':
      if (NONE.has(raw)) return null;
      return (await store.resolve(type.kind, raw)).id;
    case 'refs': {
      if (raw === '') return [];
      const ids: string[] = [];
      for (const r of raw.split(',')) ids.push((await store.resolve(type.kind, r.trim())).id);
      return ids;
    }
    case 'address-pairs': {
      if (raw === '' || NONE.has(raw)) return [];
      // Checked by the model (port-security-fields.ts), which names a bad address or MAC.
      return raw.split(',').map((part) => {
        const [ip, mac] = part.trim().split('@');
        return { ipAddress: ip, mac: mac ?? null };
      });
    }
    case 'static-routes':
      if (raw === '' || NONE.has(raw)) return [];
      return raw.split(',').map((part) => {
        const [destination, gateway, ...rest] = part.trim().split('@');
        if (gateway === undefined || rest.length > 0)
          bad('expected PREFIX@GATEWAY, e.g. 198.51.100.0/24@192.0.2.254');
        return { destination, gateway };
      });
    case 'dhcp-options':
      if (raw === '' || NONE.has(raw)) return [];
      // Codes and values are checked by the model (dhcp-option-fields.ts).
      return raw.split(',').map((part) => {
        const eq = part.indexOf('=');
        const code = part.slice(0, eq).trim();
        if (eq < 0 || !/^[0-9]{1,3}$/.test(code)) bad('expected CODE=0xHEX or CODE=TEXT, e.g. 252=0x0a0b');
        const value = part.slice(eq + 1);
        const hex = /^0x/i.test(value) ? value.slice(2) : Buffer.from(value, 'utf8').toString('hex');
        return { code: Number(code), hex };
      });
    case 'nat-targets': {
      const out: Array<Record<string, unknown>> = [];
      for (const part of raw.split(',')) {
        const m = /^([0-9.]+)(?:-([0-9.]+))?(?::([0-9]{1,5})(?:-([0-9]{1,5}))?)?$/.exec(part.trim());
        if (m === null) return bad('expected ADDR[-ADDR][:PORT[-PORT]], e.g. 203.0.113.1:1024-65535');
        const [, a, b, p, q] = m;
        out.push({
          addressFrom: a,
          addressTo: b ?? a,
          ...(p !== undefined ? { portFrom: Number(p), portTo: Number(q ?? p) } : {}),
        });
      }
      return out;
    }
  }
}

const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132, gre: 47, icmpv6: 58 };
const ETHERTYPES: Record<string, number> = { ipv4: 0x0800, arp: 0x0806, ipv6: 0x86dd, vlan: 0x8100 };

/** Parses a rule condition option into the stored condition value. */
export async function parseCondition(
  store: TopologyStore,
  spec: ConditionSpec,
  raw: string,
): Promise<unknown> {
  const bad = (allowed: string): never => {
    throw new CliError(`--${spec.flag}: ${quote(raw)} is not valid: ${allowed}`);
  };
  if (spec.type.t !== 'special') return parseOption(store, spec.flag, spec.type, raw);
  switch (spec.cond) {
    case 'ethertype': {
      const v = ETHERTYPES[raw] ?? (/^(0x[0-9a-f]{1,4}|[0-9]{1,5})$/i.test(raw) ? Number(raw) : undefined);
      return v !== undefined && v <= 0xffff ? v : bad('ipv4, arp, ipv6, or a number up to 0xffff');
    }
    case 'ipProto': {
      const v = PROTOS[raw] ?? (/^[0-9]{1,3}$/.test(raw) ? Number(raw) : undefined);
      return v !== undefined && v <= 255 ? v : bad(`${Object.keys(PROTOS).join(', ')} or a number 0 to 255`);
    }
    case 'srcMac':
    case 'dstMac': {
      const [m, mask] = raw.split('/');
      if (normalizeMac(m!) === undefined || (mask !== undefined && normalizeMac(mask) === undefined)) {
        bad('expected a MAC such as 02:00:00:00:00:01, optionally /ff:ff:ff:00:00:00');
      }
      return mask === undefined ? { value: m } : { value: m, mask };
    }
    case 'srcPrefix':
    case 'dstPrefix':
      return raw.includes('/') ? raw : `${raw}/${raw.includes(':') ? 128 : 32}`;
    case 'srcPort':
    case 'dstPort':
    case 'tcpWindow': {
      const r = parsePortRange(raw);
      return typeof r === 'string' ? bad(r) : r;
    }
    case 'tcpFlags': {
      let set = 0;
      let mask = 0;
      for (const part of raw.split(',')) {
        const neg = part.startsWith('!');
        const bit = TCP_FLAGS.indexOf(part.slice(neg ? 1 : 0) as (typeof TCP_FLAGS)[number]);
        if (bit < 0) bad(`flags are ${TCP_FLAGS.join(', ')}, each optionally prefixed with ! for "not set"`);
        mask |= 1 << bit;
        if (!neg) set |= 1 << bit;
      }
      return { set, mask };
    }
  }
  return bad('unsupported condition');
}
