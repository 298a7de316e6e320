/**
 * The interactive shell of midonet-cli on a real pseudo-terminal (util-linux `script`): commands run
 * as on the command line, Tab completes verbs and object names, a failing command prints its one
 * error line and the shell goes on, a line typed as bytes that are not UTF-8 is refused, history is
 * kept in ~/.midonet_cli_history, `exit` leaves. Also the shell's word splitting and its following of
 * the bytes typed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypedLines, words } from '../../src/cli/shell.js';
import { openStore } from '../../src/state/open.js';
import { until } from '../until.js';

const BIN = fileURLToPath(new URL('../../../bin/midonet-cli', import.meta.url));

describe('midonet-cli shell', () => {
  it('splits words like a shell: quotes group, backslash escapes', () => {
    assert.deepEqual(words(`bridge create 'a b' -- port create "p 1" --bridge a\\ b`), [
      'bridge',
      'create',
      'a b',
      '--',
      'port',
      'create',
      'p 1',
      '--bridge',
      'a b',
    ]);
    assert.deepEqual(words('  '), []);
    assert.deepEqual(words("x ''"), ['x', '']);
  });

  it('follows the bytes of each typed line: CR, LF or CR LF ends one, chunks may split a character', () => {
    const t = new TypedLines();
    t.write(Buffer.from('bridge create \u00e9\r\n'));
    t.write(Buffer.concat([Buffer.from('a'), Buffer.of(0xc3)]));
    t.write(Buffer.concat([Buffer.of(0xa9), Buffer.from('\r')]));
    t.write(Buffer.concat([Buffer.from('\nb'), Buffer.of(0xff), Buffer.from('\nc\rd')]));
    assert.equal(t.take(), undefined, 'a UTF-8 line ended by CR LF');
    assert.equal(t.take(), undefined, 'a character split across two chunks');
    assert.equal(t.take(), 'byte 0xff at offset 1');
    assert.equal(t.take(), undefined, 'c');
    assert.equal(t.take(), undefined, 'd is not ended yet');
  });

  it('runs commands on a terminal with completion, errors and history', async () => {
    const home = mkdtempSync(join(tmpdir(), 'midonet-shell-'));
    const child = spawn('script', ['-qfec', BIN, '/dev/null'], {
      env: { ...process.env, HOME: home, MIDONET_STORE: `sqlite:${join(home, 's.db')}`, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const prompts = () => out.split('midonet> ').length - 1;
    const send = async (text: string) => {
      const n = prompts();
      child.stdin.write(text);
      if (text.endsWith('\n'))
        await until(() => prompts() > n, { what: `the prompt after ${JSON.stringify(text)}` });
    };
    try {
      await until(() => prompts() >= 1, { what: 'the first prompt' });
      await send('bridge create shell-br\n');
      const tab = async (completed: string) => {
        const from = out.length;
        child.stdin.write('\t');
        await until(() => out.slice(from).includes(completed), { what: `Tab completing ${completed}` });
      };
      await send('bridge l');
      await tab('ist');
      await send('\n');
      await send('bridge show shell-');
      await tab('br');
      await send('\n');
      await send('bridge show nope\n');
      await send('bridge list --json\n');
      // A name typed as bytes that are not UTF-8 is refused, not stored as U+FFFD.
      const n = prompts();
      child.stdin.write(
        Buffer.concat([Buffer.from('bridge create bad'), Buffer.of(0xff), Buffer.from('\n')]),
      );
      await until(() => prompts() > n, { what: 'the prompt after a line that is not UTF-8' });
      await send('bridge create good-\u00e9\n');
      await send('bridge list\n');
      child.stdin.write('exit\n');
      await new Promise((r) => child.once('exit', r));
      assert.match(out, /^[0-9a-f-]{36}\r?$/m, 'create printed the id');
      assert.match(out, /^[0-9a-f-]{36}\s+shell-br\s+true/m, 'Tab completed "l" to "list"');
      assert.match(out, /^name\s+shell-br\r?$/m, 'Tab completed the bridge name');
      assert.match(
        out,
        /midonet-cli: error: no bridge named or with id 'nope'/,
        'an error, and the shell went on',
      );
      assert.match(out, /"name": "shell-br"/);
      assert.match(
        out,
        /midonet-cli: error: the line is not valid UTF-8 \(byte 0xff at offset 17\): names and other values are UTF-8 text/,
      );
      assert.match(out, /good-\u00e9/, 'UTF-8 typed is taken');
      const store = await openStore(`sqlite:${join(home, 's.db')}`);
      const names = (await store.list('bridge')).map((b) => b.name);
      await store.close();
      assert.deepEqual(names.sort(), ['good-\u00e9', 'shell-br'], 'no bridge named with U+FFFD');
      const history = readFileSync(join(home, '.midonet_cli_history'), 'utf8').split('\n');
      assert.ok(history.includes('bridge list'), history.join('|'));
      assert.ok(history.includes('bridge show shell-br'), history.join('|'));
    } finally {
      child.kill();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
