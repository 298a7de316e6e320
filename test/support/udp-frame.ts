/**
 * One UDP- or TCP-over-IPv4 Ethernet frame from a few fields (the rest fixed), built by the project's
 * packet codec, for tests that feed frames to the agent's controller as packet-ins.
 */
import { buildEthernet, type Ipv4 } from '../../src/packet/index.js';

export interface UdpFrameFields {
  readonly src: string;
  readonly dst: string;
  readonly srcIp?: string;
  readonly dstIp?: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly ttl?: number;
  /** The UDP payload; default 8 zero bytes. */
  readonly data?: Uint8Array;
}

export function udpFrame(f: UdpFrameFields): Buffer {
  return ipv4Frame(f, f.ttl, {
    kind: 'udp',
    srcPort: f.srcPort ?? 4000,
    dstPort: f.dstPort ?? 53,
    payload: { kind: 'raw', bytes: f.data ?? new Uint8Array(8) },
  });
}

export interface TcpFrameFields {
  readonly src: string;
  readonly dst: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** TCP flags (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10). */
  readonly flags: number;
}

/** A TCP segment with no payload (sequence 1, window 1000). */
export function tcpFrame(f: TcpFrameFields): Buffer {
  return ipv4Frame(f, 64, {
    kind: 'tcp',
    srcPort: f.srcPort,
    dstPort: f.dstPort,
    seq: 1,
    ack: 0,
    flags: f.flags,
    window: 1000,
    urgentPointer: 0,
    options: new Uint8Array(0),
    payload: new Uint8Array(0),
  });
}

type Ipv4Payload = Ipv4['payload'];

function ipv4Frame(
  f: { src: string; dst: string; srcIp?: string; dstIp?: string },
  ttl: number | undefined,
  payload: Ipv4Payload,
): Buffer {
  return Buffer.from(
    buildEthernet({
      kind: 'ethernet',
      dst: f.dst,
      src: f.src,
      payload: {
        kind: 'ipv4',
        tos: 0,
        id: 1,
        dontFragment: true,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: ttl ?? 64,
        src: f.srcIp ?? '192.0.2.10',
        dst: f.dstIp ?? '192.0.2.11',
        options: new Uint8Array(0),
        payload,
      },
    }),
  );
}
