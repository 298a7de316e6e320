/**
 * Names and addresses of the one-machine lab, in one place. Everything a lab makes carries its prefix
 * (namespaces, root-namespace links, FRR path spaces): `mnl-` for the default lab, `mnlNAME-` for a lab
 * brought up with `--name NAME`, so labs live side by side and each one's clean-up finds exactly what
 * it made. Every address is in a documentation range (the same in every lab: each lab's addresses live
 * in its own namespaces):
 *   198.51.100.0/25   the underlay between hypervisors (hv N at .N)
 *   198.51.100.128/25 the evaluation's baseline network (VMs' eth1 on a plain NORMAL bridge)
 *   192.0.2.0/25      tenant bridge A (router port .1)
 *   192.0.2.128/25    tenant bridge B (router port .129)
 *   2001:db8:a::/64   tenant bridge A, IPv6 (router port ::1; VMs by SLAAC, src/lab/vm-ipv6.ts)
 *   2001:db8:b::/64   tenant bridge B, IPv6 (router port ::1)
 *   203.0.113.0/24    the outside world (an ISP and what it announces, for BGP)
 *
 * Invariants: interface names are at most 15 characters (Linux's limit) and unique per lab object; a
 * lab name is 1 to 5 of a-z0-9 starting with a letter, so every prefix ends with the one '-' after
 * letters and digits, and no lab's prefix is the start of another's.
 */
export const LAB_PREFIX = 'mnl-';
export const UNDERLAY_BRIDGE = 'br-underlay';
/**
 * The underlay carries jumbo frames, as operators configure the physical network under an overlay:
 * a VM's full 1,500-byte packet plus the tunnel header (GRE 38 bytes, VXLAN 50) must fit, or bulk TCP
 * between hosts stalls on segments the underlay drops.
 */
export const UNDERLAY_MTU = 9000;
export const UNDERLAY_PREFIX = '198.51.100';

/** What a lab name may be. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,4}$/;

/** Why `name` cannot name a lab, or undefined when it can. */
export function labNameProblem(name: string): string | undefined {
  if (LAB_NAME_PATTERN.test(name)) return undefined;
  const shown = JSON.stringify(name.length > 20 ? `${name.slice(0, 20)}...` : name);
  return `--name ${shown} is not allowed: 1 to 5 lowercase letters and digits, starting with a letter (e.g. dev, b2)`;
}

/** The run directory a lab uses unless --run-dir says otherwise. */
export function defaultRunDir(name: string | null): string {
  return name === null ? '/run/midonet-lab' : `/run/midonet-lab-${name}`;
}

/** Every name a lab gives the things it makes. */
export interface LabNames {
  /** null: the default lab. */
  readonly name: string | null;
  /** `mnl-` or `mnlNAME-`: every namespace, root-namespace link and FRR path space starts with it. */
  readonly prefix: string;
  readonly underlayNs: string;
  /** Prefix of midonet-router's speaker namespaces (at most 12 characters). */
  readonly routerNsPrefix: string;
  /** The BGP lab's ISP namespace. */
  readonly ispNs: string;
  hvNamespace(n: number): string;
  /** The hypervisor's end of its underlay link (inside its namespace). */
  hvUplink(n: number): string;
  /** The underlay bridge's end of hypervisor n's link. */
  underlayPort(n: number): string;
  vmNamespace(vm: string): string;
  /** The VM's interface as its hypervisor sees it (the port bound to the virtual topology). */
  vmTap(vm: string): string;
  /** The VM's second interface (eth1) as its hypervisor sees it: a port of the plain NORMAL bridge. */
  vmBaselineTap(vm: string): string;
  /** The BGP lab's uplink interface on hypervisor n. */
  uplinkIface(n: number): string;
}

/** `P t- vm12` when it fits in 15 characters, else `P t12` (a shape the long form never has). */
function iface(prefix: string, letter: string, vm: string): string {
  const long = `${prefix}${letter}-${vm}`;
  return long.length <= 15 ? long : `${prefix}${letter}${vm.replace(/^vm/, '')}`.slice(0, 15);
}

export function labNames(name: string | null = null): LabNames {
  if (name !== null && labNameProblem(name) !== undefined) throw new Error(labNameProblem(name));
  const p = name === null ? LAB_PREFIX : `mnl${name}-`;
  return {
    name,
    prefix: p,
    underlayNs: `${p}underlay`,
    routerNsPrefix: `${p}r`,
    ispNs: `${p}isp`,
    hvNamespace: (n) => `${p}hv${n}`,
    hvUplink: (n) => `${p}hv${n}-u`,
    underlayPort: (n) => `${p}u-hv${n}`,
    vmNamespace: (vm) => `${p}${vm}`,
    vmTap: (vm) => iface(p, 't', vm),
    vmBaselineTap: (vm) => iface(p, 'b', vm),
    uplinkIface: (n) => `${p}up${n}`,
  };
}

/** The default lab's names. */
export const DEFAULT_LAB = labNames(null);

export const hvName = (n: number): string => `hv${n}`;
export const hvUnderlayIp = (n: number): string => `${UNDERLAY_PREFIX}.${n}`;

/** The plain Open vSwitch bridge (NORMAL action, no agent) of the evaluation's baseline. */
export const BASELINE_BRIDGE = 'br-normal';
/** Baseline network: VM number k at 198.51.100.(138 + k)/25. */
export const vmBaselineIp = (k: number): string => `${UNDERLAY_PREFIX}.${138 + k}`;
export const BASELINE_PREFIX_LEN = 25;
export const UNDERLAY_PREFIX_LEN = 25;

/** A deterministic locally administered MAC for lab VM number `i` on bridge `b`. */
export function vmMac(b: number, i: number): string {
  return `02:00:00:00:${b.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;
}

/**
 * A lab name for a benchmark or test run of its own: `stem` (1 to 3 of a-z0-9, starting with a
 * letter) and two random characters, so runs side by side (and the user's labs) never share a name.
 */
export function uniqueLabName(stem: string): string {
  const tail = Math.floor(Math.random() * 36 * 36)
    .toString(36)
    .padStart(2, '0');
  const name = `${stem.slice(0, 3)}${tail}`;
  if (labNameProblem(name) !== undefined) throw new Error(`uniqueLabName: bad stem ${JSON.stringify(stem)}`);
  return name;
}
