/**
 * Seed inputs for the fuzzers (test/support/fuzz-targets.ts): well-formed Ethernet frames, DHCP
 * messages and agent peer messages, built with the project's own encoders from seeded random field
 * values (OpenFlow messages: fuzz-corpus-openflow.ts). The mutator (fuzz-mutate.ts) starts from
 * these, so most fuzzed inputs are near-valid: they get past the first length check and reach the
 * deeper decoding paths.
 *
 * Invariant: a seed is a function of the random source only (no clock, no Math.random), so a fuzz run
 * is reproducible from its seed.
 */
import { encodePeerMessage, type PeerMessage } from '../../src/agent/peer-codec.js';
import { NUM_FIELDS } from '../../src/sim/flow-match.js';
import {
  buildDhcp,
  buildEthernet,
  type Dhcp,
  type DhcpOption,
  type Ethernet,
  type EthernetPayload,
  type Ipv4Payload,
} from '../../src/packet/index.js';
import { pick, type Rand } from './random-topology.js';

export function int(r: Rand, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** A MAC from a small universe (so frames repeat addresses), sometimes broadcast or multicast. */
export function randomMac(r: Rand): string {
  const x = r();
  if (x < 0.1) return 'ff:ff:ff:ff:ff:ff';
  if (x < 0.15) return '01:00:5e:00:00:fb';
  return `02:00:00:00:00:${hex2(int(r, 1, 12))}`;
}

export function randomIpv4(r: Rand): string {
  const x = r();
  if (x < 0.05) return '0.0.0.0';
  if (x < 0.1) return '255.255.255.255';
  const net = pick(r, ['192.0.2', '198.51.100', '203.0.113', '10.0.0', '10.0.1']);
  return `${net}.${int(r, 1, 20)}`;
}

function randomIpv6(r: Rand): string {
  return `2001:db8::${int(r, 1, 0xffff).toString(16)}`;
}

/** L4 ports the seeds draw from (well-known, edge values). */
export const PORTS = [0, 22, 53, 67, 68, 80, 443, 1500, 40000, 65535];

function randomDhcpOption(r: Rand): DhcpOption {
  switch (int(r, 0, 8)) {
    case 0:
      return { type: 'messageType', value: int(r, 1, 8) };
    case 1:
      return { type: 'serverId', value: randomIpv4(r) };
    case 2:
      return { type: 'requestedIp', value: randomIpv4(r) };
    case 3:
      return { type: 'leaseTime', value: int(r, 0, 0xffffffff) };
    case 4:
      return { type: 'router', value: [randomIpv4(r)] };
    case 5:
      return { type: 'dns', value: [randomIpv4(r), randomIpv4(r)] };
    case 6:
      return { type: 'hostname', value: pick(r, ['vm1', 'a-host', 'x'.repeat(int(r, 1, 60))]) };
    case 7:
      return { type: 'parameterRequestList', value: [1, 3, 6, 15, 51] };
    default:
      return { type: 'raw', code: pick(r, [43, 60, 61, 81, 121, 252]), data: randomBytes(r, int(r, 0, 12)) };
  }
}

/** A DHCP message (the UDP payload) as an object. */
export function randomDhcpObject(r: Rand): Dhcp {
  const options: DhcpOption[] = [{ type: 'messageType', value: int(r, 1, 8) }];
  for (let i = int(r, 0, 5); i > 0; i--) options.push(r() < 0.1 ? { type: 'pad' } : randomDhcpOption(r));
  return {
    kind: 'dhcp',
    op: int(r, 1, 2),
    hops: 0,
    xid: int(r, 0, 0xffffffff),
    secs: int(r, 0, 10),
    flags: r() < 0.5 ? 0x8000 : 0,
    ciaddr: '0.0.0.0',
    yiaddr: r() < 0.5 ? '0.0.0.0' : randomIpv4(r),
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: randomMac(r),
    sname: r() < 0.8 ? '' : 'server',
    file: '',
    options,
    ...(r() < 0.3 ? { trailer: new Uint8Array(int(r, 1, 20)) } : {}),
  };
}

export function dhcpSeed(r: Rand): Uint8Array {
  return buildDhcp(randomDhcpObject(r));
}

function randomIpv4Payload(r: Rand): Ipv4Payload {
  const port = () => pick(r, PORTS);
  switch (int(r, 0, 5)) {
    case 0:
    case 1:
      return {
        kind: 'tcp',
        srcPort: port(),
        dstPort: port(),
        seq: int(r, 0, 0xffffffff),
        ack: 0,
        flags: pick(r, [0x002, 0x012, 0x010, 0x018, 0x011, 0x004]),
        window: int(r, 0, 0xffff),
        urgentPointer: 0,
        options: r() < 0.3 ? new Uint8Array([2, 4, 5, 0xb4]) : new Uint8Array(0),
        payload: randomBytes(r, int(r, 0, 24)),
      };
    case 2: {
      const dhcp = r() < 0.4;
      return {
        kind: 'udp',
        srcPort: dhcp ? 68 : port(),
        dstPort: dhcp ? 67 : port(),
        payload: dhcp ? randomDhcpObject(r) : { kind: 'raw', bytes: randomBytes(r, int(r, 0, 24)) },
      };
    }
    case 3:
      return {
        kind: 'icmp',
        type: pick(r, [0, 8, 3, 11]),
        code: int(r, 0, 1),
        message:
          r() < 0.6
            ? { kind: 'echo', id: int(r, 0, 0xffff), seq: int(r, 0, 0xffff), data: randomBytes(r, 8) }
            : { kind: 'error', restOfHeader: 0, original: randomBytes(r, 28) },
      };
    default:
      return { kind: 'raw', protocol: pick(r, [2, 47, 50, 132]), bytes: randomBytes(r, int(r, 0, 32)) };
  }
}

function randomL3(r: Rand): EthernetPayload {
  switch (int(r, 0, 9)) {
    case 0:
    case 1:
      return {
        kind: 'arp',
        op: pick(r, [1, 2]),
        senderMac: randomMac(r),
        senderIp: randomIpv4(r),
        targetMac: r() < 0.5 ? '00:00:00:00:00:00' : randomMac(r),
        targetIp: randomIpv4(r),
      };
    case 2:
      return {
        kind: 'ipv6',
        trafficClass: 0,
        flowLabel: int(r, 0, 0xfffff),
        hopLimit: 64,
        src: randomIpv6(r),
        dst: randomIpv6(r),
        payload:
          r() < 0.5
            ? { kind: 'icmpv6', type: pick(r, [128, 135, 136]), code: 0, body: randomBytes(r, int(r, 4, 24)) }
            : {
                kind: 'udp',
                srcPort: pick(r, PORTS),
                dstPort: pick(r, PORTS),
                payload: { kind: 'raw', bytes: randomBytes(r, 8) },
              },
      };
    case 3:
      return {
        kind: 'raw',
        ethertype: pick(r, [0x88cc, 0x8847, 0x0042, 0x05dc]),
        bytes: randomBytes(r, int(r, 0, 46)),
      };
    default: {
      const fragment = r() < 0.15;
      return {
        kind: 'ipv4',
        tos: pick(r, [0, 0, 0x10, 0xb8, 0x03]),
        id: int(r, 0, 0xffff),
        dontFragment: !fragment && r() < 0.5,
        moreFragments: fragment && r() < 0.6,
        fragmentOffset: fragment && r() < 0.5 ? int(r, 1, 185) : 0,
        ttl: pick(r, [64, 64, 1, 2, 255]),
        src: randomIpv4(r),
        dst: randomIpv4(r),
        options: r() < 0.1 ? new Uint8Array([1, 1, 1, 0]) : new Uint8Array(0),
        payload: randomIpv4Payload(r),
      };
    }
  }
}

/** A well-formed Ethernet frame: ARP, IPv4 (TCP, UDP, DHCP, ICMP, fragments, others), IPv6, raw. */
export function frameSeed(r: Rand): Uint8Array {
  const tag = r();
  const payload = randomL3(r);
  const frame: Ethernet = {
    kind: 'ethernet',
    dst: randomMac(r),
    src: randomMac(r),
    ...(tag < 0.05 ? { svlan: { pcp: 0, dei: false, vid: int(r, 1, 4094) } } : {}),
    ...(tag < 0.2 ? { vlan: { pcp: int(r, 0, 7), dei: false, vid: pick(r, [0, 10, 20, 4095]) } } : {}),
    payload,
    ...(r() < 0.3
      ? { padding: r() < 0.5 ? new Uint8Array(int(r, 1, 30)) : randomBytes(r, int(r, 1, 30)) }
      : {}),
  };
  const bytes = buildEthernet(frame);
  if (payload.kind === 'raw' && payload.ethertype < 0x600 && r() < 0.5) {
    // An LLC/SNAP header in front of an IPv4 packet, as OVS would parse it.
    const snap = new Uint8Array([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    const inner = buildEthernet({ ...frame, payload: randomL3(r) }).subarray(14);
    const out = new Uint8Array(14 + snap.length + inner.length);
    out.set(bytes.subarray(0, 14));
    out.set(snap, 14);
    out.set(inner, 22);
    return out;
  }
  return bytes;
}

/** One message of the agents' peer channel. */
export function peerSeed(r: Rand): Uint8Array {
  const id = () => `00000000-0000-4000-8000-${int(r, 0, 0xffffff).toString(16).padStart(12, '0')}`;
  const x = r();
  const m: PeerMessage =
    x < 0.3
      ? {
          kind: 'flowState',
          from: id(),
          nat: Array.from({ length: int(r, 0, 3) }, () => ({
            key: `${id()}|s|6/${int(r, 0, 0xffffffff)}:${int(r, 0, 65535)}>${int(r, 0, 0xffffffff)}:80`,
            ip: int(r, 0, 0xffffffff),
            port: int(r, 0, 65535),
            expiresAt: int(r, 0, 2 ** 40),
          })),
          ct: Array.from({ length: int(r, 0, 3) }, () => ({
            key: `${id()}|17/${int(r, 0, 0xffffffff)}:53>${int(r, 0, 0xffffffff)}:${int(r, 0, 65535)}`,
            expiresAt: int(r, 0, 2 ** 40),
            ended: r() < 0.3,
          })),
        }
      : x < 0.65
        ? {
            kind: 'learned',
            from: id(),
            entries: Array.from({ length: int(r, 0, 4) }, () => ({
              table: pick(r, ['mac', 'arp'] as const),
              scope: id(),
              key: randomIpv4(r),
              value: '020000000001',
              origin: id(),
              expiresAt: int(r, 0, 2 ** 40),
            })),
          }
        : {
            kind: 'replyFlow',
            from: id(),
            portId: id(),
            packet: Array.from({ length: NUM_FIELDS }, () => int(r, 0, 0xffffffff)),
            id: int(r, 0, 0xffffffff),
          };
  return encodePeerMessage(m);
}
