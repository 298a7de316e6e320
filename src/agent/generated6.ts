/**
 * Bytes of the IPv6 packets the agent sends on the topology's behalf: a router's ICMPv6 echo replies
 * and errors (time exceeded, destination unreachable), neighbour advertisements and router
 * advertisements (generated-packets.ts hands IPv6 here), and the neighbour solicitations and
 * unsolicited router advertisements a router sends on its own (RFC 4443, RFC 4861).
 *
 * Invariant: a reply is built only from a request that parsed; no ICMPv6 error answers an ICMPv6
 * error (or an ND message); an error quotes as much of the original as keeps the packet within the
 * IPv6 minimum MTU (1280 bytes); ND messages go out with hop limit 255 (receivers drop others).
 */
import { formatIpv6, parseIpv6 as parseIpv6Text, writeIpv6, type Ipv6Words } from '../addr.js';
import { buildEthernet, parseEthernet, type Ipv6 } from '../packet/index.js';
import type { PacketFields } from '../sim/packet-fields.js';
import { multicastMac, solicitedNode } from '../sim/ndp.js';
import type { NdpExtra } from '../sim/result.js';
import { formatMac } from '../addr.js';

const MIN_MTU = 1280;
/** RA lifetimes (s): router 30 min; prefix valid 30 days, preferred 7 days (RFC 4861 defaults). */
const ROUTER_LIFETIME = 1800;
const VALID_LIFETIME = 2592000;
const PREFERRED_LIFETIME = 604800;

function frame(p: PacketFields, hopLimit: number, type: number, code: number, body: Uint8Array): Uint8Array {
  const ip: Ipv6 = {
    kind: 'ipv6',
    trafficClass: 0,
    flowLabel: 0,
    hopLimit,
    src: p.srcIp6 ?? '::',
    dst: p.dstIp6 ?? '::',
    payload: { kind: 'icmpv6', type, code, body },
  };
  return buildEthernet({
    kind: 'ethernet',
    dst: p.dstMac ?? '33:33:00:00:00:01',
    src: p.srcMac ?? '00:00:00:00:00:00',
    ...(p.vlan ? { vlan: { pcp: 0, dei: false, vid: p.vlan } } : {}),
    payload: ip,
  });
}

function macBytes(mac: string, b: Uint8Array, o: number): void {
  const parts = mac.split(':');
  for (let i = 0; i < 6; i++) b[o + i] = parseInt(parts[i] ?? '0', 16);
}

/** A link-layer address option (type 1 source, 2 target) with `mac`. */
function lla(type: number, mac: string): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = type;
  b[1] = 1;
  macBytes(mac, b, 2);
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function ndBody(target: string, flags: number, option: Uint8Array): Uint8Array {
  const b = new Uint8Array(20);
  b[0] = flags;
  writeIpv6(target, b, 4);
  return concat([b, option]);
}

function routerAdvertBody(p: PacketFields, ra: Extract<NdpExtra, { kind: 'ra' }>): Uint8Array {
  const head = new Uint8Array(12);
  const dv = new DataView(head.buffer);
  head[0] = 64; // current hop limit for hosts
  head[1] = 0; // M=0, O=0: addresses by SLAAC, no DHCPv6
  dv.setUint16(2, ROUTER_LIFETIME);
  const prefix = new Uint8Array(32);
  const pv = new DataView(prefix.buffer);
  prefix[0] = 3; // prefix information
  prefix[1] = 4;
  prefix[2] = ra.prefixLen;
  prefix[3] = 0xc0; // on-link, autonomous (SLAAC)
  pv.setUint32(4, VALID_LIFETIME);
  pv.setUint32(8, PREFERRED_LIFETIME);
  writeIpv6(ra.prefix, prefix, 16);
  const mtu = new Uint8Array(8);
  mtu[0] = 5;
  mtu[1] = 1;
  new DataView(mtu.buffer).setUint32(4, ra.mtu);
  return concat([head, lla(1, p.srcMac ?? '00:00:00:00:00:00'), mtu, prefix]);
}

