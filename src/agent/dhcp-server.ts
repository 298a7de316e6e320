/**
 * The agent's DHCP server (RFC 2131), free of I/O: what a client's frame asks for (`classifyDhcp`) and
 * the reply frame once the lease is known (`dhcpReply`). The store work between the two (allocating,
 * renewing, releasing, declining a lease through leases.ts) is the agent's (dhcp-service.ts).
 *
 * A frame is served only when it is an IPv4 UDP 68 -> 67 datagram holding a well-formed BOOTREQUEST
 * with a client message type (DISCOVER, REQUEST, DECLINE, RELEASE, INFORM), not relayed (giaddr 0),
 * whose client hardware address is the frame's own unicast source MAC (a VM asks for itself only).
 * Everything else is ignored with a reason (a counter), never answered and never thrown on.
 *
 * Choice of address: the client's static host entry first (no lease is written for it), else a lease
 * of the dynamic range. A REQUEST is acknowledged only for the address it names (option 50, or ciaddr
 * when renewing/rebinding) when that is the client's lease; an address outside the subnet, or another
 * than the client's, gets a NAK. A REQUEST naming another server (option 54) is not ours: silence.
 *
 * Invariant: a reply is built only from a served request, carries the request's xid and chaddr, the
 * server identifier, and for OFFER/ACK the address in yiaddr with the subnet's mask; T1 < T2 < lease.
 */
import { formatIpv4, normalizeMac, parseCidr, parseIpv4, prefixMask } from '../addr.js';
import {
  DhcpMessageType,
  buildEthernet,
  parseEthernet,
  type ClasslessRoute,
  type Dhcp,
  type DhcpKnownOption,
  type DhcpOption,
  type DhcpOptionName,
} from '../packet/index.js';
import type { DhcpSubnet } from '../state/model.js';

/** Interface MTU given to clients by default: 1500 less the VXLAN/Geneve tunnel overhead. */
export const DEFAULT_DHCP_MTU = 1450;
const OPTION_MTU = 26;
const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
const BROADCAST_FLAG = 0x8000;

/** Why a frame got no answer (each is a counter). */
export type DhcpIgnoreReason =
  | 'not-dhcp'
  | 'malformed'
  | 'not-request'
  | 'relayed'
  | 'spoofed-chaddr'
  | 'bad-message-type'
  | 'missing-address'
  | 'other-server'
  | 'no-address';

/** What a served request needs from the store before it can be answered. */
export type DhcpIntent =
  /** DISCOVER: offer the client's address (lease `requested` if free). */
  | { readonly kind: 'offer'; readonly msg: Dhcp; readonly requested: string | null }
  /** REQUEST for `address` (selecting, init-reboot, renewing or rebinding): ACK it if it is the client's. */
  | { readonly kind: 'request'; readonly msg: Dhcp; readonly address: string }
  /** REQUEST for an address that cannot be the client's (outside the subnet): NAK at once. */
  | { readonly kind: 'nak'; readonly msg: Dhcp; readonly why: string }
  /** INFORM: the client has its address; send it the options. */
  | { readonly kind: 'inform'; readonly msg: Dhcp }
  /** RELEASE of `address`: free the client's lease, no reply. */
  | { readonly kind: 'release'; readonly mac: string; readonly address: string }
  /** DECLINE of `address` (found in use): quarantine it, no reply. */
  | { readonly kind: 'decline'; readonly mac: string; readonly address: string }
  | { readonly kind: 'ignore'; readonly reason: DhcpIgnoreReason; readonly detail: string };

/** Who answers: the server's address and MAC on the bridge (the gateway's, usually). */
export interface DhcpServerIdentity {
  readonly ip: string;
  readonly mac: string;
}

function ignore(reason: DhcpIgnoreReason, detail: string): DhcpIntent {
  return { kind: 'ignore', reason, detail };
}

function option<K extends DhcpOptionName>(msg: Dhcp, type: K): DhcpKnownOption<K>['value'] | undefined {
  for (const o of msg.options) if (o.type === type) return (o as DhcpKnownOption<K>).value;
  return undefined;
}

