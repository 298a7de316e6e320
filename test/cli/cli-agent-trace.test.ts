/**
 * `midonet-cli agent trace` checks its --count and --timeout against the agent's own bounds
 * (control-requests.ts traceArgs) before it looks for the agent: one clear line naming the option,
 * the escaped value and the range, exit 2, whether or not an agent runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { MAX_REQUEST_MS, MAX_TRACE_COUNT } from '../../src/control/control-api.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mn-cli-trace-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await main(
    ['--store', `sqlite:${join(dir, 'state.db')}`, ...args],
    () => undefined,
    (s) => void err.push(s),
  );
  return { code, err: err.join('\n') };
}

describe('midonet-cli agent trace: bounds', () => {
  it('refuses a count or timeout outside the agent bounds before asking any agent', async () => {
    const maxSecs = MAX_REQUEST_MS / 1000;
    const cases: Array<[string, string, string]> = [
      [
        '--timeout',
        String(maxSecs + 1),
        `--timeout: '${maxSecs + 1}' is not valid: expected a whole number from 1 to ${maxSecs}`,
      ],
      ['--timeout', '0', `--timeout: '0' is not valid: expected a whole number from 1 to ${maxSecs}`],
      ['--timeout', '1.5', `--timeout: '1.5' is not valid`],
      ['--count', '0', `--count: '0' is not valid: expected a whole number from 1 to ${MAX_TRACE_COUNT}`],
      ['--count', String(MAX_TRACE_COUNT + 1), `--count: '${MAX_TRACE_COUNT + 1}' is not valid`],
      ['--count', 'x\n\u001b[2J', `--count: 'x\\n\\x1b[2J' is not valid`],
    ];
    for (const [flag, value, message] of cases) {
      const r = await cli('agent', 'trace', '--host', 'hv1', '--port', 'p', flag, value);
      assert.equal(r.code, 2, `${flag} ${JSON.stringify(value)}: ${r.err}`);
      assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
      assert.ok(r.err.startsWith(`midonet-cli: error: ${message}`), r.err);
    }
  });

  it('within the bounds it goes on to look for the agent', async () => {
    const r = await cli(
      'agent',
      'trace',
      '--host',
      'hv1',
      '--port',
      'p',
      '--timeout',
      '60',
      '--count',
      '100',
    );
    assert.notEqual(r.code, 0);
    assert.match(r.err, /host/);
    assert.doesNotMatch(r.err, /is not valid/);
  });
});
