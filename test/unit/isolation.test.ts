/**
 * Tenant isolation as a property test (test/support/isolation.ts): random two-tenant topologies that
 * share no router path, packets with any headers (and fuzzed frames through the packet-in match path)
 * entering either tenant; nothing is ever delivered to, generated from, or learned by the other
 * tenant. A bounded number of cases here; `npm run bench -- isolation` runs 100,000.
 * A control joins the tenants with one link and must find violations, so the property can fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isolationCase } from '../support/isolation.js';

const CASES = 300;
const PACKETS = 40;
const FIRST_SEED = 7100;

describe('tenant isolation', () => {
  it(`${CASES} random two-tenant topologies x ${PACKETS} packets: nothing crosses`, (t) => {
    let delivered = 0;
    let outputs = 0;
    let packets = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
      const r = isolationCase(seed, PACKETS);
      assert.deepEqual(r.violations.slice(0, 3), [], `seed ${seed}: ${r.violations.length} violations`);
      delivered += r.delivered;
      outputs += r.outputs;
      packets += r.packets;
    }
    t.diagnostic(`${packets} packets, ${delivered} delivered, ${outputs} outputs checked`);
    assert.ok(delivered > packets / 5, `only ${delivered} of ${packets} packets were delivered anywhere`);
  });

  it('the control: one link between the tenants is found in most topologies', () => {
    let found = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + 50; seed++)
      if (isolationCase(seed, PACKETS, { leak: true }).violations.length > 0) found++;
    assert.ok(found > 25, `a link between the tenants was found in only ${found} of 50 topologies`);
  });
});
