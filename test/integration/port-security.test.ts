/**
 * Port security on real Open vSwitch: a two-host lab, vm1 (hv1) the attacker and vm3 (hv2) the victim,
 * both on bridge tenant-a. vm1's port gets port security with its MAC and address; vm1 then sends, over
 * a raw socket (frames from the project's codec), a legitimate UDP datagram to vm3, the same datagram
 * from a spoofed source IP (so it would ride the legitimate flow if the check were not in its match),
 * one from a spoofed source MAC, an ARP reply claiming the gateway's address, and a DHCP OFFER.
 * tcpdump on the victim sees only the legitimate one; the attacker's agent counts each kind of drop.
 * With port security off, the same frames all reach the victim.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { buildEthernet, DhcpMessageType } from '../../src/packet/index.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { udpFrame } from '../support/udp-frame.js';
import { agentSettled, host, ping, stats, vm } from './lab-helpers.js';

const SPOOF_IP = '192.0.2.99';
const SPOOF_MAC = '02:00:00:00:66:66';

/** The attacker's frames, by what tcpdump on the victim shows of each (a pattern of one line). */
function attack(a: LabVm, victim: LabVm): Array<{ what: string; frame: Uint8Array; seen: RegExp }> {
  const dhcpOffer = buildEthernet({
    kind: 'ethernet',
    dst: 'ff:ff:ff:ff:ff:ff',
    src: a.mac,
    payload: {
      kind: 'ipv4',
      tos: 0,
      id: 1,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      src: a.ip,
      dst: '255.255.255.255',
      options: new Uint8Array(0),
      payload: {
        kind: 'udp',
        srcPort: 67,
        dstPort: 68,
        payload: {
          kind: 'dhcp',
          op: 2,
          hops: 0,
          xid: 0x1234,
          secs: 0,
          flags: 0x8000,
          ciaddr: '0.0.0.0',
          yiaddr: '192.0.2.77',
          siaddr: a.ip,
          giaddr: '0.0.0.0',
          chaddr: victim.mac,
          sname: '',
          file: '',
          options: [
            { type: 'messageType', value: DhcpMessageType.OFFER },
            { type: 'serverId', value: a.ip },
            { type: 'router', value: [a.ip] },
          ],
        },
      },
    },
  });
  const gratuitousGateway = buildEthernet({
    kind: 'ethernet',
    dst: 'ff:ff:ff:ff:ff:ff',
    src: a.mac,
    payload: {
      kind: 'arp',
      op: 2,
      senderMac: a.mac,
      senderIp: a.gateway,
      targetMac: 'ff:ff:ff:ff:ff:ff',
      targetIp: a.gateway,
    },
  });
  const udp = (srcMac: string, srcIp: string, srcPort: number) =>
    udpFrame({ src: srcMac, dst: victim.mac, srcIp, dstIp: victim.ip, srcPort, dstPort: 5000 });
  const esc = (s: string) => s.replace(/\./g, '\\.');
  return [
    { what: 'legitimate', frame: udp(a.mac, a.ip, 4001), seen: new RegExp(`${esc(a.ip)}\\.4001 > `) },
    {
      what: 'spoofed source IP',
      frame: udp(a.mac, SPOOF_IP, 4001),
      seen: new RegExp(`${esc(SPOOF_IP)}\\.4001 > `),
    },
    {
      what: 'spoofed source MAC',
      frame: udp(SPOOF_MAC, a.ip, 4003),
      seen: new RegExp(`^${SPOOF_MAC} > `, 'm'),
    },
    {
      what: 'ARP reply for the gateway',
      frame: gratuitousGateway,
      seen: new RegExp(`Reply ${esc(a.gateway)} is-at`),
    },
    {
      what: 'DHCP OFFER',
      frame: dhcpOffer,
      seen: new RegExp(`${esc(a.ip)}\\.67 > 255\\.255\\.255\\.255\\.68`),
    },
  ];
}

