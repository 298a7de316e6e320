/**
 * The compose lab's images, made with no image registry, cached after the first time:
 *
 *   1. debootstrap   Debian 12 minbase from the Debian mirror into a cache directory (once);
 *   2. node base     that tree plus the host's own Node (binary, npm, headers, under /usr/local as in
 *                    the official node images) and the host's extra certificate authorities, imported
 *                    as NODE_BASE_IMAGE; made again only when those change (label org.midonet.node-base);
 *   3. project image `docker-compose build` of ./Dockerfile FROM that base (docker-compose.local.yml
 *                    sets NODE_BASE); made again when the base or any build input changed (label
 *                    org.midonet.source-hash over the base's id and the files the Dockerfile copies),
 *                    with the engine's layer cache, so a source change costs only the layers after it;
 *   4. Cassandra     CASSANDRA_IMAGE: the project image plus Cassandra's server jars as
 *                    scripts/lib/deps.sh resolved them from Maven Central (docker/cassandra/Dockerfile,
 *                    built with the engine's own `build`, the jar directory as its context); made again
 *                    when the project image, that Dockerfile or a jar changed (label org.midonet.source-hash).
 *
 * Why the host's Node rather than Debian 13's nodejs (also 20): the image stays Debian 12 like the
 * host and like node:20-bookworm-slim (the Docker path), so Open vSwitch 3.1 and FRR 8.4 are the
 * versions the namespace lab is tested with, and Node is the very build the test suite runs on; a
 * Debian 13 nodejs needs Debian 13's libc and OpenSSL, i.e. the whole image on Debian 13.
 *
 * Invariant: a failed step throws a StepError naming it; a cut-short debootstrap is never reused (it is
 * made in a temporary directory and renamed when complete).
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  copyFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { cassandraLibDir } from '../services/main.js';
import type { Engine } from './engine.js';
import { REPO } from './engine.js';
import { CASSANDRA_IMAGE, IMAGE, NODE_BASE_IMAGE } from './layout.js';
import { StepError, streamStep } from './steps.js';

export const CACHE = process.env.MIDONET_COMPOSE_CACHE ?? '/var/cache/midonet/compose';
const MIRROR = process.env.MIDONET_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
/** What the project image is built from: the Dockerfile's COPY sources and the Dockerfile itself. */
const BUILD_INPUTS = [
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'src',
  'bin',
  'services',
];

const CASSANDRA_DOCKERFILE = join('docker', 'cassandra', 'Dockerfile');

/** sha256 over the base image's id and the paths and contents (sorted) of `inputs` under `root`. */
export function sourceHash(baseId: string, root = REPO, inputs = BUILD_INPUTS): string {
  const h = createHash('sha256');
  h.update(`${baseId}\0`);
  const walk = (rel: string): void => {
    const p = join(root, rel);
    if (!existsSync(p)) return;
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(rel, e));
      return;
    }
    h.update(`${rel}\0`);
    h.update(readFileSync(p));
    h.update('\0');
  };
  for (const i of inputs) walk(i);
  return h.digest('hex').slice(0, 16);
}

function say(l: string): void {
  process.stderr.write(`compose: ${l}\n`);
}

/** Step 1: a Debian 12 minbase tree (cached). */
async function debootstrap(log: string): Promise<string> {
  const dir = join(CACHE, 'bookworm-minbase');
  if (existsSync(join(dir, 'etc', 'debian_version'))) return dir;
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  say(`build: debootstrap --variant=minbase bookworm from ${MIRROR} (about a minute, once)`);
  await streamStep(
    'debootstrap (Debian 12 minbase)',
    'nice',
    ['-n', '10', 'debootstrap', '--variant=minbase', 'bookworm', tmp, MIRROR],
    { timeoutMs: 1800000, log, onLine: () => undefined },
  );
  renameSync(tmp, dir);
  return dir;
}

/** The host's Node under usr/local of `overlay`, as the official node images lay it out. */
function stageNode(overlay: string): void {
  rmSync(overlay, { recursive: true, force: true });
  const node = realpathSync(process.execPath);
  const prefix = dirname(dirname(node));
  const npm = [
    join(prefix, 'lib', 'node_modules', 'npm'),
    '/usr/lib/node_modules/npm',
    '/usr/share/nodejs/npm',
  ].find((d) => existsSync(join(d, 'bin', 'npm-cli.js')));
  const include = [join(prefix, 'include', 'node'), '/usr/include/node'].find((d) =>
    existsSync(join(d, 'node.h')),
  );
  if (!npm || !include)
    throw new StepError(
      'node base image',
      `the host's Node at ${node} comes without ${npm ? 'headers' : 'npm'}`,
    );
  const local = join(overlay, 'usr', 'local');
  mkdirSync(join(local, 'bin'), { recursive: true });
  copyFileSync(node, join(local, 'bin', 'node'));
  cpSync(npm, join(local, 'lib', 'node_modules', 'npm'), { recursive: true, verbatimSymlinks: true });
  cpSync(include, join(local, 'include', 'node'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin', 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin', 'npx'));
  // Certificate authorities this host trusts beyond Debian's (e.g. an egress proxy that re-signs TLS,
  // as on the project's machines): the Dockerfile's ca-certificates install adds them to the image's
  // bundle, which NODE_EXTRA_CA_CERTS points npm at.
  const cas = '/usr/local/share/ca-certificates';
  if (existsSync(cas)) cpSync(cas, join(local, 'share', 'ca-certificates'), { recursive: true });
}

/** The overlay's paths, one by one (an image layer may not hold one path twice; both trees have usr/local). */
function overlayPaths(overlay: string): string[] {
  const out = ['bin/node', 'bin/npm', 'bin/npx', 'lib/node_modules', 'include/node'].map(
    (p) => `usr/local/${p}`,
  );
  if (existsSync(join(overlay, 'usr', 'local', 'share', 'ca-certificates')))
    out.push('usr/local/share/ca-certificates');
  return out;
}

