/**
 * Where bytes stop being UTF-8 (src/utf8.ts), and midonet-cli's check of its arguments' bytes
 * (src/cli/argv-bytes.ts): the offset named is where the bad sequence starts, the verdict is Node's
 * own `isUtf8`, and an argument is refused only when its own bytes are not UTF-8.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { utf8Problem } from '../../src/utf8.js';
import { checkArgvBytes } from '../../src/cli/argv-bytes.js';
import { argvBytes, environBytes } from '../../src/process-bytes.js';
import { CliError } from '../../src/cli/option-parse.js';
import { holds } from './property.js';

const b = (...xs: number[]) => Uint8Array.from(xs);

describe('utf8Problem', () => {
  it('names the byte where the bad sequence starts', () => {
    assert.equal(utf8Problem(Buffer.from('plain é € 😀')), undefined);
    assert.equal(utf8Problem(b(0x61, 0xff, 0x62)), 'byte 0xff at offset 1');
    assert.equal(utf8Problem(b(0x61, 0xe2, 0x82)), 'byte 0xe2 at offset 1', 'cut short at the end');
    assert.equal(utf8Problem(b(0xe2, 0x41, 0x41)), 'byte 0xe2 at offset 0', 'no continuation');
    assert.equal(utf8Problem(b(0x80)), 'byte 0x80 at offset 0', 'a stray continuation byte');
    assert.equal(utf8Problem(b(0xc0, 0xaf)), 'byte 0xc0 at offset 0', "an overlong '/'");
    assert.equal(utf8Problem(b(0xe0, 0x80, 0xaf)), 'byte 0xe0 at offset 0', 'overlong, three bytes');
    assert.equal(utf8Problem(b(0xed, 0xa0, 0x80)), 'byte 0xed at offset 0', 'a surrogate');
    assert.equal(utf8Problem(b(0xf4, 0x90, 0x80, 0x80)), 'byte 0xf4 at offset 0', 'above U+10FFFF');
    assert.equal(utf8Problem(b(0xef, 0xbf, 0xbd)), undefined, 'U+FFFD sent as UTF-8 is UTF-8');
  });

  it('agrees with isUtf8, and names a byte inside the input', () => {
    holds(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        const p = utf8Problem(bytes);
        assert.equal(p === undefined, isUtf8(bytes));
        if (p !== undefined) {
          const [, hex, at] = /^byte 0x([0-9a-f]{2}) at offset (\d+)$/.exec(p)!;
          assert.equal(bytes[Number(at)], parseInt(hex!, 16));
          assert.ok(isUtf8(bytes.subarray(0, Number(at))), 'all before it is UTF-8');
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('midonet-cli argument bytes', () => {
  const argv = (...raw: Uint8Array[]) => raw.map((r) => Buffer.from(r).toString('utf8'));

  it('refuses an argument that is not UTF-8, naming it and the byte', () => {
    const raw = [Buffer.from('bridge'), Buffer.from('create'), b(0xff, 0x62)];
    assert.throws(
      () => checkArgvBytes(argv(...raw), raw),
      (e: unknown) =>
        e instanceof CliError &&
        e.exitCode === 2 &&
        e.message ===
          'argument 3 is not valid UTF-8 (byte 0xff at offset 0): names and other values are UTF-8 text',
    );
    const opt = [Buffer.from('bridge'), Buffer.from('create'), Buffer.from('--name'), b(0x61, 0xc0)];
    assert.throws(() => checkArgvBytes(argv(...opt), opt), /^CliError: the value of --name \(argument 4\)/);
    const eq = [Buffer.from('port'), Buffer.concat([Buffer.from('--mac='), b(0xfe)])];
    assert.throws(() => checkArgvBytes(argv(...eq), eq), /the value of --mac \(argument 2\).*offset 6/);
  });

  it('takes UTF-8 as it is, and checks nothing when the bytes are of some other list', () => {
    const good = [Buffer.from('bridge'), Buffer.from('create'), Buffer.from('é\ufffd')];
    checkArgvBytes(argv(...good), good);
    const bad = [Buffer.from('x'), b(0xff)];
    checkArgvBytes(['x'], bad);
    checkArgvBytes(['y', '\ufffd'], bad);
  });

  it('reads the bytes of this very process: its arguments and its environment', () => {
    const env = environBytes();
    assert.ok(env !== undefined);
    assert.equal(Buffer.from(env.get('PATH')!).toString('utf8'), process.env.PATH);
    const n = process.argv.length - 1;
    const raw = argvBytes(n);
    assert.ok(raw !== undefined);
    assert.deepEqual(
      raw.map((r) => Buffer.from(r).toString('utf8')),
      process.argv.slice(1),
    );
  });
});
