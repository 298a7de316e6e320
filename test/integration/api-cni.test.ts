/**
 * midonet-api and midonet-cni in the lab (real namespaces, Open vSwitch and agents; hold the machine
 * lock): a write through the API with `wait` returns once both agents applied it; pods (namespaces)
 * on two hosts, added with the CNI project's own cnitool (one host's plugin through the API, the
 * other's on the store), ping each other and a VM; CHECK passes, then fails once the pod lost its
 * address; DEL removes the port, the lease and the interfaces, twice without error; an ADD after a
 * crash half-way (at each step) cleans up what was left; GC removes attachments nobody lists; 50 pods
 * added and deleted in a loop leave nothing behind.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { apiConfigSchema } from '../../src/api/config.js';
import { buildApi, type ApiServer } from '../../src/api/server.js';
import { createToken } from '../../src/api/tokens.js';
import { controlRequest } from '../../src/control/control-api.js';
import { run, tryRun } from '../../src/exec.js';
import { hostOvs, labDown, readLabState, type LabHost, type LabState } from '../../src/lab/lab.js';
import { createLogger } from '../../src/log.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { ping } from './lab-helpers.js';
import { labNames, uniqueLabName } from '../../src/lab/layout.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LAB = join(ROOT, 'bin', 'midonet-lab');
const CNITOOL = process.env.MIDONET_CNITOOL ?? '/var/cache/midonet/go/bin/cnitool';
const runDir = mkdtempSync(join(tmpdir(), 'midonet-cni-lab-'));
const cniDir = mkdtempSync(join(tmpdir(), 'midonet-cni-conf-'));
const LAB_NAME = uniqueLabName('tc');
/** Pods are namespaces of the lab's prefix: removed with the lab. */
const P = labNames(LAB_NAME).prefix;

