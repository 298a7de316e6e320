/**
 * The one-machine lab: N hypervisors (namespaces with their own Open vSwitch and midonet-agent) on a
 * shared underlay, VMs as namespaces attached to their hypervisor's br-int, a tunnel zone with every
 * host, and a demo tenant topology made through the store API the CLI uses: two bridges spread over
 * the hosts, joined by a router, so VMs ping within and across bridges and hosts.
 *
 * Labs live side by side: each has a name (none for the default lab), a name prefix for everything
 * it makes (layout.ts), a run directory and agent ports of its own, so a benchmark or a test brings up
 * its own lab and never touches the user's.
 *
 * Invariants: `up` refuses, before changing anything, to bring up a lab whose name is already up (its
 * lab.json), being brought up (a live owner), or whose prefix another run directory's lab holds; it
 * only removes leftovers of an earlier crashed bring-up of the same lab in the same run directory
 * (owner.json, written first). `down` removes everything its lab made (by pid files in the run
 * directory and the lab's prefix), also after a crash, and nothing of another lab. The lab's state is
 * written to RUN_DIR/lab.json so status, exec and down work from any later process.
 *
 * Over 450 lines: one job, a lab's life (preflight, up, the demo topology, status, down); hypervisors
 * are in hypervisor.ts, VMs and the baseline network in lab-vms.ts, the ISP in bgp-lab.ts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive, run } from '../exec.js';
import { openStore } from '../state/open.js';
import type { TopologyStore } from '../state/store.js';
import { Ovs } from '../ovs/ovs.js';
import { controlRequest } from '../control/control-api.js';
import {
  createHypervisor,
  labPorts,
  portIsFree,
  startAgent,
  stopHypervisor,
  type AgentPorts,
  type Hypervisor,
} from './hypervisor.js';
import {
  UNDERLAY_BRIDGE,
  UNDERLAY_MTU,
  hvName,
  labNames,
  vmBaselineIp,
  vmMac,
  type LabNames,
} from './layout.js';
import { addNamespace, listNamespaces, removeByPrefix } from './netns.js';
import { ROUTER_METRICS_BASE, bgpLabDown, bgpLabUp, type BgpLabState } from './bgp-lab.js';
import { startLabLbHealth, stopLabLbHealth } from './lb-lab.js';
import { ecmpLabUp, ecmpMetricsListen, type EcmpUplink } from './ecmp-lab.js';
import { addressByDhcp, createLabDhcp, waitApplied } from './vm-dhcp.js';
import { TENANT_PREFIX6, slaacAddress, waitSlaac } from './vm-ipv6.js';
import { BRIDGES, ROUTER, createDemoTopology } from './demo-topology.js';
import {
  addBaselineInterface,
  addBaselineNetwork,
  addVm,
  ipAdd,
  ipLast,
  matchBaselineMtu,
  warmUnderlay,
} from './lab-vms.js';

export { addVm, createVmPort, vmExec } from './lab-vms.js';
export { BRIDGES, ROUTER, createDemoTopology } from './demo-topology.js';

/** A lab cannot be brought up or down as asked; the message is one line, nothing was changed. */
export class LabClash extends Error {}

export interface LabOptions {
  readonly runDir: string;
  /** The lab's name (layout.ts); absent or null: the default lab. */
  readonly name?: string | null;
  readonly hosts: number;
  readonly vmsPerHost: number;
  readonly tunnel: 'gre' | 'vxlan';
  /** Store URL; default: a fresh SQLite file in the run directory. */
  readonly storeUrl?: string;
  /** Progress lines for people. */
  readonly say?: (line: string) => void;
  /** Add an ISP running FRR, an uplink and midonet-router (bgp-lab.ts). */
  readonly bgp?: boolean;
  /** With bgp and 2+ hosts: a second uplink on hv2, the ISP's default route learned twice (ecmp-lab.ts). */
  readonly ecmp?: boolean;
  /** The agents' MAC aging (ms; default the agent's) and flows' idle timeout (s; default 300): tests of aging use short ones. */
  readonly macLifetimeMs?: number;
  readonly idleTimeout?: number;
  /** Progress of the bring-up, in steps. */
  readonly progress?: (done: number, total: number, label: string) => void;
  /**
   * How VMs get their IPv4 address: `ip addr add` (the default here, for tests that need no DHCP
   * object in the store) or the agents' DHCP server (vm-dhcp.ts; `midonet-lab up`'s default).
   */
  readonly addressing?: 'static' | 'dhcp';
  /** Start midonet-lb-health on every hypervisor (lb-lab.ts). */
  readonly lbHealth?: boolean;
}

