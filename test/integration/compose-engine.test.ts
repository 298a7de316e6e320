/**
 * The compose verb against the real container engine (Podman here, Docker where it answers), fast and
 * with no image built, so it runs in every `npm test` (the whole lab, which builds images the first
 * time, is compose-lab.test.ts, opt-in with MIDONET_TEST_LONG=1): with one container, one network and
 * one volume carrying the compose project label, `up` says a lab is up and changes nothing (no
 * container, network, volume or image made or removed); `status` lists the container and exits 1 (not
 * a working lab); `down` removes exactly the labelled three and leaves the unlabelled container,
 * network and volume beside them; then `down` and `status` say no lab is up. Skipped, with the reason,
 * when a compose lab is up on this machine (the test would remove it). Everything the test made is
 * removed afterwards, also when it fails.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../src/compose/engine.js';
import { PROJECT, PROJECT_LABEL, SERVICE_LABEL } from '../../src/compose/layout.js';

const MAIN = fileURLToPath(new URL('../../src/compose/main.js', import.meta.url));
const SCRATCH = 'localhost/midonet-it-scratch:latest';

function verb(args: string[], runDir: string) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, MIDONET_COMPOSE_RUN_DIR: runDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('compose verb on the real engine: up refuses over a lab, down removes only the labelled', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-compose-engine-'));
  const suffix = Date.now().toString(36);
  const mine = `midonet-it-labelled-${suffix}`;
  const other = `midonet-it-other-${suffix}`;
  let engine: Engine;
  let busy: string | false = false;

  const names = async (what: 'container' | 'network' | 'volume') => {
    const args =
      what === 'container' ? ['ps', '-a', '--format', '{{.Names}}'] : [what, 'ls', '--format', '{{.Name}}'];
    return (await engine.cmd(args))
      .split('\n')
      .filter((n) => n.includes(suffix))
      .sort();
  };
  const everything = async () => ({
    containers: await names('container'),
    networks: await names('network'),
    volumes: await names('volume'),
    images: (await engine.cmd(['images', '-q', '--no-trunc'])).split('\n').filter(Boolean).sort(),
  });

  before(async () => {
    engine = await Engine.detect(runDir);
    const lab = await engine.containers();
    const left = await engine.networksAndVolumes();
    if (lab.length + left.networks.length + left.volumes.length > 0) {
      busy = `a compose lab is up on this machine (${[...lab.map((c) => c.name), ...left.networks].join(' ')}); this test would remove it`;
      return;
    }
    // An empty image (a tar of two zero blocks): `create` needs one, and nothing here runs.
    await engine.cmd(['import', '-', SCRATCH], { input: '\0'.repeat(1024) });
    const labels = ['--label', `${PROJECT_LABEL}=${PROJECT}`];
    await engine.cmd([
      'create',
      '--name',
      mine,
      ...labels,
      '--label',
      `${SERVICE_LABEL}=vm1`,
      SCRATCH,
      '/none',
    ]);
    await engine.cmd(['create', '--name', other, SCRATCH, '/none']);
    for (const what of ['network', 'volume']) {
      await engine.cmd([what, 'create', ...labels, mine]);
      await engine.cmd([what, 'create', other]);
    }
  });

  after(async () => {
    try {
      if (engine && !busy) {
        // One at a time: a remove that fails on one name (already gone) may leave the others.
        const quietly = (args: string[]) => engine.cmd(args).catch(() => undefined);
        for (const name of [mine, other]) {
          await quietly(['rm', '-f', name]);
          await quietly(['network', 'rm', name]);
          await quietly(['volume', 'rm', '-f', name]);
        }
        await quietly(['rmi', SCRATCH]);
        const left = await everything();
        assert.deepEqual(
          [...left.containers, ...left.networks, ...left.volumes],
          [],
          'the test left nothing',
        );
      }
    } finally {
      await engine?.close();
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('up says a lab is up and makes or removes nothing (no build either)', async (t) => {
    if (busy) return t.skip(busy);
    const before = await everything();
    assert.deepEqual(before.containers, [mine, other].sort());
    const r = await verb(['up'], runDir);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      new RegExp(`a compose lab is already up \\(1 containers: ${mine}\\); nothing changed`),
    );
    assert.deepEqual(await everything(), before);
  });

  it('status lists the labelled container and exits 1: it is no working lab', async (t) => {
    if (busy) return t.skip(busy);
    const r = await verb(['status', '--json'], runDir);
    assert.equal(r.code, 1, r.err);
    const s = JSON.parse(r.out) as { up: boolean; ok: boolean; containers: Array<{ name: string }> };
    assert.equal(s.up, true);
    assert.equal(s.ok, false);
    assert.deepEqual(
      s.containers.map((c) => c.name),
      [mine],
    );
  });

  it('down removes the labelled container, network and volume, and only them', async (t) => {
    if (busy) return t.skip(busy);
    const r = await verb(['down'], runDir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /down: removed 1 containers \(vm1\)/);
    const now = await everything();
    assert.deepEqual(now.containers, [other]);
    assert.deepEqual(now.networks, [other]);
    assert.deepEqual(now.volumes, [other]);
    assert.deepEqual(await engine.containers(), []);
    assert.deepEqual(await engine.networksAndVolumes(), { networks: [], volumes: [] });
  });

  it('then down and status say that no lab is up', async (t) => {
    if (busy) return t.skip(busy);
    const d = await verb(['down'], runDir);
    assert.equal(d.code, 0, d.err);
    assert.match(d.err, /no compose lab is up; nothing to remove/);
    const s = await verb(['status'], runDir);
    assert.equal(s.code, 1);
    assert.match(s.err, /no compose lab is up/);
  });
});
