// Tag completeness: after a random topology or runtime-state change, every flow whose treatment
// changes (for its own packet or any packet its mask covers) carries a tag the change touched. And
// the incrementally updated topology simulates exactly like one rebuilt from scratch (OVN's
// CHECK_NO_CHANGE_AFTER_RECOMPUTE).
import { holds } from './property.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseIpv4, macToNumber } from '../../src/addr.js';
import type { Kind, Obj } from '../../src/state/model.js';
import { simulate, Tags, Topology, type SimResult, type Tag } from '../../src/sim/index.js';
import {
  perturb,
  pick,
  randomConditions,
  randomPacket,
  randomWorld,
  seeded,
  type Rand,
  type RandomWorld,
} from '../support/random-topology.js';
import type { FlowMatch } from '../../src/sim/flow-match.js';

function outcome(r: SimResult): string {
  return r.kind === 'notYet'
    ? `notYet ${[...r.need].sort().join(',')}`
    : JSON.stringify([r.actions, r.cacheable]);
}

/** Applies one random change; returns the tags it touched and a description. */
function randomChange(r: Rand, w: RandomWorld, t: Topology): { tags: Tag[]; what: string } {
  const upd = <K extends Kind>(kind: K, o: Obj<K>, patch: Record<string, unknown>): Tag[] =>
    t.apply([{ op: 'update', kind, object: { ...o, ...patch, version: o.version + 1 } }]);
  for (;;) {
    switch (Math.floor(r() * 10)) {
      case 0: {
        const kind = pick(r, ['port', 'bridge', 'router'] as const);
        const id = pick(
          r,
          kind === 'port'
            ? w.ports
            : kind === 'bridge'
              ? w.bridges
              : w.routers.length
                ? w.routers
                : w.bridges,
        );
        const o = t.get(kind, id) ?? t.get('bridge', id);
        if (o === undefined) continue;
        const k = t.get(kind, id) ? kind : 'bridge';
        return { tags: upd(k, o, { adminStateUp: !o.adminStateUp }), what: `toggle admin ${k}` };
      }
      case 1: {
        if (w.routes.length === 0) continue;
        const id = pick(r, w.routes);
        const o = t.get('route', id);
        if (o === undefined) continue;
        return { tags: t.apply([{ op: 'delete', kind: 'route', object: o }]), what: 'delete route' };
      }
      case 2: {
        if (w.routers.length === 0) continue;
        const routerId = pick(r, w.routers);
        const id = w.builder.route(routerId, `${pick(r, w.ips)}/32`, {
          type: pick(r, ['blackhole', 'reject'] as const),
        });
        const o = w.builder.objects.find((x) => x.object.id === id)!.object;
        return { tags: t.apply([{ op: 'create', kind: 'route', object: o }]), what: 'add route' };
      }
      case 3:
      case 4: {
        const rules = t.all('rule');
        if (rules.length === 0) continue;
        const rule = pick(r, rules);
        const patch =
          r() < 0.5
            ? { action: pick(r, ['accept', 'drop', 'continue'] as const) }
            : { conditions: randomConditions(r, w) };
        return { tags: upd('rule', rule, patch), what: 'update rule' };
      }
      case 5: {
        const chains = t.all('chain').filter((c) => c.ruleIds.length > 0);
        if (chains.length === 0) continue;
        const c = pick(r, chains);
        return { tags: upd('chain', c, { ruleIds: c.ruleIds.slice(1) }), what: 'drop first rule from chain' };
      }
      case 6: {
        if (w.chains.length === 0) continue;
        const target = pick(r, [...w.bridges, ...w.routers]);
        const kind = t.get('bridge', target) ? 'bridge' : 'router';
        const o = t.get(kind, target)!;
        return {
          tags: upd(kind, o, { inboundChainId: r() < 0.3 ? null : pick(r, w.chains) }),
          what: 'set device chain',
        };
      }
      case 7: {
        if (w.portGroups.length === 0) continue;
        const g = t.get('port-group', pick(r, w.portGroups))!;
        return { tags: upd('port-group', g, { portIds: [pick(r, w.ports)] }), what: 'port group members' };
      }
      case 8: {
        // Runtime: learn or forget a MAC.
        const br = pick(r, w.bridges);
        const mac = macToNumber(pick(r, w.macs.slice(3)));
        const vlan = pick(r, [0, 10]);
        if (r() < 0.5) w.state.macs.forget(br, vlan, mac);
        else w.state.macs.learn(br, vlan, mac, pick(r, w.ports), 0);
        return { tags: [Tags.mac(br, vlan, mac)], what: 'MAC table' };
      }
      default: {
        if (w.routers.length === 0) continue;
        const rt = pick(r, w.routers);
        const ip = parseIpv4(pick(r, w.ips))!;
        if (r() < 0.5) w.state.arp.forget(rt, ip);
        else w.state.arp.learn(rt, ip, macToNumber(pick(r, w.macs.slice(3))), 0);
        return { tags: [Tags.arp(rt, ip)], what: 'ARP cache' };
      }
    }
  }
}

describe('tags', () => {
  it('every flow whose treatment changes carries a changed tag; incremental == rebuild', (t) => {
    let flows = 0;
    let changed = 0;
    holds(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const w = randomWorld(seed);
        const topo = w.builder.build();
        const r = seeded(seed + 3);
        const before: Array<{ m: FlowMatch; inPort: string; res: SimResult; covered: FlowMatch[] }> = [];
        for (let i = 0; i < 15; i++) {
          const { match, inPort } = randomPacket(r, w);
          const res = simulate(topo, match, inPort, 1, { state: w.state });
          if (res.kind !== 'done') continue;
          const covered = res.cacheable
            ? [0, 1, 2].map(() => perturb(r, w, match, res.mask, res.ttlHops))
            : [];
          before.push({ m: match, inPort, res, covered });
        }
        for (let step = 0; step < 3; step++) {
          const { tags, what } = randomChange(r, w, topo);
          const rebuilt = Topology.from(topo.objects());
          for (const f of before) {
            if (f.res.kind !== 'done') continue;
            flows++;
            const old = outcome(f.res);
            for (const p of [f.m, ...f.covered]) {
              const now = simulate(topo, p, f.inPort, 1, { state: w.state });
              const fresh = simulate(rebuilt, p, f.inPort, 1, { state: w.state });
              assert.equal(
                outcome(now),
                outcome(fresh),
                `seed ${seed}: incremental topology differs from rebuild after ${what}`,
              );
              if (outcome(now) !== old) {
                changed++;
                const hit = f.res.tags.some((tag) => tags.includes(tag));
                assert.ok(
                  hit,
                  `seed ${seed}: ${what} changed a flow but touched none of its tags\n${old}\n${outcome(now)}\nflow tags ${f.res.tags.join(' ')}\nchanged ${tags.join(' ')}`,
                );
              }
            }
          }
          // The flows after the change are the new baseline (stale ones were invalidated).
          for (const f of before) f.res = simulate(topo, f.m, f.inPort, 1, { state: w.state });
          for (const f of before) {
            const res = f.res;
            f.covered =
              res.kind === 'done' && res.cacheable
                ? [0, 1, 2].map(() => perturb(r, w, f.m, res.mask, res.ttlHops))
                : [];
          }
        }
      }),
      { seed: 31337, numRuns: 400 },
    );
    t.diagnostic(`${flows} flow checks, ${changed} changed treatments, each carrying a changed tag`);
    assert.ok(changed > 100);
  });
});
