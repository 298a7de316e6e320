// The agent's memory shape (src/agent/heap-shape.ts): every launcher passes the same node flags, and
// with them a burst of short-lived allocations leaves a small young generation resident.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS, agentInterpreterLine } from '../../src/agent/heap-shape.js';

const BIN = fileURLToPath(new URL('../../../bin/midonet-agent', import.meta.url));

test('bin/midonet-agent starts node with the agent node flags and environment', () => {
  const first = readFileSync(BIN, 'utf8').split('\n')[0]!;
  assert.equal(first, agentInterpreterLine());
  assert.match(first, /MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4$/);
});

/** The young generation's resident MiB after a burst of garbage, in a node started with `flags`. */
function youngAfterBurst(flags: readonly string[]): number {
  const script =
    "const v8 = require('node:v8'); let k = []; for (let i = 0; i < 2e6; i++) { k.push({ i, s: [i] }); if (k.length > 2000) k = []; }" +
    " const n = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');" +
    ' process.stdout.write(String(n.physical_space_size / 1048576));';
  return Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
}

test('with the agent node flags a burst leaves at most two 4 MiB semi-spaces of young generation', () => {
  assert.ok(youngAfterBurst(AGENT_NODE_FLAGS) <= 8, 'young generation capped');
  // V8's default grows it well past that under the same burst: the flags are what keeps it small.
  assert.ok(youngAfterBurst([]) > 8, 'default young generation grows');
});
