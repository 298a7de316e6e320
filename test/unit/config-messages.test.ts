/**
 * How a wrong configuration reads, in a daemon's file and in midonet-cni's network configuration (one
 * wording, config.ts configProblem): a file that is not an object says what it holds instead of naming
 * an empty key; a JSON syntax error, whose text quotes the file, shows its newlines and escapes as
 * escapes; a file path with control characters is escaped; hostile or numerous unknown keys are cut
 * and counted; CNI_COMMAND and other environment values are quoted, escaped and cut; a file or a
 * network configuration that is not UTF-8 is refused, naming the byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../src/agent/config.js';
import { cniMain } from '../../src/cni/main.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { UNSAFE_TEXT } from '../../src/quote.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mn-config-msg-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function refusal(text: string | Uint8Array, name = 'c.json'): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  try {
    loadConfig(file, agentConfigSchema);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.doesNotMatch(e.message, UNSAFE_TEXT);
    return e.message.slice(file.length + 2);
  }
  return assert.fail('accepted');
}

async function cniRefusal(
  env: Record<string, string>,
  stdin: string | Uint8Array,
): Promise<{ code: number; msg: string }> {
  const r = await cniMain(env, stdin);
  assert.equal(r.code, 1);
  const e = JSON.parse(r.out) as { code: number; msg: string };
  assert.doesNotMatch(e.msg, UNSAFE_TEXT);
  return { code: e.code, msg: e.msg };
}

const CONF = { cniVersion: '1.0.0', name: 'pods', type: 'midonet-cni', bridge: 'b', store: 'memory:' };
const ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/1/ns/net', CNI_IFNAME: 'eth0' };

describe('configuration messages', () => {
  it('bytes that are not UTF-8 are refused where they are, not read as U+FFFD', async () => {
    const bytes = Buffer.concat([Buffer.from('{"hostName":"hv'), Buffer.of(0xff), Buffer.from('"}')]);
    assert.equal(refusal(bytes), 'not valid UTF-8 (byte 0xff at offset 15): the file is UTF-8 JSON');
    const conf = Buffer.concat([
      Buffer.from(JSON.stringify(CONF).slice(0, -1)),
      Buffer.from(',"dhcp":"s'),
      Buffer.of(0xc3, 0x28),
      Buffer.from('"}'),
    ]);
    const cni = await cniRefusal(ENV, conf);
    assert.equal(cni.code, 6);
    assert.match(
      cni.msg,
      /^network configuration: not valid UTF-8 \(byte 0xc3 at offset \d+\): it is UTF-8 JSON$/,
    );
  });

  it('a file that is not an object says what it holds', () => {
    assert.equal(refusal('[]'), 'expected a JSON object of keys, got an array');
    assert.equal(refusal('null'), 'expected a JSON object of keys, got null');
    assert.equal(refusal('"x"'), 'expected a JSON object of keys, got a string');
  });

  it('a number of the wrong kind gets the range of its key', () => {
    assert.equal(
      refusal('{"flows":{"idleTimeout":1.5}}'),
      "key 'flows.idleTimeout': value 1.5: expected an integer from 1 to 65535",
    );
    assert.equal(
      refusal('{"flows":{"idleTimeout":"60"}}'),
      "key 'flows.idleTimeout': value '60': expected an integer from 1 to 65535",
    );
  });

  it('a syntax error shows the file text it quotes escaped', () => {
    const m = refusal('nul\n\u001b[2J');
    assert.match(m, /^not valid JSON: .*\\n/);
  });

  it('escapes a file path with control characters', () => {
    const m = (() => {
      try {
        loadConfig(join(dir, 'no\nfile\u001b[2J.json'), agentConfigSchema);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    assert.match(m, /no\\nfile\\x1b\[2J\.json: cannot read: ENOENT$/);
  });

  it('cuts and counts unknown keys', () => {
    const keys: Record<string, number> = { ['k'.repeat(100000)]: 1 };
    for (let i = 0; i < 100; i++) keys[`x${i}`] = i;
    const m = refusal(JSON.stringify(keys));
    assert.match(
      m,
      /^unknown key\(s\) 'k{64}\.\.\.' \(100000 characters\), 'x0', 'x1', 'x2', 'x3' and 96 more$/,
    );
  });

  it('midonet-cni: the same words, with its codes', async () => {
    assert.deepEqual(await cniRefusal(ENV, '[1]'), {
      code: 7,
      msg: 'network configuration: expected a JSON object of keys, got an array',
    });
    const unknown = await cniRefusal(ENV, JSON.stringify({ ...CONF, 'a\u001b[2Jb': 1 }));
    assert.equal(unknown.code, 2);
    assert.equal(unknown.msg, "network configuration: unsupported key(s) 'a\\x1b[2Jb'");
    const mtu = await cniRefusal(ENV, JSON.stringify({ ...CONF, mtu: '1500' }));
    assert.equal(mtu.msg, "network configuration: key 'mtu': value '1500': expected number");
    const version = await cniRefusal(ENV, JSON.stringify({ ...CONF, cniVersion: '9\u202e9' }));
    assert.equal(version.code, 1);
    assert.match(version.msg, /cniVersion '9\\u202e9' is not supported/);
  });

  it('midonet-cni: environment values quoted, escaped and cut', async () => {
    const cmd = await cniRefusal(
      { ...ENV, CNI_COMMAND: `X\u202e${'y'.repeat(100000)}` },
      JSON.stringify(CONF),
    );
    assert.equal(cmd.code, 4);
    assert.match(cmd.msg, /^CNI_COMMAND 'X\\u202ey+\.\.\.' \(100002 characters\) is not one of ADD/);
    const id = await cniRefusal({ ...ENV, CNI_CONTAINERID: 'a\u202eb/..' }, JSON.stringify(CONF));
    assert.match(id.msg, /^CNI_CONTAINERID='a\\u202eb\/\.\.': a container id/);
    const ifname = await cniRefusal({ ...ENV, CNI_IFNAME: 'e\u001b[2J' }, JSON.stringify(CONF));
    assert.equal(ifname.code, 4);
    assert.match(
      ifname.msg,
      /^CNI_IFNAME='e\\x1b\[2J': it has a control or invisible character; an interface name of 1 to 15 bytes/,
    );
    const netns = await cniRefusal({ ...ENV, CNI_NETNS: '/proc/1/ns/net\n' }, JSON.stringify(CONF));
    assert.match(netns.msg, /^CNI_NETNS='\/proc\/1\/ns\/net\\n': the path of the network namespace/);
  });
});