export interface LabVm {
  readonly name: string;
  readonly netns: string;
  readonly host: string;
  readonly hostNumber: number;
  readonly bridge: string;
  readonly port: string;
  readonly ip: string;
  readonly prefixLen: number;
  readonly mac: string;
  readonly gateway: string;
  /** Address on the baseline network (eth1, plain OVS NORMAL bridge, no agent). */
  readonly baselineIp: string;
}

export interface LabHost {
  readonly name: string;
  readonly number: number;
  readonly netns: string;
  readonly dir: string;
  readonly underlayIp: string;
  readonly controlSocket: string;
  readonly ovsDbSock: string;
  readonly ovsRunDir: string;
  /** HOST:PORT of the agent's /metrics and /health (absent in labs made before names). */
  readonly metricsListen?: string;
}

/** What lab.json holds. */
export interface LabState {
  /** null: the default lab (absent in labs made before names). */
  readonly name?: string | null;
  /** The prefix of everything the lab made (layout.ts). */
  readonly prefix?: string;
  readonly runDir: string;
  readonly storeUrl: string;
  readonly tunnel: 'gre' | 'vxlan';
  readonly hosts: LabHost[];
  readonly vms: LabVm[];
  readonly createdAt: string;
  /** With --bgp: the ISP and the router processes (bgp-lab.ts); with --ecmp its second uplink (ecmp-lab.ts). */
  readonly bgp?: BgpLabState & { readonly ecmp?: EcmpUplink };
}

export function labStatePath(runDir: string): string {
  return join(runDir, 'lab.json');
}

export function readLabState(runDir: string): LabState | undefined {
  const f = labStatePath(runDir);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as LabState) : undefined;
}

/** RUN_DIR/owner.json: written first by `up`, so a crashed bring-up is known for what it was. */
interface LabOwner {
  readonly name: string | null;
  readonly pid: number;
  readonly startedAt: string;
}

function ownerPath(runDir: string): string {
  return join(runDir, 'owner.json');
}

function readOwner(runDir: string): LabOwner | undefined {
  const f = ownerPath(runDir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as LabOwner;
  } catch {
    return undefined;
  }
}

/** `lab 'x'` or `the default lab`, for messages. */
export function labLabel(name: string | null): string {
  return name === null ? 'the default lab' : `lab '${name}'`;
}

const nameArg = (name: string | null): string => (name === null ? '' : ` --name ${name}`);

/** The names of the lab in `runDir` (its owner or state file), else of the lab called `name`. */
export function namesOf(runDir: string, name?: string | null): LabNames {
  const recorded = readOwner(runDir)?.name ?? readLabState(runDir)?.name;
  if (name !== undefined && recorded !== undefined && recorded !== name)
    throw new LabClash(
      `${runDir} holds ${labLabel(recorded)}, not ${labLabel(name)}; give --run-dir of that lab or no --name`,
    );
  return labNames(name !== undefined ? name : (recorded ?? null));
}

export function hostOvs(h: LabHost): Ovs {
  return new Ovs({ dbSock: h.ovsDbSock, runDir: h.ovsRunDir });
}

/**
 * Removes everything the lab of `runDir` left (processes, namespaces, links, files), also after a
 * crash: the lab named in its owner or state file, else the one called `name` (default: the default
 * lab). Nothing of another lab is touched.
 */
export async function labDown(
  runDir: string,
  say: (l: string) => void = () => undefined,
  name?: string | null,
): Promise<string[]> {
  const names = namesOf(runDir, name);
  await bgpLabDown(runDir, names); // BGP: midonet-router processes and FRR path spaces (bgp-lab.ts)
  if (existsSync(runDir)) {
    for (const d of readdirSync(runDir)) {
      if (/^hv\d+$/.test(d)) {
        await stopLabLbHealth(join(runDir, d)); // before its agent: it may still write the store
        await stopHypervisor(join(runDir, d));
      }
    }
  }
  const removed = await removeByPrefix(names.prefix);
  if (removed.length > 0)
    say(
      `removed ${removed.length} namespaces/links: ${removed.slice(0, 6).join(' ')}${removed.length > 6 ? ' ...' : ''}`,
    );
  rmSync(runDir, { recursive: true, force: true });
  return removed;
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`lab: ${what} did not happen within ${timeoutMs / 1000} s`);
}

/** Waits until the agent of `hostName` is alive and connected to its switch. */
export async function waitForAgent(
  store: TopologyStore,
  hostName: string,
  timeoutMs = 30000,
): Promise<string> {
  let id = '';
  await waitFor(`agent of ${hostName} connecting`, timeoutMs, async () => {
    const hosts = await store.list('host');
    const h = hosts.find((x) => x.name === hostName);
    if (!h) return false;
    id = h.id;
    const l = (await store.liveness()).find((x) => x.hostId === h.id);
    return l?.alive === true && l.info.openflowConnected === true;
  });
  return id;
}

