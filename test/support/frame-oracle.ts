/**
 * What the packet codec (src/packet) says a frame's flow-match fields are: the oracle the agent's
 * packet-in match path (src/agent/frame-match.ts `fillFromFrame`) is compared with on fuzzed frames.
 *
 * It reads the codec's parse tree, layer by layer, and applies Open vSwitch's flow-extraction rules
 * only where the codec has no opinion: which header sizes OVS needs before it reads a layer's fields
 * (8 bytes of ICMP, 12 of SCTP, none of a later fragment), the transport header of a first fragment
 * (the codec keeps fragments as raw bytes), and OVS's ethertype 0x05ff for an 802.3 frame. A layer the
 * codec calls malformed has no fields, except where OVS would still read them (an IPv4 version other
 * than 4, a UDP length that disagrees with its payload): there the frame must be refused, since a
 * flow with the codec's view would never match what the datapath extracts. Things the simulation's
 * fields cannot hold (an 802.1ad service tag, LLC/SNAP encapsulation, an ARP opcode above 255) are
 * refused too, and so is an IPv6 header the codec calls malformed or one followed by an extension
 * header (the simulation walks none).
 *
 * Invariant: the oracle never reads a header field from raw frame offsets the codec did not assign to
 * that header; its only inputs are the codec's nodes (and the bytes of raw payloads).
 */
import {
  setArpSha,
  setIpv6Src,
  setWords6,
  IPV6_DST_0,
  ND_TARGET_0,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ICMP_CODE,
  ICMP_ID,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  NUM_FIELDS,
  TCP_FLAGS,
  TCP_WINDOW,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
} from '../../src/sim/flow-match.js';
import { ipv6FromBytes, parseIpv6 } from '../../src/addr.js';
import { parseEthernet, type Ipv4 } from '../../src/packet/index.js';
import { IPV6_EXTENSION_HEADERS } from '../../src/agent/frame-match.js';
import { ipProtocolOf, type Ipv6Payload } from '../../src/packet/transport.js';
import { decodeIcmp, type Icmp } from '../../src/packet/icmp.js';
import { decodeTcp } from '../../src/packet/tcp.js';

export type CodecView = { readonly refused: string } | { readonly fields: number[] };

function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function macWords(s: string): [number, number] {
  const h = s.replace(/:/g, '');
  return [parseInt(h.slice(0, 4), 16), parseInt(h.slice(4), 16)];
}

const NO_PSEUDO_HEADER = { src: new Uint8Array(4), dst: new Uint8Array(4) };

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Transport fields of an IPv4 packet, from the codec's nodes; a string when the frame is refused. */
function transport(p: Ipv4, f: number[]): string | null {
  if (p.fragmentOffset !== 0) return null;
  const pl = p.payload;
  if (pl.kind === 'raw') {
    const b = pl.bytes;
    const first = p.moreFragments;
    if (first && pl.protocol === 6) {
      const t = decodeTcp(b, NO_PSEUDO_HEADER);
      if (t.kind === 'tcp')
        [f[TP_SRC], f[TP_DST], f[TCP_FLAGS], f[TCP_WINDOW]] = [
          t.srcPort,
          t.dstPort,
          t.flags & 0xff,
          t.window,
        ];
    } else if (first && pl.protocol === 17) {
      if (b.length >= 8) [f[TP_SRC], f[TP_DST]] = [u16(b, 0), u16(b, 2)];
    } else if (first && pl.protocol === 1) {
      const c = decodeIcmp(b);
      if (c.kind === 'icmp') icmpFields(f, c);
    } else if (pl.protocol === 132) {
      if (b.length >= 12) [f[TP_SRC], f[TP_DST]] = [u16(b, 0), u16(b, 2)];
    }
    return null;
  }
  switch (pl.kind) {
    case 'tcp':
      [f[TP_SRC], f[TP_DST], f[TCP_FLAGS], f[TCP_WINDOW]] = [
        pl.srcPort,
        pl.dstPort,
        pl.flags & 0xff,
        pl.window,
      ];
      return null;
    case 'udp':
      [f[TP_SRC], f[TP_DST]] = [pl.srcPort, pl.dstPort];
      return null;
    case 'icmp':
      icmpFields(f, pl);
      return null;
    case 'malformed':
      // OVS reads UDP ports from any 8 bytes; the codec also judges the length field.
      if (pl.layer === 'udp' && pl.bytes.length >= 8) return `codec: ${pl.reason}`;
      return null;
  }
}

