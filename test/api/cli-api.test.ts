/**
 * `midonet-cli --api URL --token T` does what the CLI does on the store, with the same output: one
 * script of commands (every kind and verb, tables and --json, and bad input) is run against a store
 * directly and, on another store, through midonet-api; the outputs must be equal once ids (UUIDs and
 * generated MACs) are numbered by first appearance; read-only commands (a trace too) are also run
 * on one store both ways, where the outputs must be equal byte for byte. Plus `token create|list|delete` both ways.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { apiFixture, type ApiFixture } from './fixture.js';

const SCRIPT: string[][] = [
  ['host', 'create', 'hv1', '--addresses', '198.51.100.1'],
  ['host', 'create', 'hv2', '--addresses', '198.51.100.2'],
  ['tunnel-zone', 'create', 'tz'],
  ['tunnel-zone', 'add-member', 'tz', '--host', 'hv1'],
  ['tunnel-zone', 'add-member', 'tz', '--host', 'hv2'],
  ['tunnel-zone', 'remove-member', 'tz', '--host', 'hv2'],
  ['bridge', 'create', 'br'],
  ['router', 'create', 'rt'],
  ['port', 'create', 'rp', '--router', 'rt', '--address', '192.0.2.1/24', '--mac', '02:00:00:00:01:01'],
  ['port', 'create', 'up', '--bridge', 'br'],
  ['port', 'link', 'up', 'rp'],
  ['port', 'create', 'vm1', '--bridge', 'br'],
  ['port', 'create', 'vm2', '--bridge', 'br'],
  ['port', 'bind', 'vm1', '--host', 'hv1', '--interface', 'tap1'],
  ['route', 'create', '--router', 'rt', '--dst', '192.0.2.0/24', '--next-hop-port', 'rp'],
  ['chain', 'create', 'in'],
  ['rule', 'add', 'in', '--action', 'drop', '--proto', 'tcp', '--dst-port', '22'],
  ['rule', 'add', 'in', '--action', 'accept', '--position', '1', '--src', '198.51.100.7', '--invert', 'src'],
  ['rule', 'create', '--chain', 'in', '--action', 'continue'],
  ['rule', 'list', '--chain', 'in'],
  ['port-group', 'create', 'web', '--ports', 'vm1'],
  ['port-group', 'add-port', 'web', 'vm2'],
  ['port-group', 'remove-port', 'web', 'vm1'],
  ['ip-address-group', 'create', 'admins', '--addresses', '192.0.2.7'],
  ['dhcp', 'create', 'd', '--bridge', 'br', '--subnet', '192.0.2.0/24', '--gateway', '192.0.2.1'],
  ['dhcp', 'update', 'd', '--range-start', '192.0.2.100', '--range-end', '192.0.2.150'],
  ['dhcp', 'add-host', 'd', '--mac', '02:00:00:00:00:01', '--address', '192.0.2.10'],
  ['dhcp', 'remove-host', 'd', '--mac', '02:00:00:00:00:01'],
  [
    'bgp-peer',
    'create',
    'isp',
    '--port',
    'rp',
    '--peer-address',
    '192.0.2.254',
    '--peer-as',
    '64512',
    '--local-as',
    '64513',
  ],
  ['bgp-network', 'create', '--router', 'rt', '--prefix', '198.51.100.0/24'],
  ['bridge', 'update', 'br', '--vlan-aware', 'true', '--expected-version', '1'],
  ['bridge', 'update', 'br', '--vlan-aware', 'false', '--expected-version', '1'],
  ['port', 'list'],
  ['port', 'list', '--bridge', 'br'],
  ['port', 'show', 'vm1'],
  ['port', 'show', 'vm1', '--json'],
  ['host', 'list'],
  ['host', 'show', 'hv1', '--json'],
  ['bgp-peer', 'list'],
  ['router', 'show', 'rt'],
  ['dhcp', 'show', 'd'],
  ['dhcp-lease', 'list'],
  ['chain', 'list', '--json'],
];

/** Read-only commands, also compared byte for byte on one store read both ways. */
const READS: string[][] = [
  ['port', 'list'],
  ['host', 'list'],
  ['rule', 'list', '--chain', 'in', '--json'],
  ['router', 'show', 'rt'],
  ['router', 'delete', 'rt'], // refused: it lists the referrers in the store's id order
  [
    'trace',
    '--port',
    'vm2',
    '--src-mac',
    '02:00:00:00:00:02',
    '--dst-mac',
    'ff:ff:ff:ff:ff:ff',
    '--src-ip',
    '192.0.2.20',
    '--dst-ip',
    '192.0.2.1',
    '--proto',
    'udp',
    '--dst-port',
    '53',
  ],
];

