/**
 * The lab's outside world for BGP (`midonet-lab up --bgp`): an "ISP" namespace running FRR (AS 64500)
 * joined by a veth to an uplink interface on hv1, a router port `edge-up` (203.0.113.1/26, bound to
 * that interface) with a BGP peer to the ISP (203.0.113.2, AS 64500; the tenant side is AS 64510), the
 * tenant bridges' prefixes as BGP networks, and a midonet-router process for hv1. The ISP announces
 * 203.0.113.128/25 and answers on 203.0.113.129 (on its loopback), which VMs can ping once the
 * virtual router has learned the route.
 *
 * Invariant: everything is named with the lab's prefix (namespaces `PREFIXisp`, `PREFIXr*`; FRR path
 * spaces of the same names) and the router process is named by RUN_DIR/hvN/router.pid, so `bgpLabDown` finds
 * and removes it all after any crash.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tryRun, processAlive } from '../exec.js';
import type { TopologyStore } from '../state/store.js';
import { RELAY_LEADER_NODE_FLAGS } from '../state/relay-leader-shape.js';
import { renderFull, type BgpSpeakerConfig } from '../router/frr-config.js';
import { FRR_ETC_BASE, FRR_RUN_BASE, FrrInstance } from '../router/frr.js';
import { DEFAULT_LAB, type LabNames } from './layout.js';
import { addNamespace, addVeth, setAddress } from './netns.js';

const ROUTER_MAIN = fileURLToPath(new URL('../router/main.js', import.meta.url));

export const ISP_AS = 64500;
export const TENANT_AS = 64510;
export const UPLINK_PORT = 'edge-up';
export const UPLINK_ADDRESS = '203.0.113.1/26';
/** The uplink subnet is a /26: room for floating IPs (203.0.113.3 to .62) beside the two routers. */
export const UPLINK_PREFIX_LEN = 26;
export const ISP_ADDRESS = '203.0.113.2';
export const ISP_ANNOUNCED = '203.0.113.128/25';
export const ISP_PINGABLE = '203.0.113.129';
export const ISP_PEER = 'isp1';

export interface BgpLabState {
  readonly isp: {
    readonly netns: string;
    readonly as: number;
    readonly address: string;
    readonly announces: string;
    /** An address behind the ISP that answers ping. */
    readonly pingable: string;
  };
  readonly tenantAs: number;
  readonly uplinkPort: string;
  readonly uplinkAddress: string;
  readonly peer: string;
  /** Hypervisors running midonet-router, with their run directories and metrics endpoints. */
  readonly routers: ReadonlyArray<{
    readonly host: string;
    readonly dir: string;
    readonly config: string;
    readonly metricsListen?: string;
  }>;
}

/** The ISP's FRR configuration (the same renderer as the speakers'). */
export function ispConfig(networks: readonly string[] = [ISP_ANNOUNCED]): BgpSpeakerConfig {
  return {
    localAs: ISP_AS,
    routerId: ISP_ADDRESS,
    neighbors: [
      {
        address: UPLINK_ADDRESS.split('/')[0]!,
        remoteAs: TENANT_AS,
        keepalive: 1,
        holdTime: 3,
        object: 'isp neighbour',
      },
    ],
    networks: networks.map((p) => ({ prefix: p, object: `isp network ${p}` })),
  };
}

/** The ISP's FRR (of the default lab unless its namespace is given: `LabState.bgp.isp.netns`). */
export function ispFrr(netns: string = DEFAULT_LAB.ispNs): FrrInstance {
  return new FrrInstance(netns);
}

