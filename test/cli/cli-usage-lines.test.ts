/**
 * midonet-cli's usage errors as an operator meets them: an unknown option, a mistyped kind, a value
 * that starts with '-', and any message that carries control characters. Each is one line that names
 * what was typed (quoted, escaped) and exits 2; the store is not touched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpStore } from '../../src/api/http-store.js';
import { reportError } from '../../src/cli/main.js';
import { CliError } from '../../src/cli/options.js';
import { UNSAFE_TEXT } from '../../src/quote.js';
import { cliRunner } from '../support/cli-runner.js';

let dir = '';
const { ok, fails } = cliRunner(() => `sqlite:${join(dir, 'state.db')}`);

describe('midonet-cli usage lines', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mn-cli-usage-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names an unknown option quoted and escaped, with where to look', async () => {
    await fails(
      ['bridge', 'create', 'b', '--no\u001b[31mpe', '3'],
      2,
      /^midonet-cli: error: bridge create: unknown option '--no\\x1b\[31mpe'; see midonet-cli bridge --help$/,
    );
    await fails(
      ['port', 'bind', 'p', '--host', 'h', '--interface', '-tap'],
      2,
      /unknown option '-t'; see midonet-cli port --help \(a value starting with '-' is given as --option=VALUE\)$/,
    );
  });

  it('names a mistyped kind with the suggestion', async () => {
    await fails(
      ['bridgee', 'list'],
      2,
      /unknown kind or command 'bridgee'; did you mean bridge\? kinds are: host, /,
    );
  });

  it('prints any failure as one escaped, bounded line', () => {
    const lines: string[] = [];
    const code = reportError(new CliError(`a\u001b[2Jb\nc\u202ed${'x'.repeat(5000)}`), (s) => lines.push(s));
    assert.equal(code, 2);
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0]!, UNSAFE_TEXT);
    assert.match(lines[0]!, /^midonet-cli: error: a\\x1b\[2Jb c\\u202ed/);
    assert.ok(lines[0]!.length < 2100, `cut: ${lines[0]!.length}`);
  });

  it('quotes the packet fields of a trace and an --api URL', async () => {
    await ok('bridge', 'create', 'tb', '--', 'port', 'create', 'tp', '--bridge', 'tb');
    await fails(
      ['trace', '--port', 'tp', '--src-ip', '1.2.3\u001b[2J'],
      2,
      /^midonet-cli: error: trace: srcIp is not an IPv4 address: '1\.2\.3\\x1b\[2J'$/,
    );
    await fails(['trace', '--port', 'tp', '--src-mac', 'zz'], 2, /srcMac is not a MAC address: 'zz'$/);
    assert.throws(
      () => new HttpStore('ftp://x\n', 't'),
      /^StoreError: API URL 'ftp:\/\/x\\n': expected http:/,
    );
  });

  it('exits 1, not 2, when the agent asked is not running', async () => {
    await ok('host', 'create', 'quiet-host');
    await fails(
      ['agent', 'stats', '--host', 'quiet-host'],
      1,
      /the agent of host 'quiet-host' is not running$/,
    );
  });
});
