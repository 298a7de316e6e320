/**
 * The evaluation's filter chains (eval.ts): a bridge's inbound chain replaced by one of the step's
 * rules (part 2's features one by one, FEATURE_STEPS, and part 3's rule sets growing), and the layer 4 steps on a routed pair (LAYER4_STEPS: routed, a stateful
 * firewall, source NAT, a floating IP), whose chains replace each other on the lab's router.
 *
 * Invariant: a chain is installed in one transaction (the bridge never points at a half-made chain);
 * the layer 4 steps give the router its own chains back and remove their chains, also on failure.
 */
import type { Op, TopologyStore } from '../state/store.js';
import { ROUTER, type LabVm } from './lab.js';
import { FEATURE_STEPS, LAYER4_STEPS, featureGroupAddresses, growthRules } from './eval-cases.js';
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

/** How a bridge step measures the probes' pair: first/later RTT of its flows, and iperf3. */
export interface BridgeProbes {
  readonly measure: (name: string) => Promise<CaseResult>;
  readonly iperf: (name: string) => Promise<number>;
}

/**
 * Part 2's filter features on the source VM's bridge, enabled one by one (FEATURE_STEPS: each step's
 * rule added to the last step's chain), measured with iperf3 after each; the chain, the address
 * group and the port group the steps read are removed, also on failure.
 */
export async function featureSteps(
  store: TopologyStore,
  p: { readonly src: LabVm; readonly dst: LabVm },
  probes: BridgeProbes,
): Promise<CaseResult[]> {
  const steps: CaseResult[] = [];
  const rules: Array<Record<string, unknown>> = [];
  const ipg = await store.create('ip-address-group', {
    name: `eval-group-${Date.now()}`,
    addresses: featureGroupAddresses(p.dst.ip),
  });
  // The port-group step's group: the bridge ports of the probes' two VMs.
  const pg = await store.create('port-group', {
    name: `eval-ports-${Date.now()}`,
    portIds: [(await store.resolve('port', p.src.port)).id, (await store.resolve('port', p.dst.port)).id],
  });
  try {
    for (const step of FEATURE_STEPS) {
      if (step.rule) rules.push(step.rule({ ipAddrGroup: ipg.id, portGroup: pg.id }));
      if (rules.length > 0) await installChain(store, p.src.bridge, `eval-features-${steps.length}`, rules);
      const c = await probes.measure(step.name);
      c.throughputMbps = await probes.iperf(step.name);
      steps.push(c);
    }
  } finally {
    await removeChain(store, p.src.bridge);
    await store.delete('ip-address-group', ipg.id).catch(() => undefined);
    await store.delete('port-group', pg.id).catch(() => undefined);
  }
  return steps;
}

/**
 * Part 3: the source VM's bridge given a chain of each size in turn (growthRules: the matching rule
 * near the end), measured with each; the chain is removed, also on failure.
 */
export async function ruleGrowthSteps(
  store: TopologyStore,
  src: LabVm,
  sizes: readonly number[],
  measure: (name: string) => Promise<CaseResult>,
): Promise<CaseResult[]> {
  const growth: CaseResult[] = [];
  try {
    for (const n of sizes) {
      await installChain(store, src.bridge, `eval-rules-${n}`, growthRules(n, src));
      const c = await measure(`${n} rules`);
      c.rules = n;
      growth.push(c);
    }
  } finally {
    await removeChain(store, src.bridge);
  }
  return growth;
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
