/**
 * midonet-cli against a live agent in a lab of its own (real Open vSwitch, namespaces): the agent's
 * MAC and ARP tables, its flows filtered by port with actions and named tags, a made-up packet traced
 * against the live tables (nothing sent or installed), --wait on a write until the agent applied it,
 * the flow history naming the change that invalidated each flow, and the tracked connections of a rule
 * with a conntrack condition, through the real executable.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { ping, stats, vm, host } from './lab-helpers.js';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../bin/midonet-cli', import.meta.url));

describe('midonet-cli on a live agent', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-cli-agent-'));
  let lab: LabState;
  const cli = async (...args: string[]) =>
    (await execFileP(CLI, ['--store', lab.storeUrl, ...args], { timeout: 60000 })).stdout;

  before(async () => {
    lab = await labUp({ runDir, name: uniqueLabName('tk'), hosts: 1, vmsPerHost: 2, tunnel: 'gre' });
  });
  after(async () => {
    await labDown(runDir);
  });

  it('shows MACs, ARP entries and flows of the agent; traces a made-up packet against them', async () => {
    const [vm1, vm2] = [vm(lab, 'vm1'), vm(lab, 'vm2')];
    const p = await ping(vm1, vm2.ip);
    assert.ok(p.received > 0, p.output);
    const macs = await cli('agent', 'macs', '--host', 'hv1');
    assert.match(macs, new RegExp(`^tenant-a\\s+0\\s+${vm1.mac}\\s+vm1-port\\s+\\d+s$`, 'm'));
    assert.match(
      await cli('agent', 'arp', '--host', 'hv1'),
      new RegExp(`^edge\\s+${vm2.ip.replace(/\./g, '\\.')}\\s+${vm2.mac}\\s+resolved`, 'm'),
    );
    const flows = await cli('agent', 'flows', '--host', 'hv1', '--port', 'vm1-port');
    assert.match(flows, /^0x[0-9a-f]+ {2}in_port=vm1-port packets=\d+/m);
    assert.match(flows, /^ {2}actions: dec_ttl,.*output:\d+\(vm2-port\)$/m);
    assert.match(flows, /^ {2}tags: .*bridge:tenant-a\([0-9a-f]{8}…\)/m);
    assert.equal(
      (
        await cli('agent', 'flows', '--host', 'hv1', '--tag', 'chain:nothing-such').catch(
          (e: { stderr: string }) => e.stderr,
        )
      ).trim(),
      "midonet-cli: error: no chain named or with id 'nothing-such'",
    );

    const before = await stats(host(lab, 'hv1'));
    // A made-up packet entering vm1-port: nothing is sent, the trace reads the live tables.
    const trace1 = (...packet: string[]) =>
      cli('agent', 'trace', '--host', 'hv1', '--port', 'vm1-port', '--src-mac', vm1.mac, ...packet);
    const trace = await trace1(
      '--dst-mac',
      'ff:ff:ff:ff:ff:ff',
      '--ethertype',
      'arp',
      '--arp-op',
      '1',
      '--src-ip',
      vm1.ip,
      '--dst-ip',
      vm1.gateway,
    );
    assert.match(trace, /^packet .* arp request/m);
    assert.match(trace, /^Tags: .*port:vm1-port\(/m);
    const tcp = await trace1(
      '--dst-mac',
      vm1.mac,
      '--src-ip',
      vm1.ip,
      '--dst-ip',
      vm2.ip,
      '--proto',
      'tcp',
      '--dst-port',
      '80',
      '--tcp-flags',
      'syn,ack',
    );
    assert.match(tcp, /flags syn,ack/);
    assert.match(tcp, new RegExp(`MAC table: ${vm1.mac} vlan 0 on port vm1-port`), 'the live MAC table');
    const after = await stats(host(lab, 'hv1'));
    assert.equal(after.flowsInstalled, before.flowsInstalled, 'a made-up packet installs nothing');
    assert.equal(after.packetIns, before.packetIns, 'and sends nothing through the switch');
  });

  it('--wait returns once the agent applied the write; the flow history names the change', async () => {
    const { stderr } = await execFileP(CLI, [
      '--store',
      lab.storeUrl,
      'chain',
      'create',
      'fw',
      '--',
      'rule',
      'add',
      'fw',
      '--action',
      'accept',
      '--',
      'bridge',
      'update',
      'tenant-a',
      '--inbound-chain',
      'fw',
      '--wait',
      '--wait-timeout',
      '20',
    ]);
    const m = /--wait: 1 live agent\(s\) applied change (\d+)/.exec(stderr);
    assert.ok(m, stderr);
    const history = await cli('agent', 'flow-history', '--host', 'hv1', '--port', 'vm1-port');
    assert.match(
      history,
      new RegExp(
        `invalidated\\s+invalidated by update of bridge 'tenant-a' \\([0-9a-f-]{36}\\) at change ${m[1]}$`,
        'm',
      ),
    );
    const json = JSON.parse(await cli('agent', 'flow-history', '--host', 'hv1', '--json')) as {
      entries: Array<{ reason: string; change?: { seq: number; kind: string } }>;
    };
    assert.ok(
      json.entries.some(
        (e) => e.reason === 'invalidated' && e.change?.seq === Number(m[1]) && e.change.kind === 'bridge',
      ),
    );
    // A rule with a conntrack condition tracks connections: the view lists them, the zone by name.
    await cli('rule', 'add', 'fw', '--position', '1', '--conntrack', 'new', '--action', 'accept', '--wait');
    const [vm1, vm2] = [vm(lab, 'vm1'), vm(lab, 'vm2')];
    const p = await ping(vm1, vm2.ip);
    assert.ok(p.received > 0, p.output);
    const ip = (a: string) => a.replace(/\./g, '\\.');
    const ct = await cli('agent', 'conntrack', '--host', 'hv1');
    const why = async () =>
      [
        ct,
        await cli('chain', 'show', 'fw'),
        await cli('agent', 'flows', '--host', 'hv1', '--port', 'vm1-port'),
        await cli(
          'agent',
          'trace',
          '--host',
          'hv1',
          '--port',
          'vm1-port',
          '--src-mac',
          vm1.mac,
          '--dst-mac',
          vm1.mac,
          '--src-ip',
          vm1.ip,
          '--dst-ip',
          vm2.ip,
          '--proto',
          'icmp',
          '--icmp-type',
          '8',
        ),
      ].join('\n');
    const row = new RegExp(`^tenant-a\\s+1\\s+${ip(vm1.ip)}\\s+0\\s+${ip(vm2.ip)}\\s+0\\s+\\d+s$`, 'm');
    if (!row.test(ct)) assert.fail(`no row ${row} in agent conntrack:\n${await why()}`);
    assert.match(ct, /^\(connections are tracked for rules with a conntrack condition/m);
    assert.match(
      await cli('agent', 'nat', '--host', 'hv1'),
      /^no NAT bindings\n\(bindings are made by dnat\/snat rules/m,
    );
  });
});
