/**
 * docker-compose.yml, docker-compose.local.yml and the Dockerfile, checked without starting anything
 * (the compose lab itself runs in compose-lab.test.ts, opt-in; the verb against the real engine in
 * compose-engine.test.ts): `docker-compose config` (Debian's docker-compose) accepts the file alone
 * (Docker with registry access) and with the local override (no registry); every address, host name
 * and store URL agrees with src/compose/layout.ts, which the compose verb and the roles use, and every
 * container on a network has a static address there (a dynamic one can take a static one's); every
 * service runs a known `midonet-role` role; every program a role starts is installed by the
 * Dockerfile (traced to its Debian package with dpkg on this machine, plus its direct dependencies and
 * Debian's essential packages) or is the base image's Node. The compose verb's bad input is refused
 * with a clear message: no engine, an unknown verb, a bad base image name; a failing step is named.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, tryRun } from '../../src/exec.js';
import {
  CASSANDRA_IP,
  CASSANDRA_IMAGE,
  CLI_IP,
  DEFAULT_NODE_BASE_IMAGE,
  IMAGE,
  HOSTS,
  ISP_UPSTREAM_IP,
  ROUTER_UPSTREAM_IP,
  SERVICES,
  STORE_URL,
  UNDERLAY_SUBNET,
  UPSTREAM_SUBNET,
  VMS,
  ZOOKEEPER_IP,
  labIdOf,
} from '../../src/compose/layout.js';
import { ROLES } from '../../src/compose/role.js';
import { StepError, streamStep } from '../../src/compose/steps.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/compose/main.js', import.meta.url));
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** What each role starts (src/compose/roles.ts and the modules it reuses). */
const ROLE_PROGRAMS: Record<string, string[]> = {
  zookeeper: ['java', 'ethtool', '/usr/share/java/zookeeper.jar'],
  cassandra: ['java', 'ethtool'],
  agent: ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'ip', 'node'],
  router: ['ovsdb-server', 'ovs-vswitchd', 'ip', '/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh', 'node'],
  isp: ['ip', 'ethtool', '/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh'],
  setup: ['node'],
};
/** What the compose verb and the integration test run inside VM and CLI containers. */
const OTHER_PROGRAMS = ['sleep', 'ping', 'midonet-cli', 'midonet-role'];

interface Service {
  command?: string[];
  entrypoint?: string[];
  build?: { context: string; args?: Record<string, string>; network?: string };
  image?: string;
  environment?: Record<string, string>;
  networks?: Record<string, { ipv4_address?: string } | null>;
  network_mode?: string;
  volumes?: string[];
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  devices?: string[];
}
interface ComposeConfig {
  services: Record<string, Service>;
  networks: Record<
    string,
    { name?: string; internal?: boolean; ipam: { config: Array<{ subnet: string }> } }
  >;
  volumes?: Record<string, unknown>;
}