/**
 * The frame of a generated IPv6 packet (ICMPv6 in `p`, ND details in `ndp`), completed from the
 * original frame that caused it; undefined when there is nothing to send.
 */
export function buildGenerated6(
  p: PacketFields,
  ndp: NdpExtra | undefined,
  originalFrame: Uint8Array,
): Uint8Array | undefined {
  const type = p.icmpType ?? 0;
  if (ndp?.kind === 'na' && p.ndTarget !== undefined) {
    // Router (unless answering for a VM), solicited (unless answering duplicate address detection), override.
    const flags = (ndp.router === false ? 0 : 0x80) | (ndp.solicited ? 0x40 : 0) | 0x20;
    return frame(p, 255, 136, 0, ndBody(p.ndTarget, flags, lla(2, p.srcMac ?? '00:00:00:00:00:00')));
  }
  if (ndp?.kind === 'ra') return frame(p, 255, 134, 0, routerAdvertBody(p, ndp));
  const orig = parseEthernet(originalFrame);
  if (orig.kind !== 'ethernet' || orig.payload.kind !== 'ipv6') return undefined;
  const ip = orig.payload;
  if (type === 129) {
    const req = ip.payload;
    if (req.kind !== 'icmpv6' || req.type !== 128) return undefined;
    return frame(p, 64, 129, 0, req.body);
  }
  if (type === 1 || type === 3) {
    // Never an error about an ICMPv6 error or ND message (types below 128 are errors; 133-137 ND).
    const q = ip.payload;
    if (q.kind === 'icmpv6' && (q.type < 128 || (q.type >= 133 && q.type <= 137))) return undefined;
    if (q.kind === 'malformed') return undefined;
    const quoted = ipPacketOf(originalFrame, 40 + (ip.payloadLength ?? 0));
    const room = MIN_MTU - 40 - 8;
    const body = new Uint8Array(4 + Math.min(room, quoted.length));
    body.set(quoted.subarray(0, body.length - 4), 4);
    return frame(p, 64, type, p.icmpCode ?? 0, body);
  }
  return undefined;
}

/** The IPv6 packet of `length` bytes within an Ethernet frame (after the 14- or 18-byte header). */
function ipPacketOf(f: Uint8Array, length: number): Uint8Array {
  const at = f.length >= 18 && f[12] === 0x81 && f[13] === 0x00 ? 18 : 14;
  return f.subarray(at, at + length);
}

/**
 * An unsolicited router advertisement from a router port (`mac`, link-local `linkLocal`) to all nodes,
 * with its prefix (IPv6 text) for SLAAC and the link MTU (router-adverts.ts sends it periodically).
 */
export function routerAdvertFrame(
  mac: string,
  linkLocal: string,
  prefix: string,
  prefixLen: number,
  mtu: number,
): Uint8Array {
  const p: PacketFields = { srcMac: mac, dstMac: '33:33:00:00:00:01', srcIp6: linkLocal, dstIp6: 'ff02::1' };
  return frame(p, 255, 134, 0, routerAdvertBody(p, { kind: 'ra', prefix, prefixLen, mtu }));
}

/** A neighbour solicitation from a router port (`mac`, `ip`, IPv6 text) for `target` (IPv6 text). */
export function neighbourSolicit(mac: string, ip: string, target: string, vlan?: number): Uint8Array {
  const t: Ipv6Words = parseIpv6Text(target) ?? [0, 0, 0, 0];
  const group = solicitedNode(t);
  return frame(
    {
      srcMac: mac,
      dstMac: formatMac(multicastMac(group)),
      srcIp6: ip,
      dstIp6: formatIpv6(group),
      ...(vlan ? { vlan } : {}),
    },
    255,
    135,
    0,
    ndBody(target, 0, lla(1, mac)),
  );
}