interface CniOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe('midonet-api and midonet-cni in the lab', () => {
  let lab: LabState;
  let store: TopologyStore;
  let api: ApiServer;
  let base: string;
  let admin: string;

  /** Runs cnitool for `pod` (a namespace named PREFIX + POD) with host `hv`'s network configuration. */
  async function cnitool(
    cmd: string,
    hv: LabHost,
    pod: string,
    env: Record<string, string> = {},
  ): Promise<CniOutcome> {
    try {
      const r = await execFileP(CNITOOL, [cmd, 'pods', `/var/run/netns/${P}${pod}`], {
        env: { ...process.env, CNI_PATH: join(cniDir, 'bin'), NETCONFPATH: join(cniDir, hv.name), ...env },
        timeout: 60000,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }

  async function addPod(pod: string, hv: LabHost, env: Record<string, string> = {}) {
    await tryRun('ip', ['netns', 'add', `${P}${pod}`]);
    const r = await cnitool('add', hv, pod, env);
    return r;
  }

  async function leftovers(): Promise<{
    ports: string[];
    leases: number;
    links: string[];
    ovsPorts: string[];
  }> {
    const ports = (await store.list('port')).filter((p) => p.name.startsWith('cni-')).map((p) => p.name);
    const leases = (await store.list('dhcp-lease')).length;
    const links: string[] = [];
    const ovsPorts: string[] = [];
    for (const h of lab.hosts) {
      const out = (await tryRun('ip', ['-o', 'link', 'show'], { netns: h.netns })) ?? '';
      links.push(...[...out.matchAll(/^\d+: (mn[ct][0-9a-f]{12})[@:]/gm)].map((m) => m[1]!));
      const br = await hostOvs(h).vsctl(['list-ports', 'br-int']);
      ovsPorts.push(...br.split('\n').filter((p) => p.startsWith('mnc')));
    }
    return { ports, leases, links, ovsPorts };
  }

  before(async () => {
    await execFileP(
      LAB,
      // Static VM addresses: the test gives the bridge a DHCP subnet of its own, with a range for pods.
      [
        '--run-dir',
        runDir,
        '--name',
        LAB_NAME,
        'up',
        '--hosts',
        '2',
        '--vms-per-host',
        '1',
        '--addressing',
        'static',
      ],
      {
        timeout: 600000,
        maxBuffer: 16 << 20,
      },
    );
    lab = readLabState(runDir)!;
    store = await openStore(lab.storeUrl);
    admin = (await createToken(store, 'cni-test', 'admin', Date.now())).token;
    const cfg = apiConfigSchema.parse({ store: lab.storeUrl, listen: '127.0.0.1:0' });
    api = await buildApi({ store, config: cfg, log: createLogger({ name: 'midonet-api', level: 'silent' }) });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
    mkdirSync(join(cniDir, 'bin'));
    symlinkSync(join(ROOT, 'bin', 'midonet-cni'), join(cniDir, 'bin', 'midonet-cni'));
    for (const h of lab.hosts) {
      mkdirSync(join(cniDir, h.name));
      const plugin = {
        type: 'midonet-cni',
        bridge: 'tenant-a',
        hostName: h.name,
        hostNetns: h.netns,
        ovs: { dbSock: h.ovsDbSock, runDir: h.ovsRunDir },
        userspaceDatapath: true,
        // hv1's plugin works through midonet-api, hv2's on the store directly.
        ...(h.name === 'hv1' ? { api: base, apiToken: admin } : { store: lab.storeUrl }),
      };
      writeFileSync(
        join(cniDir, h.name, 'pods.conflist'),
        JSON.stringify({ cniVersion: '1.1.0', name: 'pods', plugins: [plugin] }),
      );
    }
  });

  after(async () => {
    await api?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await labDown(runDir); // pods are namespaces of the lab's prefix: removed with the lab
    rmSync(cniDir, { recursive: true, force: true });
  });

  const hv = (n: string) => lab.hosts.find((h) => h.name === n)!;

  it('waits through the API until both agents applied a write', async () => {
    const br = await store.resolve('bridge', 'tenant-a');
    const res = await fetch(`${base}/v1/dhcp-subnets?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'pods-a',
        bridgeId: br.id,
        subnet: '192.0.2.0/25',
        gateway: '192.0.2.1',
        rangeStart: '192.0.2.64',
        rangeEnd: '192.0.2.126',
      }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('midonet-applied'), 'applied');
    const position = Number(res.headers.get('midonet-position'));
    for (const h of lab.hosts) {
      const s = (await controlRequest(h.controlSocket, { cmd: 'stats' })) as { lastChangeSeq: number };
      assert.ok(s.lastChangeSeq >= position, `${h.name} applied ${position} (at ${s.lastChangeSeq})`);
    }
  });

  it('gives pods on two hosts ports and addresses; they ping each other and a VM', async () => {
    const a = await addPod('pod1', hv('hv1'));
    assert.equal(a.code, 0, a.stderr + a.stdout);
    const r1 = JSON.parse(a.stdout) as {
      ips: Array<{ address: string; gateway: string }>;
      interfaces: Array<{ name: string; sandbox?: string }>;
    };
    assert.equal(r1.ips[0]!.address, '192.0.2.64/25');
    assert.equal(r1.ips[0]!.gateway, '192.0.2.1');
    assert.equal(r1.interfaces[1]!.sandbox, `/var/run/netns/${P}pod1`);
    const b = await addPod('pod2', hv('hv2'));
    assert.equal(b.code, 0, b.stderr + b.stdout);
    const r2 = JSON.parse(b.stdout) as { ips: Array<{ address: string }> };
    assert.equal(r2.ips[0]!.address, '192.0.2.65/25');
    const port1 = await store.resolve('port', 'cni-' + (await podContainerId('pod1')) + '-eth0');
    assert.equal(port1.hostId, (await store.resolve('host', 'hv1')).id);
    const pod1 = { netns: `${P}pod1` } as never;
    const pod2 = { netns: `${P}pod2` } as never;
    const vm1 = lab.vms.find((v) => v.bridge === 'tenant-a')!;
    for (const [from, to, what] of [
      [pod1, '192.0.2.65', 'pod1 -> pod2 across hosts'],
      [pod2, '192.0.2.64', 'pod2 -> pod1 across hosts'],
      [pod1, vm1.ip, 'pod1 -> a VM'],
      [pod2, vm1.ip, 'pod2 -> a VM across hosts'],
    ] as const) {
      let got = await ping(from, to);
      for (let i = 0; i < 10 && got.received === 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        got = await ping(from, to);
      }
      assert.ok(got.received > 0, `${what}: ${got.output}`);
    }
    assert.equal((await cnitool('check', hv('hv1'), 'pod1')).code, 0);
    assert.equal((await cnitool('status', hv('hv2'), 'pod2')).code, 0);
    // CHECK notices a pod that lost its address.
    await run('ip', ['addr', 'flush', 'dev', 'eth0'], { netns: `${P}pod2` });
    const bad = await cnitool('check', hv('hv2'), 'pod2');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /has no address, not 192\.0\.2\.65\/25/);
  });

  /** cnitool names a pod's container `cnitool-` + the first 10 bytes of sha512(netns path), in hex. */
  async function podContainerId(pod: string): Promise<string> {
    const { createHash } = await import('node:crypto');
    return `cnitool-${createHash('sha512').update(`/var/run/netns/${P}${pod}`).digest('hex').slice(0, 20)}`;
  }

  it('DEL removes the port, the lease and the interfaces, and may run twice', async () => {
    for (const [pod, h] of [
      ['pod1', 'hv1'],
      ['pod2', 'hv2'],
    ] as const) {
      const d = await cnitool('del', hv(h), pod);
      assert.equal(d.code, 0, d.stderr);
      assert.equal((await cnitool('del', hv(h), pod)).code, 0, 'DEL again');
    }
    assert.deepEqual(await leftovers(), { ports: [], leases: 0, links: [], ovsPorts: [] });
  });

  it('an ADD after a crash half-way cleans up what was left', async () => {
    for (const step of ['port', 'lease', 'veth']) {
      const crashed = await addPod('pod3', hv('hv2'), { MIDONET_CNI_CRASH_AFTER: step });
      assert.notEqual(crashed.code, 0, `crash after ${step}`);
      const left = await leftovers();
      assert.equal(left.ports.length, 1, `the crash after ${step} left its port`);
      const again = await addPod('pod3', hv('hv2'));
      assert.equal(again.code, 0, again.stderr);
      const now = await leftovers();
      assert.equal(now.ports.length, 1, 'one port');
      assert.equal(now.leases, 1, 'one lease');
      assert.equal(now.links.length, 1, 'one host interface');
      assert.equal((await cnitool('check', hv('hv2'), 'pod3')).code, 0);
      assert.equal((await cnitool('del', hv('hv2'), 'pod3')).code, 0);
    }
    assert.deepEqual(await leftovers(), { ports: [], leases: 0, links: [], ovsPorts: [] });
  });

  it('GC removes the attachments the runtime no longer lists', async () => {
    assert.equal((await addPod('pod4', hv('hv1'))).code, 0);
    assert.equal((await leftovers()).ports.length, 1);
    // cnitool's gc lists no valid attachment: everything of this network on the host goes.
    const gc = await cnitool('gc', hv('hv1'), 'pod4');
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(await leftovers(), { ports: [], leases: 0, links: [], ovsPorts: [] });
  });

  it('adds and deletes 50 pods in a loop and leaves nothing behind', async () => {
    for (let i = 0; i < 50; i++) {
      const h = hv(i % 2 === 0 ? 'hv1' : 'hv2');
      const pod = `loop${i}`;
      const a = await addPod(pod, h);
      assert.equal(a.code, 0, `pod ${i}: ${a.stderr}`);
      const d = await cnitool('del', h, pod);
      assert.equal(d.code, 0, `pod ${i}: ${d.stderr}`);
      await run('ip', ['netns', 'del', `${P}${pod}`]);
    }
    assert.deepEqual(await leftovers(), { ports: [], leases: 0, links: [], ovsPorts: [] });
  });
});