/**
 * Checks, before anything is changed, that the lab can come up in `runDir`: not up already, not being
 * brought up, its prefix not held by a lab of another run directory, its fixed ports free. Returns
 * the agent ports to use. Leftovers of an earlier crashed bring-up of this same lab are fine (removed).
 */
async function preflight(
  opts: LabOptions,
  names: LabNames,
): Promise<{ agents: AgentPorts[]; router: string }> {
  const label = labLabel(names.name);
  const state = readLabState(opts.runDir);
  if (state)
    throw new LabClash(
      `${label} is already up in ${opts.runDir} (since ${state.createdAt}); bring it down first: midonet-lab down${nameArg(names.name)}`,
    );
  const owner = readOwner(opts.runDir);
  if (owner && owner.name !== names.name)
    throw new LabClash(`${opts.runDir} holds ${labLabel(owner.name)}; give another --run-dir`);
  if (owner && owner.pid !== process.pid && processAlive(owner.pid))
    throw new LabClash(`${label} is being brought up in ${opts.runDir} by process ${owner.pid}`);
  const held = (await listNamespaces()).filter((ns) => ns.startsWith(names.prefix));
  if (held.length > 0 && owner === undefined)
    throw new LabClash(
      `${label} already has namespaces (${held.slice(0, 3).join(' ')}) that ${opts.runDir} did not make: another run directory holds it; use another --name, or remove it with midonet-lab down${nameArg(names.name)}`,
    );
  const ports = await labPorts(names, opts.hosts, ROUTER_METRICS_BASE);
  if (names.name === null) {
    for (const [i, p] of ports.agents.entries()) {
      for (const ep of [p.metricsListen, p.peersListen]) {
        const port = Number(/:(\d+)$/.exec(ep)![1]);
        if (!(await portIsFree(port)))
          throw new LabClash(
            `port ${port} of ${hvName(i + 1)}'s agent is in use (another lab or daemon holds it); bring the lab up with --name NAME to get ports of its own`,
          );
      }
    }
  }
  return ports;
}

/** The IPv6 address a lab VM configures by SLAAC on its bridge's prefix (vm-ipv6.ts). */
export function vmIpv6(v: Pick<LabVm, 'bridge' | 'mac'>): string {
  return slaacAddress(TENANT_PREFIX6[BRIDGES.findIndex((b) => b.name === v.bridge)]!, v.mac);
}

