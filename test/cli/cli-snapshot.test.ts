/**
 * midonet-cli's start-up snapshot (src/cli/snapshot-build.ts, bin/midonet-cli): `npm run build` made
 * it; the launcher uses it only when it is newer than the compiled CLI and its stamp names this very
 * node binary, and otherwise runs the compiled CLI; both ways give the same output and exit codes.
 * The launcher's choice is seen in a copy of the tree that has the snapshot but no compiled CLI entry:
 * there, only the snapshot can answer.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOB, STAMP } from '../../src/cli/snapshot-build.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'midonet-cli');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(bin, args, { env, timeout: 60000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('midonet-cli start-up snapshot', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'midonet-cli-snapshot-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('npm run build made the snapshot and its stamp', () => {
    assert.ok(existsSync(BLOB), `${BLOB} exists (npm run build makes it)`);
    assert.ok(existsSync(STAMP), `${STAMP} exists`);
  });

  it('gives the same output and exit codes as the compiled CLI', async () => {
    const store = `sqlite:${join(dir, 'state.db')}`;
    const plain = { ...process.env, MIDONET_CLI_SNAPSHOT: '0' };
    assert.equal((await runCli(BIN, ['--store', store, 'bridge', 'create', 'b1'])).code, 0);
    for (const args of [
      ['--store', store, 'bridge', 'list', '--json'],
      ['--store', store, 'bridge', 'show', 'b1', '--columns', 'name,up'],
      ['--store', store, 'bridge', 'show', 'missing'],
      ['--store', store, 'bridge', 'frob'],
      ['--store', store, 'port', 'create', 'p\nx', '--bridge', 'nope'],
      ['--version'],
      ['bridge', '--help'],
    ]) {
      const fast = await runCli(BIN, args);
      const slow = await runCli(BIN, args, plain);
      assert.deepEqual(fast, slow, `midonet-cli ${args.join(' ')}`);
    }
  });

  it('is used only when newer than the compiled CLI and made by this node', async () => {
    // A tree with the launcher and the snapshot, and no compiled CLI entry to fall back on.
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
    copyFileSync(BIN, join(root, 'bin', 'midonet-cli'));
    const main = join(root, 'dist', 'src', 'cli', 'main.js');
    writeFileSync(main, '');
    const blob = join(root, 'dist', 'cli', 'midonet-cli.blob');
    copyFileSync(BLOB, blob);
    copyFileSync(STAMP, `${blob}.node`);
    const old = new Date(Date.now() - 60000);
    utimesSync(main, old, old);
    const bin = join(root, 'bin', 'midonet-cli');

    const fresh = await runCli(bin, ['--version']);
    assert.equal(fresh.code, 0, `the snapshot answers: ${fresh.stderr}`);
    assert.equal(fresh.stdout.trim(), '0.1.0');

    const soon = new Date(Date.now() + 60000);
    utimesSync(main, soon, soon);
    const stale = await runCli(bin, ['--version']);
    assert.notEqual(stale.code, 0, 'a snapshot older than the compiled CLI is not used');
    assert.match(stale.stderr, /entry\.js/);
    utimesSync(main, old, old);

    writeFileSync(`${blob}.node`, `1 1 ${process.execPath}\n`);
    const other = await runCli(bin, ['--version']);
    assert.notEqual(other.code, 0, 'a snapshot another node binary made is not used');
    assert.match(other.stderr, /entry\.js/);
  });
});
