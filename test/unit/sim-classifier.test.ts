// Classifier equivalence: the compiled classifier returns exactly what an in-order scan returns, on
// random rule sets and packets (fixed seeds); plus the mask it records is sound. (Compile time is a
// figure of `npm run bench -- sim`, with its target; tests do not time anything.)
import { holds } from './property.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Candidates, Classifier } from '../../src/sim/classifier.js';
import type { FlowMatch } from '../../src/sim/flow-match.js';
import { MemoryConntrack } from '../../src/sim/runtime-state.js';
import type { GroupView, RuleEnv } from '../../src/sim/rule-match.js';
import { parsePrefix } from '../../src/sim/rule-match.js';
import {
  perturb,
  pick,
  randomConditions,
  randomPacket,
  randomWorld,
  seeded,
} from '../support/random-topology.js';
import { Tags } from '../../src/sim/tags.js';
import type { Rule } from '../../src/state/model.js';
import { parseCidr } from '../../src/addr.js';

function env(
  inPortId: string | null,
  outPortId: string | null,
  groups: Map<string, Set<string>>,
  ipGroups: Map<string, Set<number>>,
): RuleEnv {
  return {
    inPortId,
    outPortId,
    now: 0,
    zone: 'test-zone',
    conntrack: new MemoryConntrack(),
    portGroup: (id): GroupView<string> | undefined => {
      const g = groups.get(id);
      return g && { tag: Tags.portGroup(id), members: g };
    },
    ipAddrGroup: (id): GroupView<number> | undefined => {
      const g = ipGroups.get(id);
      return g && { tag: Tags.ipAddrGroup(id), members: g };
    },
    addTag: () => undefined,
    need: () => undefined,
    trackForward: () => undefined,
  };
}

/** Mostly non-empty random conditions (an empty rule matches everything and ends most lookups). */
function nonEmptyConditions(
  r: () => number,
  w: Parameters<typeof randomConditions>[1],
): Record<string, unknown> {
  for (let i = 0; i < 4; i++) {
    const c = randomConditions(r, w);
    if (Object.keys(c).length > 0) return c;
  }
  return {};
}

describe('classifier', () => {
  it('gives the same first match as an in-order scan, from every start position', (t) => {
    let compared = 0;
    let matched = 0;
    holds(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 80 }),
        (seed, nRules) => {
          const w = randomWorld(seed);
          const r = seeded(seed + 1);
          const topo = w.builder.build();
          const rules: Rule[] = [];
          const chainId = w.builder.chain('eq', []);
          for (let i = 0; i < nRules; i++) {
            const obj = w.builder.add('rule', {
              chainId,
              action: pick(r, ['accept', 'drop', 'continue'] as const),
              conditions: nonEmptyConditions(r, w),
            });
            rules.push(obj);
          }
          const cls = new Classifier(rules);
          const groups = new Map(w.portGroups.map((g) => [g, new Set(topo.portGroup(g)!.members)]));
          const ipGroups = new Map(w.ipGroups.map((g) => [g, new Set(topo.ipAddrGroup(g)!.members)]));
          const cands = new Candidates();
          for (let k = 0; k < 25; k++) {
            const { match } = randomPacket(r, w);
            const e = env(pick(r, [null, ...w.ports]), pick(r, [null, ...w.ports]), groups, ipGroups);
            for (let from = 0; from <= nRules; from += 1 + Math.floor(r() * 4)) {
              match.begin('p');
              cls.probe(match, e, cands);
              const got = cls.firstMatch(match, e, cands, from);
              const m2 = match.clonePacket();
              m2.begin('p');
              const want = cls.scan(m2, e, from);
              compared++;
              if (want >= 0) matched++;
              assert.equal(got, want, `seed ${seed} rules ${nRules} from ${from}`);
            }
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
    t.diagnostic(`${compared} lookups compared, ${matched} of them found a matching rule`);
    assert.ok(
      matched > compared / 5 && matched < compared * 0.9,
      'the random rule sets must match sometimes, not always',
    );
  });

  it('records a sound mask: packets agreeing on it get the same first match', (t) => {
    let compared = 0;
    holds(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const w = randomWorld(seed);
        const r = seeded(seed + 7);
        const chainId = w.builder.chain('eq', []);
        const rules: Rule[] = [];
        for (let i = 0; i < 40; i++)
          rules.push(w.builder.add('rule', { chainId, action: 'drop', conditions: randomConditions(r, w) }));
        const cls = new Classifier(rules);
        const e = env(null, null, new Map(), new Map());
        const cands = new Candidates();
        const lookup = (m: FlowMatch): number => {
          m.begin('p');
          cls.probe(m, e, cands);
          return cls.firstMatch(m, e, cands, 0);
        };
        for (let k = 0; k < 20; k++) {
          const { match } = randomPacket(r, w);
          const got = lookup(match);
          if (match.uncacheable !== null) continue;
          const mask = match.mask.slice();
          for (let j = 0; j < 5; j++) {
            const q = perturb(r, w, match, mask, 0);
            compared++;
            assert.equal(lookup(q), got);
          }
        }
      }),
      { seed: 7, numRuns: 200 },
    );
    t.diagnostic(`${compared} perturbed lookups compared`);
  });

  it('parses prefixes like the model does', () => {
    holds(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (addr, len) => {
        const s = `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;
        const a = parsePrefix(s);
        const b = parseCidr(s, false);
        assert.ok(typeof b !== 'string' && a !== null);
        assert.equal(a.len, b.len);
      }),
      { seed: 1, numRuns: 1000 },
    );
    for (const bad of ['1.2.3/4', '1.2.3.4', '1.2.3.4/33', '256.1.1.1/8', 'a.b.c.d/1', '1.2.3.4/'])
      assert.equal(parsePrefix(bad), null, bad);
  });
});
