/**
 * midonet-cli end to end: every kind and verb against a real embedded store, the --json output, and
 * every kind of bad input (one clear line on stderr, a non-zero exit, nothing half-written).
 * Most cases run the CLI in-process; a few spawn the real executable to check exit codes and stderr.
 */
import { describe, it, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { main } from '../../src/cli/main.js';
import { cliRunner } from '../support/cli-runner.js';
import { UNSAFE_TEXT } from '../../src/quote.js';
import { openStore } from '../../src/state/open.js';
import { CLI_KINDS as KINDS, verbsOf } from '../../src/cli/topology-commands.js';
import { allocate } from '../../src/state/leases.js';

const execFileP = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/midonet-cli', import.meta.url));

let dir: string;
let store: string;
const covered = new Set<string>();

const { ok, fails } = cliRunner(
  () => store,
  (args) => {
    if (args[0] && args[1]) covered.add(`${args[0]} ${args[1]}`);
  },
);

async function json<T>(...args: string[]): Promise<T> {
  return JSON.parse(await ok(...args, '--json')) as T;
}

describe('midonet-cli', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'midonet-cli-'));
  });
  // Every case has a store of its own: no case depends on what another left, or on their order.
  let stores = 0;
  beforeEach(() => {
    store = `sqlite:${join(dir, `state-${++stores}.db`)}`;
    covered.clear();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates, lists, shows, updates and deletes every kind', async () => {
    const id = await ok('host', 'create', 'hv1', '--addresses', '198.51.100.1');
    assert.match(id, /^[0-9a-f-]{36}$/, 'create prints the new id');
    await ok('host', 'create', '--name', 'hv2', '--addresses', '198.51.100.2');
    await ok('tunnel-zone', 'create', 'tz', '--type', 'vxlan');
    await ok('tunnel-zone', 'add-member', 'tz', '--host', 'hv1', '--address', '198.51.100.1');
    await ok('tunnel-zone', 'add-member', 'tz', '--host', 'hv2');
    const tz = await json<{ members: Array<{ address: string }> }>('tunnel-zone', 'show', 'tz');
    assert.deepEqual(
      tz.members.map((m) => m.address),
      ['198.51.100.1', '198.51.100.2'],
      'member address defaults to the host address',
    );
    await ok('tunnel-zone', 'remove-member', 'tz', '--host', 'hv2');
    await ok('chain', 'create', 'in');
    await ok('chain', 'create', 'sub');
    await ok('bridge', 'create', 'br', '--inbound-chain', 'in');
    await ok('router', 'create', 'rt');
    await ok('port', 'create', 'vm1', '--bridge', 'br');
    await ok('port', 'create', 'vm2', '--bridge', 'br');
    await ok('port', 'create', 'up', '--bridge', 'br');
    await ok(
      'port',
      'create',
      'rp',
      '--router',
      'rt',
      '--address',
      '192.0.2.1/24',
      '--mac',
      '02:00:00:00:00:AA',
    );
    await ok('port', 'bind', 'vm1', '--host', 'hv1', '--interface', 'tap-vm1');
    await ok('port', 'link', 'up', 'rp');
    const rp = await json<{ peerId: string; mac: string }>('port', 'show', 'rp');
    assert.equal(rp.mac, '02:00:00:00:00:aa');
    const upPort = await json<{ id: string; peerId: string }>('port', 'show', 'up');
    assert.equal(rp.peerId, upPort.id, 'link is symmetric');
    const routeId = await ok(
      'route',
      'create',
      '--router',
      'rt',
      '--dst',
      '203.0.113.0/24',
      '--next-hop-port',
      'rp',
      '--gateway',
      '192.0.2.254',
      '--weight',
      '10',
    );
    await ok(
      'rule',
      'add',
      'in',
      '--action',
      'drop',
      '--proto',
      'udp',
      '--dst-port',
      '53',
      '--invert',
      'dst-port',
    );
    const first = await ok(
      'rule',
      'add',
      'in',
      '--action',
      'jump',
      '--jump-chain',
      'sub',
      '--position',
      '1',
      '--src',
      '192.0.2.7',
      '--tcp-flags',
      'syn,!ack',
    );
    await ok('rule', 'create', '--chain', 'sub', '--action', 'accept', '--ethertype', 'arp');
    const rules = await json<Array<{ id: string; position: number; conditions: Record<string, unknown> }>>(
      'rule',
      'list',
      '--chain',
      'in',
    );
    assert.deepEqual(
      rules.map((r) => r.position),
      [1, 2],
    );
    assert.equal(rules[0]!.id, first);
    assert.deepEqual(rules[0]!.conditions, {
      srcPrefix: { value: '192.0.2.7/32', invert: false },
      tcpFlags: { value: { set: 2, mask: 18 }, invert: false },
    });
    assert.deepEqual(rules[1]!.conditions.dstPort, { value: { start: 53, end: 53 }, invert: true });
    await ok('port-group', 'create', 'web', '--ports', 'vm1');
    await ok('port-group', 'add-port', 'web', 'vm2');
    await ok('port-group', 'remove-port', 'web', 'vm1');
    assert.equal((await json<{ portIds: string[] }>('port-group', 'show', 'web')).portIds.length, 1);
    await ok('ip-address-group', 'create', 'admins', '--addresses', '192.0.2.7,192.0.2.8');
    await ok(
      'dhcp',
      'create',
      'd',
      '--bridge',
      'br',
      '--subnet',
      '192.0.2.0/24',
      '--gateway',
      '192.0.2.1',
      '--dns',
      '192.0.2.1',
      '--lease-time',
      '3600',
      '--range-start',
      '192.0.2.100',
      '--range-end',
      '192.0.2.199',
    );
    await ok(
      'dhcp',
      'add-host',
      'd',
      '--mac',
      '02:00:00:00:00:01',
      '--address',
      '192.0.2.10',
      '--host-name',
      'vm1',
    );
    await ok('dhcp', 'add-host', 'd', '--mac', '02:00:00:00:00:02', '--address', '192.0.2.11');
    await ok('dhcp', 'remove-host', 'd', '--mac', '02:00:00:00:00:02');
    // Leases come from the allocator (the CNI plugin, the DHCP server); people list, show, delete them.
    const direct = await openStore(store);
    const vm2 = await direct.resolve('port', 'vm2');
    const lease = await allocate(direct, 'd', { mac: '02:00:00:00:00:09', now: Date.now(), portId: vm2.id });
    const spare = await allocate(direct, 'd', { mac: '02:00:00:00:00:0a', now: Date.now() });
    await direct.close();
    assert.match(
      await ok('dhcp-lease', 'list', '--dhcp', 'd', '--port', 'vm2'),
      /192\.0\.2\.100\s+02:00:00:00:00:09\s+active/,
    );
    assert.match(await ok('dhcp-lease', 'show', lease.id), /^id\s+/);
    assert.match(await ok('dhcp-lease', 'delete', spare.id), /deleted dhcp-lease /);
    await ok(
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
    );
    const netId = await ok('bgp-network', 'create', '--router', 'rt', '--prefix', '198.51.100.0/24');
    // NAT conveniences need an uplink: a router port bound to a host interface.
    await ok('port', 'create', 'rt-up', '--router', 'rt', '--address', '203.0.113.1/24');
    await ok('port', 'bind', 'rt-up', '--host', 'hv1', '--interface', 'up0');
    await ok('port', 'update', 'vm2', '--addresses', '192.0.2.12');
    await ok(
      'source-nat',
      'create',
      'snat',
      '--router',
      'rt',
      '--subnet',
      '192.0.2.0/24',
      '--address',
      '203.0.113.1',
    );
    await ok(
      'port-forward',
      'create',
      'web',
      '--router',
      'rt',
      '--address',
      '203.0.113.1',
      '--protocol',
      'tcp',
      '--port',
      '8080',
      '--to-address',
      '192.0.2.12',
      '--to-port',
      '80',
    );
    await ok('floating-ip', 'create', 'fip1', '--router', 'rt', '--address', '203.0.113.10', '--port', 'vm2');
    // Made in the order source NAT, port forward, floating IP; each rule goes to its place in the
    // chain: floating IPs first, then port forwards, then source NAT.
    const nat = await json<{ natInboundChainId: string; natOutboundChainId: string }>('router', 'show', 'rt');
    const actions = async (chain: string) => {
      const rules = await json<Array<{ id: string; action: string }>>('rule', 'list', '--chain', chain);
      const order = (await json<{ ruleIds: string[] }>('chain', 'show', chain)).ruleIds;
      return order.map((id) => rules.find((r) => r.id === id)!.action);
    };
    assert.deepEqual(await actions(nat.natInboundChainId), ['static-dnat', 'dnat', 'rev-snat']);
    assert.deepEqual(await actions(nat.natOutboundChainId), ['static-snat', 'rev-dnat', 'snat']);
    const agent = await openStore(store);
    const hv1 = await agent.resolve('host', 'hv1');
    const block = await agent.create('nat-block', {
      name: '203.0.113.1/tcp/0',
      address: '203.0.113.1',
      protocol: 'tcp',
      index: 0,
      hostId: hv1.id,
      expiresAt: Date.now() + 60000,
    });
    await agent.close();

    // The load balancer: a VIP on the uplink, members on the tenant subnet, a health monitor.
    await ok('load-balancer', 'create', 'lb', '--router', 'rt');
    await ok('pool', 'create', 'web-pool', '--load-balancer', 'lb', '--algorithm', 'hash');
    await ok(
      'vip',
      'create',
      'web-vip',
      '--load-balancer',
      'lb',
      '--pool',
      'web-pool',
      '--address',
      '203.0.113.80',
      '--port',
      '80',
    );
    await ok(
      'pool-member',
      'create',
      'web1',
      '--pool',
      'web-pool',
      '--address',
      '192.0.2.21',
      '--port',
      '8080',
      '--weight',
      '3',
    );
    await ok(
      'health-monitor',
      'create',
      'web-hm',
      '--pool',
      'web-pool',
      '--type',
      'http',
      '--interval',
      '2',
      '--timeout',
      '1',
    );
    // A port mirror: what vm1 sends to 198.51.100.0/24, copied to vm2.
    await ok(
      'mirror',
      'create',
      'tap',
      '--ports',
      'vm1',
      '--to-port',
      'vm2',
      '--direction',
      'in',
      '--dst',
      '198.51.100.0/24',
    );
    for (const kind of KINDS) {
      const table = await ok(kind, 'list');
      assert.match(table.split('\n')[0]!, /^ID\s+/, `${kind} list prints a table`);
      const rows = await json<unknown[]>(kind, 'list');
      assert.ok(rows.length > 0, `${kind} list --json`);
    }
    assert.match(await ok('port', 'list'), /rp\s+rt\s+192\.0\.2\.1\/24/);
    assert.match(await ok('port', 'show', 'vm1'), /hostId\s+hv1 \(/);
    assert.equal(
      (await json<unknown[]>('port', 'list', '--router', 'rt')).length,
      2,
      'list filters by reference (rp and the uplink rt-up)',
    );
    for (const [kind, ref] of [
      ['host', 'hv1'],
      ['tunnel-zone', 'tz'],
      ['bridge', 'br'],
      ['router', 'rt'],
      ['route', routeId],
      ['chain', 'in'],
      ['rule', first],
      ['port-group', 'web'],
      ['ip-address-group', 'admins'],
      ['dhcp', 'd'],
      ['bgp-peer', 'isp'],
      ['bgp-network', netId],
      ['dhcp-lease', lease.id],
      ['port', 'vm2'],
      ['floating-ip', 'fip1'],
      ['port-forward', 'web'],
      ['source-nat', 'snat'],
      ['nat-block', block.id],
    ] as const) {
      assert.match(await ok(kind, 'show', ref), /^id\s+[0-9a-f-]{36}/, `${kind} show`);
    }

    assert.match(
      await ok('bridge', 'update', 'br', '--admin-state-up', 'false', '--expected-version', '1'),
      /updated bridge 'br' \(version 2\)/,
    );
    await ok('router', 'update', 'rt', '--inbound-chain', 'sub');
    await ok('router', 'update', 'rt', '--inbound-chain', 'none');
    await ok('host', 'update', 'hv2', '--addresses', '198.51.100.22');
    await ok('tunnel-zone', 'update', 'tz', '--type', 'gre');
    await ok('port', 'update', 'vm2', '--admin-state-up', 'down');
    await ok('route', 'update', routeId, '--weight', '20');
    await ok('rule', 'update', first, '--position', '2', '--dst', '198.51.100.0/24', '--invert', 'dst');
    const moved = await json<{ position: number; conditions: { dstPrefix: { invert: boolean } } }>(
      'rule',
      'show',
      first,
    );
    assert.equal(moved.position, 2);
    assert.equal(moved.conditions.dstPrefix.invert, true);
    await ok('chain', 'update', 'sub', '--name', 'sub2');
    await ok('port-group', 'update', 'web', '--name', 'web2');
    await ok('ip-address-group', 'update', 'admins', '--addresses', '192.0.2.9');
    await ok('dhcp', 'update', 'd', '--enabled', 'false');
    await ok('bgp-peer', 'update', 'isp', '--hold-time', '9', '--keepalive', '3');
    await ok('bgp-network', 'update', netId, '--prefix', '198.51.100.128/25');
    await ok('port', 'unlink', 'up');
    await ok('port', 'unbind', 'vm1');
    assert.equal((await json<{ hostId: null }>('port', 'show', 'vm1')).hostId, null);

    await ok('floating-ip', 'update', 'fip1', '--fixed-address', '192.0.2.13');
    await ok('port-forward', 'update', 'web', '--to-port', '8080');
    await ok('source-nat', 'update', 'snat', '--port-from', '2000');
    assert.equal(
      (await json<unknown[]>('rule', 'list', '--chain', nat.natInboundChainId)).length,
      3,
      'an update rewrites its rules, it does not add more',
    );
    assert.deepEqual(await actions(nat.natOutboundChainId), ['static-snat', 'rev-dnat', 'snat'], 'in place');
    await ok('floating-ip', 'delete', 'fip1');
    await ok('port-forward', 'delete', 'web');
    await ok('source-nat', 'delete', 'snat');
    assert.deepEqual(
      await json<unknown[]>('rule', 'list', '--chain', nat.natInboundChainId),
      [],
      'their rules went with them',
    );
    for (const [kind, ref] of [
      ['load-balancer', 'lb'],
      ['pool', 'web-pool'],
      ['vip', 'web-vip'],
      ['pool-member', 'web1'],
      ['health-monitor', 'web-hm'],
      ['mirror', 'tap'],
    ] as const) {
      assert.match(await ok(kind, 'show', ref), /^id\s+[0-9a-f-]{36}/, `${kind} show`);
      assert.match(await ok(kind, 'list'), new RegExp(ref));
    }
    const shown = await ok('load-balancer', 'show', 'lb');
    assert.match(shown, /VIPs:\n.*\nweb-vip\s+tcp 203\.0\.113\.80:80\s+web-pool\s+none/);
    assert.match(
      shown,
      /Pool web-pool \(hash\); health monitor: web-hm: http GET \/ expecting 200 every 2 s/,
    );
    assert.match(shown, /web1\s+192\.0\.2\.21:8080\s+3\s+true\s+up\s+yes/);
    // No agent and no midonet-lb-health run here: the live columns are left out, and it says why.
    assert.match(shown, /connections: no agent is running\nhealth checks: no midonet-lb-health is running/);
    await ok('load-balancer', 'update', 'lb', '--admin-state-up', 'false');
    await ok('pool', 'update', 'web-pool', '--algorithm', 'round-robin');
    await ok('vip', 'update', 'web-vip', '--session-persistence', 'source-ip');
    await ok('pool-member', 'update', 'web1', '--weight', '0');
    await ok('health-monitor', 'update', 'web-hm', '--retries', '5');
    await ok(
      'mirror',
      'update',
      'tap',
      '--direction',
      'both',
      '--dst',
      'none',
      '--src',
      '192.0.2.0/24',
      '--invert',
      'src',
    );
    const tap = await json<{ direction: string; conditions: Record<string, unknown> }>(
      'mirror',
      'show',
      'tap',
    );
    assert.equal(tap.direction, 'both');
    assert.deepEqual(tap.conditions, { srcPrefix: { value: '192.0.2.0/24', invert: true } });
    await ok('mirror', 'delete', 'tap');
    await ok('health-monitor', 'delete', 'web-hm');
    await ok('pool-member', 'delete', 'web1');
    await ok('vip', 'delete', 'web-vip');
    await ok('pool', 'delete', 'web-pool');
    await ok('load-balancer', 'delete', 'lb');
    await ok('nat-block', 'delete', block.id);
    await ok('bgp-network', 'delete', netId);
    await ok('bgp-peer', 'delete', 'isp');
    await ok('dhcp', 'delete', 'd');
    await ok('ip-address-group', 'delete', 'admins');
    await ok('port-group', 'delete', 'web2');
    await ok('rule', 'delete', first);
    await ok('port', 'delete', 'vm2');
    await ok('route', 'delete', routeId);
    await ok('tunnel-zone', 'delete', 'tz');
    assert.match(
      await ok('router', 'delete', 'rt', '--cascade'),
      /deleted router 'rt'\n(deleted port '(rt-up|rp)'\n?){2}/,
    );
    const gone = await json<{ deleted: Array<{ kind: string }> }>('bridge', 'delete', 'br', '--cascade');
    assert.deepEqual(gone.deleted.map((d) => d.kind).sort(), ['bridge', 'port', 'port']);
    await ok('chain', 'delete', 'in', '--cascade');
    await ok('chain', 'delete', 'sub2', '--cascade');
    // The NAT chains the conveniences made are chains like any other.
    await ok('chain', 'delete', 'rt-nat-in');
    await ok('chain', 'delete', 'rt-nat-out');
    await ok('host', 'delete', 'hv1');
    await ok('host', 'delete', 'hv2');
    for (const kind of KINDS) assert.equal(await ok(kind, 'list'), `no ${kind} objects`);
    // This case alone went through every kind and verb.
    for (const kind of KINDS)
      for (const verb of verbsOf(kind))
        assert.ok(covered.has(`${kind} ${verb}`), `${kind} ${verb} is tested`);
  });

  it('rejects bad load balancer input naming option or field and value, writing nothing', async () => {
    await ok('router', 'create', 'lbr');
    await ok('port', 'create', 'lbr-p', '--router', 'lbr', '--address', '192.0.2.1/24');
    await ok('load-balancer', 'create', 'lb2', '--router', 'lbr');
    await ok('pool', 'create', 'p2', '--load-balancer', 'lb2');
    await fails(
      ['pool-member', 'create', 'm', '--pool', 'p2', '--address', '192.0.2.5', '--port', '70000'],
      2,
      /--port: '70000' is not valid: expected a whole number from 1 to 65535/,
    );
    await fails(
      [
        'pool-member',
        'create',
        'm',
        '--pool',
        'p2',
        '--address',
        '192.0.2.5',
        '--port',
        '80',
        '--weight',
        '-1',
      ],
      2,
      /--weight: '-1' is not valid/,
    );
    await fails(
      [
        'vip',
        'create',
        'v',
        '--load-balancer',
        'lb2',
        '--pool',
        'p2',
        '--address',
        '192.0.2.1',
        '--port',
        '80',
      ],
      1,
      /vip\.address: '192\.0\.2\.1' is the address of port 'lbr-p'/,
    );
    await fails(
      ['health-monitor', 'create', 'h', '--pool', 'p2', '--interval', '3', '--timeout', '4'],
      1,
      /health-monitor\.timeout: 4 is above the interval \(3\)/,
    );
    for (const kind of ['pool-member', 'vip', 'health-monitor'])
      assert.equal(await ok(kind, 'list'), `no ${kind} objects`);
  });

  it('rejects bad input with one clear line and changes nothing', async () => {
    await ok('bridge', 'create', 'b');
    await ok('router', 'create', 'r');
    await ok('port', 'create', 'rp', '--router', 'r', '--address', '192.0.2.1/24');
    await ok('chain', 'create', 'c0');
    await ok('host', 'create', 'h');
    await ok('port', 'create', 'up', '--router', 'r', '--address', '203.0.113.1/24');
    await ok('port', 'bind', 'up', '--host', 'h', '--interface', 'up0');
    await ok('port', 'create', 'vm', '--bridge', 'b');
    await ok(
      'floating-ip',
      'create',
      'f1',
      '--router',
      'r',
      '--address',
      '203.0.113.10',
      '--fixed-address',
      '192.0.2.9',
    );
    const s = await openStore(store);
    const before = await s.position();
    try {
      // NAT conveniences: a public address off the uplinks, a taken floating IP, an empty port range,
      // a port out of range, a floating IP for a port without an address.
      await fails(
        [
          'floating-ip',
          'create',
          'f2',
          '--router',
          'r',
          '--address',
          '198.51.100.5',
          '--fixed-address',
          '192.0.2.9',
        ],
        1,
        /floating-ip\.address: '198\.51\.100\.5' is outside every uplink subnet of router .* \(uplinks: 203\.0\.113\.1\/24\)/,
      );
      await fails(
        [
          'floating-ip',
          'create',
          'f3',
          '--router',
          'r',
          '--address',
          '203.0.113.10',
          '--fixed-address',
          '192.0.2.8',
        ],
        1,
        /floating-ip\.address: '203\.0\.113\.10' is already floating IP 'f1'/,
      );
      await fails(
        [
          'source-nat',
          'create',
          's',
          '--router',
          'r',
          '--subnet',
          '192.0.2.0/24',
          '--address',
          '203.0.113.1',
          '--port-from',
          '3000',
          '--port-to',
          '2000',
        ],
        1,
        /source-nat\.portTo: the range 3000-2000 is empty/,
      );
      await fails(
        [
          'port-forward',
          'create',
          'p',
          '--router',
          'r',
          '--address',
          '203.0.113.1',
          '--protocol',
          'tcp',
          '--port',
          '70000',
          '--to-address',
          '192.0.2.9',
          '--to-port',
          '80',
        ],
        2,
        /--port: '70000' is not valid: expected a whole number from 1 to 65535/,
      );
      await fails(
        ['floating-ip', 'create', 'f4', '--router', 'r', '--address', '203.0.113.11', '--port', 'vm'],
        1,
        /floating-ip\.fixedAddress: port 'vm' has no IPv4 address/,
      );
      await fails(
        ['rule', 'add', 'c0', '--action', 'snat', '--nat-target', '203.0.113.9-203.0.113.1'],
        1,
        /the range 203\.0\.113\.9-203\.0\.113\.1 is empty/,
      );
      await fails(
        ['gizmo', 'list'],
        2,
        /unknown kind 'gizmo'; kinds are: host, tunnel-zone, bridge, .*, bgp-network, dhcp-lease, floating-ip, port-forward, source-nat, nat-block(, [a-z-]+)*; other commands: show, watch, trace, agent, token, completion/,
      );
      // Hostile names are refused and shown escaped, on one line.
      await fails(
        ['bridge', 'create', 'evil\nname\u001b[2J'],
        1,
        /bridge\.name: 'evil\\nname\\x1b\[2J': control characters/,
      );
      await fails(['bridge', 'create', 'none'], 1, /'none' is reserved/);
      await fails(
        ['bridge', 'show', 'no\u001b]0;x\u0007such'],
        1,
        /no bridge named or with id 'no\\x1b\]0;x\\x07such'/,
      );
      // Unlinking an unlinked port or unbinding an unbound one writes nothing.
      await ok('port', 'unlink', 'rp');
      await ok('port', 'unbind', 'rp');
      await fails(['bridge', 'frob'], 2, /unknown verb 'frob'; allowed: create, list, show, update, delete/);
      await fails(['route', 'create', '--router', 'r'], 2, /--dst is required/);
      await fails(['port', 'create', 'x'], 2, /--bridge or --router is required/);
      await fails(['bridge', 'create'], 2, /a name is required/);
      await fails(
        ['port', 'create', 'p', '--router', 'r', '--address', '192.0.2.999/24'],
        1,
        /port\.address: '192\.0\.2\.999\/24': the address part is not a dotted-quad/,
      );
      await fails(
        ['port', 'create', 'p', '--router', 'r', '--address', '192.0.2.2/24', '--mac', 'nope'],
        1,
        /port\.mac: 'nope': expected a MAC/,
      );
      await fails(
        ['route', 'create', '--router', 'r', '--dst', '203.0.113.0/33', '--type', 'blackhole'],
        1,
        /route\.dstPrefix: '203\.0\.113\.0\/33': the prefix length must be 0 to 32/,
      );
      await fails(
        [
          'route',
          'create',
          '--router',
          'r',
          '--dst',
          '203.0.113.0/24',
          '--weight',
          'heavy',
          '--type',
          'blackhole',
        ],
        2,
        /--weight: 'heavy' is not valid: expected a whole number from 0 to 65535/,
      );
      await fails(
        ['port', 'create', 'p', '--bridge', 'no-such-bridge'],
        1,
        /no bridge named or with id 'no-such-bridge'/,
      );
      await fails(
        ['route', 'create', '--router', 'r', '--dst', '203.0.113.0/24', '--next-hop-port', 'ghost'],
        1,
        /no port named or with id 'ghost'/,
      );
      await fails(['rule', 'add', 'nochain', '--action', 'drop'], 1, /no chain named or with id 'nochain'/);
      await fails(
        ['bridge', 'update', 'b', '--vlan-aware', 'true', '--expected-version', '7'],
        1,
        /version 7 expected but the stored version is 1/,
      );
      await fails(
        ['bridge', 'update', 'b', '--vlan-aware', 'maybe'],
        2,
        /--vlan-aware: 'maybe' is not valid: expected true or false/,
      );
      await fails(['bridge', 'update', 'b'], 2, /nothing to change/);
      await fails(
        ['bridge', 'delete', 'b', '--cascade', '--interface', 'x'],
        2,
        /unknown option '--interface'|does not apply/,
      );
      await fails(['bridge', 'show', 'b', '--cascade'], 2, /--cascade: does not apply to 'bridge show'/);
      await fails(
        ['router', 'delete', 'r'],
        1,
        /cannot delete router 'r': referenced by .*port 'rp' \(deviceId\).*--cascade/,
      );
      await fails(['bridge', 'show'], 2, /which bridge\? give its name or id/);
      await fails(['bridge', 'create', 'b'], 1, /bridge\.name: 'b' is already used/);
      await fails(
        ['rule', 'add', 'c0', '--action', 'drop', '--proto', 'tcpp'],
        2,
        /--proto: 'tcpp' is not valid: icmp, tcp, udp/,
      );
      await fails(
        ['chain', 'create', 'c', '--bogus', '1'],
        2,
        /chain create: unknown option '--bogus'; see midonet-cli chain --help/,
      );
      await fails(
        ['rule', 'add', 'c0', '--action', 'accept', '--set-dscp', '64'],
        2,
        /--set-dscp: '64' is not valid: expected a whole number from 0 to 63/,
      );
      await fails(
        ['port', 'create', 'pv', '--bridge', 'b', '--vlan', '4095'],
        2,
        /--vlan: '4095' is not valid: expected a whole number from 1 to 4094/,
      );
      await fails(
        ['port', 'create', 'pv', '--bridge', 'b', '--vlan', '0'],
        2,
        /--vlan: '0' is not valid: expected a whole number from 1 to 4094/,
      );
      assert.equal(await s.position(), before, 'no failed command wrote anything');
    } finally {
      await s.close();
    }
    const errs: string[] = [];
    const other = (url: string) =>
      main(
        ['--store', url, 'bridge', 'list'],
        () => undefined,
        (e) => void errs.push(e),
      );
    assert.equal(await other(`sqlite:${join(dir, 'missing-dir', 'x.db')}`), 1);
    assert.match(errs.at(-1)!, /cannot open sqlite:.*missing-dir.*does not exist/);
    assert.equal(await other('mysql://db'), 1);
    assert.match(errs.at(-1)!, /unknown scheme; allowed: sqlite:PATH/);
    await fails(['--store', store, 'bridge', 'list'], 2, /--store: given more than once/);
  });

  it('reports a bad config file by file, key, value and what is allowed', async () => {
    const cfg = join(dir, 'cli.json');
    writeFileSync(cfg, JSON.stringify({ store, logLevel: 'chatty' }));
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['--config', cfg, 'bridge', 'list'],
      (s) => void out.push(s),
      (s) => void err.push(s),
    );
    assert.equal(code, 1);
    assert.match(
      err.join('\n'),
      new RegExp(
        `${cfg}: key 'logLevel': value 'chatty' is not allowed; allowed: fatal, error, warn, info, debug, trace, silent`,
      ),
    );
    writeFileSync(cfg, '{"store": ');
    assert.equal(
      await main(
        ['--config', cfg, 'bridge', 'list'],
        () => undefined,
        (s) => void err.push(s),
      ),
      1,
    );
    assert.match(err.at(-1)!, /cli\.json: not valid JSON/);
    writeFileSync(cfg, JSON.stringify({ store, colour: 1 }));
    assert.equal(
      await main(
        ['--config', cfg, 'bridge', 'list'],
        () => undefined,
        (s) => void err.push(s),
      ),
      1,
    );
    assert.match(err.at(-1)!, /unknown key\(s\) 'colour'/);
    writeFileSync(cfg, JSON.stringify({ store }));
    assert.equal(
      await main(
        ['--config', cfg, 'bridge', 'list'],
        () => undefined,
        (s) => void err.push(s),
      ),
      0,
      'a good file is used',
    );
  });

  it('exits non-zero from the real executable, with no stack trace', async () => {
    await ok('bridge', 'create', 'b');
    const r = await execFileP(BIN, ['--store', store, 'port', 'create', 'p', '--bridge', 'nope']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((r as { code: number }).code, 1);
    assert.equal((r as { stderr: string }).stderr, "midonet-cli: error: no bridge named or with id 'nope'\n");
    const ok2 = await execFileP(BIN, ['--store', store, 'bridge', 'list', '--json']);
    assert.ok(Array.isArray(JSON.parse(ok2.stdout)));
    const env = { ...process.env, MIDONET_STORE: store };
    const viaEnv = await execFileP(BIN, ['bridge', 'show', 'b', '--json'], { env });
    assert.equal(
      (JSON.parse(viaEnv.stdout) as { name: string }).name,
      'b',
      'MIDONET_STORE selects the store',
    );
  });

  it('prints a name stored before such names were refused with its control characters escaped', async () => {
    await ok('bridge', 'create', 'legacy');
    // What an older version let through, written straight into the file.
    const db = new Database(store.slice('sqlite:'.length));
    const hostile = 'evil\nname\u001b[2J';
    db.prepare(
      "UPDATE objects SET name = ?, body = json_set(body, '$.name', ?) WHERE kind = 'bridge' AND name = 'legacy'",
    ).run(hostile, hostile);
    db.close();
    for (const out of [await ok('bridge', 'list'), await ok('bridge', 'show', hostile)]) {
      assert.match(out, /evil\\nname\\x1b\[2J/);
      for (const line of out.split('\n')) assert.doesNotMatch(line, UNSAFE_TEXT);
    }
  });

  it('traces a packet through the stored topology', async () => {
    await ok('bridge', 'create', 'tb');
    await ok('router', 'create', 'tr');
    await ok('port', 'create', 'tvm', '--bridge', 'tb');
    await ok('port', 'create', 'tup', '--bridge', 'tb');
    await ok(
      'port',
      'create',
      'trp',
      '--router',
      'tr',
      '--address',
      '192.0.2.1/24',
      '--mac',
      '02:00:00:00:00:fe',
    );
    await ok('port', 'link', 'tup', 'trp');
    await ok('chain', 'create', 'tin');
    await ok('rule', 'add', 'tin', '--action', 'drop', '--proto', 'udp', '--dst-port', '53');
    await ok('router', 'update', 'tr', '--inbound-chain', 'tin');
    const args = [
      'trace',
      '--port',
      'tvm',
      '--src-mac',
      '02:00:00:00:00:01',
      '--dst-mac',
      '02:00:00:00:00:fe',
      '--src-ip',
      '192.0.2.10',
    ];
    const dropped = await ok(...args, '--dst-ip', '192.0.2.99', '--proto', 'udp', '--dst-port', '53');
    const lines = dropped.split('\n');
    assert.match(
      lines[0]!,
      /^packet 02:00:00:00:00:01 > 02:00:00:00:00:fe ip 192\.0\.2\.10 > 192\.0\.2\.99 .*udp/,
    );
    assert.match(dropped, /^port tvm \(ingress\)$/m);
    assert.match(dropped, /^bridge tb$/m);
    assert.match(dropped, /router tr/);
    assert.match(dropped, /chain tin/);
    assert.match(dropped, /drop/);
    assert.match(
      lines.find((l) => l.startsWith('Mask:'))!,
      /in_port=tvm .*tp_dst=53/,
    );
    assert.match(
      lines.find((l) => l.startsWith('Tags:'))!,
      /chain:/,
    );
    const data = JSON.parse(
      await ok(...args, '--dst-ip', '192.0.2.99', '--proto', 'udp', '--dst-port', '53', '--json'),
    ) as { actions: string[] };
    assert.ok(Array.isArray(data.actions) && data.actions.some((a) => /drop/.test(a)));
    const arp = await ok(
      'trace',
      '--port',
      'tvm',
      '--src-mac',
      '02:00:00:00:00:01',
      '--ethertype',
      'arp',
      '--arp-op',
      '1',
      '--src-ip',
      '192.0.2.10',
      '--dst-ip',
      '192.0.2.1',
    );
    assert.match(arp, /ARP reply 192\.0\.2\.1 is-at 02:00:00:00:00:fe/);
    await fails(['trace', '--src-ip', '192.0.2.10'], 2, /trace: --port is required/);
    await fails(['trace', '--port', 'tvm', '--dst-port', '99999'], 2, /--dst-port: '99999' is not valid/);
    await fails(['trace', '--port', 'nope'], 1, /no port named or with id 'nope'/);
  });

  it('completes kinds, verbs, options and names, in bash and zsh', async () => {
    const env = { ...process.env, MIDONET_STORE: store };
    const complete = async (...words: string[]) =>
      (await execFileP(BIN, ['__complete', ...words], { env })).stdout.split('\n').filter(Boolean);
    await ok('bridge', 'create', 'compl-br');
    await ok('port', 'create', 'compl-p1', '--bridge', 'compl-br');
    const kinds = await complete('');
    for (const k of ['bridge', 'tunnel-zone', 'bgp-network', 'show', 'watch', 'agent'])
      assert.ok(kinds.includes(k), k);
    assert.deepEqual(await complete('tun'), ['tunnel-zone']);
    const verbs = await complete('port', '');
    for (const v of ['create', 'bind', 'link']) assert.ok(verbs.includes(v), v);
    assert.ok((await complete('port', 'bind', 'compl')).includes('compl-p1'), 'object names as REF');
    assert.ok(
      (await complete('port', 'create', 'x', '--bridge', 'compl')).includes('compl-br'),
      'option values',
    );
    assert.ok((await complete('port', 'bind', 'compl-p1', '--h')).includes('--host'), 'options of the verb');
    assert.deepEqual(await complete('agent', 'flo'), ['flow-history', 'flows']);
    assert.ok((await complete('bridge', 'create', 'a', '--', 'po')).includes('port'), 'after --');

    const bash = (await execFileP(BIN, ['completion', 'bash'])).stdout;
    assert.match(bash, /complete -o default -F _midonet_cli midonet-cli/);
    // The script itself, in bash: COMPREPLY from a partly typed line.
    const binDir = mkdtempSync(join(tmpdir(), 'midonet-cli-bin-'));
    writeFileSync(join(binDir, 'midonet-cli'), `#!/bin/sh\nexec ${BIN} "$@"\n`, {
      mode: 0o755,
    });
    const probe = `${bash}\nCOMP_WORDS=(midonet-cli port bi); COMP_CWORD=2; _midonet_cli; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const got = await execFileP('bash', ['-c', probe], {
      env: { ...env, PATH: `${binDir}:${process.env.PATH}` },
    });
    assert.deepEqual(got.stdout.split('\n').filter(Boolean), ['bind']);
    const zsh = (await execFileP(BIN, ['completion', 'zsh'])).stdout;
    assert.match(zsh, /^#compdef midonet-cli/);
    assert.match(zsh, /midonet-cli __complete/);
    const hasZsh = await execFileP('sh', ['-c', 'command -v zsh']).then(
      () => true,
      () => false,
    );
    if (hasZsh) await execFileP('zsh', ['-n', '-c', zsh]);
    rmSync(binDir, { recursive: true, force: true });
  });
});
