/**
 * Lab VMs addressed by the agents' DHCP server (`midonet-lab up --addressing dhcp`): each tenant
 * bridge gets a DHCP subnet whose static host entries give every VM the address the lab planned for
 * it (so tests and the evaluation find VMs where they always were), and every VM runs Debian's busybox
 * `udhcpc` once, which sets the address, MTU and default route the agent's server hands out
 * (scripts/lab/udhcpc-hook.sh).
 *
 * Invariant: when `addressByDhcp` resolves, every VM has exactly the address it was planned for, from
 * a DHCP exchange with its own host's agent; a VM that gets no lease or another address is an error
 * naming it, never a silent fallback to `ip addr add`.
 */
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../control/control-api.js';
import { run } from '../exec.js';
import type { TopologyStore } from '../state/store.js';

const HOOK = fileURLToPath(new URL('../../../scripts/lab/udhcpc-hook.sh', import.meta.url));

/** What this module needs of a lab VM (lab.ts LabVm). */
export interface DhcpVm {
  readonly name: string;
  readonly netns: string;
  readonly bridge: string;
  readonly ip: string;
  readonly mac: string;
}

/** What this module needs of a lab bridge (lab.ts BRIDGES). */
export interface DhcpBridge {
  readonly name: string;
  readonly net: string;
  readonly len: number;
  readonly gateway: string;
}

/** One DHCP subnet per bridge with a static host entry per VM on it. */
export async function createLabDhcp(
  store: TopologyStore,
  bridges: readonly DhcpBridge[],
  vms: readonly DhcpVm[],
): Promise<void> {
  for (const b of bridges) {
    const bridge = await store.resolve('bridge', b.name);
    await store.create('dhcp', {
      name: `${b.name}-dhcp`,
      bridgeId: bridge.id,
      subnet: `${b.net}/${b.len}`,
      gateway: b.gateway,
      hosts: vms.filter((v) => v.bridge === b.name).map((v) => ({ mac: v.mac, address: v.ip, name: v.name })),
    });
  }
}

/** Waits until every agent (by control socket) has applied the store's changes so far. */
export async function waitApplied(store: TopologyStore, controlSockets: readonly string[]): Promise<void> {
  const position = await store.position();
  const deadline = Date.now() + 30000;
  for (const sock of controlSockets) {
    for (;;) {
      const st = (await controlRequest(sock, { cmd: 'stats' }).catch(() => ({}))) as {
        lastChangeSeq?: number;
      };
      if ((st.lastChangeSeq ?? 0) >= position) break;
      if (Date.now() > deadline)
        throw new Error(`the agent at ${sock} did not apply the DHCP subnets in 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs udhcpc once in every VM (in parallel) and checks each got its planned address. */
export async function addressByDhcp(vms: readonly DhcpVm[]): Promise<void> {
  await Promise.all(vms.map((v) => addressOne(v)));
}

async function addressOne(v: DhcpVm): Promise<void> {
  // -q: exit once bound; -n: exit (non-zero) when no lease came; -t/-T/-A: 10 tries a second apart.
  const args = ['udhcpc', '-q', '-n', '-f', '-i', 'eth0', '-s', HOOK, '-t', '10', '-T', '1', '-A', '1'];
  try {
    await run('busybox', [...args, '-O', 'mtu'], { netns: v.netns, timeoutMs: 30000 });
  } catch (e) {
    throw new Error(`vm ${v.name}: no DHCP lease from its agent: ${(e as Error).message}`);
  }
  const shown = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'], { netns: v.netns });
  if (!shown.includes(` ${v.ip}/`))
    throw new Error(`vm ${v.name}: DHCP gave ${shown.trim() || 'no address'}, expected ${v.ip}`);
}
