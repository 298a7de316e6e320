/**
 * Names and addresses of the one-machine lab, in one place. Everything the lab makes carries the
 * prefix `mnl-` (namespaces, root-namespace links), and every address is in a documentation range:
 *   198.51.100.0/25   the underlay between hypervisors (hv N at .N)
 *   198.51.100.128/25 the evaluation's baseline network (VMs' eth1 on a plain NORMAL bridge)
 *   192.0.2.0/25      tenant bridge A (router port .1)
 *   192.0.2.128/25    tenant bridge B (router port .129)
 *   203.0.113.0/24    the outside world (an ISP and what it announces, for BGP)
 *
 * Invariant: names are at most 15 characters (Linux interface names) and unique per lab object, so
 * clean-up by prefix finds exactly what the lab made.
 */
export const LAB_PREFIX = 'mnl-';
export const UNDERLAY_NS = `${LAB_PREFIX}underlay`;
export const UNDERLAY_BRIDGE = 'br-underlay';
/**
 * The underlay carries jumbo frames, as operators configure the physical network under an overlay:
 * a VM's full 1,500-byte packet plus the tunnel header (GRE 38 bytes, VXLAN 50) must fit, or bulk TCP
 * between hosts stalls on segments the underlay drops.
 */
export const UNDERLAY_MTU = 9000;
export const UNDERLAY_PREFIX = '198.51.100';

export const hvNamespace = (n: number): string => `${LAB_PREFIX}hv${n}`;
export const hvName = (n: number): string => `hv${n}`;
export const hvUnderlayIp = (n: number): string => `${UNDERLAY_PREFIX}.${n}`;
/** The hypervisor's end of its underlay link (inside its namespace) and the underlay bridge's end. */
export const hvUplink = (n: number): string => `${LAB_PREFIX}hv${n}-u`;
export const underlayPort = (n: number): string => `${LAB_PREFIX}u-hv${n}`;

export const vmNamespace = (name: string): string => `${LAB_PREFIX}${name}`;
/** The VM's second interface (eth1) as its hypervisor sees it: a port of the plain NORMAL bridge. */
export const vmBaselineTap = (name: string): string => `${LAB_PREFIX}b-${name}`.slice(0, 15);
/** The plain Open vSwitch bridge (NORMAL action, no agent) of the evaluation's baseline. */
export const BASELINE_BRIDGE = 'br-normal';
/** Baseline network: VM number k at 198.51.100.(138 + k)/25. */
export const vmBaselineIp = (k: number): string => `${UNDERLAY_PREFIX}.${138 + k}`;
export const BASELINE_PREFIX_LEN = 25;
export const UNDERLAY_PREFIX_LEN = 25;
/** The VM's interface as its hypervisor sees it (the port bound to the virtual topology). */
export const vmTap = (name: string): string => `${LAB_PREFIX}t-${name}`.slice(0, 15);

/** A deterministic locally administered MAC for lab VM number `i` on bridge `b`. */
export function vmMac(b: number, i: number): string {
  return `02:00:00:00:${b.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;
}
