/**
 * OpenFlow seed inputs for the fuzzers (fuzz-targets.ts): OpenFlow 1.3 messages of every type the
 * codec knows, encoded with the project's own encoder from seeded random field values (packet data
 * from fuzz-corpus.ts's frames), plus the golden messages frozen in test/golden/openflow when that
 * directory exists.
 *
 * Invariant: a seed is a function of the random source only (no clock, no Math.random); the golden
 * files are read once, in name order.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  encodeMessage,
  OFP_NO_BUFFER,
  OFPG,
  OFPP,
  OFPR,
  OFPVID_PRESENT,
  type Message,
} from '../../src/openflow/index.js';
import { frameSeed, int, PORTS, randomBytes, randomMac } from './fuzz-corpus.js';
import { pick, type Rand } from './random-topology.js';

/** A short Ethernet frame for the data of a PACKET_IN or PACKET_OUT. */
function frameData(r: Rand): Buffer {
  return Buffer.from(frameSeed(r));
}

function randomMessage(r: Rand): Message {
  const xid = int(r, 0, 0xffffffff);
  switch (int(r, 0, 13)) {
    case 0:
      return { type: 'hello', xid, version: 4, elements: [{ type: 'versionbitmap', bitmaps: [0x10] }] };
    case 1:
      return { type: 'echo_request', xid, data: Buffer.from(randomBytes(r, int(r, 0, 16))) };
    case 2:
      return {
        type: 'error',
        xid,
        errType: int(r, 0, 13),
        code: int(r, 0, 12),
        data: Buffer.from(randomBytes(r, 64)),
      };
    case 3:
      return {
        type: 'features_reply',
        xid,
        datapathId: BigInt(int(r, 0, 0xffffffff)),
        nBuffers: 0,
        nTables: 254,
        auxiliaryId: 0,
        capabilities: 0x4f,
        reserved: 0,
      };
    case 4:
    case 5:
    case 6: {
      const data = frameData(r);
      return {
        type: 'packet_in',
        xid,
        bufferId: OFP_NO_BUFFER,
        totalLen: data.length,
        reason: pick(r, [OFPR.NO_MATCH, OFPR.ACTION]),
        tableId: 0,
        cookie: BigInt(int(r, 0, 0xffffffff)),
        match: [
          { field: 'in_port', value: int(r, 1, 64) },
          ...(r() < 0.3 ? [{ field: 'tunnel_id' as const, value: BigInt(int(r, 1, 0xffffff)) }] : []),
        ],
        data,
      };
    }
    case 7:
      return {
        type: 'packet_out',
        xid,
        bufferId: OFP_NO_BUFFER,
        inPort: OFPP.CONTROLLER,
        actions: [
          { type: 'set_field', field: { field: 'eth_dst', value: randomMac(r) } },
          { type: 'output', port: int(r, 1, 64), maxLen: 0 },
        ],
        data: frameData(r),
      };
    case 8:
    case 9:
      return {
        type: 'flow_mod',
        xid,
        cookie: BigInt(int(r, 0, 0xffffffff)),
        cookieMask: 0n,
        tableId: 0,
        command: pick(r, ['add', 'delete', 'modify_strict'] as const),
        idleTimeout: 60,
        hardTimeout: 0,
        priority: int(r, 0, 0xffff),
        bufferId: OFP_NO_BUFFER,
        outPort: OFPP.ANY,
        outGroup: OFPG.ANY,
        flags: 1,
        match: [
          { field: 'in_port', value: int(r, 1, 64) },
          { field: 'eth_dst', value: randomMac(r) },
          { field: 'vlan_vid', value: OFPVID_PRESENT | int(r, 1, 4094) },
          { field: 'eth_type', value: 0x0800 },
          { field: 'ip_proto', value: 6 },
          { field: 'ipv4_src', value: '192.0.2.0', mask: '255.255.255.0' },
          { field: 'tcp_dst', value: pick(r, PORTS) },
        ],
        instructions: [
          {
            type: 'apply_actions',
            actions: [
              { type: 'pop_vlan' },
              { type: 'set_field', field: { field: 'tunnel_id', value: BigInt(int(r, 1, 0xffffff)) } },
              { type: 'dec_nw_ttl' },
              { type: 'output', port: int(r, 1, 64), maxLen: 0 },
            ],
          },
        ],
      };
    case 10:
      return {
        type: 'flow_removed',
        xid,
        cookie: BigInt(int(r, 0, 0xffffffff)),
        priority: 10,
        reason: int(r, 0, 2),
        tableId: 0,
        durationSec: int(r, 0, 1000),
        durationNsec: 0,
        idleTimeout: 60,
        hardTimeout: 0,
        packetCount: 3n,
        byteCount: 180n,
        match: [
          { field: 'in_port', value: int(r, 1, 64) },
          { field: 'eth_src', value: randomMac(r) },
        ],
      };
    case 11:
      return {
        type: 'multipart_request',
        xid,
        flags: 0,
        body: {
          type: 'flow',
          tableId: 0xff,
          outPort: OFPP.ANY,
          outGroup: OFPG.ANY,
          cookie: 0n,
          cookieMask: 0n,
          match: [],
        },
      };
    case 12:
      return { type: 'role_request', xid, role: 'master', generationId: BigInt(int(r, 0, 1000)) };
    default:
      return {
        type: 'set_async',
        xid,
        packetInMaster: 3,
        packetInSlave: 0,
        portStatusMaster: 7,
        portStatusSlave: 7,
        flowRemovedMaster: 15,
        flowRemovedSlave: 0,
      };
  }
}

/** Golden OpenFlow messages frozen in the source tree (test/golden/openflow/*.hex), when present. */
function goldenOpenFlow(): Buffer[] {
  const dir = fileURLToPath(new URL('../../../test/golden/openflow/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((f) => Buffer.from(readFileSync(`${dir}${f}`, 'utf8').replace(/\s+/g, ''), 'hex'));
}

let golden: Buffer[] | undefined;

/** One OpenFlow 1.3 message: a golden one, or one encoded from random field values. */
export function openflowSeed(r: Rand): Uint8Array {
  golden ??= goldenOpenFlow();
  if (golden.length > 0 && r() < 0.3) return pick(r, golden);
  return encodeMessage(randomMessage(r));
}