export async function labUp(opts: LabOptions): Promise<LabState> {
  const say = opts.say ?? (() => undefined);
  const names = labNames(opts.name ?? null);
  const outside = (n: number) => !Number.isInteger(n) || n < 1 || n > 50;
  if (outside(opts.hosts)) throw new LabClash(`--hosts ${opts.hosts}: allowed 1 to 50`);
  if (outside(opts.vmsPerHost)) throw new LabClash(`--vms-per-host ${opts.vmsPerHost}: allowed 1 to 50`);
  if (opts.ecmp === true && (opts.bgp !== true || opts.hosts < 2))
    throw new LabClash(
      `--ecmp needs --bgp and --hosts 2 or more (its second uplink is on hv2); got --hosts ${opts.hosts}${opts.bgp === true ? '' : ' without --bgp'}`,
    );
  const ports = await preflight(opts, names);
  if (readOwner(opts.runDir)) await labDown(opts.runDir, say, names.name); // a crashed earlier bring-up
  mkdirSync(opts.runDir, { recursive: true });
  const owner: LabOwner = { name: names.name, pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(ownerPath(opts.runDir), `${JSON.stringify(owner)}\n`);
  const total = 4 + opts.hosts * (1 + opts.vmsPerHost) + (opts.bgp ? 1 : 0);
  let done = 0;
  const step = (label: string) => {
    say(label);
    opts.progress?.(done++, total, label);
  };
  const storeUrl = opts.storeUrl ?? `sqlite:${join(opts.runDir, 'state.db')}`;
  const store = await openStore(storeUrl);
  try {
    step(`underlay: namespace ${names.underlayNs}, bridge ${UNDERLAY_BRIDGE}`);
    await addNamespace(names.underlayNs);
    await run('ip', ['link', 'add', UNDERLAY_BRIDGE, 'mtu', String(UNDERLAY_MTU), 'type', 'bridge'], {
      netns: names.underlayNs,
    });
    await run('ip', ['link', 'set', UNDERLAY_BRIDGE, 'up'], { netns: names.underlayNs });

    const hvs: Hypervisor[] = [];
    for (let n = 1; n <= opts.hosts; n++) {
      step(`hypervisor ${hvName(n)}: namespace, Open vSwitch (userspace datapath), underlay, agent`);
      const hv = await createHypervisor(opts.runDir, n, storeUrl, names, ports.agents[n - 1]!, {
        ...(opts.macLifetimeMs === undefined ? {} : { macLifetimeMs: opts.macLifetimeMs }),
        ...(opts.idleTimeout === undefined ? {} : { idleTimeout: opts.idleTimeout }),
      });
      startAgent(hv);
      hvs.push(hv);
    }
    await addBaselineNetwork(hvs);
    await warmUnderlay(hvs);
    const hostIds: string[] = [];
    step('waiting for the agents to connect to their switches');
    for (const hv of hvs) hostIds.push(await waitForAgent(store, hv.name));

    step(
      `topology: tunnel zone (${opts.tunnel}), bridges ${BRIDGES.map((b) => b.name).join(', ')}, router ${ROUTER}`,
    );
    await createDemoTopology(
      store,
      opts.tunnel,
      hvs.map((hv, i) => ({ hostId: hostIds[i]!, address: hv.underlayIp })),
    );

    const vms: LabVm[] = [];
    const dhcp = opts.addressing === 'dhcp';
    let count = 0;
    for (const hv of hvs) {
      for (let i = 0; i < opts.vmsPerHost; i++) {
        const b = BRIDGES[count % BRIDGES.length]!;
        const index = Math.floor(count / BRIDGES.length);
        count++;
        const name = `vm${count}`;
        const vm: LabVm = {
          name,
          netns: names.vmNamespace(name),
          host: hv.name,
          hostNumber: hv.n,
          bridge: b.name,
          port: `${name}-port`,
          ip: ipAdd(b.net, b.first - ipLast(b.net) + index),
          prefixLen: b.len,
          mac: vmMac(BRIDGES.indexOf(b) + 1, index + 1),
          gateway: b.gateway,
          baselineIp: vmBaselineIp(count),
        };
        step(`vm ${name}: ${vm.ip}/${vm.prefixLen} on ${b.name}, host ${hv.name}`);
        await addVm(store, hv, vm, names, dhcp);
        await addBaselineInterface(hv, vm, names);
        vms.push(vm);
      }
    }
    // Ready when every agent has put every VM of its host on its bridge and is connected to every
    // other agent (learned MAC and ARP entries sent before that are lost to the peer channel, and a
    // first packet then waits for the store's copy, about a second).
    for (const hv of hvs) {
      const want = vms.filter((v) => v.host === hv.name).length;
      await waitFor(
        `agent of ${hv.name} binding ${want} VM ports and reaching its peers`,
        30000,
        async () => {
          const s = (await controlRequest(hv.controlSocket, { cmd: 'stats' }).catch(() => ({}))) as {
            portsBound?: number;
            peers?: { connected?: number };
          };
          return (s.portsBound ?? 0) >= want && (s.peers?.connected ?? 0) >= hvs.length - 1;
        },
      );
    }
    if (dhcp) {
      step("VM addresses from the agents' DHCP server (busybox udhcpc in every VM)");
      await createLabDhcp(store, BRIDGES, vms);
      await waitApplied(
        store,
        hvs.map((hv) => hv.controlSocket),
      );
      await addressByDhcp(vms);
    }
    await matchBaselineMtu(vms);
    step('IPv6: every VM configures its address by SLAAC from the router');
    await waitSlaac(
      vms.map((v) => ({
        netns: v.netns,
        address: vmIpv6(v),
      })),
    );
    if (opts.bgp) step('bgp: an ISP running FRR, the uplink and midonet-router');
    const routerMetrics = ports.router;
    const bgp1 = opts.bgp
      ? await bgpLabUp(opts.runDir, storeUrl, store, say, names, routerMetrics)
      : undefined;
    const bgp =
      bgp1 && opts.ecmp === true
        ? await ecmpLabUp(opts.runDir, storeUrl, store, say, names, bgp1, await ecmpMetricsListen(names))
        : bgp1;
    opts.progress?.(total, total, 'lab up');
    const state: LabState = {
      name: names.name,
      prefix: names.prefix,
      runDir: opts.runDir,
      storeUrl,
      tunnel: opts.tunnel,
      hosts: hvs.map((hv) => ({
        name: hv.name,
        number: hv.n,
        netns: hv.netns,
        dir: hv.dir,
        underlayIp: hv.underlayIp,
        controlSocket: hv.controlSocket,
        ovsDbSock: hv.ovs.ep.dbSock,
        ovsRunDir: hv.ovs.ep.runDir,
        metricsListen: hv.metricsListen,
      })),
      vms,
      createdAt: new Date().toISOString(),
      ...(bgp ? { bgp } : {}),
    };
    writeFileSync(labStatePath(opts.runDir), `${JSON.stringify(state, null, 2)}\n`);
    if (opts.lbHealth) startLabLbHealth(state);
    return state;
  } finally {
    await store.close();
  }
}
