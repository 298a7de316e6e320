/**
 * The packet a trace simulates, from command-line options (`midonet-cli trace` and `agent trace`).
 *
 * Invariant: a bad value is a CliError naming the option, the value and what is allowed.
 */
import { quote } from '../quote.js';
import type { PacketFields } from '../sim/packet-fields.js';
import { CliError } from './options.js';
import { scalar } from './output.js';

export const PACKET_OPTIONS: Record<string, string> = {
  'src-mac': 'source MAC (default 02:00:00:00:00:01)',
  'dst-mac': 'destination MAC (default ff:ff:ff:ff:ff:ff)',
  vlan: 'VLAN id (default untagged)',
  ethertype: 'ethertype: ipv4 (default; ipv6 when an address is IPv6), ipv6, arp, or a number',
  'src-ip': 'source IPv4 or IPv6 address',
  'dst-ip': 'destination IPv4 or IPv6 address',
  'nd-target': 'target of an ICMPv6 neighbour solicitation (135) or advertisement (136)',
  proto: 'tcp, udp, icmp or an IP protocol number',
  ttl: 'IP TTL (default 64)',
  'src-port': 'L4 source port',
  'dst-port': 'L4 destination port',
  'tcp-flags': 'TCP flags set, e.g. syn or syn,ack',
  'tcp-window': 'TCP window size',
  'icmp-type': 'ICMP type',
  'icmp-code': 'ICMP code',
  'arp-op': 'ARP opcode (1 request, 2 reply) with --ethertype arp',
};

export function num(args: Record<string, unknown>, flag: string, max: number, min = 0): number | undefined {
  const v = args[flag];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : scalar(v);
  if (!/^[0-9]+$/.test(s) || Number(s) > max || Number(s) < min)
    throw new CliError(`--${flag}: ${quote(s)} is not valid: expected a whole number from ${min} to ${max}`);
  return Number(s);
}

export function str(args: Record<string, unknown>, flag: string): string | undefined {
  const v = args[flag];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new CliError(`--${flag}: given more than once`);
  return typeof v === 'string' ? v : scalar(v);
}

/** The packet the trace options describe. */
export function packetFromOptions(args: Record<string, unknown>): PacketFields {
  const ethertype = str(args, 'ethertype');
  const srcIp = str(args, 'src-ip');
  const dstIp = str(args, 'dst-ip');
  // An IPv6 address in --src-ip or --dst-ip makes an IPv6 packet unless --ethertype says otherwise.
  const v6 = (srcIp?.includes(':') ?? false) || (dstIp?.includes(':') ?? false);
  const et =
    ethertype === undefined
      ? v6
        ? 0x86dd
        : 0x0800
      : ethertype === 'ipv4'
        ? 0x0800
        : ethertype === 'ipv6'
          ? 0x86dd
          : ethertype === 'arp'
            ? 0x0806
            : Number(ethertype);
  if (!Number.isInteger(et) || et < 0 || et > 0xffff)
    throw new CliError(
      `--ethertype: ${quote(ethertype)} is not valid: ipv4, ipv6, arp or a number up to 65535`,
    );
  const proto = str(args, 'proto');
  let p: PacketFields['proto'];
  if (proto === undefined) p = undefined;
  else if (proto === 'tcp' || proto === 'udp' || proto === 'icmp') p = proto;
  else if (/^[0-9]{1,3}$/.test(proto) && Number(proto) <= 255) p = Number(proto);
  else throw new CliError(`--proto: ${quote(proto)} is not valid: tcp, udp, icmp or a number 0 to 255`);
  const flags = str(args, 'tcp-flags');
  const out: Record<string, unknown> = {
    srcMac: str(args, 'src-mac') ?? '02:00:00:00:00:01',
    dstMac: str(args, 'dst-mac') ?? 'ff:ff:ff:ff:ff:ff',
    vlan: num(args, 'vlan', 4094),
    ethertype: et,
    ...(et === 0x86dd
      ? { srcIp6: srcIp, dstIp6: dstIp, ndTarget: str(args, 'nd-target') }
      : { srcIp, dstIp }),
    proto: p,
    ttl: num(args, 'ttl', 255),
    srcPort: num(args, 'src-port', 65535),
    dstPort: num(args, 'dst-port', 65535),
    tcpFlags: flags === undefined ? undefined : flags.split(','),
    tcpWindow: num(args, 'tcp-window', 65535),
    icmpType: num(args, 'icmp-type', 255),
    icmpCode: num(args, 'icmp-code', 255),
    arpOp: num(args, 'arp-op', 65535),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
