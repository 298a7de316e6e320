/**
 * The evaluation's filter chains (eval.ts): a bridge's inbound chain replaced by one of the step's
 * rules (parts 2 and 3), and the layer 4 steps on a routed pair (LAYER4_STEPS: routed, a stateful
 * firewall, source NAT, a floating IP), whose chains replace each other on the lab's router.
 *
 * Invariant: a chain is installed in one transaction (the bridge never points at a half-made chain);
 * the layer 4 steps give the router its own chains back and remove their chains, also on failure.
 */
import type { Op, TopologyStore } from '../state/store.js';
import { ROUTER, type LabVm } from './lab.js';
import { LAYER4_STEPS } from './eval-cases.js';
import type { CaseResult } from './eval-report.js';

/** Replaces the bridge's inbound chain with a new one made of `rules` (one transaction). */
export async function installChain(
  store: TopologyStore,
  bridgeName: string,
  name: string,
  rules: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  const bridge = await store.resolve('bridge', bridgeName);
  const old = bridge.inboundChainId;
  const chainId = crypto.randomUUID();
  const ops: Op[] = [{ op: 'create', kind: 'chain', id: chainId, fields: { name } }];
  for (const r of rules) ops.push({ op: 'create', kind: 'rule', fields: { chainId, ...r } });
  ops.push({ op: 'update', kind: 'bridge', id: bridge.id, set: { inboundChainId: chainId } });
  if (old) ops.push({ op: 'delete', kind: 'chain', id: old, cascade: true });
  await store.transact(ops);
  await new Promise((r) => setTimeout(r, rules.length > 1000 ? 1500 : 300)); // let agents apply it
}

/** Removes the bridge's inbound chain, if it has one. */
export async function removeChain(store: TopologyStore, bridgeName: string): Promise<void> {
  const bridge = await store.resolve('bridge', bridgeName);
  if (bridge.inboundChainId) await store.delete('chain', bridge.inboundChainId, { cascade: true });
}

/** How a layer 4 step measures its pair: first/later RTT of TCP flows to `to`, and iperf3 to `to`. */
export interface Layer4Probes {
  readonly measure: (name: string, to: string, basePort: number) => Promise<CaseResult>;
  readonly iperf: (name: string, to: string) => Promise<number>;
}

/**
 * The layer 4 steps on a routed pair (LAYER4_STEPS): each step's chains replace the last one's on
 * the router; the router's chains are given back, and the step chains removed, also on failure.
 */
export async function layer4Steps(
  store: TopologyStore,
  p: { readonly src: LabVm; readonly dst: LabVm },
  probes: Layer4Probes,
): Promise<CaseResult[]> {
  const router = await store.resolve('router', ROUTER);
  const ports = (await store.list('port')).filter((x) => x.deviceId === router.id);
  const portOf = (vm: LabVm) => ports.find((x) => x.address?.startsWith(`${vm.gateway}/`))?.id;
  const srcPort = portOf(p.src);
  const dstPort = portOf(p.dst);
  if (srcPort === undefined || dstPort === undefined)
    throw new Error(`eval: router ${ROUTER} has no port on the bridges of ${p.src.name} and ${p.dst.name}`);
  const keep = {
    inboundChainId: router.inboundChainId,
    natInboundChainId: router.natInboundChainId,
    natOutboundChainId: router.natOutboundChainId,
  };
  const out: CaseResult[] = [];
  const made: string[] = [];
  try {
    for (const [i, step] of LAYER4_STEPS.entries()) {
      const set: Record<string, string | null> = { ...keep };
      for (const [field, rules] of Object.entries(
        step.chains({
          src: p.src.ip,
          dst: p.dst.ip,
          srcGateway: p.src.gateway,
          dstGateway: p.dst.gateway,
          srcPort,
          dstPort,
        }),
      )) {
        const chain = await store.create('chain', { name: `eval-l4-${i}-${field}-${Date.now()}` });
        made.push(chain.id);
        for (const r of rules) await store.create('rule', { chainId: chain.id, ...r });
        set[field] = chain.id;
      }
      await store.update('router', router.id, set);
      await new Promise((r) => setTimeout(r, 300)); // let agents apply it
      const to = step.target ?? p.dst.ip;
      const c = await probes.measure(step.name, to, 25000 + i * 300);
      c.throughputMbps = await probes.iperf(step.name, to);
      out.push(c);
    }
  } finally {
    await store.update('router', router.id, keep).catch(() => undefined);
    for (const id of made) await store.delete('chain', id, { cascade: true }).catch(() => undefined);
  }
  return out;
}
