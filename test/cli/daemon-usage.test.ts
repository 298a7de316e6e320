/**
 * The command lines of the daemons and the lab, as an operator mistypes them: each refusal is one
 * escaped line naming the option and the value (never yargs' usage dump, never a terminal escape
 * echoed raw) with a non-zero exit, and an option given without its value is refused rather than
 * replaced by its default. Every case here is refused before the program does anything (no daemon
 * starts, no lab is brought up, nothing is written); a daemon given a store it cannot open leaves no
 * run directory behind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseDaemonArgs, UsageError, usageMessage } from '../../src/daemon-args.js';
import { UNSAFE_TEXT } from '../../src/quote.js';

const execFileP = promisify(execFile);
const bin = (name: string) => fileURLToPath(new URL(`../../../bin/${name}`, import.meta.url));

async function refused(name: string, args: string[]): Promise<{ code: number; err: string }> {
  try {
    const r = await execFileP(bin(name), args, { timeout: 120000 });
    assert.fail(`${name} ${args.join(' ')} succeeded: ${r.stdout}`);
  } catch (e) {
    const x = e as { code?: number; stderr?: string; killed?: boolean };
    assert.ok(!x.killed, `${name} ${args.join(' ')} did not stop`);
    const err = (x.stderr ?? '').trimEnd();
    assert.equal(err.split('\n').length, 1, `one line: ${err}`);
    assert.doesNotMatch(err, UNSAFE_TEXT);
    assert.doesNotMatch(err, /\n\s+at |Options:|--help\s+Show help/);
    return { code: x.code ?? -1, err };
  }
}

const DEFAULTS = { config: '/etc/midonet/none.json', version: '0' };

describe('daemon and lab command lines', () => {
  it('refuses --config without a value instead of reading the default file', async () => {
    await assert.rejects(parseDaemonArgs('midonet-agent', ['--config'], DEFAULTS), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /^--config: needs a value$/);
      return true;
    });
    await assert.rejects(
      parseDaemonArgs('midonet-agent', ['--log-level'], DEFAULTS),
      /--log-level: needs a value/,
    );
    await assert.rejects(parseDaemonArgs('midonet-agent', ['--config='], DEFAULTS), /--config: needs a file/);
    await assert.rejects(parseDaemonArgs('midonet-agent', ['extra'], DEFAULTS), /'extra'/);
    const ok = await parseDaemonArgs(
      'midonet-agent',
      ['--config', '/x.json', '--log-level', 'debug'],
      DEFAULTS,
    );
    assert.deepEqual(ok, { config: '/x.json', logLevel: 'debug' });
  });

  it('names a bad --log-level and what is allowed', async () => {
    await assert.rejects(
      parseDaemonArgs('midonet-router', ['--log-level', 'chatty'], DEFAULTS),
      /^UsageError: --log-level: 'chatty' is not allowed; allowed: fatal, error, warn, info, debug, trace, silent$/,
    );
  });

  it('turns yargs messages into one escaped line', () => {
    assert.equal(
      usageMessage('Unknown argument: fr\u001b[2Job'),
      "unknown option or argument 'fr\\x1b[2Job'; see --help",
    );
    assert.equal(usageMessage('Unknown arguments: a, b'), "unknown option or argument 'a', 'b'; see --help");
    const long = usageMessage(`Unknown argument: ${'x'.repeat(100000)}`);
    assert.ok(long.length < 200, `cut: ${long.length}`);
  });

  for (const name of ['midonet-agent', 'midonet-router', 'midonet-api', 'midonet-lb-health']) {
    it(`${name}: an unknown option is one escaped line and exit 2`, async () => {
      const store = name === 'midonet-lb-health' ? ['--store', 'memory:'] : [];
      const r = await refused(name, [...store, '--fr\u001b[2Job']);
      assert.equal(r.code, 2);
      assert.match(r.err, new RegExp(`^${name}: unknown option or argument 'fr\\\\x1b\\[2Job'; see --help$`));
    });
  }

  it('midonet-agent: --config without a value exits 2 before starting', async () => {
    const r = await refused('midonet-agent', ['--config']);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'midonet-agent: --config: needs a value');
  });

  it('midonet-router: a store it cannot open stops the start before it makes its run directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mn-router-store-'));
    try {
      writeFileSync(join(dir, 'garbage.db'), 'not a database, '.repeat(512));
      for (const [store, why] of [
        [`sqlite:${join(dir, 'no-dir', 'state.db')}`, /directory .*no-dir does not exist/],
        [`sqlite:${join(dir, 'absent.db')}`, /there is no store file .*absent\.db \(it is not made here\)/],
        [`sqlite:${join(dir, 'garbage.db')}`, /garbage\.db: file is not a database/],
      ] as const) {
        const runDir = join(dir, 'run', 'midonet');
        const config = join(dir, 'router.json');
        writeFileSync(
          config,
          JSON.stringify({
            store,
            runDir,
            hostName: 'hv-none',
            metrics: { listen: null },
            logLevel: 'silent',
          }),
        );
        const r = await refused('midonet-router', ['--config', config]);
        assert.equal(r.code, 1);
        assert.match(r.err, /^midonet-router: start failed: /);
        assert.match(r.err, why);
        assert.ok(!existsSync(join(dir, 'run')), `${store}: no run directory left behind`);
        assert.ok(!existsSync(join(dir, 'absent.db')), `${store}: no store file made`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('midonet-lab: counts that are not whole numbers in range are refused before anything is done', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mn-lab-args-'));
    try {
      const runDir = join(dir, 'run');
      const flows = await refused('midonet-lab', ['--run-dir', runDir, 'eval', '--flows', 'abc']);
      assert.match(
        flows.err,
        /^midonet-lab: error: --flows: 'abc' is not allowed: a whole number from 1 to 100000$/,
      );
      // With a store that cannot be used as well, so that nothing could be brought up either way.
      for (const [flag, v] of [
        ['--hosts', 'abc'],
        ['--hosts', '2.5'],
        ['--vms-per-host', '-1'],
      ] as const) {
        const up = await refused('midonet-lab', [
          '--run-dir',
          runDir,
          'up',
          flag,
          v,
          '--store',
          'cassandra',
          '--store-url',
          'none:',
        ]);
        assert.match(
          up.err,
          new RegExp(`^midonet-lab: error: ${flag}: '${v.replace('.', '\\.')}' is not allowed`),
        );
      }
      const unknown = await refused('midonet-lab', ['--run-dir', runDir, 'up', '--fr\u001b[2Job']);
      assert.match(unknown.err, /'fr\\x1b\[2Job'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
