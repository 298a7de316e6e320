/**
 * midonet-cni refusing bad input before it touches anything: the configuration (not JSON, missing its
 * bridge, an unknown key, an unsupported version, a wrong type, a bridge that does not exist, an API
 * without a token) and the environment (no command, no container id, no netns, an interface name the
 * kernel would refuse or `ip` would read as an option), each with the CNI specification's error code
 * and a message naming what is wrong; nothing is written to the store. VERSION lists the supported
 * versions. Runs in-process on an embedded store in a temp directory.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cniMain } from '../../src/cni/main.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';

const BIN = fileURLToPath(new URL('../../../bin/midonet-cni', import.meta.url));

describe('midonet-cni: bad input', () => {
  let dir: string;
  let storeUrl: string;
  let store: TopologyStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midonet-cni-'));
    storeUrl = `sqlite:${join(dir, 'state.db')}`;
    store = await openStore(storeUrl);
    await store.create('host', { name: 'cni-host' });
    await store.create('bridge', { name: 'pods' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (cmd: string, extra: Record<string, string> = {}) => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/var/run/netns/nope',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    ...extra,
  });
  const conf = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pods',
      type: 'midonet-cni',
      bridge: 'pods',
      store: storeUrl,
      hostName: 'cni-host',
      ...over,
    });

  async function refused(e: Record<string, string>, stdin: string, code: number, msg: RegExp) {
    const before = await store.position();
    const r = await cniMain(e, stdin);
    assert.equal(r.code, 1);
    const err = JSON.parse(r.out) as { cniVersion: string; code: number; msg: string; details: string };
    assert.equal(err.code, code, err.msg);
    assert.match(err.msg, msg);
    assert.equal(typeof err.cniVersion, 'string');
    assert.equal(await store.position(), before, 'nothing was written');
  }

  it('refuses bad configurations with the spec error codes', async () => {
    await refused(env('ADD'), '{"cniVersion": ', 6, /not valid JSON/);
    const { bridge: _b, ...noBridge } = JSON.parse(conf()) as Record<string, unknown>;
    await refused(
      env('ADD'),
      JSON.stringify(noBridge),
      7,
      /key 'bridge' is required \(the virtual bridge, name or id, that pods join\)/,
    );
    await refused(env('ADD'), conf({ brige: 'pods' }), 2, /unsupported key\(s\) 'brige'/);
    await refused(
      env('ADD'),
      conf({ cniVersion: '2.0.0' }),
      1,
      /cniVersion '2\.0\.0' is not supported; supported: 0\.3\.0, .*1\.1\.0/,
    );
    await refused(env('ADD'), conf({ mtu: 'big' }), 7, /key 'mtu': value 'big': expected number/);
    await refused(env('ADD'), conf({ bridge: 'nope' }), 7, /key 'bridge': no bridge named or with id 'nope'/);
    await refused(env('ADD'), conf(), 7, /bridge 'pods' has no DHCP subnet with a range/);
    await refused(env('ADD'), conf({ hostName: 'elsewhere' }), 11, /host 'elsewhere' is not registered/);
    await refused(
      env('ADD'),
      conf({ api: 'http://127.0.0.1:1' }),
      7,
      /'api' needs 'apiToken' or 'apiTokenFile'/,
    );
    await refused(env('ADD'), conf({ ipam: { type: 'dhcp' } }), 7, /key 'ipam\.type'/);
  });

  it('refuses a bad environment with code 4', async () => {
    await refused({ CNI_COMMAND: 'ADD' }, conf(), 4, /CNI_CONTAINERID is not set/);
    await refused(env('ADD', { CNI_NETNS: '' }), conf(), 4, /CNI_NETNS is not set/);
    await refused(
      env('ADD', { CNI_IFNAME: 'a-very-long-interface' }),
      conf(),
      4,
      /CNI_IFNAME='a-very-long-interface'/,
    );
    // The kernel's interface-name rules, and no leading '-' (the name goes into `ip` argument lists).
    for (const [ifname, why] of [
      ['-eth0', /CNI_IFNAME='-eth0': it starts with '-' \(it would read as an option\)/],
      ['--help', /CNI_IFNAME='--help': it starts with '-'/],
      ['.', /CNI_IFNAME='\.': '\.' and '\.\.' are not interface names/],
      ['..', /CNI_IFNAME='\.\.': '\.' and '\.\.' are not/],
      [
        '\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9',
        /CNI_IFNAME='\u00e9{8}': it is 16 bytes long; an interface name of 1 to 15 bytes/,
      ],
      ['a/b', /CNI_IFNAME='a\/b': it has '\/'/],
      ['a b', /CNI_IFNAME='a b': it has white space/],
      ['a:b', /CNI_IFNAME='a:b': it has ':'/],
      ['a\nb', /CNI_IFNAME='a\\nb': it has a control or invisible character/],
    ] as const)
      await refused(env('ADD', { CNI_IFNAME: ifname }), conf(), 4, why);
    await refused(env('DEL', { CNI_IFNAME: '-x' }), conf(), 4, /CNI_IFNAME='-x'.*not starting with '-'/);
    // Given the bytes of the environment: a value that is not UTF-8 is refused, naming the byte.
    const before = await store.position();
    const r = await cniMain(
      env('ADD', { CNI_IFNAME: 'e\ufffd' }),
      conf(),
      new Map([['CNI_IFNAME', Buffer.of(0x65, 0xff)]]),
    );
    const e = JSON.parse(r.out) as { code: number; msg: string };
    assert.equal(e.code, 4);
    assert.match(e.msg, /^CNI_IFNAME is not valid UTF-8 \(byte 0xff at offset 1\): an interface name/);
    assert.equal(await store.position(), before);
    await refused(
      env('ADD', { CNI_ARGS: 'K8S_POD_NAME' }),
      conf(),
      4,
      /CNI_ARGS: 'K8S_POD_NAME' is not KEY=VALUE/,
    );
    await refused(
      env('REMOVE'),
      conf(),
      4,
      /CNI_COMMAND 'REMOVE' is not one of ADD, DEL, CHECK, GC, STATUS, VERSION/,
    );
  });

  it('answers VERSION and STATUS, and DEL of nothing succeeds', async () => {
    const v = await cniMain({ CNI_COMMAND: 'VERSION' }, '{"cniVersion": "1.0.0"}');
    assert.equal(v.code, 0);
    assert.deepEqual(JSON.parse(v.out), {
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    assert.equal((await cniMain(env('STATUS'), conf({ cniVersion: '1.1.0' }))).code, 0);
    const down = await cniMain(env('STATUS'), conf({ cniVersion: '1.1.0', bridge: 'gone' }));
    assert.equal((JSON.parse(down.out) as { code: number }).code, 50);
    const before = await store.position();
    assert.deepEqual(await cniMain(env('DEL'), conf()), { out: '', code: 0 }, 'DEL is idempotent');
    assert.equal(await store.position(), before);
  });

  it('runs as an executable: error JSON on stdout, exit 1', async () => {
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(BIN, [], { env: { ...process.env, ...env('ADD') } }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
      child.stdin!.end(conf({ bridge: 5 }));
    });
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as { code: number }).code, 7);
    // The configuration reaches the plugin as bytes: one that is not UTF-8 is a decode failure (6).
    const bytes = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(BIN, [], { env: { ...process.env, ...env('ADD') } }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
      child.stdin!.end(
        Buffer.concat([
          Buffer.from(conf({ bridge: 'p' }).slice(0, -1)),
          Buffer.from(',"dhcp":"'),
          Buffer.of(0xff),
          Buffer.from('"}'),
        ]),
      );
    });
    assert.equal(bytes.code, 1);
    const e = JSON.parse(bytes.stdout) as { code: number; msg: string };
    assert.equal(e.code, 6, e.msg);
    assert.match(e.msg, /not valid UTF-8 \(byte 0xff at offset \d+\)/);
    // An environment value that is not UTF-8 (Node would read U+FFFD): CNI_IFNAME's bytes reach the
    // plugin through `env`, started by xargs from a file of arguments (stdin stays the plugin's).
    const args = join(dir, 'env-args');
    writeFileSync(
      args,
      Buffer.concat([Buffer.from('CNI_IFNAME=eth'), Buffer.of(0xff, 0), Buffer.from(BIN), Buffer.of(0)]),
    );
    const ifname = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        'xargs',
        ['-0', '-a', args, 'env'],
        { env: { ...process.env, ...env('ADD') } },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
      child.stdin!.end(conf());
    });
    assert.notEqual(ifname.code, 0);
    const ie = JSON.parse(ifname.stdout) as { code: number; msg: string };
    assert.equal(ie.code, 4, ie.msg);
    assert.match(ie.msg, /^CNI_IFNAME is not valid UTF-8 \(byte 0xff at offset 3\): an interface name/);
  });
});
