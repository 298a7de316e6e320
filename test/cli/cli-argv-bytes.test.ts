/**
 * midonet-cli given a name whose bytes are not UTF-8 (`bridge create $'\xff'`): Node would decode it
 * to U+FFFD and the bridge would be stored under a name nobody gave. The real executable, started
 * both ways (from its start-up snapshot and as compiled modules), refuses it with one line naming the
 * argument and the byte, exit 2, and writes nothing. The raw bytes reach the CLI through xargs -0
 * (an argument list, no shell): Node's own child processes can only pass UTF-8.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/state/open.js';
import { main } from '../../src/cli/main.js';

const BIN = fileURLToPath(new URL('../../../bin/midonet-cli', import.meta.url));

/** Runs the CLI with these arguments, given as bytes. */
function runBytes(
  args: Uint8Array[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('xargs', ['-0', BIN], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // xargs reports a command's exit status 1-125 as 123.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(Buffer.concat(args.flatMap((a) => [a, Buffer.of(0)])));
  });
}

describe('midonet-cli: arguments that are not UTF-8', () => {
  let dir: string;
  let store: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'midonet-cli-bytes-'));
    store = `sqlite:${join(dir, 'state.db')}`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [way, snapshot] of [
    ['from the snapshot', '1'],
    ['as compiled modules', '0'],
  ] as const) {
    it(`refuses a name with byte 0xff (${way}) and stores nothing`, async () => {
      const env = { ...process.env, MIDONET_CLI_SNAPSHOT: snapshot };
      const s = (t: string) => Buffer.from(t);
      const r = await runBytes(
        [s('--store'), s(store), s('bridge'), s('create'), Buffer.of(0x61, 0xff)],
        env,
      );
      assert.equal(r.code, 123, `exit non-zero: ${r.stderr}`);
      assert.equal(
        r.stderr,
        'midonet-cli: error: argument 5 is not valid UTF-8 (byte 0xff at offset 1): names and other values are UTF-8 text\n',
      );
      const opt = await runBytes(
        [s('--store'), s(store), s('router'), s('create'), s('--name'), Buffer.of(0xc3)],
        env,
      );
      assert.match(opt.stderr, /^midonet-cli: error: the value of --name \(argument 6\) is not valid UTF-8/);
      const ok = await runBytes(
        [s('--store'), s(store), s('bridge'), s('create'), s(`b${snapshot}-\u00e9`)],
        env,
      );
      assert.equal(ok.code, 0, ok.stderr);
      const st = await openStore(store);
      try {
        const names = [...(await st.list('bridge')), ...(await st.list('router'))].map((o) => o.name);
        assert.ok(
          !names.some((n) => n?.includes('\ufffd')),
          `nothing stored with U+FFFD: ${names.join(',')}`,
        );
      } finally {
        await st.close();
      }
    });
  }

  it('refuses it in-process too, given the bytes (exit 2, one line)', async () => {
    const err: string[] = [];
    const argv = ['--store', store, 'bridge', 'create', '\ufffd'];
    const bytes = [...argv.slice(0, 4).map((a) => Buffer.from(a)), Buffer.of(0xff)];
    const code = await main(
      argv,
      () => undefined,
      (l) => void err.push(l),
      bytes,
    );
    assert.equal(code, 2);
    assert.deepEqual(err, [
      'midonet-cli: error: argument 5 is not valid UTF-8 (byte 0xff at offset 0): names and other values are UTF-8 text',
    ]);
  });
});
