/**
 * The systemd units in packaging/systemd, checked with `systemd-analyze verify` (Debian's systemd
 * package; works where systemd is not PID 1). verify also checks that ExecStart's program exists, so
 * each unit is rendered into a temporary directory with its install path (/usr/bin/midonet-X, a
 * symlink to /opt/midonet/bin/midonet-X in the install layout) replaced by this checkout's
 * bin/midonet-X: the program the symlink would reach. Nothing else in the unit is changed.
 * verify exits 0 on unknown keys and bad values (it only warns), so any output fails the test; a
 * broken unit shows that the check does catch them. Also checks what the issue asks of the units:
 * ordering after Open vSwitch and the network, restart with back-off, reload by SIGHUP, journald, and
 * that the environment file defines what ExecStart uses.
 */
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, ExecError } from '../../src/exec.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNITS = ['midonet-agent', 'midonet-router'] as const;

/** Runs systemd-analyze verify on one file: exit status and everything it printed (empty: clean). */
function verify(file: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', ['verify', '--man=no', file], { timeout: 60000 }, (err, stdout, stderr) =>
      resolve({ ok: err === null, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

/** `Key=value` lines of a unit (all occurrences, in order). */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((l) => /^([A-Za-z]+)=(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]);
}

function values(text: string, key: string): string[] {
  return directives(text)
    .filter(([k]) => k === key)
    .map(([, v]) => v);
}

function render(unit: string, dir: string): string {
  const text = readFileSync(join(ROOT, 'packaging', 'systemd', `${unit}.service`), 'utf8');
  const program = join(ROOT, 'bin', unit);
  assert.ok(existsSync(program), `${program} exists in the checkout`);
  const rendered = text.replaceAll(`/usr/bin/${unit}`, program);
  assert.notEqual(rendered, text, `the unit starts /usr/bin/${unit}`);
  const file = join(dir, `${unit}.service`);
  writeFileSync(file, rendered);
  return file;
}

describe('systemd units', () => {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-units-'));

  it('systemd-analyze is installed', async () => {
    assert.match(await run('systemd-analyze', ['--version']), /^systemd \d+/);
  });

  for (const unit of UNITS) {
    it(`${unit}.service passes systemd-analyze verify with no warning`, async () => {
      const r = await verify(render(unit, dir));
      assert.ok(r.ok, r.output);
      assert.equal(r.output, '', `verify printed:\n${r.output}`);
    });

    it(`${unit}.service: after Open vSwitch and the network, restart with back-off, reload by HUP, journald`, () => {
      const text = readFileSync(join(ROOT, 'packaging', 'systemd', `${unit}.service`), 'utf8');
      const after = values(text, 'After').join(' ').split(/\s+/);
      assert.ok(after.includes('openvswitch-switch.service'), 'After=openvswitch-switch.service');
      assert.ok(after.includes('network-online.target'), 'After=network-online.target');
      assert.ok(values(text, 'Wants').join(' ').includes('network-online.target'));
      assert.deepEqual(values(text, 'Restart'), ['on-failure']);
      assert.equal(values(text, 'RestartSec').length, 1);
      assert.ok(Number(values(text, 'StartLimitBurst')[0]) > 0, 'StartLimitBurst');
      assert.ok(Number(values(text, 'StartLimitIntervalSec')[0]) > 0, 'StartLimitIntervalSec');
      assert.deepEqual(values(text, 'ExecReload'), ['/bin/kill -HUP $MAINPID']);
      assert.deepEqual(values(text, 'StandardOutput'), ['journal']);
      assert.deepEqual(values(text, 'NoNewPrivileges'), ['yes']);
      assert.deepEqual(values(text, 'User'), ['root'], 'root, as the unit explains');
      // ExecStart's variables: defaulted in the unit, all documented in the environment file.
      const execStart = values(text, 'ExecStart')[0]!;
      assert.ok(execStart.startsWith(`/usr/bin/${unit} --config `), execStart);
      const used = [...execStart.matchAll(/\$\{?([A-Z_]+)\}?/g)].map((m) => m[1]!);
      assert.ok(used.length >= 2, execStart);
      assert.deepEqual(values(text, 'EnvironmentFile'), [`-/etc/default/${unit}`]);
      const envFile = readFileSync(join(ROOT, 'packaging', 'default', unit), 'utf8');
      for (const v of used)
        assert.match(envFile, new RegExp(`^${v}=`, 'm'), `${v} in packaging/default/${unit}`);
      const config = /^([A-Z_]+_CONFIG)=(.*)$/m.exec(envFile)!;
      assert.deepEqual(
        values(text, 'Environment'),
        [`${config[1]}=${config[2]}`],
        'same default in unit and file',
      );
      assert.equal(config[2], `/etc/midonet/${unit}.json`);
    });

    it(`${unit}: the program ExecStart reaches runs and takes --config`, async () => {
      const help = await run(join(ROOT, 'bin', unit), ['--help'], { timeoutMs: 30000 });
      assert.match(help, /--config/);
    });
  }

  it('midonet-api.service passes verify, restarts with back-off, logs to journald, is sandboxed', async () => {
    const r = await verify(render('midonet-api', dir));
    assert.ok(r.ok, r.output);
    assert.equal(r.output, '', `verify printed:\n${r.output}`);
    const text = readFileSync(join(ROOT, 'packaging', 'systemd', 'midonet-api.service'), 'utf8');
    assert.ok(values(text, 'After').join(' ').includes('network-online.target'));
    assert.deepEqual(values(text, 'Restart'), ['on-failure']);
    assert.ok(Number(values(text, 'StartLimitBurst')[0]) > 0);
    assert.deepEqual(values(text, 'StandardOutput'), ['journal']);
    assert.deepEqual(values(text, 'NoNewPrivileges'), ['yes']);
    assert.deepEqual(values(text, 'ProtectSystem'), ['strict']);
    assert.deepEqual(values(text, 'ExecStart'), [
      '/usr/bin/midonet-api --config ${MIDONET_API_CONFIG} $MIDONET_API_OPTS',
    ]);
    const envFile = readFileSync(join(ROOT, 'packaging', 'default', 'midonet-api'), 'utf8');
    assert.match(envFile, /^MIDONET_API_CONFIG=\/etc\/midonet\/midonet-api\.json$/m);
    assert.match(envFile, /^MIDONET_API_OPTS=/m);
    assert.match(await run(join(ROOT, 'bin', 'midonet-api'), ['--help'], { timeoutMs: 30000 }), /--config/);
  });

  it('midonet-api refuses a bad configuration file at start with file, key, value and what is allowed', async () => {
    const file = join(dir, 'bad-api.json');
    writeFileSync(file, JSON.stringify({ listen: '192.0.2.10:8181' }));
    await assert.rejects(run(join(ROOT, 'bin', 'midonet-api'), ['--config', file]), (e: ExecError) => {
      assert.equal(e.code, 1);
      assert.match(
        e.stderr.trim(),
        new RegExp(
          `^midonet-api: ${file}: key 'listen': value '192\\.0\\.2\\.10:8181': '192\\.0\\.2\\.10' is not a loopback address`,
        ),
      );
      return true;
    });
  });

  it('the agent refuses a bad configuration file at start with file, key, value and what is allowed', async () => {
    const file = join(dir, 'bad-agent.json');
    writeFileSync(file, JSON.stringify({ logLevel: 'chatty' }));
    await assert.rejects(run(join(ROOT, 'bin', 'midonet-agent'), ['--config', file]), (e: ExecError) => {
      assert.equal(e.code, 1);
      assert.equal(
        e.stderr.trim(),
        `midonet-agent: ${file}: key 'logLevel': value 'chatty' is not allowed; allowed: fatal, error, warn, info, debug, trace, silent`,
      );
      return true;
    });
  });

  it('verify does report a broken unit (so a clean result means something)', async () => {
    const file = join(dir, 'midonet-broken.service');
    const good = readFileSync(render('midonet-agent', dir), 'utf8');
    writeFileSync(file, good.replace('Restart=on-failure', 'Restart=sometimes\nRestartSoon=yes'));
    const r = await verify(file);
    assert.match(r.output, /RestartSoon/);
    assert.match(r.output, /sometimes/);
    const missing = join(dir, 'midonet-missing.service');
    writeFileSync(missing, good.replace(join(ROOT, 'bin', 'midonet-agent'), join(dir, 'no-such-program')));
    const m = await verify(missing);
    assert.equal(m.ok, false);
    assert.match(m.output, /no-such-program is not executable/);
  });
});
