/**
 * A PACKET_IN as the agent's controller sees it (no buffer, table 0, no tunnel id), for tests that
 * feed frames to it.
 */
import { OFP_NO_BUFFER, type PacketInView } from '../../src/openflow/index.js';

/** The packet-in of `data` entering OpenFlow port `inPort` (`reason`: OFPR_*, a table miss by default). */
export function packetIn(data: Buffer, inPort: number, reason = 0): PacketInView {
  return {
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: data.length,
    reason,
    tableId: 0,
    inPort,
    tunnelId: 0,
    data,
  };
}
