/**
 * The malformed marker: how the codec reports a layer it cannot decode.
 *
 * Policy (applied by every decoder in this directory): parsing never throws. When a layer's bytes do
 * not decode (truncated header, bad length field, bad magic, option running past the end), that layer
 * is replaced by a `Malformed` node carrying the layer name, a reason that starts with the layer name
 * ("ipv4: header length 4 words is below the minimum of 5") and the layer's bytes, while the outer
 * layers stay parsed, so a controller still gets a flow match from them. A frame too short for an
 * Ethernet header is itself a `Malformed` node. Bad checksums are not malformations: they are reported
 * as `checksumOk: false` on an otherwise parsed layer.
 *
 * Invariant: a `Malformed` node keeps the exact bytes of its layer, so building it writes them back
 * verbatim and `build(parse(bytes))` reproduces any input, well-formed or not.
 */

/** The layers the codec decodes, as named in `Malformed.layer`. */
export type Layer = 'ethernet' | 'arp' | 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'dhcp';

export interface Malformed {
  readonly kind: 'malformed';
  /** The layer that failed to decode. */
  readonly layer: Layer;
  /** Why, prefixed with the layer name. */
  readonly reason: string;
  /** The layer's bytes (from its first header byte to the end of what the outer layer gave it). */
  readonly bytes: Uint8Array;
}

export function malformed(layer: Layer, reason: string, bytes: Uint8Array): Malformed {
  return { kind: 'malformed', layer, reason: `${layer}: ${reason}`, bytes };
}

/** A decoded network-layer packet and where it ends in the buffer (the rest is link-layer padding). */
export interface Decoded<T> {
  readonly packet: T | Malformed;
  readonly end: number;
}
