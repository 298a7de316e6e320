/**
 * Bytes of the packets the agent sends on the topology's behalf: a simulation's generated replies
 * (ARP reply, ICMP echo reply and errors, TCP reset), described as PacketFields and completed from the
 * packet that caused them (echo payloads, the quoted datagram of an error, TCP sequence numbers), and
 * ARP requests a router needs for a next hop. IPv6 packets are built in generated6.ts.
 *
 * Invariant: a reply is built only from a request that parsed; anything else (a malformed original,
 * an ICMP error about an ICMP error) yields undefined and nothing is sent.
 */
import type { PacketFields } from '../sim/packet-fields.js';
import type { NdpExtra } from '../sim/result.js';
import { buildGenerated6 } from './generated6.js';
import { buildEthernet, icmpError, parseEthernet, type Ethernet, type Ipv4 } from '../packet/index.js';

const EMPTY = new Uint8Array(0);
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function ethernet(p: PacketFields, payload: Ethernet['payload']): Uint8Array {
  return buildEthernet({
    kind: 'ethernet',
    dst: p.dstMac ?? BROADCAST,
    src: p.srcMac ?? '00:00:00:00:00:00',
    ...(p.vlan ? { vlan: { pcp: 0, dei: false, vid: p.vlan } } : {}),
    payload,
  });
}

function ipv4(p: PacketFields, payload: Ipv4['payload']): Ipv4 {
  return {
    kind: 'ipv4',
    tos: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    src: p.srcIp ?? '0.0.0.0',
    dst: p.dstIp ?? '0.0.0.0',
    options: EMPTY,
    payload,
  };
}

/** The frame of a generated packet, completed from the original frame that caused it. */
export function buildGenerated(
  p: PacketFields,
  originalFrame: Uint8Array,
  ndp?: NdpExtra,
): Uint8Array | undefined {
  if (p.ethertype === 0x86dd) return buildGenerated6(p, ndp, originalFrame);
  if (p.ethertype === 0x0806) {
    return ethernet(p, {
      kind: 'arp',
      op: p.arpOp ?? 2,
      senderMac: p.srcMac ?? '00:00:00:00:00:00',
      senderIp: p.srcIp ?? '0.0.0.0',
      targetMac: p.arpOp === 1 ? '00:00:00:00:00:00' : (p.dstMac ?? BROADCAST),
      targetIp: p.dstIp ?? '0.0.0.0',
    });
  }
  const orig = parseEthernet(originalFrame);
  if (orig.kind !== 'ethernet' || orig.payload.kind !== 'ipv4') return undefined;
  const ip = orig.payload;
  if (p.proto === 'icmp' && p.icmpType === 0) {
    const req = ip.payload;
    if (req.kind !== 'icmp' || req.message.kind !== 'echo') return undefined;
    return ethernet(p, ipv4(p, { kind: 'icmp', type: 0, code: 0, message: req.message }));
  }
  if (p.proto === 'icmp') {
    const err = icmpError(p.icmpType ?? 3, p.icmpCode ?? 0, ip, p.srcIp ?? ip.dst);
    return err ? ethernet(p, err) : undefined;
  }
  if (p.proto === 'tcp') {
    const seg = ip.payload;
    if (seg.kind !== 'tcp') return undefined;
    const ackedLen =
      seg.payload.length + ((seg.flags & 0x02) !== 0 ? 1 : 0) + ((seg.flags & 0x01) !== 0 ? 1 : 0);
    return ethernet(
      p,
      ipv4(p, {
        kind: 'tcp',
        srcPort: p.srcPort ?? seg.dstPort,
        dstPort: p.dstPort ?? seg.srcPort,
        seq: (seg.flags & 0x10) !== 0 ? seg.ack : 0,
        ack: (seg.seq + ackedLen) >>> 0,
        flags: 0x14, // RST + ACK
        window: 0,
        urgentPointer: 0,
        options: EMPTY,
        payload: EMPTY,
      }),
    );
  }
  return undefined;
}

/** An ARP request from a router port (`mac`, `ip`) asking for `target`. */
export function arpRequest(mac: string, ip: string, target: string, vlan?: number): Uint8Array {
  return ethernet(
    { srcMac: mac, dstMac: BROADCAST, ...(vlan ? { vlan } : {}) },
    { kind: 'arp', op: 1, senderMac: mac, senderIp: ip, targetMac: '00:00:00:00:00:00', targetIp: target },
  );
}
