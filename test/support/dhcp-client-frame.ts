/**
 * A DHCP client message (UDP 68 -> 67, broadcast) as a VM sends it, from a few fields, built by the
 * project's packet codec: for the DHCP server's unit tests and for hostile frames sent in the lab.
 * `truncate` cuts the DHCP payload (the UDP datagram stays well-formed around it).
 */
import { buildDhcp, buildEthernet, type Dhcp, type DhcpOption } from '../../src/packet/index.js';

export interface DhcpClientFields {
  /** Message type (option 53); absent: none (a BOOTP message). */
  readonly type?: number;
  readonly op?: number;
  readonly ciaddr?: string;
  readonly giaddr?: string;
  /** The client hardware address; default: the frame's source. */
  readonly chaddr?: string;
  /** The frame's source MAC. */
  readonly src: string;
  readonly flags?: number;
  readonly options?: DhcpOption[];
  readonly sport?: number;
  readonly truncate?: number;
}

export function dhcpClientFrame(r: DhcpClientFields): Uint8Array {
  const options: DhcpOption[] = [
    ...(r.type !== undefined ? [{ type: 'messageType' as const, value: r.type }] : []),
    ...(r.options ?? []),
  ];
  const msg: Dhcp = {
    kind: 'dhcp',
    op: r.op ?? 1,
    hops: 0,
    xid: 0x12345678,
    secs: 0,
    flags: r.flags ?? 0,
    ciaddr: r.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: r.giaddr ?? '0.0.0.0',
    chaddr: r.chaddr ?? r.src,
    sname: '',
    file: '',
    options,
  };
  const payload =
    r.truncate === undefined ? msg : { kind: 'raw' as const, bytes: buildDhcp(msg).subarray(0, r.truncate) };
  return buildEthernet({
    kind: 'ethernet',
    dst: 'ff:ff:ff:ff:ff:ff',
    src: r.src,
    payload: {
      kind: 'ipv4',
      tos: 0,
      id: 1,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      src: r.ciaddr ?? '0.0.0.0',
      dst: '255.255.255.255',
      options: new Uint8Array(0),
      payload: { kind: 'udp', srcPort: r.sport ?? 68, dstPort: 67, payload },
    },
  });
}
