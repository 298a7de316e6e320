/**
 * One UDP-over-IPv4 Ethernet frame from a few fields (the rest fixed), built by the project's packet
 * codec, for tests that feed frames to the agent's controller as packet-ins.
 */
import { buildEthernet } from '../../src/packet/index.js';

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
        ttl: f.ttl ?? 64,
        src: f.srcIp ?? '192.0.2.10',
        dst: f.dstIp ?? '192.0.2.11',
        options: new Uint8Array(0),
        payload: {
          kind: 'udp',
          srcPort: f.srcPort ?? 4000,
          dstPort: f.dstPort ?? 53,
          payload: { kind: 'raw', bytes: f.data ?? new Uint8Array(8) },
        },
      },
    }),
  );
}
