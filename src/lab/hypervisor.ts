/**
 * One lab hypervisor: a network namespace with its own Open vSwitch (userspace datapath), an underlay
 * link into the shared underlay bridge carried by a netdev `br-phy` that holds its underlay address,
 * and a midonet-agent process (in the root namespace, reaching that OVS through its sockets) with
 * its own configuration, state directory and log.
 *
 * Invariant: everything a hypervisor started is named by files in its run directory (OVS pid files,
 * agent.pid), so `stopHypervisor` can stop it again after any crash.
 */
import { spawn } from 'node:child_process';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '../agent/heap-shape.js';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, processAlive } from '../exec.js';
import type { Ovs } from '../ovs/ovs.js';
import { addNamespace, addVeth } from './netns.js';
import { startOvs, stopOvs } from './ovs-daemons.js';
import {
  UNDERLAY_BRIDGE,
  UNDERLAY_MTU,
  hvName,
  hvUnderlayIp,
  UNDERLAY_PREFIX_LEN,
  type LabNames,
} from './layout.js';

const AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));

/**
 * Loopback address of hypervisor `n`'s agent metrics (/metrics, /health): one port per host, above
 * the daemons' defaults (agent 9464, router 9465) so a lab never takes a real daemon's port.
 */
export function labMetricsListen(n: number): string {
  return `127.0.0.1:${9470 + n}`;
}

/** Loopback endpoint of hypervisor `n`'s agent channel to the other agents (ZeroMQ with CURVE). */
export function labPeersListen(n: number): string {
  return `tcp://127.0.0.1:${9570 + n}`;
}

/** The loopback ports of one hypervisor's agent. */
export interface AgentPorts {
  /** HOST:PORT of /metrics and /health. */
  readonly metricsListen: string;
  /** tcp://HOST:PORT of the channel to the other agents. */
  readonly peersListen: string;
}

/**
 * `count` distinct loopback TCP ports nothing listens on now (the system picks them; all are held
 * open together while picking, so no two are the same).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (srv) =>
          new Promise<number>((resolve, reject) => {
            srv.once('error', reject);
            srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  }
}

/** True when a loopback TCP port can be listened on now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * The loopback ports of a lab's agents (one AgentPorts per host) and of its midonet-router: the fixed,
 * documented ones for the default lab (agents 9470+n and 9570+n, router 9480+n), distinct ports the
 * system picks for a named lab (so labs side by side never share one).
 */
export async function labPorts(
  names: LabNames,
  hosts: number,
  routerBase: number,
): Promise<{ agents: AgentPorts[]; router: string }> {
  if (names.name === null)
    return {
      agents: Array.from({ length: hosts }, (_, i) => ({
        metricsListen: labMetricsListen(i + 1),
        peersListen: labPeersListen(i + 1),
      })),
      router: `127.0.0.1:${routerBase + 1}`,
    };
  const p = await freePorts(2 * hosts + 1);
  return {
    agents: Array.from({ length: hosts }, (_, i) => ({
      metricsListen: `127.0.0.1:${p[2 * i]}`,
      peersListen: `tcp://127.0.0.1:${p[2 * i + 1]}`,
    })),
    router: `127.0.0.1:${p[2 * hosts]}`,
  };
}

export interface Hypervisor {
  readonly n: number;
  readonly name: string;
  readonly netns: string;
  readonly dir: string;
  readonly underlayIp: string;
  readonly ovs: Ovs;
  readonly agentConfig: string;
  readonly controlSocket: string;
  /** HOST:PORT of the agent's /metrics and /health. */
  readonly metricsListen: string;
  /** The agent's endpoint for the other agents. */
  readonly peersListen: string;
}

/**
 * Puts the underlay interface `iface` into a netdev bridge `br-phy` that carries the host's underlay
 * address `cidr`: with the userspace datapath, OVS sends tunnel packets through its own bridges, so
 * the tunnel's local address must live on one (any address `iface` had moves to br-phy).
 */
export async function attachUnderlay(
  ovs: Ovs,
  iface: string,
  cidr: string,
  netns: string | undefined,
  /** The MTU of br-phy (UNDERLAY_MTU where the underlay carries jumbo frames); default OVS's. */
  mtu?: number,
): Promise<void> {
  await run('ip', ['addr', 'flush', 'dev', iface], { netns });
  await ovs.vsctl([
    '--may-exist',
    'add-br',
    'br-phy',
    '--',
    'set',
    'bridge',
    'br-phy',
    'datapath_type=netdev',
    '--',
    '--may-exist',
    'add-port',
    'br-phy',
    iface,
    ...(mtu !== undefined ? ['--', 'set', 'interface', 'br-phy', `mtu_request=${mtu}`] : []),
  ]);
  await run('ip', ['addr', 'replace', cidr, 'dev', 'br-phy'], { netns });
  await run('ip', ['link', 'set', 'br-phy', 'up'], { netns });
}

