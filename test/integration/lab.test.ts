/**
 * midonet-lab end to end, through its command line: up (2 hosts), status --json, exec (ping and ping6
 * within a bridge, across the router, across hosts; ICMPv6 time exceeded and no route), a second lab side by side (its own names, run directory and
 * ports; a clash is one line; its down leaves the first lab working), a short evaluation whose report
 * has every part with plausible figures, and down, after which no namespace, veth or process of the
 * lab is left. Each lab has a name of its own, so a user's lab is never touched.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { EvalReport } from '../../src/lab/eval-report.js';
import { labDown } from '../../src/lab/lab.js';
import { listNamespaces } from '../../src/lab/netns.js';
import { labNames, uniqueLabName } from '../../src/lab/layout.js';
import { TENANT_PREFIX6, slaacAddress } from '../../src/lab/vm-ipv6.js';

const run = promisify(execFile);
const LAB = fileURLToPath(new URL('../../../bin/midonet-lab', import.meta.url));
const runDir = mkdtempSync(join(tmpdir(), 'midonet-lab-test-'));
const outDir = mkdtempSync(join(tmpdir(), 'midonet-eval-test-'));
const NAME = uniqueLabName('tl');
const PREFIX = labNames(NAME).prefix;
const lab = (...args: string[]) =>
  run(LAB, ['--run-dir', runDir, '--name', NAME, ...args], { timeout: 600000, maxBuffer: 16 << 20 });

interface Status {
  hosts: Array<{ name: string; alive: boolean; agentPid: number | null; dir: string }>;
  vms: Array<{ name: string; ip: string; mac: string; host: string; bridge: string; boundTo: string | null }>;
  storeUrl: string;
}

describe('midonet-lab', () => {
  after(async () => {
    await labDown(runDir); // also when a test failed half-way
  });

  let status: Status;

  it('brings a two-host lab up and reports it', async () => {
    // --lb-health: the evaluation's load balancer step runs with a leader making its health port.
    await lab('up', '--hosts', '2', '--vms-per-host', '3', '--lb-health');
    status = JSON.parse((await lab('status', '--json')).stdout) as Status;
    assert.equal(status.hosts.length, 2);
    assert.ok(
      status.hosts.every((h) => h.alive && h.agentPid !== null),
      'every agent alive',
    );
    assert.equal(status.vms.length, 6);
    for (const v of status.vms) assert.equal(v.boundTo, v.host, `${v.name} is bound on its host`);
    assert.match(status.storeUrl, /^sqlite:/);
    const text = (await lab('status')).stdout;
    assert.match(text, /vm1\s+192\.0\.2\.10\/25/);
  });

  it('pings within a bridge, across the router and across hosts', async () => {
    const vm = (n: string) => status.vms.find((v) => v.name === n)!;
    for (const [from, to] of [
      ['vm1', 'vm3'], // same bridge, same host
      ['vm1', 'vm5'], // same bridge, across hosts
      ['vm1', 'vm2'], // across the router, same host
      ['vm1', 'vm4'], // across the router and hosts
    ] as const) {
      const out = (await lab('exec', from, '--', 'ping', '-c', '2', '-i', '0.2', '-W', '2', vm(to).ip))
        .stdout;
      assert.match(out, /2 received/, `${from} -> ${to}: ${out}`);
    }
    await assert.rejects(lab('exec', 'vm99', '--', 'true'), /no VM 'vm99'/);
  });

  it('gives every VM an IPv6 address by SLAAC and pings6 within a bridge, on one host and across hosts', async () => {
    const vm = (n: string) => status.vms.find((v) => v.name === n)!;
    const v6 = (n: string) => slaacAddress(TENANT_PREFIX6[vm(n).bridge === 'tenant-a' ? 0 : 1], vm(n).mac);
    // The kernel's autoconfiguration from the router's advertisement (lab up waits for it).
    for (const v of status.vms) {
      const want = v6(v.name);
      const seen = (
        await lab('exec', v.name, '--', 'ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global')
      ).stdout;
      assert.match(
        seen,
        new RegExp(`${want}/64 scope global dynamic`),
        `${v.name} configured ${want} by SLAAC`,
      );
    }
    for (const [from, to] of [
      ['vm1', 'vm3'], // same bridge, same host
      ['vm1', 'vm5'], // same bridge, across hosts
    ] as const) {
      const out = (await lab('exec', from, '--', 'ping', '-6', '-c', '2', '-i', '0.3', '-W', '3', v6(to)))
        .stdout;
      assert.match(out, /2 received/, `${from} -> ${to}: ${out}`);
    }
  });

  it('pings6 across the router and across hosts; hop limit and no route give ICMPv6 errors', async () => {
    const vm = (n: string) => status.vms.find((v) => v.name === n)!;
    const v6 = (n: string) => slaacAddress(TENANT_PREFIX6[vm(n).bridge === 'tenant-a' ? 0 : 1], vm(n).mac);
    // ping's output also when it exits non-zero (an ICMPv6 error, nothing received).
    const ping6 = (from: string, ...args: string[]) =>
      lab('exec', from, '--', 'ping', '-6', '-W', '3', ...args).then(
        (r) => r.stdout,
        (e: { stdout?: string }) => e.stdout ?? '',
      );
    // vm1, vm2, vm3 on the first host; vm4, vm5, vm6 on the second; odd VMs on tenant-a, even on tenant-b.
    for (const [from, to] of [
      ['vm2', 'vm4'], // same bridge (tenant-b), across hosts
      ['vm1', 'vm2'], // across the router, same host
      ['vm1', 'vm4'], // across the router and hosts
      ['vm4', 'vm3'], // across the router and hosts, the other way
      ['vm5', 'vm2'], // a VM on the other host to a VM behind the router
    ] as const) {
      const out = await ping6(from, '-c', '2', '-i', '0.3', v6(to));
      assert.match(out, /2 received/, `${from} -> ${to}: ${out}`);
    }
    // The router's own addresses, on the VM's side and across it, from both hosts.
    for (const [from, to] of [
      ['vm1', `${TENANT_PREFIX6[0]}1`],
      ['vm5', `${TENANT_PREFIX6[0]}1`],
      ['vm5', `${TENANT_PREFIX6[1]}1`],
    ] as const) {
      const out = await ping6(from, '-c', '2', '-i', '0.3', to);
      assert.match(out, /2 received/, `${from} -> router ${to}: ${out}`);
    }
    // A hop limit of 1 ends at the router: ICMPv6 time exceeded from the router's address.
    const ttl = await ping6('vm1', '-c', '1', '-t', '1', v6('vm4'));
    assert.match(ttl, /From 2001:db8:a::1 .*Time exceeded: Hop limit/, ttl);
    // No route to the address: ICMPv6 destination unreachable, code 0 (no route).
    const none = await ping6('vm5', '-c', '1', '2001:db8:ff::1');
    assert.match(none, /Destination unreachable: No route/, none);
  });

  it('runs a second lab side by side; a clash is one line; its down leaves the first one working', async () => {
    const other = uniqueLabName('to');
    const dir2 = mkdtempSync(join(tmpdir(), 'midonet-lab-test2-'));
    const lab2 = (...args: string[]) =>
      run(LAB, ['--run-dir', dir2, '--name', other, ...args], { timeout: 600000, maxBuffer: 16 << 20 });
    try {
      await lab2('up', '--hosts', '1', '--vms-per-host', '2');
      const st2 = JSON.parse((await lab2('status', '--json')).stdout) as Status & { prefix: string };
      assert.equal(st2.prefix, labNames(other).prefix);
      assert.ok(st2.hosts.every((h) => h.alive));
      const ip2 = st2.vms[1]!.ip;
      assert.match(
        (await lab2('exec', 'vm1', '--', 'ping', '-c', '2', '-i', '0.2', '-W', '2', ip2)).stdout,
        /2 received/,
      );
      // The same name again: refused before anything changes, in one line, without a stack trace.
      const clash = await lab2('up', '--hosts', '1').then(
        () => assert.fail('a second up of the same lab succeeded'),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(clash.code, 1);
      assert.match(clash.stderr, /^midonet-lab: error: lab '.+' is already up in .*; bring it down first/);
      assert.equal(clash.stderr.trim().split('\n').length, 1, clash.stderr);
      // A bad name, the same way.
      await assert.rejects(run(LAB, ['--name', 'Bad Name', 'status']), (e: { stderr: string }) =>
        /^midonet-lab: error: --name "Bad Name" is not allowed: 1 to 5 lowercase letters/.test(e.stderr),
      );
      await lab2('down');
      assert.deepEqual(
        (await listNamespaces()).filter((n) => n.startsWith(labNames(other).prefix)),
        [],
      );
    } finally {
      await labDown(dir2).catch(() => undefined);
    }
    // The first lab did not notice.
    const vm = (n: string) => status.vms.find((v) => v.name === n)!;
    assert.match(
      (await lab('exec', 'vm1', '--', 'ping', '-c', '2', '-i', '0.2', '-W', '2', vm('vm5').ip)).stdout,
      /2 received/,
    );
    assert.ok(existsSync(runDir));
  });

  it('runs a short evaluation with every part and plausible figures', async () => {
    const { stdout } = await lab('eval', '--quick', '--flows', '6', '--out', outDir);
    assert.match(stdout, /Part 1 - base case/);
    assert.match(stdout, /Part 2 - features/);
    assert.match(stdout, /Part 3 - rule-set growth/);
    assert.match(stdout, /Part 0 - the floor/);
    assert.match(stdout, /Part 4 - first contact/);
    const r = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as EvalReport;
    assert.deepEqual(
      r.base.map((c) => c.name),
      ['agent, same host', 'agent, across hosts', 'agent, across hosts, IPv6'],
    );
    assert.ok(r.floor && r.firstContact, 'the floor and first contact were measured');
    for (const c of [
      ...r.base,
      r.baseline.sameHost,
      r.baseline.crossHost,
      r.floor.testController,
      r.floor.minimal,
      r.floor.agentWithTestController!,
      r.floor.agentWithMinimal!,
      r.firstContact.warm,
      r.firstContact.cold,
    ]) {
      assert.equal(c.first.n, 6, `${c.name}: 6 flows`);
      assert.ok(c.first.lost === 0 && c.later.lost === 0, `${c.name}: nothing lost`);
      assert.ok(
        c.later.median < c.first.median,
        `${c.name}: later packets (${c.later.median} ms) beat the first (${c.first.median} ms)`,
      );
    }
    // The flush before each flow (the management connection, eval.ts) deleted the agent's flows: every
    // first packet of the agent's cases reached an agent.
    for (const c of [r.base[0]!, r.base[1]!, r.floor.agentWithMinimal!])
      assert.ok(
        (c.packetIns ?? 0) >= c.first.n,
        `${c.name}: a packet-in per flow at least (${c.packetIns} for ${c.first.n} flows)`,
      );
    assert.deepEqual(
      r.features.map((s) => s.name),
      [
        'no filter',
        'dst-ip',
        'src-ip',
        'src-port',
        'dst-port',
        'ip-address-group',
        'port-group',
        'tcp-flags',
        'tcp-window',
        'QoS: port limited to 50 Mbit/s',
        'routed',
        'routed + conntrack',
        'routed + SNAT',
        'routed + floating IP',
        'routed + load balancer (VIP)',
      ],
    );
    const window = r.features.find((s) => s.name === 'tcp-window')!;
    const noFilter = r.features[0]!;
    const packets = r.settings.flows * r.settings.packetsPerFlow;
    // With the window rule every probe packet and its echo reach the agent; without it only the first
    // packets of each flow (and their replies) do.
    assert.ok(
      (window.packetIns ?? 0) >= 2 * packets,
      `tcp-window: every packet reached the agent (${window.packetIns} >= ${2 * packets})`,
    );
    assert.ok(
      (noFilter.packetIns ?? Infinity) * 2 < (window.packetIns ?? 0),
      `no filter: later packets did not (${noFilter.packetIns} packet-ins against ${window.packetIns})`,
    );
    assert.ok(
      r.features.every((s) => (s.throughputMbps ?? 0) > 0),
      'iperf3 measured each step (through conntrack, source NAT, a floating IP and a VIP too)',
    );
    for (const s of r.features.filter((c) => c.name.startsWith('routed')))
      assert.equal(s.first.lost, 0, `${s.name}: every first packet answered`);
    assert.deepEqual(
      r.ruleGrowth.map((g) => g.rules),
      [1, 10, 100, 1000],
    );
    assert.ok(r.targets.length >= 3);
    assert.ok((r.agentPacketInUs?.count ?? 0) > 0, 'the agents timed their packet-ins');
    for (const f of ['first-vs-later', 'rtt-vs-rules', 'throughput', 'floor']) {
      assert.ok(existsSync(join(outDir, `${f}.svg`)) && existsSync(join(outDir, `${f}.png`)), `chart ${f}`);
    }
  });

  it('leaves no namespace, veth or process behind after down', async () => {
    const pids = status.hosts.map((h) => h.agentPid!);
    await lab('down');
    assert.deepEqual(
      (await listNamespaces()).filter((n) => n.startsWith(PREFIX)),
      [],
    );
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
    assert.ok(!links.includes(PREFIX), links);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'agent process gone');
    const procs = (await run('ps', ['-eo', 'args'])).stdout;
    assert.doesNotMatch(
      procs,
      new RegExp(runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      'no OVS daemon of the lab runs',
    );
    assert.equal(existsSync(runDir), false);
  });
});

// The same lab on the distributed backend (ZooKeeper + Cassandra, started by the test command).
const cassandraUrl = process.env.MIDONET_TEST_CASSANDRA_URL;
describe(
  'midonet-lab on Cassandra + ZooKeeper',
  { skip: cassandraUrl === undefined ? 'MIDONET_TEST_CASSANDRA_URL is not set' : false },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'midonet-lab-cassandra-'));
    const nameC = uniqueLabName('tz');
    const labC = (...args: string[]) =>
      run(LAB, ['--run-dir', dir, '--name', nameC, ...args], { timeout: 600000, maxBuffer: 16 << 20 });
    after(async () => {
      await labDown(dir);
    });

    it('brings the lab up on the distributed store; VMs ping within and across bridges and hosts; down cleans up', async () => {
      await labC(
        'up',
        '--hosts',
        '2',
        '--vms-per-host',
        '3',
        '--store',
        'cassandra',
        '--store-url',
        cassandraUrl!,
      );
      const st = JSON.parse((await labC('status', '--json')).stdout) as Status;
      assert.match(st.storeUrl, /^cassandra:\/\/.*\/midonet_lab_/);
      assert.ok(
        st.hosts.every((h) => h.alive),
        'agents alive through ZooKeeper liveness',
      );
      const ip = (n: string) => st.vms.find((v) => v.name === n)!.ip;
      for (const [from, to] of [
        ['vm1', 'vm3'],
        ['vm1', 'vm5'],
        ['vm1', 'vm4'],
      ] as const) {
        const out = (await labC('exec', from, '--', 'ping', '-c', '2', '-i', '0.2', '-W', '2', ip(to)))
          .stdout;
        assert.match(out, /2 received/, `${from} -> ${to}: ${out}`);
      }
      await labC('down');
      assert.deepEqual(
        (await listNamespaces()).filter((n) => n.startsWith(labNames(nameC).prefix)),
        [],
      );
    });
  },
);
