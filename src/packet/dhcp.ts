/**
 * DHCP (RFC 2131) messages: the BOOTP header and the options that follow the magic cookie (RFC 2132).
 *
 * The known options are described once, in `DHCP_OPTIONS` (code, value codec), and that one table
 * drives both decoding and encoding. Options not in the table are kept as `{type: 'raw', code, data}`;
 * pad options are kept in place; the End option is implicit (always written, required on parse) and
 * bytes after it are kept as `trailer`.
 *
 * Invariant: decoding is lossless. Anything that would not build back to the same bytes -- a short
 * header, a hardware type other than Ethernet, a non-zero tail in `chaddr`, a bad magic cookie, an
 * option running past the end, a known option with a wrong length, no End option -- makes the whole
 * message `Malformed` with a reason. `sname` and `file` are the Latin-1 text of their fields up to the
 * last non-zero byte (so interior NULs survive).
 */
import { formatIpv4, formatMac, writeIpv4, writeMac } from '../addr.js';
import { latin1, plainView, put16, put32, putLatin1, u16, u32 } from './bytes.js';
import { malformed, type Malformed } from './malformed.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC_COOKIE = 0x63825363;

/** Values of the message type option (53). */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** The value type of each known option, by name. */
export interface DhcpOptionValues {
  subnetMask: string;
  router: string[];
  dns: string[];
  hostname: string;
  requestedIp: string;
  leaseTime: number;
  messageType: number;
  serverId: string;
  parameterRequestList: number[];
  domainName: string;
  classlessRoutes: ClasslessRoute[];
}

/** One route of option 121 (RFC 3442): destination as "a.b.c.d/len", and its router. */
export interface ClasslessRoute {
  readonly destination: string;
  readonly router: string;
}

export type DhcpOptionName = keyof DhcpOptionValues;

type KnownOptionMap = { [K in DhcpOptionName]: { readonly type: K; readonly value: DhcpOptionValues[K] } };

/** A known option, e.g. `{type: 'messageType', value: 1}`. */
export type DhcpKnownOption<K extends DhcpOptionName = DhcpOptionName> = KnownOptionMap[K];

export type DhcpOption =
  | DhcpKnownOption
  | { readonly type: 'raw'; readonly code: number; readonly data: Uint8Array }
  | { readonly type: 'pad' };

export interface Dhcp {
  readonly kind: 'dhcp';
  /** 1 = BOOTREQUEST, 2 = BOOTREPLY. */
  readonly op: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  /** Bit 0x8000 is the broadcast flag. */
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** Client hardware address (htype 1, hlen 6). */
  readonly chaddr: string;
  readonly sname: string;
  readonly file: string;
  /** Options in wire order, without the End option. */
  readonly options: readonly DhcpOption[];
  /** Bytes after the End option (usually zero padding); absent when there are none. */
  readonly trailer?: Uint8Array;
}

/** How one option value is read from and written to its data bytes. */
interface OptionCodec<T> {
  /** The value, or a reason the data is not a valid encoding. */
  decode(data: Uint8Array): { value: T } | string;
  length(value: T): number;
  encode(value: T, out: Uint8Array, o: number): void;
}

const u8Codec: OptionCodec<number> = {
  decode: (d) => (d.length === 1 ? { value: d[0] ?? 0 } : `has length ${d.length}, expected 1`),
  length: () => 1,
  encode: (v, out, o) => {
    out[o] = v;
  },
};

const u32Codec: OptionCodec<number> = {
  decode: (d) => (d.length === 4 ? { value: u32(d, 0) } : `has length ${d.length}, expected 4`),
  length: () => 4,
  encode: (v, out, o) => put32(out, o, v),
};

const ipCodec: OptionCodec<string> = {
  decode: (d) => (d.length === 4 ? { value: formatIpv4(d, 0) } : `has length ${d.length}, expected 4`),
  length: () => 4,
  encode: (v, out, o) => writeIpv4(v, out, o),
};

const ipListCodec: OptionCodec<string[]> = {
  decode: (d) => {
    if (d.length === 0 || d.length % 4 !== 0)
      return `has length ${d.length}, expected a positive multiple of 4`;
    const ips: string[] = [];
    for (let i = 0; i < d.length; i += 4) ips.push(formatIpv4(d, i));
    return { value: ips };
  },
  length: (v) => 4 * v.length,
  encode: (v, out, o) => v.forEach((ip, i) => writeIpv4(ip, out, o + 4 * i)),
};

const textCodec: OptionCodec<string> = {
  decode: (d) => (d.length > 0 ? { value: latin1(d) } : 'has length 0, expected at least 1'),
  length: (v) => v.length,
  encode: (v, out, o) => {
    putLatin1(out, o, v);
  },
};

const u8ListCodec: OptionCodec<number[]> = {
  decode: (d) => (d.length > 0 ? { value: Array.from(d) } : 'has length 0, expected at least 1'),
  length: (v) => v.length,
  encode: (v, out, o) => out.set(v, o),
};

