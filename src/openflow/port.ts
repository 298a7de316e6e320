/**
 * ofp_port: the 64-byte description of a switch port carried by PORT_STATUS and the PORT_DESC
 * multipart reply.
 *
 * Invariant: the layout below is the whole description; `encode` always writes exactly 64 bytes
 * and `decode` reads exactly 64, with zero padding checked.
 */

import { field, fixedString, mac, pad, struct, u32 } from './wire.js';

/** A switch port. Bit fields are OFPPC_* (config), OFPPS_* (state), OFPPF_* (features). */
export interface Port {
  /** OpenFlow port number (or OFPP.LOCAL for the bridge's internal port). */
  readonly portNo: number;
  /** Lowercase MAC "aa:bb:cc:dd:ee:ff". */
  readonly hwAddr: string;
  /** Interface name, at most 16 latin1 characters (OVS uses at most 15). */
  readonly name: string;
  readonly config: number;
  readonly state: number;
  readonly curr: number;
  readonly advertised: number;
  readonly supported: number;
  readonly peer: number;
  /** Current bit rate in kbps. */
  readonly currSpeed: number;
  /** Maximum bit rate in kbps. */
  readonly maxSpeed: number;
}

export const OFP_PORT_LEN = 64;

export const portCodec = struct<Port>(
  field('portNo', u32),
  pad(4),
  field('hwAddr', mac),
  pad(2),
  field('name', fixedString(16)),
  field('config', u32),
  field('state', u32),
  field('curr', u32),
  field('advertised', u32),
  field('supported', u32),
  field('peer', u32),
  field('currSpeed', u32),
  field('maxSpeed', u32),
);