async function config(files: string[], env: NodeJS.ProcessEnv = process.env): Promise<ComposeConfig> {
  const yaml = await run(
    'docker-compose',
    ['-p', 'midonet', ...files.flatMap((f) => ['-f', join(ROOT, f)]), 'config'],
    { timeoutMs: 60000, env },
  );
  // docker-compose's own YAML library (python3-yaml, a dependency of the Debian package) reads it back.
  const json = await run(
    'python3',
    ['-c', 'import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: yaml },
  );
  return JSON.parse(json) as ComposeConfig;
}

interface Image {
  /** Debian packages installed by apt-get install. */
  readonly packages: Set<string>;
  /** Absolute paths placed in the image by COPY or ln -s. */
  readonly files: Set<string>;
}

function readImage(): Image {
  const image: Image = { packages: new Set(), files: new Set() };
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  let workdir = '/';
  for (const line of text.split('\n').map((l) => l.trim())) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const [, op, arg] = m;
    if (op === 'WORKDIR') workdir = posix.resolve(workdir, arg!);
    if (op === 'COPY') {
      const words = arg!.split(/\s+/);
      const dest = posix.resolve(workdir, words.at(-1)!);
      for (const src of words.slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} exists in the checkout`);
        image.files.add(words.at(-1)!.endsWith('/') ? posix.join(dest, basename(src)) : dest);
      }
    }
    if (op === 'RUN')
      for (const cmd of arg!.split(/&&|;/).map((c) => c.trim().split(/\s+/))) {
        const i = cmd.indexOf('install');
        if (cmd.includes('apt-get') && i > 0)
          for (const w of cmd.slice(i + 1)) if (!w.startsWith('-')) image.packages.add(w);
        if (cmd[0] === 'ln' && cmd[1] === '-s') {
          const target = cmd[2]!;
          assert.ok(
            [...image.files].some((f) => target.startsWith(`${f}/`)),
            `ln -s target ${target} was copied into the image`,
          );
          assert.ok(existsSync(join(ROOT, posix.relative(workdir, target))), `${target} exists here`);
          image.files.add(cmd[3]!);
        }
      }
  }
  return image;
}

/** The Debian package that ships `path` (through symlinks, alternatives and merged /usr). */
async function packageOf(path: string): Promise<string | undefined> {
  const candidates = new Set([path, realpathSync(path)]);
  for (const p of [...candidates]) {
    if (p.startsWith('/usr/bin/') || p.startsWith('/usr/sbin/')) candidates.add(p.slice(4));
    if (p.startsWith('/bin/') || p.startsWith('/sbin/')) candidates.add(`/usr${p}`);
  }
  for (const c of candidates) {
    const out = await tryRun('dpkg', ['-S', c]);
    const m = out && /^([^:,\s]+)(?::\w+)?: /m.exec(out);
    if (m) return m[1]!;
  }
  return undefined;
}

async function closure(packages: Set<string>): Promise<Set<string>> {
  const out = new Set(packages);
  for (const p of packages) {
    const deps = await tryRun('dpkg-query', ['-W', '-f=${Depends}', p]);
    assert.ok(
      deps !== undefined,
      `Debian package ${p} is installed on this machine, so its files can be checked`,
    );
    for (const d of deps.split(',')) out.add(d.trim().split(/[\s|:(]/)[0]!);
  }
  return out;
}

/** Why `program` exists in the image, or throws saying why it does not. */
async function resolveInImage(image: Image, pkgs: Set<string>, program: string): Promise<string> {
  if (program === 'node') return 'the base image (NODE_BASE: node:20-bookworm-slim or the host Node)';
  for (const f of image.files)
    if (f === program || (PATH_DIRS.includes(posix.dirname(f)) && basename(f) === program))
      return `placed at ${f}`;
  const where = program.startsWith('/')
    ? existsSync(program)
      ? program
      : undefined
    : PATH_DIRS.map((d) => join(d, program)).find((f) => existsSync(f));
  assert.ok(where, `${program}: not placed in the image, and no package on this machine ships it`);
  const pkg = await packageOf(where);
  assert.ok(pkg, `${program} (${where}): no Debian package ships it`);
  if (pkgs.has(pkg)) return `Debian package ${pkg}`;
  const essential = (await tryRun('dpkg-query', ['-W', '-f=${Essential}', pkg]))?.trim() === 'yes';
  assert.ok(essential, `${program} comes from ${pkg}, which the Dockerfile does not install`);
  return `essential package ${pkg}`;
}

function verb(args: string[], env: NodeJS.ProcessEnv): { code: number | null; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8', timeout: 60000 });
  return { code: r.status, err: r.stderr };
}

describe('compose files and Dockerfile (static; the lab runs in compose-lab.test.ts)', () => {
  let base: ComposeConfig;
  let local: ComposeConfig;
  let image: Image;
  let pkgs: Set<string>;

  before(async () => {
    base = await config(['docker-compose.yml']);
    local = await config(['docker-compose.yml', 'docker-compose.local.yml'], {
      ...process.env,
      MIDONET_CASSANDRA_LIB: '',
      MIDONET_COMPOSE_NODE_BASE: '',
    });
    image = readImage();
    pkgs = await closure(image.packages);
  });

  it('docker-compose config accepts the file alone and with the local override: the same services', () => {
    assert.deepEqual(Object.keys(base.services).sort(), [...SERVICES].sort());
    assert.deepEqual(Object.keys(local.services).sort(), [...SERVICES].sort());
  });

  it('alone: official ZooKeeper and Cassandra images; ours from ./Dockerfile on node:20-bookworm-slim', () => {
    assert.match(base.services.zookeeper!.image!, /^zookeeper:/);
    assert.match(base.services.cassandra!.image!, /^cassandra:/);
    assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^ARG NODE_BASE=node:20-bookworm-slim$/m);
    for (const s of SERVICES.filter((x) => !['zookeeper', 'cassandra'].includes(x))) {
      assert.equal(base.services[s]!.image, 'midonet-ts:latest', s);
      assert.equal(base.services[s]!.build?.args?.NODE_BASE, undefined, s);
    }
  });

  it('with the override: the project image on the local base; Cassandra its image with the jars built in', () => {
    for (const s of SERVICES.filter((x) => x !== 'cassandra')) {
      assert.equal(local.services[s]!.image, IMAGE, s);
      assert.equal(local.services[s]!.build?.args?.NODE_BASE, DEFAULT_NODE_BASE_IMAGE, s);
    }
    const cassandra = local.services.cassandra!;
    assert.equal(cassandra.image, CASSANDRA_IMAGE);
    assert.equal(cassandra.build, undefined, 'built by the compose verb from the jar directory');
    for (const v of cassandra.volumes ?? [])
      assert.doesNotMatch(v, /^\//, `no host mount (the jars are in the image): ${v}`);
    assert.deepEqual(cassandra.command, ['midonet-role', 'cassandra']);
    const dockerfile = readFileSync(join(ROOT, 'docker', 'cassandra', 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^ARG BASE=${IMAGE}$`, 'm'));
    assert.match(dockerfile, /^COPY \. \/opt\/cassandra\/lib\/$/m, 'where the cassandra role looks');
  });

  it('with the Docker override: nothing privileged, the privileged roles get all but SYS_RESOURCE', async () => {
    const docker = await config(
      ['docker-compose.yml', 'docker-compose.local.yml', 'docker-compose.docker.yml'],
      { ...process.env, MIDONET_CASSANDRA_LIB: '', MIDONET_COMPOSE_NODE_BASE: '' },
    );
    assert.deepEqual(Object.keys(docker.services).sort(), [...SERVICES].sort());
    const privileged = Object.keys(local.services).filter((s) => local.services[s]!.privileged);
    assert.deepEqual(privileged.sort(), [...HOSTS.map((h) => h.service), 'isp'].sort());
    for (const [name, svc] of Object.entries(docker.services)) {
      assert.notEqual(svc.privileged, true, name);
      if (svc.build) assert.equal(svc.build.network, 'host', `${name}: builds on the host's network`);
      if (!privileged.includes(name)) {
        assert.equal(svc.cap_drop, undefined, name);
        continue;
      }
      assert.deepEqual(svc.cap_add, ['ALL'], name);
      assert.deepEqual(svc.cap_drop, ['SYS_RESOURCE'], name);
      assert.deepEqual(svc.devices, ['/dev/net/tun'], name);
      assert.deepEqual([...svc.security_opt!].sort(), ['apparmor=unconfined', 'seccomp=unconfined'], name);
    }
  });

  it('every address, host name and the store URL agree with src/compose/layout.ts', () => {
    for (const c of [base, local]) {
      const s = c.services;
      assert.equal(c.networks.underlay!.ipam.config[0]!.subnet, UNDERLAY_SUBNET);
      assert.equal(c.networks.upstream!.ipam.config[0]!.subnet, UPSTREAM_SUBNET);
      assert.ok(
        c.networks.underlay!.internal && c.networks.upstream!.internal,
        'no traffic leaves the machine',
      );
      assert.equal(s.zookeeper!.networks!.underlay!.ipv4_address, ZOOKEEPER_IP);
      assert.equal(s.cassandra!.networks!.underlay!.ipv4_address, CASSANDRA_IP);
      for (const h of HOSTS) {
        const svc = s[h.service]!;
        assert.equal(svc.networks!.underlay!.ipv4_address, h.underlayIp, h.service);
        assert.equal(svc.environment!.MIDONET_TUNNEL_IP, h.underlayIp, h.service);
        assert.equal(svc.environment!.MIDONET_HOST_NAME, h.name, h.service);
        assert.equal(svc.environment!.MIDONET_STORE, STORE_URL, h.service);
        assert.equal(svc.environment!.MIDONET_UPLINK_IFACE, h.uplink, h.service);
        if (h.uplink) assert.equal(svc.networks!.upstream!.ipv4_address, ROUTER_UPSTREAM_IP);
      }
      assert.equal(s.isp!.networks!.upstream!.ipv4_address, ISP_UPSTREAM_IP);
      assert.equal(s.cli!.environment!.MIDONET_STORE, STORE_URL);
      assert.equal(s.cli!.networks!.underlay!.ipv4_address, CLI_IP);
      for (const v of VMS)
        assert.equal(s[v.service]!.network_mode, 'none', `${v.service}: wired by the verb`);
    }
    assert.equal(local.services.cassandra!.environment!.MIDONET_ADDRESS, CASSANDRA_IP);
  });

  it('every container on a network has a static address, none twice, none the gateway', () => {
    for (const c of [base, local]) {
      const seen = new Map<string, string>();
      for (const [name, svc] of Object.entries(c.services))
        for (const [net, how] of Object.entries(svc.networks ?? {})) {
          const ip = how?.ipv4_address;
          assert.ok(ip, `${name} on ${net}: no static address (a dynamic one can take a static one's)`);
          assert.equal(seen.get(ip), undefined, `${ip} given to ${name} and ${seen.get(ip)}`);
          seen.set(ip, name);
        }
      assert.ok(seen.size >= SERVICES.length - VMS.length, 'every service but the VMs is on a network');
      for (const n of Object.values(c.networks)) {
        const gw = (n.ipam.config[0] as { gateway?: string }).gateway;
        assert.ok(gw && !seen.has(gw), `gateway ${gw}`);
      }
    }
  });

  it('network names carry the lab id that up makes new each time, and it is read back from them', async () => {
    const named = await config(['docker-compose.yml'], { ...process.env, MIDONET_COMPOSE_LAB_ID: 'mk3f9a' });
    assert.equal(named.networks.underlay!.name, 'midonet-underlay-mk3f9a');
    assert.equal(named.networks.upstream!.name, 'midonet-upstream-mk3f9a');
    assert.equal(base.networks.underlay!.name, 'midonet-underlay-0');
    assert.equal(labIdOf(['podman', 'midonet-upstream-mk3f9a']), 'mk3f9a');
    assert.equal(labIdOf(['podman', 'midonet_underlay']), undefined);
  });

  it('every service of ours runs a known midonet-role role, a VM or the CLI idles', () => {
    for (const [name, svc] of Object.entries(local.services)) {
      const cmd = svc.command ?? [];
      if (cmd[0] === 'midonet-role') assert.ok(ROLES.includes(cmd[1]!), `${name}: role ${cmd[1]}`);
      else assert.deepEqual(cmd, ['sleep', 'infinity'], name);
    }
    for (const name of ['zookeeper', 'cassandra']) {
      assert.equal(base.services[name]!.command, undefined, `${name}: the official image's own command`);
      assert.equal(base.services[name]!.entrypoint, undefined);
    }
  });

  it('every program a role starts is installed or placed by the Dockerfile', async () => {
    for (const [role, programs] of Object.entries(ROLE_PROGRAMS)) {
      assert.ok(ROLES.includes(role), role);
      for (const p of programs) await resolveInImage(image, pkgs, p);
    }
    for (const p of OTHER_PROGRAMS) await resolveInImage(image, pkgs, p);
  });

  it('a program the image lacks is refused (so the check means something)', async () => {
    await assert.rejects(resolveInImage(image, pkgs, 'zookeeper-server-start.sh'));
    await assert.rejects(resolveInImage(image, pkgs, 'ovs-testcontroller')); // openvswitch-testcontroller
  });

  it('the compose verb: no engine says what to install; bad usage and a bad base name are refused', () => {
    const none = verb(['status'], { ...process.env, PATH: '/nonexistent' });
    assert.equal(none.code, 1, none.err);
    assert.match(
      none.err,
      /no container engine found.*install Podman \(Debian 12: apt-get install podman runc/,
    );
    const bad = verb(['launch\n\x1b[31m'], process.env);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^compose: error: 'launch\\n\\x1b\[31m': usage: npm run compose -- up/);
    const name = verb(['status'], { ...process.env, MIDONET_COMPOSE_NODE_BASE: 'Bad Name;rm' });
    assert.equal(name.code, 2);
    assert.match(name.err, /MIDONET_COMPOSE_NODE_BASE='Bad Name;rm': expected an image name/);
  });

  it('a failing step is named with its exit status, its log file and its last lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midonet-compose-step-'));
    try {
      const log = join(dir, 'compose.log');
      const err = await streamStep(
        'project image (docker-compose build of ./Dockerfile)',
        process.execPath,
        ['-e', 'console.log("STEP 5/13: RUN npm ci"); console.error("npm error code E404"); process.exit(3)'],
        { timeoutMs: 30000, log, onLine: () => undefined },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof StepError);
      assert.match(
        err.message,
        /^step 'project image \(docker-compose build of \.\/Dockerfile\)' failed: .* exit 3; full output in .*compose\.log; last lines:\n {4}STEP 5\/13: RUN npm ci\n {4}npm error code E404$/,
      );
      assert.match(readFileSync(log, 'utf8'), /npm error code E404/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('README and docs/operations.md say how to run it and name the opt-in test variable', () => {
    for (const f of ['README.md', join('docs', 'operations.md')]) {
      const doc = readFileSync(join(ROOT, f), 'utf8');
      assert.match(doc, /npm run compose -- up/, f);
      assert.match(doc, /MIDONET_TEST_LONG=1/, f);
    }
  });
});