/**
 * Option 121 (RFC 3442): per route, the prefix length, the destination's significant octets
 * (ceil(len / 8)), the router. Octets past them are zero in the text; bits past the length inside them
 * are kept as sent, so decoding stays lossless.
 */
const classlessRoutesCodec: OptionCodec<ClasslessRoute[]> = {
  decode: (d) => {
    const routes: ClasslessRoute[] = [];
    let i = 0;
    while (i < d.length) {
      const len = d[i]!;
      if (len > 32) return `route ${routes.length + 1} has prefix length ${len}, above 32`;
      const n = Math.ceil(len / 8);
      if (i + 1 + n + 4 > d.length)
        return `route ${routes.length + 1} runs past the option's ${d.length} bytes`;
      const dst = new Uint8Array(4);
      dst.set(d.subarray(i + 1, i + 1 + n));
      routes.push({ destination: `${formatIpv4(dst, 0)}/${len}`, router: formatIpv4(d, i + 1 + n) });
      i += 1 + n + 4;
    }
    return routes.length > 0 ? { value: routes } : 'has length 0, expected at least 5';
  },
  length: (v) => v.reduce((a, r) => a + 5 + Math.ceil(Number(r.destination.split('/')[1]) / 8), 0),
  encode: (v, out, o) => {
    for (const r of v) {
      const [addr, lenText] = r.destination.split('/');
      const len = Number(lenText);
      const n = Math.ceil(len / 8);
      const dst = new Uint8Array(4);
      writeIpv4(addr!, dst, 0);
      out[o] = len;
      out.set(dst.subarray(0, n), o + 1);
      writeIpv4(r.router, out, o + 1 + n);
      o += 5 + n;
    }
  },
};

type OptionTable = {
  readonly [K in DhcpOptionName]: { code: number; codec: OptionCodec<DhcpOptionValues[K]> };
};

/** The known options: one declarative entry drives both directions. */
export const DHCP_OPTIONS: OptionTable = {
  subnetMask: { code: 1, codec: ipCodec },
  router: { code: 3, codec: ipListCodec },
  dns: { code: 6, codec: ipListCodec },
  hostname: { code: 12, codec: textCodec },
  requestedIp: { code: 50, codec: ipCodec },
  leaseTime: { code: 51, codec: u32Codec },
  messageType: { code: 53, codec: u8Codec },
  serverId: { code: 54, codec: ipCodec },
  parameterRequestList: { code: 55, codec: u8ListCodec },
  domainName: { code: 15, codec: textCodec },
  classlessRoutes: { code: 121, codec: classlessRoutesCodec },
};

const OPTION_PAD = 0;
const OPTION_END = 255;

type OptionDecoder = (data: Uint8Array) => DhcpKnownOption | string;

function decoderFor<K extends DhcpOptionName>(type: K): OptionDecoder {
  const { codec } = DHCP_OPTIONS[type];
  return (data) => {
    const r = codec.decode(data);
    if (typeof r === 'string') return r;
    const option: KnownOptionMap[K] = { type, value: r.value } as KnownOptionMap[K];
    return option;
  };
}

const DECODERS_BY_CODE: ReadonlyMap<number, { name: DhcpOptionName; decode: OptionDecoder }> = new Map(
  (Object.keys(DHCP_OPTIONS) as DhcpOptionName[]).map((name) => [
    DHCP_OPTIONS[name].code,
    { name, decode: decoderFor(name) },
  ]),
);

/** The code of a known option name. */
export function dhcpOptionCode(name: DhcpOptionName): number {
  return DHCP_OPTIONS[name].code;
}

function knownLength<K extends DhcpOptionName>(option: DhcpKnownOption<K>): number {
  const spec = DHCP_OPTIONS[option.type];
  return spec.codec.length(option.value);
}

function encodeKnown<K extends DhcpOptionName>(option: DhcpKnownOption<K>, out: Uint8Array, o: number): void {
  const spec = DHCP_OPTIONS[option.type];
  spec.codec.encode(option.value, out, o);
}

const FIXED = 240;

