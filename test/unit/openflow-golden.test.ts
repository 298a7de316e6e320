/**
 * Golden tests of the OpenFlow 1.3 codec, without Open vSwitch: for each golden case
 * (openflow-golden-cases.ts) the message encodes to exactly the bytes frozen in
 * test/golden/openflow/NAME.hex, those bytes decode back to a deep-equal object, and that object
 * re-encodes to identical bytes. That the frozen bytes are what Open vSwitch means by the message is
 * checked against `ovs-ofctl ofp-print` by test/integration/openflow-ofp-print.test.ts.
 *
 * A new case gets its file with MIDONET_WRITE_GOLDEN=1 (the bytes the codec makes now are written);
 * check them with the integration test before committing them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../src/openflow/index.js';
import { GOLDEN_CASES, GOLDEN_DIR, goldenFile, readHex } from './openflow-golden-cases.js';

/** Hex in lines of 32 bytes, for readable diffs. */
function hexLines(b: Buffer): string {
  return `${(b.toString('hex').match(/.{1,64}/g) ?? []).join('\n')}\n`;
}

test('golden cases have distinct files', () => {
  const files = GOLDEN_CASES.map((c) => goldenFile(c.name));
  assert.equal(new Set(files).size, files.length);
});

for (const c of GOLDEN_CASES) {
  test(`golden ${c.name}`, () => {
    const path = `${GOLDEN_DIR}${goldenFile(c.name)}`;
    const bytes = encodeMessage(c.msg);
    if (process.env.MIDONET_WRITE_GOLDEN === '1' && !existsSync(path)) {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(path, hexLines(bytes));
    }
    assert.ok(existsSync(path), `${path} is missing: run with MIDONET_WRITE_GOLDEN=1 to write it`);
    const frozen = readHex(path);
    assert.deepEqual(bytes, frozen, 'the message encodes to the frozen bytes');
    const decoded = decodeMessage(frozen);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
    assert.deepEqual(decoded.msg, c.msg, 'the frozen bytes decode to the message');
    assert.deepEqual(encodeMessage(decoded.msg), frozen, 'and encode back to themselves');
  });
}