/** Whether `ip` is inside the subnet's prefix (network and broadcast addresses excluded). */
export function inSubnet(subnet: string, ip: string): boolean {
  const net = parseCidr(subnet, true);
  const a = parseIpv4(ip);
  if (typeof net === 'string' || a === undefined) return false;
  const mask = prefixMask(net.len);
  if ((a & mask) >>> 0 !== net.addr) return false;
  if (net.len >= 31) return true;
  return a !== net.addr && a !== (net.addr | (~mask >>> 0)) >>> 0;
}

/** What the client's frame asks for (see the header); `serverIp` is this server's identifier. */
export function classifyDhcp(frame: Uint8Array, subnet: DhcpSubnet, serverIp: string): DhcpIntent {
  const eth = parseEthernet(frame);
  if (eth.kind !== 'ethernet' || eth.payload.kind !== 'ipv4') return ignore('not-dhcp', 'not IPv4');
  const udp = eth.payload.payload;
  if (udp.kind !== 'udp' || udp.srcPort !== 68 || udp.dstPort !== 67)
    return ignore('not-dhcp', 'not UDP 68 -> 67');
  const msg = udp.payload;
  if (msg.kind !== 'dhcp') return ignore('malformed', msg.kind === 'malformed' ? msg.reason : 'not DHCP');
  if (msg.op !== 1) return ignore('not-request', `op ${msg.op} is not BOOTREQUEST (1)`);
  if (msg.giaddr !== '0.0.0.0') return ignore('relayed', `relayed through ${msg.giaddr}`);
  const src = normalizeMac(eth.src);
  if (src === undefined || msg.chaddr !== src || (parseInt(src.slice(0, 2), 16) & 1) !== 0)
    return ignore('spoofed-chaddr', `chaddr ${msg.chaddr} is not the frame's source ${eth.src}`);
  const type = option(msg, 'messageType');
  const requested = option(msg, 'requestedIp') ?? null;
  switch (type) {
    case DhcpMessageType.DISCOVER:
      return { kind: 'offer', msg, requested };
    case DhcpMessageType.REQUEST: {
      const server = option(msg, 'serverId');
      if (server !== undefined && server !== serverIp)
        return ignore('other-server', `the client chose server ${server}`);
      const address = requested ?? (msg.ciaddr !== '0.0.0.0' ? msg.ciaddr : null);
      if (address === null) return ignore('missing-address', 'REQUEST names no address');
      if (!inSubnet(subnet.subnet, address))
        return { kind: 'nak', msg, why: `${address} is not in ${subnet.subnet}` };
      return { kind: 'request', msg, address };
    }
    case DhcpMessageType.RELEASE:
      if (msg.ciaddr === '0.0.0.0') return ignore('missing-address', 'RELEASE without ciaddr');
      return { kind: 'release', mac: msg.chaddr, address: msg.ciaddr };
    case DhcpMessageType.DECLINE:
      if (requested === null) return ignore('missing-address', 'DECLINE without option 50');
      return { kind: 'decline', mac: msg.chaddr, address: requested };
    case DhcpMessageType.INFORM:
      if (msg.ciaddr === '0.0.0.0') return ignore('missing-address', 'INFORM without ciaddr');
      return { kind: 'inform', msg };
    default:
      return ignore('bad-message-type', `message type ${type ?? 'absent'}`);
  }
}

/** The static host entry of `mac`, if the subnet has one. */
export function staticHost(subnet: DhcpSubnet, mac: string): DhcpSubnet['hosts'][number] | undefined {
  return subnet.hosts.find((h) => h.mac === mac);
}

/** What the agent settled for a request: the client's address and host name, or a NAK. */
export type DhcpOutcome =
  | { readonly kind: 'address'; readonly address: string; readonly hostname?: string | undefined }
  | { readonly kind: 'nak'; readonly why: string }
  | { readonly kind: 'inform' };

export interface DhcpReplySettings {
  readonly subnet: DhcpSubnet;
  readonly server: DhcpServerIdentity;
  /** Interface MTU option (26); 0 leaves it out. */
  readonly mtu: number;
}

function maskOf(subnet: string): string {
  const net = parseCidr(subnet, true);
  const len = typeof net === 'string' ? 32 : net.len;
  return formatIpv4(prefixMask(len));
}