export function routerPid(dir: string): number | undefined {
  const f = join(dir, 'router.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return pid > 0 && processAlive(pid) ? pid : undefined;
}

/** The default lab's router N serves metrics on 127.0.0.1:(9480 + N); a named lab's on a free port. */
export const ROUTER_METRICS_BASE = 9480;

/**
 * Writes the lab's midonet-router configuration for `host` (under runDir/host: its own run directory,
 * the host's Open vSwitch, speakers in namespaces named from `names`) and returns what starts it.
 */
export function writeRouterConfig(
  runDir: string,
  host: string,
  storeUrl: string,
  hostNetns: string,
  names: LabNames,
  metricsListen: string,
): { host: string; dir: string; config: string; metricsListen: string } {
  const dir = join(runDir, host);
  const config = join(dir, 'router.json');
  writeFileSync(
    config,
    `${JSON.stringify(
      {
        store: storeUrl,
        hostName: host,
        runDir: join(dir, 'router-run'),
        logLevel: 'info',
        ovs: { dbSock: join(dir, 'ovs', 'db.sock'), runDir: join(dir, 'ovs'), bridge: 'br-int' },
        hostNetns,
        namespacePrefix: names.routerNsPrefix,
        pollMs: 500,
        heartbeatMs: 500,
        metrics: { listen: metricsListen },
      },
      null,
      2,
    )}\n`,
  );
  return { host, dir, config, metricsListen };
}

/** Starts midonet-router for a lab hypervisor (logging to DIR/router.log). */
export function startRouter(r: { readonly dir: string; readonly config: string }): number {
  const log = openSync(join(r.dir, 'router.log'), 'a');
  // A relay leader's node flags (relay-leader-shape.ts), as bin/midonet-router gives them.
  const child = spawn(process.execPath, [...RELAY_LEADER_NODE_FLAGS, ROUTER_MAIN, '--config', r.config], {
    stdio: ['ignore', log, log],
    detached: true,
  });
  child.unref();
  writeFileSync(join(r.dir, 'router.pid'), `${child.pid}\n`);
  return child.pid!;
}

/** Stops a lab midonet-router: SIGTERM (clean: FRR and namespaces go), or SIGKILL with `crash`. */
export async function stopRouter(dir: string, crash = false): Promise<void> {
  const pid = routerPid(dir);
  if (pid !== undefined) {
    process.kill(pid, crash ? 'SIGKILL' : 'SIGTERM');
    for (let i = 0; i < 200 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(join(dir, 'router.pid'), { force: true });
}

/**
 * The router's side of the BGP set-up in the store: the uplink port `edge-up` of router `edge`, bound
 * to `iface` on host `hostName`, a BGP peer to the ISP, and the tenant bridges' prefixes as networks
 * (used by the namespace lab and the compose lab alike).
 */
export async function createUplinkPeer(store: TopologyStore, hostName: string, iface: string): Promise<void> {
  const router = await store.resolve('router', 'edge');
  const host = await store.resolve('host', hostName);
  const port = await store.create('port', {
    name: UPLINK_PORT,
    deviceId: router.id,
    address: UPLINK_ADDRESS,
    hostId: host.id,
    interfaceName: iface,
  });
  await store.create('bgp-peer', {
    name: ISP_PEER,
    portId: port.id,
    peerAddress: ISP_ADDRESS,
    peerAs: ISP_AS,
    localAs: TENANT_AS,
    keepalive: 1,
    holdTime: 3,
  });
  for (const prefix of ['192.0.2.0/25', '192.0.2.128/25'])
    await store.create('bgp-network', { routerId: router.id, prefix });
}

/** Adds the ISP, the uplink, the BGP objects and midonet-router on hv1 to a lab that is up. */
export async function bgpLabUp(
  runDir: string,
  storeUrl: string,
  store: TopologyStore,
  say: (l: string) => void,
  names: LabNames,
  metricsListen: string,
): Promise<BgpLabState> {
  const hostNumber = 1;
  const hvNs = names.hvNamespace(hostNumber);
  const ispNs = names.ispNs;
  const uplinkIface = (n: number) => names.uplinkIface(n);
  say(
    `bgp: ISP namespace ${ispNs} (AS ${ISP_AS}) announcing ${ISP_ANNOUNCED}, uplink ${uplinkIface(hostNumber)} on hv${hostNumber}`,
  );
  await addNamespace(ispNs);
  await run(
    'sysctl',
    ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
    { netns: ispNs },
  );
  await addVeth(uplinkIface(hostNumber), hvNs, 'eth0', ispNs);
  await setAddress(ispNs, 'eth0', `${ISP_ADDRESS}/${UPLINK_PREFIX_LEN}`);
  await tryRun('ethtool', ['-K', 'eth0', 'tx', 'off'], { netns: ispNs });
  // The address "behind" the ISP: on its loopback (no dummy interfaces without the kernel module).
  await run('ip', ['addr', 'add', `${ISP_PINGABLE}/32`, 'dev', 'lo'], { netns: ispNs });
  const frr = ispFrr(ispNs);
  await frr.start();
  await frr.apply(renderFull(ispConfig(), 'isp'));

  await createUplinkPeer(store, `hv${hostNumber}`, uplinkIface(hostNumber));

  const r = writeRouterConfig(runDir, `hv${hostNumber}`, storeUrl, hvNs, names, metricsListen);
  say(`bgp: midonet-router on hv${hostNumber}`);
  startRouter(r);
  return {
    isp: {
      netns: ispNs,
      as: ISP_AS,
      address: ISP_ADDRESS,
      announces: ISP_ANNOUNCED,
      pingable: ISP_PINGABLE,
    },
    tenantAs: TENANT_AS,
    uplinkPort: UPLINK_PORT,
    uplinkAddress: UPLINK_ADDRESS,
    peer: ISP_PEER,
    routers: [r],
  };
}

/** Stops the lab's routers and FRR instances and removes their path spaces (namespaces go with the lab's). */
export async function bgpLabDown(runDir: string, names: LabNames): Promise<void> {
  if (existsSync(runDir)) {
    for (const d of readdirSync(runDir)) if (/^hv\d+$/.test(d)) await stopRouter(join(runDir, d));
  }
  for (const base of [FRR_RUN_BASE, FRR_ETC_BASE]) {
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) {
      if (!d.startsWith(names.prefix)) continue;
      await new FrrInstance(d).stop();
    }
  }
}
