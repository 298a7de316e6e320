/**
 * Packets a device generates in reply: ARP replies, ICMP errors and echo replies, TCP resets.
 *
 * They are built from the current headers with untracked reads: a result that carries a generated
 * packet is never cached (context.emit marks it), so its mask need not cover the reply's contents.
 * Invariant: replies are plain PacketFields, ready for buildFlowMatch, addressed back to the sender.
 */
import { formatIpv4 } from '../addr.js';
import {
  ARP_REPLY,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  IP_DST,
  IP_PROTO,
  IP_SRC,
  TP_DST,
  TP_SRC,
  VLAN,
  formatMacNumber,
  type FlowMatch,
} from './flow-match.js';
import { type PacketFields } from './packet-fields.js';
import type { Action } from './result.js';

type Emit = Action & { kind: 'emit' };

export const ICMP_ECHO_REPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_ADMIN_PROHIBITED = 13;

function vlanOf(m: FlowMatch): { vlan?: number } {
  const v = m.peek(VLAN);
  return v === 0 ? {} : { vlan: v };
}

/** ARP reply telling the sender that `ip` is at `mac`. */
export function arpReply(m: FlowMatch, fromPortId: string, ip: number, mac: number): Emit {
  const packet: PacketFields = {
    srcMac: formatMacNumber(mac),
    dstMac: formatMacNumber(m.peekEthSrc()),
    ...vlanOf(m),
    ethertype: ETH_TYPE_ARP,
    arpOp: ARP_REPLY,
    srcIp: formatIpv4(ip),
    dstIp: formatIpv4(m.peek(IP_SRC)),
  };
  return {
    kind: 'emit',
    fromPortId,
    packet,
    why: `ARP reply ${formatIpv4(ip)} is-at ${formatMacNumber(mac)}`,
  };
}

/** ICMP error (or echo reply) from `srcIp`/`srcMac` back to the sender. */
export function icmpReply(
  m: FlowMatch,
  fromPortId: string,
  srcIp: number,
  srcMac: number,
  type: number,
  code: number,
  why: string,
): Emit {
  const packet: PacketFields = {
    srcMac: formatMacNumber(srcMac),
    dstMac: formatMacNumber(m.peekEthSrc()),
    ...vlanOf(m),
    ethertype: ETH_TYPE_IPV4,
    srcIp: formatIpv4(srcIp),
    dstIp: formatIpv4(m.peek(IP_SRC)),
    proto: 'icmp',
    icmpType: type,
    icmpCode: code,
  };
  return { kind: 'emit', fromPortId, packet, why };
}

/** TCP RST+ACK answering the packet, as if from its destination. */
export function tcpReset(m: FlowMatch, fromPortId: string): Emit {
  const packet: PacketFields = {
    srcMac: formatMacNumber(m.peekEthDst()),
    dstMac: formatMacNumber(m.peekEthSrc()),
    ...vlanOf(m),
    ethertype: ETH_TYPE_IPV4,
    srcIp: formatIpv4(m.peek(IP_DST)),
    dstIp: formatIpv4(m.peek(IP_SRC)),
    proto: 'tcp',
    srcPort: m.peek(TP_DST),
    dstPort: m.peek(TP_SRC),
    tcpFlags: ['rst', 'ack'],
  };
  return { kind: 'emit', fromPortId, packet, why: 'TCP reset' };
}

/** The reject reply for a rule's REJECT: TCP RST for TCP, else ICMP admin prohibited. */
export function rejectReply(m: FlowMatch, fromPortId: string, srcIp: number, srcMac: number): Emit {
  if (m.peek(IP_PROTO) === 6) return tcpReset(m, fromPortId);
  return icmpReply(
    m,
    fromPortId,
    srcIp,
    srcMac,
    ICMP_UNREACH,
    UNREACH_ADMIN_PROHIBITED,
    'ICMP admin prohibited',
  );
}