export function decodeDhcp(b: Uint8Array): Dhcp | Malformed {
  if (b.length < FIXED) {
    return malformed(
      'dhcp',
      `truncated: ${b.length} bytes, need at least ${FIXED} (header and magic cookie)`,
      b,
    );
  }
  const htype = b[1] ?? 0;
  const hlen = b[2] ?? 0;
  if (htype !== 1 || hlen !== 6) {
    return malformed('dhcp', `hardware type ${htype} length ${hlen} is not Ethernet (1, 6)`, b);
  }
  for (let i = 34; i < 44; i++) {
    if (b[i] !== 0)
      return malformed('dhcp', 'client hardware address has non-zero bytes past the 6-byte MAC', b);
  }
  const cookie = u32(b, 236);
  if (cookie !== DHCP_MAGIC_COOKIE) {
    return malformed(
      'dhcp',
      `bad magic cookie 0x${cookie.toString(16).padStart(8, '0')}, expected 0x63825363`,
      b,
    );
  }
  const options: DhcpOption[] = [];
  let i = FIXED;
  for (;;) {
    if (i >= b.length) return malformed('dhcp', 'options end without an End option (255)', b);
    const code = b[i] ?? 0;
    if (code === OPTION_END) {
      i++;
      break;
    }
    if (code === OPTION_PAD) {
      options.push({ type: 'pad' });
      i++;
      continue;
    }
    if (i + 1 >= b.length) return malformed('dhcp', `option ${code} at offset ${i} has no length byte`, b);
    const length = b[i + 1] ?? 0;
    if (i + 2 + length > b.length) {
      return malformed(
        'dhcp',
        `option ${code} length ${length} at offset ${i} runs past the end (${b.length - i - 2} bytes left)`,
        b,
      );
    }
    const data = b.subarray(i + 2, i + 2 + length);
    const known = DECODERS_BY_CODE.get(code);
    if (known === undefined) {
      options.push({ type: 'raw', code, data });
    } else {
      const option = known.decode(data);
      if (typeof option === 'string') return malformed('dhcp', `option ${code} (${known.name}) ${option}`, b);
      options.push(option);
    }
    i += 2 + length;
  }
  const sname = b.subarray(44, 108);
  const file = b.subarray(108, 236);
  const dhcp: Dhcp = {
    kind: 'dhcp',
    op: b[0] ?? 0,
    hops: b[3] ?? 0,
    xid: u32(b, 4),
    secs: u16(b, 8),
    flags: u16(b, 10),
    ciaddr: formatIpv4(b, 12),
    yiaddr: formatIpv4(b, 16),
    siaddr: formatIpv4(b, 20),
    giaddr: formatIpv4(b, 24),
    chaddr: formatMac(b, 28),
    sname: latin1(sname.subarray(0, lengthWithoutTrailingZeros(sname))),
    file: latin1(file.subarray(0, lengthWithoutTrailingZeros(file))),
    options,
  };
  return i < b.length ? { ...dhcp, trailer: b.subarray(i) } : dhcp;
}

function lengthWithoutTrailingZeros(b: Uint8Array): number {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return n;
}

function optionLength(option: DhcpOption): number {
  if (option.type === 'pad') return 1;
  if (option.type === 'raw') return 2 + option.data.length;
  return 2 + knownLength(option);
}

export function dhcpLength(d: Dhcp): number {
  let n = FIXED + 1 + (d.trailer?.length ?? 0);
  for (const option of d.options) n += optionLength(option);
  return n;
}

export function encodeDhcp(d: Dhcp, out: Uint8Array, o: number): number {
  if (d.sname.length > 64 || d.file.length > 128) {
    throw new RangeError(`dhcp: sname (${d.sname.length}) or file (${d.file.length}) is too long (64, 128)`);
  }
  out.fill(0, o, o + FIXED);
  out[o] = d.op;
  out[o + 1] = 1;
  out[o + 2] = 6;
  out[o + 3] = d.hops;
  put32(out, o + 4, d.xid);
  put16(out, o + 8, d.secs);
  put16(out, o + 10, d.flags);
  writeIpv4(d.ciaddr, out, o + 12);
  writeIpv4(d.yiaddr, out, o + 16);
  writeIpv4(d.siaddr, out, o + 20);
  writeIpv4(d.giaddr, out, o + 24);
  writeMac(d.chaddr, out, o + 28);
  putLatin1(out, o + 44, d.sname);
  putLatin1(out, o + 108, d.file);
  put32(out, o + 236, DHCP_MAGIC_COOKIE);
  let i = o + FIXED;
  for (const option of d.options) {
    if (option.type === 'pad') {
      out[i++] = OPTION_PAD;
    } else if (option.type === 'raw') {
      if (option.data.length > 255)
        throw new RangeError(`dhcp: option ${option.code} is longer than 255 bytes`);
      out[i] = option.code;
      out[i + 1] = option.data.length;
      out.set(option.data, i + 2);
      i += 2 + option.data.length;
    } else {
      const length = knownLength(option);
      if (length > 255) throw new RangeError(`dhcp: option ${option.type} is longer than 255 bytes`);
      out[i] = DHCP_OPTIONS[option.type].code;
      out[i + 1] = length;
      encodeKnown(option, out, i + 2);
      i += 2 + length;
    }
  }
  out[i++] = OPTION_END;
  if (d.trailer !== undefined) {
    out.set(d.trailer, i);
    i += d.trailer.length;
  }
  return i - o;
}

/** Parses a DHCP message from a UDP payload. */
export function parseDhcp(b: Uint8Array): Dhcp | Malformed {
  return decodeDhcp(plainView(b));
}

/** Builds a DHCP message (the UDP payload). */
export function buildDhcp(d: Dhcp): Uint8Array {
  const out = new Uint8Array(dhcpLength(d));
  encodeDhcp(d, out, 0);
  return out;
}
