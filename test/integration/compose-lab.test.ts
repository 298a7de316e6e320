/**
 * The compose lab for real (opt-in: MIDONET_TEST_LONG=1; the first run builds the images, see the
 * README for durations): `npm run compose -- up` brings up ZooKeeper, Cassandra, three hypervisors,
 * the ISP, VMs and the CLI as containers with the engine the verb picks (MIDONET_COMPOSE_ENGINE=docker
 * or podman, else Docker where a daemon answers, else Podman): a VM container pings another across
 * hosts, one behind the virtual router, and the ISP's announced address across the router host's BGP
 * uplink; the CLI container lists the topology from the distributed store; a second `up` changes
 * nothing; `down` leaves no container, network or volume of the project, and with the project's own
 * dockerd, no dockerd, no host interface and no iptables rule or FORWARD policy changed; a build step
 * that fails is named. The lab is removed after the tests, also when they fail.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../src/compose/engine.js';
import { DOCKERD_SOCK, dockerdRunning } from '../../src/compose/dockerd.js';
import { run } from '../../src/exec.js';
import { HOSTS, SERVICES, VMS } from '../../src/compose/layout.js';
import { ISP_PINGABLE } from '../../src/lab/bgp-lab.js';

const MAIN = fileURLToPath(new URL('../../src/compose/main.js', import.meta.url));
const enabled = process.env.MIDONET_TEST_LONG === '1';

/**
 * What an engine could change on the host: its interfaces (bridges br-ID, docker0, veth peers; the
 * others are left out, as other labs on the machine may make theirs), iptables rules and policies,
 * IPv4 forwarding.
 */
async function hostState() {
  const links = (await run('ip', ['-o', 'link', 'show']))
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => /^(br-|docker|veth)/.test(n))
    .sort();
  const iptables = (await run('iptables-save', []))
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
  return { links, iptables, forwarding: (await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim() };
}