/** Creates the namespace, OVS and underlay of hypervisor `n` (no agent yet). */
export async function createHypervisor(
  runDir: string,
  n: number,
  storeUrl: string,
  names: LabNames,
  ports: AgentPorts,
  agent: { readonly macLifetimeMs?: number; readonly idleTimeout?: number } = {},
): Promise<Hypervisor> {
  const netns = names.hvNamespace(n);
  const dir = join(runDir, hvName(n));
  mkdirSync(dir, { recursive: true });
  await addNamespace(netns);
  const ovs = await startOvs(join(dir, 'ovs'), netns);
  // Underlay: a veth from br-phy (netdev) to the underlay namespace's Linux bridge.
  await addVeth(names.hvUplink(n), netns, names.underlayPort(n), names.underlayNs);
  await run('ip', ['link', 'set', names.hvUplink(n), 'mtu', String(UNDERLAY_MTU)], { netns });
  await run('ip', ['link', 'set', names.underlayPort(n), 'mtu', String(UNDERLAY_MTU)], {
    netns: names.underlayNs,
  });
  await run('ip', ['link', 'set', names.underlayPort(n), 'master', UNDERLAY_BRIDGE], {
    netns: names.underlayNs,
  });
  await attachUnderlay(
    ovs,
    names.hvUplink(n),
    `${hvUnderlayIp(n)}/${UNDERLAY_PREFIX_LEN}`,
    netns,
    UNDERLAY_MTU,
  );
  const controlSocket = join(dir, 'run', 'agent-control.sock');
  const agentConfig = join(dir, 'agent.json');
  writeFileSync(
    agentConfig,
    `${JSON.stringify(
      {
        store: storeUrl,
        hostName: hvName(n),
        stateDir: join(dir, 'state'),
        runDir: join(dir, 'run'),
        logLevel: 'info',
        ovs: {
          dbSock: join(dir, 'ovs', 'db.sock'),
          runDir: join(dir, 'ovs'),
          bridge: 'br-int',
          datapathType: 'netdev',
        },
        tunnel: { localIp: hvUnderlayIp(n) },
        flows: { idleTimeout: agent.idleTimeout ?? 300 },
        heartbeatMs: 500,
        ...(agent.macLifetimeMs === undefined ? {} : { macLifetimeMs: agent.macLifetimeMs }),
        metrics: { listen: ports.metricsListen },
        peers: { listen: ports.peersListen },
      },
      null,
      2,
    )}\n`,
  );
  return {
    n,
    name: hvName(n),
    netns,
    dir,
    underlayIp: hvUnderlayIp(n),
    ovs,
    agentConfig,
    controlSocket,
    metricsListen: ports.metricsListen,
    peersListen: ports.peersListen,
  };
}

export function agentPid(hv: Pick<Hypervisor, 'dir'>): number | undefined {
  const f = join(hv.dir, 'agent.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return pid > 0 && processAlive(pid) ? pid : undefined;
}

/**
 * Starts the hypervisor's midonet-agent as a background process logging to DIR/agent.log, with the
 * agent's own node flags and environment (heap-shape.ts), as bin/midonet-agent starts it.
 */
export function startAgent(hv: Hypervisor): number {
  const log = openSync(join(hv.dir, 'agent.log'), 'a');
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, AGENT_MAIN, '--config', hv.agentConfig], {
    stdio: ['ignore', log, log],
    detached: true,
    env: { ...process.env, ...AGENT_ENV },
  });
  child.unref();
  writeFileSync(join(hv.dir, 'agent.pid'), `${child.pid}\n`);
  return child.pid!;
}

/** Stops the agent: SIGTERM (clean shutdown), or SIGKILL with `crash` (flows must keep forwarding). */
export async function stopAgent(hv: Pick<Hypervisor, 'dir'>, crash = false): Promise<void> {
  const pid = agentPid(hv);
  if (pid !== undefined) {
    process.kill(pid, crash ? 'SIGKILL' : 'SIGTERM');
    for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(join(hv.dir, 'agent.pid'), { force: true });
}

/** Stops the agent and OVS of a hypervisor directory (the namespace is removed by the caller). */
export async function stopHypervisor(dir: string): Promise<void> {
  await stopAgent({ dir });
  await stopOvs(join(dir, 'ovs'));
}
