/**
 * The integration half of the OpenFlow golden tests: Open vSwitch's own decoder, `ovs-ofctl
 * ofp-print`, prints for each frozen byte file (test/golden/openflow/NAME.hex) exactly the text its
 * golden case froze. With openflow-golden.test.ts (the codec makes those bytes and reads them back),
 * this shows the codec and Open vSwitch agree on every golden message. Needs ovs-ofctl only (no
 * running switch).
 */
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GOLDEN_CASES, GOLDEN_DIR, goldenFile, readHex } from '../unit/openflow-golden-cases.js';

for (const c of GOLDEN_CASES) {
  test(`ofp-print ${c.name}`, () => {
    const bytes = readHex(`${GOLDEN_DIR}${goldenFile(c.name)}`);
    const text = execFileSync('ovs-ofctl', ['ofp-print', bytes.toString('hex')], {
      encoding: 'utf8',
    }).trimEnd();
    assert.equal(text, c.text);
  });
}
