/**
 * The agent's DHCP server on real Open vSwitch, with Debian's busybox udhcpc as the client: a two-host
 * lab, a DHCP subnet with a dynamic range added to bridge tenant-a, and vm1 (hv1) and vm3 (hv2) giving
 * up their lab addresses for DHCP at the same moment. Each gets a distinct address of the range with
 * the mask, router, DNS, MTU, domain name, classless routes and an extra option the agent sends (both leases in the store, each written by its own
 * host's agent), the two reach each other on the new addresses, a renewal (SIGUSR1) keeps the
 * address, a release (udhcpc -R on exit) frees the lease, and no flow in either switch matches DHCP.
 * Then: a renewal after the agent restarts keeps the address; a static host entry gives its address
 * and host name; hostile DHCP sent from a VM over a raw socket (frames from the project's codec) gets
 * no answer and a counter by reason, and the agent serves on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { DhcpMessageType } from '../../src/packet/index.js';
import { dhcpClientFrame } from '../support/dhcp-client-frame.js';
import { startAgent, stopAgent } from '../../src/lab/hypervisor.js';
import { agentRunning, agentSettled, host, ping, reactiveFlows, stats, vm } from './lab-helpers.js';

const HOOK = fileURLToPath(new URL('../../../test/integration/udhcpc-script.sh', import.meta.url));
const DISCOVER = DhcpMessageType.DISCOVER;
const RANGE = ['192.0.2.100', '192.0.2.110'] as const;

interface Client {
  readonly vm: LabVm;
  readonly child: ChildProcess;
  readonly events: string;
}

/** The events udhcpc's hook recorded, as {event, options}. */
function events(c: Client): Array<{ event: string; o: Record<string, string> }> {
  if (!existsSync(c.events)) return [];
  return readFileSync(c.events, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [event, ...kv] = l.split(' ');
      return { event: event!, o: Object.fromEntries(kv.map((x) => x.split('=') as [string, string])) };
    });
}

function lastBound(c: Client, kind = 'bound'): Record<string, string> | undefined {
  return events(c)
    .filter((e) => e.event === kind)
    .at(-1)?.o;
}

interface DhcpCounters {
  replies: number;
  failures: number;
  ignored: Record<string, number>;
}

function dhcpStats(st: Record<string, unknown>): DhcpCounters {
  return st.dhcp as DhcpCounters;
}