/** The codec's flow-match fields of `frame`, or why it must not be simulated. */
export function codecView(frame: Uint8Array, tunnelId: number): CodecView {
  const e = parseEthernet(frame);
  if (e.kind === 'malformed') return { refused: e.reason };
  if (e.svlan !== undefined) return { refused: '802.1ad service tag' };
  const f: number[] = new Array<number>(NUM_FIELDS).fill(0);
  [f[ETH_DST_HI], f[ETH_DST_LO]] = macWords(e.dst);
  [f[ETH_SRC_HI], f[ETH_SRC_LO]] = macWords(e.src);
  f[VLAN] = e.vlan?.vid ?? 0;
  f[TUNNEL_ID] = tunnelId;
  const p = e.payload;
  switch (p.kind) {
    case 'raw': {
      const b = p.bytes;
      if (p.ethertype >= 0x600) f[ETH_TYPE] = p.ethertype;
      else if (
        b.length >= 8 &&
        b[0] === 0xaa &&
        b[1] === 0xaa &&
        b[2] === 3 &&
        b[3] === 0 &&
        b[4] === 0 &&
        b[5] === 0 &&
        u16(b, 6) >= 0x600
      )
        return { refused: 'LLC/SNAP' };
      else f[ETH_TYPE] = 0x05ff;
      break;
    }
    case 'malformed':
      f[ETH_TYPE] = p.layer === 'ipv4' ? 0x0800 : p.layer === 'arp' ? 0x0806 : 0x86dd;
      // The codec checks the version right after the 20-byte minimum; OVS does not check it at all.
      if (p.layer === 'ipv4' && p.bytes.length >= 20 && p.bytes[0]! >>> 4 !== 4) return { refused: p.reason };
      // An IPv6 header the codec refuses has no source the simulation could read: refused too.
      if (p.layer === 'ipv6') return { refused: p.reason };
      break;
    case 'arp':
      f[ETH_TYPE] = 0x0806;
      if (p.op > 0xff) return { refused: `ARP opcode ${p.op}` };
      [f[IP_PROTO], f[IP_SRC], f[IP_DST]] = [p.op, ip(p.senderIp), ip(p.targetIp)];
      setArpSha(f, parseInt(p.senderMac.replace(/:/g, ''), 16));
      break;
    case 'ipv6': {
      f[ETH_TYPE] = 0x86dd;
      setIpv6Src(f, parseIpv6(p.src)!);
      setWords6(f, IPV6_DST_0, parseIpv6(p.dst)!);
      [f[IP_TOS], f[IP_TTL], f[IP_PROTO]] = [p.trafficClass, p.hopLimit, ipProtocolOf(p.payload) ?? 0];
      const why = transport6(p.payload, f);
      if (why !== null) return { refused: why };
      break;
    }
    case 'ipv4': {
      f[ETH_TYPE] = 0x0800;
      const why = transport(p, f);
      if (why !== null) return { refused: why };
      f[IP_SRC] = ip(p.src);
      f[IP_DST] = ip(p.dst);
      f[IP_PROTO] =
        p.payload.kind === 'raw'
          ? p.payload.protocol
          : p.payload.kind === 'malformed'
            ? { tcp: 6, udp: 17, icmp: 1 }[p.payload.layer as 'tcp' | 'udp' | 'icmp']
            : { tcp: 6, udp: 17, icmp: 1 }[p.payload.kind];
      f[IP_TOS] = p.tos;
      f[IP_TTL] = p.ttl;
      f[IP_FRAG] = p.fragmentOffset !== 0 ? 3 : p.moreFragments ? 1 : 0;
      break;
    }
  }
  return { fields: f };
}

/** ICMP type and code, and an echo's identifier (the simulation reads it for NAT; never cached). */
function icmpFields(f: number[], c: Icmp): void {
  [f[ICMP_TYPE], f[ICMP_CODE]] = [c.type, c.code];
  if (c.message.kind === 'echo') f[ICMP_ID] = c.message.id;
}

/**
 * Transport fields of an IPv6 packet, from the codec's nodes: TCP ports, flags and window; UDP ports
 * (a UDP length the codec refuses refuses the frame, as for IPv4); ICMPv6 type and code from 8 bytes
 * on, and the target of a neighbour solicitation or advertisement (code 0, 24 bytes, well-formed
 * options: each a non-zero number of 8-byte units that fits), as OVS reads them.
 */
function transport6(pl: Ipv6Payload, f: number[]): string | null {
  switch (pl.kind) {
    case 'tcp':
      [f[TP_SRC], f[TP_DST], f[TCP_FLAGS], f[TCP_WINDOW]] = [
        pl.srcPort,
        pl.dstPort,
        pl.flags & 0xff,
        pl.window,
      ];
      return null;
    case 'udp':
      [f[TP_SRC], f[TP_DST]] = [pl.srcPort, pl.dstPort];
      return null;
    case 'icmpv6': {
      const b = pl.body;
      if (b.length < 4) return null;
      [f[ICMP_TYPE], f[ICMP_CODE]] = [pl.type, pl.code];
      if ((pl.type === 135 || pl.type === 136) && pl.code === 0 && b.length >= 20) {
        let at = 20;
        let ok = true;
        while (b.length - at >= 8) {
          const len = b[at + 1]! * 8;
          if (len === 0 || len > b.length - at) {
            ok = false;
            break;
          }
          at += len;
        }
        if (ok) setWords6(f, ND_TARGET_0, ipv6FromBytes(b, 4));
      }
      return null;
    }
    case 'malformed':
      if (pl.layer === 'udp' && pl.bytes.length >= 8) return `codec: ${pl.reason}`;
      return null;
    case 'raw':
      return IPV6_EXTENSION_HEADERS.has(pl.protocol) ? `IPv6 extension header ${pl.protocol}` : null;
  }
}
