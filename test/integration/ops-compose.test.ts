/**
 * docker-compose.yml and the Dockerfile, without a Docker engine (none runs on the project's
 * machines): `docker-compose config` (Debian's docker-compose) must accept the file, and every program
 * a service runs must exist in the image the Dockerfile describes. The Dockerfile is read step by step:
 * `apt-get install` packages (plus their direct dependencies and Debian's essential packages, present
 * in any Debian image), files placed by COPY (whose sources must exist in the checkout), links made by
 * `ln -s` in RUN steps (whose targets must be copied or built there), and what the base image ships
 * (node, npm, npx in node:*). A program from a package is traced to its package with dpkg on this
 * machine, so it has to be a real file of that package. The entrypoint scripts are read too: the
 * programs they start must resolve the same way.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tryRun } from '../../src/exec.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Shell words that are not programs. */
const SHELL_WORDS = new Set([
  'set',
  'exec',
  'export',
  'cd',
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'for',
  'do',
  'done',
  'while',
  '[',
  'test',
  'true',
  'false',
  ':',
  '!',
  '{',
  '}',
  'echo',
  'printf',
  'read',
  'wait',
  'trap',
]);

interface Image {
  readonly base: string;
  /** Debian packages installed by apt-get install. */
  readonly packages: Set<string>;
  /** Absolute paths placed in the image by COPY or ln -s, with where they come from. */
  readonly files: Map<string, string>;
}

/** Dockerfile instructions with line continuations joined. */
function instructions(text: string): Array<[string, string]> {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([A-Z]+)\s+(.*)$/.exec(l);
      assert.ok(m, `Dockerfile line: ${l}`);
      return [m[1]!, m[2]!];
    });
}

