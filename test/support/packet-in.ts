/**
 * A PACKET_IN as the agent's controller sees it (no buffer, table 0, no tunnel id), for tests that
 * feed frames to it.
 */
import { OFP_NO_BUFFER, type PacketInView } from '../../src/openflow/index.js';

/** The packet-in of `data` entering OpenFlow port `inPort`. */
export function packetIn(data: Buffer, inPort: number): PacketInView {
  return {
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: data.length,
    reason: 0,
    tableId: 0,
    inPort,
    tunnelId: 0,
    data,
  };
}
