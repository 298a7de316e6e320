/**
 * The lab's second uplink (`midonet-lab up --bgp --ecmp`): ECMP over two uplinks on two hosts. On top
 * of the BGP lab (bgp-lab.ts: the ISP namespace, uplink `edge-up` 203.0.113.1/26 on hv1, its peer
 * `isp1` and midonet-router on hv1) it adds a second interface to the ISP (203.0.113.66/26) joined by a
 * veth to hv2, a router port `edge-up2` (203.0.113.65/26) bound to hv2's end, a BGP peer `isp2` on it,
 * and a midonet-router for hv2. The ISP then runs one FRR with two sessions and announces the default
 * route (0.0.0.0/0) on both instead of its /25, so the virtual router learns one default route per
 * uplink, two routes of equal weight: two ECMP paths to everything behind the ISP (its pingable
 * address 203.0.113.129 included).
 *
 * Invariant: like bgp-lab.ts, everything is named with the lab's prefix and the router is named by
 * RUN_DIR/hv2/router.pid, so `bgpLabDown` (and the lab's prefix sweep) removes it all after any crash;
 * the ISP's FRR is changed by a configuration diff (renderDiff), so the first session stays up.
 */
import { run, tryRun } from '../exec.js';
import type { TopologyStore } from '../state/store.js';
import { renderDiff, type BgpSpeakerConfig } from '../router/frr-config.js';
import {
  ISP_AS,
  ROUTER_METRICS_BASE,
  TENANT_AS,
  UPLINK_PREFIX_LEN,
  ispConfig,
  ispFrr,
  startRouter,
  writeRouterConfig,
  type BgpLabState,
} from './bgp-lab.js';
import { freePorts } from './hypervisor.js';
import type { LabNames } from './layout.js';
import { addVeth, setAddress } from './netns.js';

export const UPLINK2_PORT = 'edge-up2';
export const UPLINK2_ADDRESS = '203.0.113.65/26';
/** The ISP's address on the second uplink's subnet. */
export const ISP2_ADDRESS = '203.0.113.66';
export const ISP2_PEER = 'isp2';
/** The ISP's interface toward hv2 (eth0 goes to hv1). */
export const ISP2_IFACE = 'eth1';
export const ISP1_IFACE = 'eth0';
/** What the ISP announces on both sessions in an ECMP lab. */
export const DEFAULT_ROUTE = '0.0.0.0/0';
/** Keepalive and hold time (s) of both sessions. */
export const ECMP_KEEPALIVE = 1;
export const ECMP_HOLD_TIME = 3;

/** The second uplink, as lab.json records it. */
export interface EcmpUplink {
  readonly host: string;
  readonly uplinkPort: string;
  readonly uplinkAddress: string;
  readonly peer: string;
  /** The ISP's address and interface on this uplink. */
  readonly ispAddress: string;
  readonly ispIface: string;
  readonly announces: string;
  readonly holdTime: number;
}

/** The second router's metrics endpoint: the default lab's router 2 port, a named lab's a free one. */
export async function ecmpMetricsListen(names: LabNames): Promise<string> {
  if (names.name === null) return `127.0.0.1:${ROUTER_METRICS_BASE + 2}`;
  return `127.0.0.1:${(await freePorts(1))[0]!}`;
}

/** The ISP's FRR configuration in an ECMP lab: both sessions, the default route announced. */
export function ecmpIspConfig(): BgpSpeakerConfig {
  const one = ispConfig([DEFAULT_ROUTE]);
  return {
    ...one,
    neighbors: [
      ...one.neighbors,
      {
        address: UPLINK2_ADDRESS.split('/')[0]!,
        remoteAs: TENANT_AS,
        keepalive: ECMP_KEEPALIVE,
        holdTime: ECMP_HOLD_TIME,
        object: 'isp neighbour 2',
      },
    ],
  };
}

/**
 * Adds the second uplink (ISP interface, router port, BGP peer, midonet-router on hv2) to a lab whose
 * BGP part (`bgp`) is up; returns the BGP state with it.
 */
export async function ecmpLabUp(
  runDir: string,
  storeUrl: string,
  store: TopologyStore,
  say: (l: string) => void,
  names: LabNames,
  bgp: BgpLabState,
  metricsListen: string,
): Promise<BgpLabState & { readonly ecmp: EcmpUplink }> {
  const hostNumber = 2;
  const host = `hv${hostNumber}`;
  const ispNs = bgp.isp.netns;
  say(
    `ecmp: second uplink ${names.uplinkIface(hostNumber)} on ${host}, the ISP announcing ${DEFAULT_ROUTE} twice`,
  );
  await addVeth(names.uplinkIface(hostNumber), names.hvNamespace(hostNumber), ISP2_IFACE, ispNs);
  await setAddress(ispNs, ISP2_IFACE, `${ISP2_ADDRESS}/${UPLINK_PREFIX_LEN}`);
  await tryRun('ethtool', ['-K', ISP2_IFACE, 'tx', 'off'], { netns: ispNs });
  await ispFrr(ispNs).apply(renderDiff(ispConfig(), ecmpIspConfig(), 'isp'));

  const router = await store.resolve('router', 'edge');
  const hostObj = await store.resolve('host', host);
  const port = await store.create('port', {
    name: UPLINK2_PORT,
    deviceId: router.id,
    address: UPLINK2_ADDRESS,
    hostId: hostObj.id,
    interfaceName: names.uplinkIface(hostNumber),
  });
  await store.create('bgp-peer', {
    name: ISP2_PEER,
    portId: port.id,
    peerAddress: ISP2_ADDRESS,
    peerAs: ISP_AS,
    localAs: TENANT_AS,
    keepalive: ECMP_KEEPALIVE,
    holdTime: ECMP_HOLD_TIME,
  });

  const r = writeRouterConfig(runDir, host, storeUrl, names.hvNamespace(hostNumber), names, metricsListen);
  say(`ecmp: midonet-router on ${host}`);
  startRouter(r);
  return {
    ...bgp,
    isp: { ...bgp.isp, announces: DEFAULT_ROUTE },
    routers: [...bgp.routers, r],
    ecmp: {
      host,
      uplinkPort: UPLINK2_PORT,
      uplinkAddress: UPLINK2_ADDRESS,
      peer: ISP2_PEER,
      ispAddress: ISP2_ADDRESS,
      ispIface: ISP2_IFACE,
      announces: DEFAULT_ROUTE,
      holdTime: ECMP_HOLD_TIME,
    },
  };
}

/** Cuts (`up` false) or mends the ISP's link of the second uplink: its session then ends by hold time. */
export async function setIsp2Link(ispNs: string, up: boolean): Promise<void> {
  await run('ip', ['link', 'set', ISP2_IFACE, up ? 'up' : 'down'], { netns: ispNs });
}
