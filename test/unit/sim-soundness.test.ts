// Wildcard soundness: a packet that agrees with a simulated packet on every bit of the returned mask
// gets the same actions. Random topologies, rule sets, runtime state and packets (fixed seeds).
import { holds } from './property.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { simulate } from '../../src/sim/index.js';
import { perturb, randomPacket, randomWorld, seeded } from '../support/random-topology.js';

const PACKETS_PER_WORLD = 30;
const PERTURBATIONS = 5;

describe('wildcard soundness', () => {
  it('same mask bits => same actions (random worlds)', (t) => {
    let checked = 0;
    let cacheable = 0;
    holds(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const w = randomWorld(seed);
        const topo = w.builder.build();
        const r = seeded(seed ^ 0x5a5a5a5a);
        for (let i = 0; i < PACKETS_PER_WORLD; i++) {
          const { match, inPort } = randomPacket(r, w);
          const res = simulate(topo, match, inPort, 1, { state: w.state });
          if (res.kind !== 'done' || !res.cacheable) continue;
          cacheable++;
          const decs = res.ttlHops;
          for (let k = 0; k < PERTURBATIONS; k++) {
            const q = perturb(r, w, match, res.mask, decs);
            const rq = simulate(topo, q, inPort, 1, { state: w.state });
            checked++;
            assert.equal(rq.kind, 'done');
            const dq = rq;
            assert.deepEqual(
              dq.actions,
              res.actions,
              `seed ${seed}: packet ${JSON.stringify(match.orig)} vs ${JSON.stringify(q.orig)}, mask ${JSON.stringify(res.mask)}`,
            );
            assert.equal(dq.cacheable, true, `seed ${seed}: ${dq.uncacheableReason}`);
          }
        }
      }),
      { seed: 20261126, numRuns: 1000 },
    );
    t.diagnostic(`${checked} perturbed packets checked against ${cacheable} cacheable results`);
    assert.ok(checked > 20000, `only ${checked} perturbed packets checked (${cacheable} cacheable results)`);
  });
});