/** Runs the compose verb; resolves with its exit code and output. */
function verb(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 3600000) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe(
  'compose lab: up, pings across hosts and over BGP, the CLI container, down',
  { skip: !enabled && 'a long run: set MIDONET_TEST_LONG=1' },
  () => {
    let engine: Engine;
    let hostBefore: Awaited<ReturnType<typeof hostState>>;
    const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-compose-'));
    const exec = (service: string, cmd: string[], timeoutMs = 60000) =>
      engine.cmd(['exec', `midonet_${service}_1`, ...cmd], { timeoutMs });
    const ping = async (from: string, to: string, count: number) => {
      const out = await exec(from, ['ping', '-c', String(count), '-i', '0.3', '-W', '1', to]).catch(
        (e: { stdout?: string }) => e.stdout ?? '',
      );
      return { received: Number(/(\d+) received/.exec(out)?.[1] ?? 0), out };
    };
    /** A new Engine for one look (with the project's dockerd: started for it and stopped after, if idle). */
    const withEngine = async <T>(f: (e: Engine) => Promise<T>): Promise<T> => {
      const e = await Engine.detect(runDir);
      try {
        return await f(e);
      } finally {
        await e.close();
      }
    };
    /** A first echo may be lost while next hops are learned; once one comes back, every later one must. */
    const reachable = async (from: string, to: string) => {
      const deadline = Date.now() + 60000;
      while ((await ping(from, to, 1)).received !== 1) {
        assert.ok(Date.now() < deadline, `${from} -> ${to}: no echo within 60 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const p = await ping(from, to, 3);
      assert.equal(p.received, 3, p.out);
    };

    before(
      async () => {
        const leftovers = await verb(['down']);
        assert.equal(leftovers.code, 0, leftovers.err);
        hostBefore = await hostState();
        const up = await verb(['up']);
        assert.equal(up.code, 0, `up failed:\n${up.err.split('\n').slice(-40).join('\n')}`);
        engine = await Engine.detect(runDir);
      },
      { timeout: 3600000 },
    );

    after(
      async () => {
        await engine?.close();
        const d = await verb(['down']);
        rmSync(runDir, { recursive: true, force: true });
        assert.equal(d.code, 0, d.err);
      },
      { timeout: 600000 },
    );

    it('status: every role runs, the agents are connected, BGP is Established, the VMs are wired', async () => {
      const s = await verb(['status', '--json']);
      assert.equal(s.code, 0, s.err);
      const st = JSON.parse(s.out) as {
        ok: boolean;
        containers: Array<{ service: string; running: boolean }>;
        store: {
          hosts: Array<{ name: string; role: string; alive: boolean; openflowConnected: boolean }>;
          bgp: Array<{ state: string }>;
        };
        vms: Array<{ wired: boolean }>;
      };
      assert.ok(st.ok);
      assert.deepEqual(
        st.containers
          .filter((c) => c.running)
          .map((c) => c.service)
          .sort(),
        [...SERVICES].sort(),
      );
      for (const h of HOSTS)
        assert.ok(
          st.store.hosts.some(
            (x) => x.name === h.name && x.role === 'midonet-agent' && x.alive && x.openflowConnected,
          ),
          h.name,
        );
      assert.deepEqual(
        st.store.bgp.map((b) => b.state),
        ['Established'],
      );
      assert.ok(st.vms.every((v) => v.wired));
    });

    it('up again says the lab is up and changes nothing', async () => {
      const before = (await engine.containers()).map((c) => `${c.id} ${c.status}`);
      const again = await verb(['up']);
      assert.equal(again.code, 1);
      assert.match(again.err, /a compose lab is already up \(10 containers: .*\); nothing changed/);
      assert.deepEqual(
        (await engine.containers()).map((c) => `${c.id} ${c.status}`),
        before,
      );
    });

    it('vm1 pings vm2 on the same bridge on another host (GRE between containers)', async () => {
      const [vm1, vm2] = VMS;
      assert.notEqual(vm1!.hostName, vm2!.hostName);
      await reachable(vm1!.service, vm2!.ip);
    });

    it('vm1 pings vm3 behind the virtual router, on another host', async () => {
      await reachable(VMS[0]!.service, VMS[2]!.ip);
    });

    it("vm1 and vm2 ping the ISP's announced address across the router host's BGP uplink", async () => {
      await reachable('vm1', ISP_PINGABLE);
      await reachable('vm2', ISP_PINGABLE);
    });

    it('the CLI container lists the topology from the distributed store', async () => {
      const bridges = JSON.parse(await exec('cli', ['midonet-cli', 'bridge', 'list', '--json'])) as Array<{
        name: string;
      }>;
      assert.deepEqual(bridges.map((b) => b.name).sort(), ['tenant-a', 'tenant-b']);
      const hosts = JSON.parse(await exec('cli', ['midonet-cli', 'host', 'list', '--json'])) as Array<{
        name: string;
      }>;
      assert.deepEqual(
        hosts.map((h) => h.name).sort(),
        HOSTS.map((h) => h.name),
      );
      const ports = JSON.parse(await exec('cli', ['midonet-cli', 'port', 'list', '--json'])) as Array<{
        name: string;
      }>;
      for (const p of [...VMS.map((v) => v.port), 'edge-up'])
        assert.ok(
          ports.some((x) => x.name === p),
          p,
        );
    });

    it('down removes every container, network and volume of the project; status then says so', async () => {
      const d = await verb(['down']);
      assert.equal(d.code, 0, d.err);
      assert.match(d.err, /down: removed 10 containers/);
      if (engine.ownDockerd) {
        assert.match(d.err, /the project's dockerd is stopped/);
        assert.equal(dockerdRunning(), false);
        assert.equal(existsSync(DOCKERD_SOCK), false);
        assert.deepEqual(await hostState(), hostBefore);
      }
      await withEngine(async (e) => {
        assert.deepEqual(await e.containers(), []);
        assert.deepEqual(await e.networksAndVolumes(), { networks: [], volumes: [] });
      });
      const s = await verb(['status']);
      assert.equal(s.code, 1);
      assert.match(s.err, /no compose lab is up/);
    });

    it('a build step that fails is named, and nothing is started', async () => {
      const cache = mkdtempSync(join(tmpdir(), 'midonet-it-compose-cache-'));
      try {
        const r = await verb(['up'], {
          ...process.env,
          MIDONET_COMPOSE_CACHE: cache,
          MIDONET_COMPOSE_NODE_BASE: 'localhost/midonet-node-unbuilt:test',
          MIDONET_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian',
        });
        assert.equal(r.code, 1, r.err);
        assert.match(
          r.err,
          /compose: error: step 'debootstrap \(Debian 12 minbase\)' failed: .*exit \d+; full output in /,
        );
        assert.deepEqual(await withEngine((e) => e.containers()), []);
        if (engine.ownDockerd)
          assert.equal(dockerdRunning(), false, 'the dockerd the failed up started runs');
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });
  },
);