/** What the node base is made of: the host's Node version and its extra certificate authorities. */
export function nodeBaseKey(): string {
  const h = createHash('sha256');
  const cas = '/usr/local/share/ca-certificates';
  if (existsSync(cas))
    for (const f of readdirSync(cas).sort()) h.update(f).update(readFileSync(join(cas, f)));
  return `${process.version}-${h.digest('hex').slice(0, 12)}`;
}

/** Step 2: NODE_BASE_IMAGE from the minbase tree and the host's Node (again when Node changes). */
async function nodeBase(engine: Engine, log: string): Promise<void> {
  const key = nodeBaseKey();
  if ((await engine.image(NODE_BASE_IMAGE))?.labels['org.midonet.node-base'] === key) return;
  const rootfs = await debootstrap(log);
  const overlay = join(CACHE, 'node-overlay');
  say(`build: ${NODE_BASE_IMAGE} = Debian 12 minbase + this host's Node ${process.version}`);
  stageNode(overlay);
  const tar = spawn('tar', ['-c', '-C', rootfs, '.', '-C', overlay, ...overlayPaths(overlay)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarDone = new Promise<number | null>((r) => tar.on('close', r));
  await streamStep(
    'node base image (import)',
    engine.cli,
    [
      'import',
      '--change',
      `LABEL org.midonet.node-base=${key}`,
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      '--change',
      'CMD ["node"]',
      '-',
      NODE_BASE_IMAGE,
    ],
    { env: engine.env, timeoutMs: 600000, log, stdin: tar.stdout, onLine: () => undefined },
  );
  if ((await tarDone) !== 0) throw new StepError('node base image (import)', `tar of ${rootfs} failed`);
  rmSync(overlay, { recursive: true, force: true });
}

/** Step 3: the project image (again when a build input changed). */
async function projectImage(engine: Engine, log: string, env: NodeJS.ProcessEnv): Promise<void> {
  const base = await engine.image(NODE_BASE_IMAGE);
  if (!base) throw new StepError('project image', `the base image ${NODE_BASE_IMAGE} is missing`);
  const hash = sourceHash(base.id);
  const old = await engine.image(IMAGE);
  const labels = old?.labels;
  if (labels?.['org.midonet.source-hash'] === hash) return;
  say(
    `build: ${IMAGE} from ./Dockerfile on ${NODE_BASE_IMAGE} (${labels ? 'sources changed' : 'first time: about 10 minutes'})`,
  );
  const [cmd, args] = engine.composeArgs(['build', '--build-arg', `SOURCE_HASH=${hash}`, 'agent1']);
  await streamStep('project image (docker-compose build of ./Dockerfile)', cmd, args, {
    env,
    cwd: REPO,
    timeoutMs: 3600000,
    log,
    onLine: (l) => {
      if (/^(Step \d+\/\d+|STEP \d+|Successfully)/.test(l)) process.stderr.write(`  | ${l.slice(0, 160)}\n`);
    },
  });
  const built = await engine.image(IMAGE);
  if (built?.labels['org.midonet.source-hash'] !== hash)
    throw new StepError(
      'project image',
      `the build finished but ${IMAGE} does not carry source hash ${hash}`,
    );
  // The image this build replaced (now untagged) goes, unless a container still uses it.
  if (old && old.id !== built.id) await engine.cmd(['rmi', old.id]).catch(() => undefined);
}

/** Step 4: the Cassandra image (again when the project image, its Dockerfile or a jar changed). */
async function cassandraImage(engine: Engine, log: string): Promise<void> {
  const step = 'Cassandra image (docker/cassandra/Dockerfile)';
  const lib = cassandraLibDir();
  if (!existsSync(join(lib, '.midonet-complete')))
    throw new StepError(
      step,
      `Cassandra's jars are not in ${lib}: run through npm run compose (it resolves them with Maven), or set MIDONET_CASSANDRA_LIB`,
    );
  const project = await engine.image(IMAGE);
  if (!project) throw new StepError(step, `the project image ${IMAGE} is missing`);
  const hash = sourceHash(
    `${project.id}\0${readFileSync(join(REPO, CASSANDRA_DOCKERFILE), 'utf8')}`,
    lib,
    readdirSync(lib),
  );
  const old = await engine.image(CASSANDRA_IMAGE);
  if (old?.labels['org.midonet.source-hash'] === hash) return;
  say(`build: ${CASSANDRA_IMAGE} = ${IMAGE} + the Cassandra jars of ${lib}`);
  await streamStep(
    step,
    engine.cli,
    [
      'build',
      '--file',
      join(REPO, CASSANDRA_DOCKERFILE),
      '--build-arg',
      `BASE=${IMAGE}`,
      '--build-arg',
      `SOURCE_HASH=${hash}`,
      '--tag',
      CASSANDRA_IMAGE,
      lib,
    ],
    { env: engine.env, timeoutMs: 600000, log, onLine: () => undefined },
  );
  const built = await engine.image(CASSANDRA_IMAGE);
  if (built?.labels['org.midonet.source-hash'] !== hash)
    throw new StepError(step, `the build finished but ${CASSANDRA_IMAGE} does not carry source hash ${hash}`);
  if (old && old.id !== built.id) await engine.cmd(['rmi', old.id]).catch(() => undefined);
}

/** Makes every image the lab needs that is missing or out of date. */
export async function buildImages(engine: Engine, env: NodeJS.ProcessEnv, log: string): Promise<void> {
  await nodeBase(engine, log);
  await projectImage(engine, log, env);
  await cassandraImage(engine, log);
}