/** Sends `frames` from the VM's eth0 over a raw socket, `rounds` times, 50 ms apart. */
async function send(v: LabVm, frames: readonly Uint8Array[], rounds: number): Promise<void> {
  await run(
    'python3',
    [
      '-c',
      'import socket,sys,time\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\n' +
        'for r in range(int(sys.argv[2])):\n  for h in sys.argv[3:]:\n    s.send(bytes.fromhex(h)); time.sleep(0.05)',
      'eth0',
      String(rounds),
      ...frames.map((f) => Buffer.from(f).toString('hex')),
    ],
    { netns: v.netns, timeoutMs: 30000 },
  );
}

/** What tcpdump in the victim's namespace saw (frames not from the victim itself) while `fn` ran. */
async function captured(victim: LabVm, fn: () => Promise<void>): Promise<string> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      victim.netns,
      'tcpdump',
      '-i',
      'eth0',
      '-t',
      '-nn',
      '-e',
      '-l',
      'not',
      'ether',
      'src',
      victim.mac,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await until(() => err.includes('listening on'), {
      what: 'tcpdump listening in the victim',
      timeoutMs: 10000,
    });
    await fn();
    await new Promise((r) => setTimeout(r, 1000)); // the last frames' way through both switches
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  return out;
}

type Drops = Record<string, number>;

describe('port security on a two-host lab: a VM that spoofs reaches no one', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-portsec-'));

  before(async () => {
    // hv1: vm1 (tenant-a), vm2 (tenant-b); hv2: vm3 (tenant-a), vm4 (tenant-b).
    lab = await labUp({ runDir, name: uniqueLabName('tp'), hosts: 2, vmsPerHost: 2, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    await store?.close();
    await labDown(runDir);
  });

  async function setPortSecurity(on: boolean): Promise<void> {
    const a = vm(lab, 'vm1');
    const port = await store.resolve('port', a.port);
    await store.update('port', port.id, { mac: a.mac, addresses: [a.ip], portSecurity: on });
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  it('with port security on, only the legitimate datagram reaches the victim; drops are counted', async () => {
    const [a, victim] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    await setPortSecurity(true);
    // The VM's own traffic still flows (and teaches both bridges where each MAC is).
    assert.equal((await ping(a, victim.ip)).received, 3, 'vm1 reaches vm3 with port security on');
    const frames = attack(a, victim);
    const before = ((await stats(host(lab, 'hv1'))).portSecurityDrops ?? {}) as unknown as Drops;
    // The legitimate datagram first, so its flow is installed before the spoofed one arrives.
    const seen = await captured(victim, async () => {
      await send(a, [frames[0]!.frame], 1);
      await send(
        a,
        frames.slice(1).map((f) => f.frame),
        3,
      );
    });
    assert.match(seen, frames[0]!.seen, `the legitimate datagram reached the victim:\n${seen}`);
    for (const f of frames.slice(1))
      assert.doesNotMatch(seen, f.seen, `${f.what} reached the victim:\n${seen}`);
    const drops = await until(
      async () => {
        const d = ((await stats(host(lab, 'hv1'))).portSecurityDrops ?? {}) as unknown as Drops;
        const delta = (r: string) => (d[r] ?? 0) - (before[r] ?? 0);
        return ['ip', 'mac', 'arp', 'dhcp-server'].every((r) => delta(r) >= 1) ? d : undefined;
      },
      { what: "the attacker's agent counting an ip, mac, arp and dhcp-server drop", timeoutMs: 10000 },
    );
    assert.ok(drops);
  });

  it('with port security off, the same frames reach the victim', async () => {
    const [a, victim] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    await setPortSecurity(false);
    const frames = attack(a, victim);
    const seen = await captured(victim, () =>
      send(
        a,
        frames.map((f) => f.frame),
        3,
      ),
    );
    for (const f of frames) assert.match(seen, f.seen, `${f.what} did not reach the victim:\n${seen}`);
  });
});