const TEARDOWN: string[][] = [
  ['port', 'unbind', 'vm1'],
  ['port', 'unlink', 'up'],
  ['bridge', 'create', 'br'],
  ['bridge', 'create', 'x', '--vlan-aware', 'maybe'],
  ['port', 'create', 'p', '--bridge', 'nope'],
  ['dhcp', 'update', 'd', '--range-start', '192.0.2.0'],
  ['router', 'delete', 'rt', '--cascade'],
  ['bridge', 'delete', 'br', '--cascade', '--json'],
  ['host', 'delete', 'hv1'],
  ['tunnel-zone', 'delete', 'tz'],
  ['host', 'list', '--json'],
];

interface Result {
  code: number;
  out: string;
  err: string;
}

async function runCli(args: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    (s) => void out.push(s),
    (s) => void err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Numbers UUIDs and generated MACs by first appearance, and drops times, so two runs compare. */
function normalizer(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) =>
    s
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
        if (!seen.has(u)) seen.set(u, `<id${seen.size}>`);
        return seen.get(u)!;
      })
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>');
}

describe('midonet-cli --api', () => {
  let fx: ApiFixture;
  let dir: string;
  before(async () => {
    fx = await apiFixture();
    dir = mkdtempSync(join(tmpdir(), 'midonet-cli-api-'));
  });
  after(async () => {
    await fx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same output through the API as on the store', async () => {
    const direct = ['--store', `sqlite:${join(dir, 'direct.db')}`];
    const viaApi = ['--api', fx.base, '--token', fx.admin];
    const nd = normalizer();
    const na = normalizer();
    const compare = async (cmds: string[][]) => {
      for (const cmd of cmds) {
        const d = await runCli([...direct, ...cmd]);
        const a = await runCli([...viaApi, ...cmd]);
        const what = `midonet-cli ${cmd.join(' ')}`;
        assert.equal(
          a.code,
          d.code,
          `${what}: exit ${a.code} through the API, ${d.code} on the store: ${a.err}`,
        );
        // A cascade lists what it deleted in the store's id order: compare the lines as a set.
        const lines = (t: string) => (cmd.includes('--cascade') ? t.split('\n').sort().join('\n') : t);
        assert.equal(lines(na(a.out)), lines(nd(d.out)), `${what}: stdout`);
        assert.equal(na(a.err), nd(d.err), `${what}: stderr`);
      }
    };
    await compare(SCRIPT);
    await compare(READS.slice(0, 4)); // a flood's and the referrers' order follow the store's ids
    for (const cmd of READS) {
      const d = await runCli(['--store', fx.storeUrl, ...cmd]);
      const a = await runCli([...viaApi, ...cmd]);
      assert.equal(d.code, cmd[0] === 'router' && cmd[1] === 'delete' ? 1 : 0, d.err);
      assert.deepEqual(a, d, `midonet-cli ${cmd.join(' ')}: the same store read both ways`);
    }
    await compare(TEARDOWN);
  });

  it('refuses a missing or bad token with one clear line', async () => {
    const noToken = await runCli(['--api', fx.base, 'bridge', 'list']);
    assert.equal(noToken.code, 2);
    assert.match(noToken.err, /^midonet-cli: error: --api: a token is needed/);
    const bad = await runCli(['--api', fx.base, '--token', 'nope', 'bridge', 'list']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.err,
      /^midonet-cli: error: midonet-api http:\/\/127\.0\.0\.1:\d+: the bearer token is not valid/,
    );
    const reader = await runCli(['--api', fx.base, '--token', fx.reader, 'bridge', 'create', 'r']);
    assert.equal(reader.code, 1);
    assert.match(reader.err, /token 'reader' has role reader: it may only read/);
    const down = await runCli(['--api', 'http://127.0.0.1:1', '--token', fx.admin, 'bridge', 'list']);
    assert.equal(down.code, 1);
    assert.match(down.err, /cannot reach midonet-api/);
    assert.equal(down.err.split('\n').length, 1);
  });

  it('makes, lists and deletes tokens, on the store and through the API', async () => {
    const store = ['--store', fx.storeUrl];
    const made = await runCli([...store, 'token', 'create', 'ops', '--role', 'admin']);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /^mnt_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/, 'the token alone on stdout');
    const viaApi = ['--api', fx.base, '--token', made.out];
    const second = await runCli([...viaApi, 'token', 'create', 'ro', '--role', 'reader', '--json']);
    assert.equal(second.code, 0, second.err);
    assert.equal(JSON.parse(second.out).role, 'reader');
    const list = await runCli([...viaApi, 'token', 'list']);
    assert.match(list.out, /^ID\s+NAME\s+ROLE\s+CREATED/);
    assert.match(list.out, /\bops\s+admin\b/);
    assert.ok(!list.out.includes('mnt_') && !/[0-9a-f]{64}/.test(list.out), 'no secret, no digest');
    assert.equal((await runCli([...store, 'token', 'list'])).out, list.out, 'the same both ways');
    assert.match((await runCli([...viaApi, 'token', 'delete', 'ro'])).out, /deleted api-token 'ro'/);
    const badRole = await runCli([...store, 'token', 'create', 'x', '--role', 'root']);
    assert.equal(badRole.code, 2);
    assert.match(badRole.err, /--role 'root' is not allowed; allowed: admin, reader/);
  });
});
