/**
 * A store URL in a configuration is checked in full when the file is read (the scheme, the SQLite
 * path, the query parameters, the cassandra:// form), in the words openStore uses: a daemon given a
 * wrong URL stops at once naming the key and what is allowed, before it makes its state directory or
 * host id, and midonet-cni answers "invalid configuration" (7), not "try again later" (11).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../src/agent/config.js';
import { agentMain } from '../../src/agent/main.js';
import { apiConfigSchema } from '../../src/api/config.js';
import { cniMain } from '../../src/cni/main.js';
import { ConfigError, cliConfigSchema, loadConfig } from '../../src/config.js';
import { routerConfigSchema } from '../../src/router/config.js';
import { storeUrlProblem } from '../../src/state/open.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mn-store-url-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const BAD: ReadonlyArray<[string, RegExp]> = [
  ['frob:/x', /unknown scheme; allowed: sqlite:PATH/],
  ['sqlite:', /no file path after 'sqlite:'/],
  ['sqlite:/x.db?bogus=1', /unknown parameter 'bogus'; allowed: retain, retainSeconds/],
  ['sqlite:/x.db?retain=abc', /retain/],
  ['memory:a/b', /a memory store name is letters/],
  ['cassandra://127.0.0.1:9042?rf=3', /no zk= parameter/],
  ['cassandra://127.0.0.1:9042?zk=h:2181&rf=99', /rf '99' must be 1 to 9/],
];

describe('store URLs in configuration files', () => {
  it('names what is wrong with a URL without opening anything', () => {
    for (const [url, why] of BAD) assert.match(storeUrlProblem(url) ?? '(accepted)', why, url);
    for (const url of ['sqlite:/var/lib/midonet/state.db', 'memory:', 'cassandra://h:9042?zk=h:2181&rf=3'])
      assert.equal(storeUrlProblem(url), undefined, url);
  });

  it('refuses a bad URL in every file that has a store key', () => {
    const file = join(dir, 'c.json');
    for (const schema of [agentConfigSchema, routerConfigSchema, apiConfigSchema, cliConfigSchema])
      for (const [url, why] of BAD) {
        writeFileSync(file, JSON.stringify({ store: url }));
        assert.throws(
          () => loadConfig(file, schema),
          (e: unknown) => {
            assert.ok(e instanceof ConfigError);
            assert.match(e.message, /key 'store': value '/);
            assert.match(e.message, why);
            return true;
          },
        );
      }
  });

  it('midonet-agent stops on a bad URL before it makes its state directory', async () => {
    const stateDir = join(dir, 'state');
    const runDir = join(dir, 'run');
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify({ store: 'frob:/x', stateDir, runDir }));
    const writes: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (s: string) => (writes.push(String(s)), true);
    let code: number;
    try {
      code = await agentMain(['--config', file]);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(code, 1);
    assert.match(
      writes.join(''),
      /^midonet-agent: .*agent\.json: key 'store': value 'frob:\/x': unknown scheme/,
    );
    assert.equal(existsSync(stateDir), false, 'no state directory made');
    assert.equal(existsSync(runDir), false, 'no run directory made');
  });

  it('midonet-cni answers a bad URL with code 7 (invalid configuration)', async () => {
    const r = await cniMain(
      { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/proc/1/ns/net', CNI_IFNAME: 'eth0' },
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'pods',
        type: 'midonet-cni',
        bridge: 'b',
        store: 'frob:/x',
      }),
    );
    assert.equal(r.code, 1);
    const err = JSON.parse(r.out) as { code: number; msg: string };
    assert.equal(err.code, 7, err.msg);
    assert.match(err.msg, /key 'store'.*unknown scheme/);
  });
});