describe('DHCP from the agent to a real client (busybox udhcpc) on a two-host lab', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-dhcp-'));
  const clients: Client[] = [];
  let c1: Client;
  let b1: Record<string, string>;

  function start(v: LabVm): Client {
    const file = join(runDir, `${v.name}.events`);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        v.netns,
        'busybox',
        'udhcpc',
        '-f',
        '-R',
        '-i',
        'eth0',
        '-s',
        HOOK,
        '-t',
        '20',
        '-T',
        '1',
        '-A',
        '1',
        '-O',
        'mtu',
        '-O',
        'staticroutes',
        '-O',
        'ntpsrv',
      ],
      { env: { ...process.env, DHCP_EVENTS: file }, stdio: 'ignore' },
    );
    const c = { vm: v, child, events: file };
    clients.push(c);
    return c;
  }

  before(async () => {
    // hv1: vm1 (tenant-a), vm2 (tenant-b); hv2: vm3 (tenant-a), vm4 (tenant-b).
    lab = await labUp({ runDir, name: uniqueLabName('td'), hosts: 2, vmsPerHost: 2, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await store?.close();
    await labDown(runDir);
  });

  it('two VMs on two hosts get distinct addresses and the options; renew keeps, release frees', async () => {
    const bridge = await store.resolve('bridge', 'tenant-a');
    const dhcp = await store.create('dhcp', {
      name: 'dhcp-a',
      bridgeId: bridge.id,
      subnet: '192.0.2.0/25',
      gateway: '192.0.2.1',
      dnsServers: ['192.0.2.53'],
      domainName: 'tenant.example',
      staticRoutes: [{ destination: '203.0.113.0/24', gateway: '192.0.2.1' }],
      // An operator-defined option the server knows nothing of: 42, NTP servers (192.0.2.123).
      extraOptions: [{ code: 42, hex: 'c000027b' }],
      leaseTime: 3600,
      rangeStart: RANGE[0],
      rangeEnd: RANGE[1],
    });
    for (const h of lab.hosts) await agentSettled(store, h);
    const v1 = vm(lab, 'vm1');
    const v3 = vm(lab, 'vm3');
    for (const v of [v1, v3]) await run('ip', ['addr', 'flush', 'dev', 'eth0'], { netns: v.netns });
    c1 = start(v1);
    const c3 = start(v3);
    await until(() => lastBound(c1) !== undefined && lastBound(c3) !== undefined, {
      what: 'udhcpc bound in vm1 and vm3',
      timeoutMs: 30000,
    });
    b1 = lastBound(c1)!;
    const b3 = lastBound(c3)!;
    assert.notEqual(b1.ip, b3.ip, 'two VMs on two hosts never get one address');
    for (const b of [b1, b3]) {
      const n = Number(b.ip!.split('.')[3]);
      assert.ok(n >= 100 && n <= 110, `${b.ip} is in the range`);
      assert.equal(b.subnet, '255.255.255.128');
      assert.equal(b.router, '192.0.2.1');
      assert.equal(b.dns, '192.0.2.53');
      assert.equal(b.mtu, '1450');
      assert.equal(b.lease, '3600');
      assert.equal(b.serverid, '192.0.2.1');
      assert.equal(b.domain, 'tenant.example');
      assert.equal(
        b.staticroutes,
        '203.0.113.0/24,192.0.2.1,0.0.0.0/0,192.0.2.1',
        'option 121 with the default route',
      );
      assert.equal(b.ntpsrv, '192.0.2.123', 'an extra option by number (42)');
    }
    const leases = (await store.list('dhcp-lease', { refersTo: dhcp.id })).filter(
      (l) => l.state === 'active',
    );
    const hv1 = await store.resolve('host', host(lab, 'hv1').name);
    const hv2 = await store.resolve('host', host(lab, 'hv2').name);
    assert.deepEqual(
      leases.map((l) => [l.address, l.mac, l.hostId]).sort(),
      [
        [b1.ip, v1.mac, hv1.id],
        [b3.ip, v3.mac, hv2.id],
      ].sort(),
    );
    // The addresses work: across hosts, and to the gateway.
    assert.equal((await ping(v1, b3.ip!)).received, 3, 'vm1 reaches vm3 at its DHCP address');
    assert.equal((await ping(v3, '192.0.2.1')).received, 3, 'vm3 reaches its gateway');

    // Renewal (a unicast REQUEST from the bound address): the same address, the lease extended.
    const before1 = leases.find((l) => l.address === b1.ip)!;
    const replies = ((await stats(host(lab, 'hv1'))).dhcp as unknown as { replies: number }).replies;
    c1.child.kill('SIGUSR1');
    await until(() => lastBound(c1, 'renew') !== undefined, { what: 'vm1 renewed', timeoutMs: 20000 });
    assert.equal(lastBound(c1, 'renew')!.ip, b1.ip);
    const renewed = await store.get('dhcp-lease', before1.id);
    assert.ok(renewed && renewed.expiresAt > before1.expiresAt, 'the renewal extended the lease');
    const after1 = ((await stats(host(lab, 'hv1'))).dhcp as unknown as { replies: number }).replies;
    assert.ok(after1 > replies, 'the agent answered the renewal');

    // No flow in either switch covers DHCP: every request reaches the agent.
    for (const h of lab.hosts) {
      const flows = await reactiveFlows(h);
      assert.deepEqual(
        flows.filter((f) => /tp_dst=67\b/.test(f)),
        [],
        `${h.name} has no DHCP flow`,
      );
    }

    // Release (udhcpc -R on exit): vm3's lease is gone from the store.
    c3.child.kill('SIGTERM');
    await until(
      async () => !(await store.list('dhcp-lease', { refersTo: dhcp.id })).some((l) => l.address === b3.ip),
      { what: "vm3's lease released", timeoutMs: 20000 },
    );
  });

  it('a renewal after the agent restarts keeps the address (the lease is in the store)', async () => {
    const h = host(lab, 'hv1');
    await stopAgent({ dir: h.dir });
    const pid = startAgent({ dir: h.dir, agentConfig: join(h.dir, 'agent.json') } as never);
    await agentRunning(store, h, pid);
    await agentSettled(store, h);
    const renewals = events(c1).filter((e) => e.event === 'renew').length;
    c1.child.kill('SIGUSR1');
    await until(() => events(c1).filter((e) => e.event === 'renew').length > renewals, {
      what: 'vm1 renewed with the restarted agent',
      timeoutMs: 20000,
    });
    assert.equal(lastBound(c1, 'renew')!.ip, b1.ip);
    assert.equal(dhcpStats(await stats(h)).replies, 1, 'the restarted agent answered it');
  });

  it('a static host entry gives its address and host name', async () => {
    const v2 = vm(lab, 'vm2');
    const bridge = await store.resolve('bridge', 'tenant-b');
    await store.create('dhcp', {
      name: 'dhcp-b',
      bridgeId: bridge.id,
      subnet: '192.0.2.128/25',
      gateway: '192.0.2.129',
      hosts: [
        { mac: v2.mac, address: '192.0.2.150', name: 'vm2-static' },
        { mac: vm(lab, 'vm4').mac, address: '192.0.2.151' },
      ],
    });
    for (const h of lab.hosts) await agentSettled(store, h);
    await run('ip', ['addr', 'flush', 'dev', 'eth0'], { netns: v2.netns });
    const c2 = start(v2);
    const b2 = await until(() => lastBound(c2), { what: 'udhcpc bound in vm2', timeoutMs: 30000 });
    assert.equal(b2.ip, '192.0.2.150');
    assert.equal(b2.hostname, 'vm2-static');
    assert.equal(b2.router, '192.0.2.129');
    assert.equal((await ping(v2, '192.0.2.129')).received, 3, 'vm2 reaches its gateway');
  });

  it('hostile DHCP from a VM gets no answer and a counter; the agent serves on', async () => {
    const v4 = vm(lab, 'vm4'); // hv2, tenant-b
    const h = host(lab, 'hv2');
    const before = dhcpStats(await stats(h));
    const frames = [
      { src: v4.mac, type: DISCOVER, chaddr: vm(lab, 'vm2').mac }, // asks for another VM's MAC
      { src: v4.mac, type: DISCOVER, truncate: 100 }, // cut in the middle of the BOOTP header
      { src: v4.mac, type: DhcpMessageType.OFFER }, // a server's message from a VM
      { src: v4.mac, type: DISCOVER, op: 2 }, // a BOOTREPLY from a VM
    ];
    await run(
      'python3',
      [
        '-c',
        'import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\nfor h in sys.argv[2:]: s.send(bytes.fromhex(h))',
        'eth0',
        ...frames.map((f) => Buffer.from(dhcpClientFrame(f)).toString('hex')),
      ],
      { netns: v4.netns },
    );
    const ignored = await until(
      async () => {
        const st = dhcpStats(await stats(h));
        const delta = (r: string) => (st.ignored[r] ?? 0) - (before.ignored[r] ?? 0);
        return delta('spoofed-chaddr') === 1 &&
          delta('malformed') === 1 &&
          delta('bad-message-type') === 1 &&
          delta('not-request') === 1
          ? st
          : undefined;
      },
      { what: 'the agent of hv2 counting four hostile DHCP messages', timeoutMs: 10000 },
    );
    assert.equal(ignored.replies, before.replies, 'none was answered');
    assert.equal(ignored.failures, 0);
    // The agent serves on: vm4's own client gets its static address from the same agent.
    await run('ip', ['addr', 'flush', 'dev', 'eth0'], { netns: v4.netns });
    const c4 = start(v4);
    const b4 = await until(() => lastBound(c4), { what: 'udhcpc bound in vm4', timeoutMs: 30000 });
    assert.equal(b4.ip, '192.0.2.151');
  });
});
