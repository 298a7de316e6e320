/**
 * midonet-cli run in-process for tests: `cli` runs one command line against the store `storeUrl()`
 * names at the time of the call and returns its exit code, stdout and stderr; `ok` insists on success
 * and returns stdout; `fails` insists on the given exit code and one clear line on stderr (no stack
 * trace) matching `pattern`. `onCall` hears every command line (for coverage checks).
 */
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export function cliRunner(storeUrl: () => string, onCall?: (args: string[]) => void) {
  async function cli(...args: string[]): Promise<CliRun> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['--store', storeUrl(), ...args],
      (s) => void out.push(s),
      (s) => void err.push(s),
    );
    onCall?.(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  async function ok(...args: string[]): Promise<string> {
    const r = await cli(...args);
    assert.equal(r.code, 0, `midonet-cli ${args.join(' ')} failed: ${r.err}`);
    return r.out;
  }

  async function fails(args: string[], code: number, pattern: RegExp): Promise<void> {
    const r = await cli(...args);
    assert.equal(r.code, code, `midonet-cli ${args.join(' ')}: exit ${r.code}, stderr: ${r.err}`);
    assert.match(r.err, /^midonet-cli: error: /);
    assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
    assert.match(r.err, pattern);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }

  return { cli, ok, fails };
}
