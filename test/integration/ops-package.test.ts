/**
 * The Debian package (`npm run package`, src/packaging/deb.ts) on this machine: built from the
 * checkout (or $MIDONET_DEB), installed with dpkg -i, `midonet-cli --version` and a real command
 * through /usr/bin, `systemd-analyze verify` on the installed units, the directories postinst makes,
 * nothing started; then dpkg -r (configuration kept) and dpkg --purge (nothing left). Refuses to run
 * where a `midonet` package is installed already (it would be replaced and removed).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDeb, PROGRAMS, UNITS } from '../../src/packaging/deb.js';

const execFileP = promisify(execFile);
const sh = async (cmd: string, ...args: string[]) =>
  (await execFileP(cmd, args, { timeout: 300000, maxBuffer: 256 << 20 })).stdout;
/** True when dpkg has the midonet package installed. */
const installed = () =>
  execFileP('dpkg-query', ['-W', '-f=${Status}', 'midonet']).then(
    (r) => r.stdout.includes('install ok installed'),
    () => false,
  );

describe('the Debian package', () => {
  const out = mkdtempSync(join(tmpdir(), 'midonet-deb-test-'));
  let deb: string;

  before(async () => {
    if (await installed())
      throw new Error(
        'a midonet package is installed on this machine: this test would replace it; remove it first',
      );
    deb = process.env.MIDONET_DEB ?? (await buildDeb(out));
  });
  after(async () => {
    await execFileP('dpkg', ['--purge', 'midonet']).catch(() => undefined);
    rmSync(out, { recursive: true, force: true });
  });

  it('declares its dependencies and scripts', async () => {
    const info = await sh('dpkg-deb', '-f', deb, 'Package', 'Depends', 'Architecture');
    assert.match(info, /^Package: midonet$/m);
    assert.match(info, /^Depends: .*nodejs \(>= 20\).*openvswitch-switch/m);
    const files = await sh('dpkg-deb', '-c', deb);
    for (const p of [
      './opt/midonet/dist/src/cli/main.js',
      './opt/midonet/dist/cli/midonet-cli.cjs',
      './lib/systemd/system/midonet-agent.service',
      './etc/default/midonet-agent',
      './usr/share/doc/midonet/examples/midonet-agent.json',
      './usr/share/bash-completion/completions/midonet-cli',
      './usr/share/midonet/grafana/midonet-dashboard.json',
    ])
      assert.ok(files.includes(p), `${p} in the package`);
    assert.ok(!/node_modules\/(typescript|eslint|prettier)\//.test(files), 'production node_modules only');
  });

  it('installs with dpkg -i, starts nothing, and works from /usr/bin', async () => {
    await sh('dpkg', '-i', deb);
    assert.ok(await installed());
    assert.equal((await sh('midonet-cli', '--version')).trim(), '0.1.0');
    for (const p of PROGRAMS) assert.ok(existsSync(`/usr/bin/${p}`), `/usr/bin/${p}`);
    const db = join(out, 'state.db');
    await sh('/usr/bin/midonet-cli', '--store', `sqlite:${db}`, 'bridge', 'create', 'pkg-test');
    assert.match(await sh('/usr/bin/midonet-cli', '--store', `sqlite:${db}`, 'bridge', 'list'), /pkg-test/);
    assert.ok(existsSync('/var/lib/midonet') && existsSync('/run/midonet'), 'postinst made the directories');
    assert.ok(
      existsSync('/opt/midonet/dist/cli/midonet-cli.blob.node'),
      "postinst made the CLI's start-up snapshot with the installed node",
    );
    const procs = await sh('ps', '-eo', 'args');
    assert.ok(!procs.split('\n').some((l) => l.includes('/opt/midonet/')), 'postinst started nothing');
    for (const u of UNITS) {
      const r = await execFileP('systemd-analyze', [
        'verify',
        '--man=no',
        `/lib/systemd/system/${u}.service`,
      ]).then(
        (x) => `${x.stdout}${x.stderr}`.trim(),
        (e: { stdout: string; stderr: string }) => `failed: ${e.stdout}${e.stderr}`,
      );
      assert.equal(r, '', `${u}.service: ${r}`);
    }
    assert.match(readFileSync('/etc/default/midonet-agent', 'utf8'), /MIDONET_AGENT_CONFIG=/);
  });

  it('removes cleanly: dpkg -r keeps the configuration, --purge removes it', async () => {
    await sh('dpkg', '-r', 'midonet');
    assert.ok(!existsSync('/opt/midonet'), '/opt/midonet removed');
    assert.ok(!existsSync('/usr/bin/midonet-cli'), 'links removed');
    assert.ok(!existsSync('/lib/systemd/system/midonet-agent.service'), 'units removed');
    assert.ok(existsSync('/etc/default/midonet-agent'), 'configuration kept until purge');
    await sh('dpkg', '--purge', 'midonet');
    assert.ok(!existsSync('/etc/default/midonet-agent'), 'configuration purged');
    assert.equal(await installed(), false);
  });
});