function readImage(): Image {
  const image: Image = { base: '', packages: new Set(), files: new Map() };
  let workdir = '/';
  let base = '';
  for (const [op, arg] of instructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))) {
    switch (op) {
      case 'FROM':
        base = arg.split(/\s+/)[0]!;
        break;
      case 'WORKDIR':
        workdir = posix.resolve(workdir, arg);
        break;
      case 'COPY': {
        const words = arg.split(/\s+/).filter((w) => !w.startsWith('--'));
        const dest = posix.resolve(workdir, words.at(-1)!);
        for (const src of words.slice(0, -1)) {
          assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} exists in the checkout`);
          const to = words.at(-1)!.endsWith('/') ? posix.join(dest, basename(src)) : dest;
          image.files.set(to, `copied from ${src}`);
        }
        break;
      }
      case 'RUN':
        for (const cmd of arg.split(/&&|;/).map((c) => c.trim().split(/\s+/))) {
          const i = cmd.indexOf('install');
          if (cmd[0] === 'apt-get' && i > 0)
            for (const w of cmd.slice(i + 1)) if (!w.startsWith('-')) image.packages.add(w);
          if (cmd[0] === 'ln' && cmd[1] === '-s') {
            const [target, link] = [cmd[2]!, cmd[3]!];
            const source = [...image.files.keys()].find((f) => target === f || target.startsWith(`${f}/`));
            assert.ok(source, `ln -s target ${target} was copied into the image`);
            assert.ok(
              existsSync(join(ROOT, posix.relative(workdir, target))),
              `${target} exists in the checkout`,
            );
            image.files.set(link, `link to ${target}`);
          }
        }
        break;
      default:
        break;
    }
  }
  return { ...image, base };
}

/** Where a program name or path is on this machine (PATH order), following no alternatives yet. */
function locate(program: string): string | undefined {
  if (program.startsWith('/')) return existsSync(program) ? program : undefined;
  for (const d of PATH_DIRS) if (existsSync(join(d, program))) return join(d, program);
  return undefined;
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

async function debianClosure(packages: Set<string>): Promise<Set<string>> {
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

async function essential(pkg: string): Promise<boolean> {
  return (await tryRun('dpkg-query', ['-W', '-f=${Essential}', pkg]))?.trim() === 'yes';
}

/** Why `program` exists in the image, or throws saying why it does not. */
async function resolveInImage(image: Image, closure: Set<string>, program: string): Promise<string> {
  for (const [file, how] of image.files) {
    if (file === program) return how;
    if (!program.startsWith('/') && PATH_DIRS.includes(posix.dirname(file)) && basename(file) === program)
      return how;
  }
  if (image.base.startsWith('node:') && ['node', 'npm', 'npx'].includes(program))
    return `base image ${image.base}`;
  const where = locate(program);
  assert.ok(where, `${program}: not copied or linked in the image, and no package on this machine ships it`);
  const pkg = await packageOf(where);
  assert.ok(pkg, `${program} (${where}): no Debian package ships it`);
  if (closure.has(pkg)) return `Debian package ${pkg}`;
  assert.ok(await essential(pkg), `${program} comes from ${pkg}, which the Dockerfile does not install`);
  return `essential Debian package ${pkg}`;
}

/** Programs a POSIX shell script starts (first word of each command; continuations joined, heredoc bodies skipped). */
function scriptPrograms(text: string): string[] {
  const out = new Set<string>();
  let heredoc: string | undefined;
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (heredoc !== undefined) {
      if (line === heredoc) heredoc = undefined;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const h = /<<-?\s*'?(\w+)'?/.exec(line);
    if (h) heredoc = h[1]!;
    for (const part of line.replace(/<<-?\s*'?\w+'?/, '').split(/&&|\|\||;|\||&/)) {
      const words = part
        .trim()
        .split(/\s+/)
        .filter((w) => w !== '');
      while (words.length > 0 && (SHELL_WORDS.has(words[0]!) || /^\w+=/.test(words[0]!))) {
        if (words[0] === '[' || words[0] === 'test' || words[0] === 'set') words.length = 0;
        else words.shift();
      }
      if (words[0] && !words[0].startsWith('>') && !words[0].startsWith('$')) out.add(words[0]);
    }
  }
  return [...out];
}

describe('docker-compose.yml and Dockerfile (validated, not run: no Docker engine here)', () => {
  let services: Record<
    string,
    { command?: string[]; entrypoint?: string[]; build?: unknown; image?: string }
  >;
  let image: Image;
  let closure: Set<string>;

  before(async () => {
    image = readImage();
    closure = await debianClosure(image.packages);
  });

  it('docker-compose config accepts the file', async () => {
    const yaml = await run('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config'], {
      timeoutMs: 60000,
    });
    // docker-compose's own YAML library (python3-yaml, a dependency of the Debian package) reads it back.
    const json = await run(
      'python3',
      ['-c', 'import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
      {
        input: yaml,
      },
    );
    services = (JSON.parse(json) as { services: typeof services }).services;
    assert.deepEqual(Object.keys(services).sort(), [
      'agent1',
      'agent2',
      'cassandra',
      'cli',
      'isp',
      'router',
      'zookeeper',
    ]);
  });

  it('every role is there: ZooKeeper, Cassandra, two agent hosts, a router host, an ISP; ours built from ./Dockerfile', () => {
    assert.match(services.zookeeper!.image!, /^zookeeper:/);
    assert.match(services.cassandra!.image!, /^cassandra:/);
    for (const s of ['agent1', 'agent2', 'router', 'isp']) {
      assert.ok(services[s]!.build, `${s} is built from the project Dockerfile`);
      assert.equal(services[s]!.image, 'midonet-ts:latest');
    }
    assert.equal(services.cli!.image, 'midonet-ts:latest');
  });

  it("every service's command exists in the image definition", async () => {
    for (const [name, svc] of Object.entries(services)) {
      const ours = svc.image === 'midonet-ts:latest';
      if (!ours) {
        assert.equal(svc.command, undefined, `${name} runs its official image's own command`);
        assert.equal(svc.entrypoint, undefined);
        continue;
      }
      for (const cmd of [svc.entrypoint, svc.command]) {
        if (!cmd) continue;
        await resolveInImage(image, closure, cmd[0]!);
      }
    }
  });

  it('every program the entrypoint scripts start exists in the image definition', async () => {
    const scripts = [...image.files.entries()].filter(
      ([f, how]) => f.endsWith('.sh') && how.startsWith('copied'),
    );
    assert.ok(scripts.length >= 3, 'entrypoint scripts are copied');
    const seen: string[] = [];
    for (const [file, how] of scripts) {
      const src = how.replace('copied from ', '');
      for (const p of scriptPrograms(readFileSync(join(ROOT, src), 'utf8'))) {
        await resolveInImage(image, closure, p);
        seen.push(`${basename(file)}: ${p}`);
      }
    }
    for (const must of [
      'ovsdb-server',
      'ovs-vswitchd',
      'midonet-agent',
      'midonet-router',
      '/usr/lib/frr/bgpd',
    ])
      assert.ok(
        seen.some((s) => s.endsWith(`: ${must}`)),
        `${must} is started by a script: ${seen.join(', ')}`,
      );
  });

  it('a program the image lacks is refused (so the check means something)', async () => {
    await assert.rejects(resolveInImage(image, closure, 'zookeeper-server-start.sh'));
    await assert.rejects(resolveInImage(image, closure, 'ovs-testcontroller')); // openvswitch-testcontroller
  });

  it('docs/operations.md says plainly that the compose set-up was not run here', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    assert.match(doc, /not (been )?run (here|on the project's machines)/i);
  });
});
