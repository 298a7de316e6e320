/**
 * Random two-tenant topologies for the isolation property (isolation.ts): two random worlds of
 * random-topology.ts in one topology and one runtime state, with no router path between them but
 * everything else an operator could share (address plans, groups, rules naming the other tenant).
 *
 * Invariant: a seed fully determines the result (no Math.random, no clock), and every object passes
 * the model's validation (built with TopologyBuilder).
 */
import { TopologyBuilder, type RuleSpec } from '../../src/sim/builder.js';
import { MemoryRuntimeState } from '../../src/sim/runtime-state.js';
import {
  addWorld,
  int,
  pick,
  randomConditions,
  randomRule,
  seeded,
  type RandomWorld,
} from './random-topology.js';

/** Two tenants in one topology, as an operator would host them: see `randomTenants`. */
export interface RandomTenants {
  readonly builder: TopologyBuilder;
  readonly state: MemoryRuntimeState;
  readonly tenants: readonly [RandomWorld, RandomWorld];
}

/**
 * Two random worlds ('a-' and 'b-' names) in one topology and one runtime state, sharing no router
 * path, but as close as an operator could put them: the same MAC and IP address plans (each world
 * draws from the same universes), a port group and an IP address group spanning both, and rules of
 * each tenant that name the other's ports, groups and addresses (references create no path).
 */
export function randomTenants(seed: number): RandomTenants {
  const r = seeded(seed);
  const b = new TopologyBuilder();
  const state = new MemoryRuntimeState();
  const a = addWorld(r, b, state, 'a-');
  const c = addWorld(r, b, state, 'b-');
  const pg = b.portGroup('shared-pg', [pick(r, a.ports), pick(r, c.ports)]);
  const ig = b.ipGroup('shared-ig', [...new Set([pick(r, a.ips), pick(r, c.ips)])]);
  for (const [own, other] of [
    [a, c],
    [c, a],
  ] as const) {
    const universes = {
      ports: other.ports,
      macs: [...own.macs, ...other.macs],
      ips: [...own.ips, ...other.ips],
      portGroups: [pg, ...other.portGroups],
      ipGroups: [ig, ...other.ipGroups],
    };
    const rules: RuleSpec[] = [];
    for (let k = int(r, 1, 4); k > 0; k--) {
      // Translations to the other tenant's addresses too: an address is not a path.
      const rule = randomRule(r, randomConditions(r, universes), universes.ips);
      rules.push(rule.action === 'jump' ? { ...rule, action: 'continue' } : rule);
    }
    const chain = b.chain(`${own === a ? 'a-' : 'b-'}cross`, rules);
    b.set(pick(r, [...own.ports, ...own.bridges, ...own.routers]), {
      [r() < 0.5 ? 'inboundChainId' : 'outboundChainId']: chain,
    });
  }
  return { builder: b, state, tenants: [a, c] };
}