function u16Bytes(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

function u32Bytes(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** The options of an OFFER/ACK (lease times left out for INFORM). */
function replyOptions(type: number, s: DhcpReplySettings, out: DhcpOutcome): DhcpOption[] {
  const d = s.subnet;
  const opts: DhcpOption[] = [
    { type: 'messageType', value: type },
    { type: 'serverId', value: s.server.ip },
  ];
  if (type === DhcpMessageType.NAK) return opts;
  if (out.kind === 'address') {
    opts.push({ type: 'leaseTime', value: d.leaseTime });
    opts.push({ type: 'raw', code: 58, data: u32Bytes(Math.floor(d.leaseTime / 2)) });
    opts.push({ type: 'raw', code: 59, data: u32Bytes(Math.floor((d.leaseTime * 7) / 8)) });
  }
  opts.push({ type: 'subnetMask', value: maskOf(d.subnet) });
  if (d.gateway !== null) opts.push({ type: 'router', value: [d.gateway] });
  if (d.dnsServers.length > 0) opts.push({ type: 'dns', value: [...d.dnsServers] });
  if (out.kind === 'address' && out.hostname) opts.push({ type: 'hostname', value: out.hostname });
  if (d.domainName !== null) opts.push({ type: 'domainName', value: d.domainName });
  if (s.mtu > 0) opts.push({ type: 'raw', code: OPTION_MTU, data: u16Bytes(s.mtu) });
  if (d.staticRoutes.length > 0) opts.push({ type: 'classlessRoutes', value: classlessRoutes(d) });
  for (const x of d.extraOptions) opts.push({ type: 'raw', code: x.code, data: Buffer.from(x.hex, 'hex') });
  return opts;
}

/**
 * Option 121's routes: the subnet's static routes, then its default route through the gateway (a
 * client that gets option 121 ignores the router option, RFC 3442), unless a static route is one.
 */
function classlessRoutes(d: DhcpSubnet): ClasslessRoute[] {
  const routes = d.staticRoutes.map((r) => ({ destination: r.destination, router: r.gateway }));
  if (d.gateway !== null && !routes.some((r) => r.destination.endsWith('/0')))
    routes.push({ destination: '0.0.0.0/0', router: d.gateway });
  return routes;
}

/**
 * The reply frame to a request (intent offer/request/nak/inform) given what the agent settled. Sent to
 * the client's MAC, or broadcast when the client asked for it (flag) or on a NAK (RFC 2131 4.1).
 */
export function dhcpReply(
  intent: Extract<DhcpIntent, { msg: Dhcp }>,
  outcome: DhcpOutcome,
  s: DhcpReplySettings,
): Uint8Array {
  const req = intent.msg;
  const type =
    outcome.kind === 'nak'
      ? DhcpMessageType.NAK
      : intent.kind === 'offer'
        ? DhcpMessageType.OFFER
        : DhcpMessageType.ACK;
  const yiaddr = outcome.kind === 'address' ? outcome.address : '0.0.0.0';
  const reply: Dhcp = {
    kind: 'dhcp',
    op: 2,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags & BROADCAST_FLAG,
    ciaddr: intent.kind === 'inform' || type === DhcpMessageType.ACK ? req.ciaddr : '0.0.0.0',
    yiaddr,
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options: replyOptions(type, s, outcome),
  };
  const broadcast = type === DhcpMessageType.NAK || (req.flags & BROADCAST_FLAG) !== 0;
  const dstIp = broadcast
    ? '255.255.255.255'
    : req.ciaddr !== '0.0.0.0'
      ? req.ciaddr
      : yiaddr !== '0.0.0.0'
        ? yiaddr
        : '255.255.255.255';
  return buildEthernet({
    kind: 'ethernet',
    dst: broadcast ? BROADCAST_MAC : req.chaddr,
    src: s.server.mac,
    payload: {
      kind: 'ipv4',
      tos: 0x10,
      id: 0,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      src: s.server.ip,
      dst: dstIp,
      options: new Uint8Array(0),
      payload: { kind: 'udp', srcPort: 67, dstPort: 68, payload: reply },
    },
  });
}
