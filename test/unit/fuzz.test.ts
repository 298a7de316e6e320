/**
 * The fuzzers in the suite: every target of test/support/fuzz-targets.ts (OpenFlow framing and
 * messages, Ethernet/IP/L4 and DHCP parsing, the agent's packet-in match path against the codec, the
 * agents' peer codec) on a bounded number of inputs from a fixed seed, so a run takes seconds and a
 * failure is reproducible. `npm run bench -- fuzz` runs the same targets on 1,000,000 inputs each.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FUZZ_TARGETS, fuzz } from '../support/fuzz-targets.js';
import { seeded } from '../support/random-topology.js';

const SEED = 20261130;
const COUNT = 4000;

describe('fuzzing (fixed seed, bounded count)', () => {
  for (const [i, t] of FUZZ_TARGETS.entries()) {
    it(`${t.name}: ${COUNT} inputs, no crash, every invariant holds`, () => {
      const { failed, failures } = fuzz(t, seeded(SEED + i), COUNT);
      assert.equal(
        failed,
        0,
        `${failed} of ${COUNT} inputs failed; first ones:\n${failures.map((f) => `#${f.index} ${f.hex}\n  ${f.error}`).join('\n')}`,
      );
    });
  }
});
