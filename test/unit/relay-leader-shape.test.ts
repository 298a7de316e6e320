// The relay leader's node flags (src/state/relay-leader-shape.ts): the daemons that can lead the
// commit relay start with them, and V8 takes them (a young generation kept at its start size).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RELAY_LEADER_NODE_FLAGS } from '../../src/state/relay-leader-shape.js';

for (const bin of ['midonet-api', 'midonet-router']) {
  test(`bin/${bin} starts node with the relay leader's node flags`, () => {
    const path = fileURLToPath(new URL(`../../../bin/${bin}`, import.meta.url));
    const first = readFileSync(path, 'utf8').split('\n')[0]!;
    assert.equal(first, `#!/usr/bin/env -S node ${RELAY_LEADER_NODE_FLAGS.join(' ')}`);
  });
}

test('with the relay leader flags the young generation starts at 16 MiB semi-spaces', () => {
  const script =
    "const n = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');" +
    ' process.stdout.write(String(n.space_size / 1048576));';
  const young = (flags: readonly string[]) =>
    Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
  assert.ok(young(RELAY_LEADER_NODE_FLAGS) >= 16, 'young generation at its start size');
  assert.ok(young([]) < 16, 'without the flags it starts smaller');
});
