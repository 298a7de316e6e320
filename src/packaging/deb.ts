/**
 * `npm run package`: builds the Debian package of the suite, `midonet_VERSION_ARCH.deb` (per
 * architecture: better-sqlite3 and zeromq ship native code), from the built checkout:
 *
 *   /opt/midonet                 bin/, dist/src, dist/bench (the evaluation's minimal controller),
 *                                dist/cli/midonet-cli.cjs (the CLI's bundle: postinst makes its
 *                                start-up snapshot with the installed node, prerm removes it),
 *                                docs/, package.json and the production node_modules (`npm prune
 *                                --omit=dev` of a copy of this checkout's, so nothing is rebuilt)
 *   /usr/bin/midonet-*           links to /opt/midonet/bin (agent, router, cli, api, cni, lab)
 *   /lib/systemd/system          midonet-agent, midonet-router, midonet-api, midonet-lb-health units
 *   /etc/default/midonet-*       their environment files (conffiles)
 *   /usr/share/doc/midonet/examples   an example configuration file per process
 *   /usr/share/bash-completion/completions/midonet-cli, /usr/share/zsh/vendor-completions/_midonet-cli
 *   /usr/share/midonet/grafana/midonet-dashboard.json
 *
 * Maintainer scripts: postinst creates /var/lib/midonet and /run/midonet, reloads systemd's unit
 * files and makes the CLI's start-up snapshot, and starts nothing; prerm stops the units; postrm on purge removes /var/lib/midonet only when
 * empty (it holds the host's id and may hold the embedded store). Depends on nodejs (>= 20) and
 * openvswitch-switch.
 *
 *   node dist/src/packaging/deb.js [--out DIR]      prints the path of the package
 *
 * Invariant: the package is built in a fresh staging directory that is removed afterwards, whatever
 * happens; every command runs with an argument array, never through a shell.
 */
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../exec.js';
import { progress } from '../progress.js';
import { BASH_SCRIPT, ZSH_SCRIPT } from '../cli/complete.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PROGRAMS = [
  'midonet-agent',
  'midonet-router',
  'midonet-lb-health',
  'midonet-cli',
  'midonet-api',
  'midonet-cni',
  'midonet-lab',
];
export const UNITS = ['midonet-agent', 'midonet-router', 'midonet-api', 'midonet-lb-health'];

const POSTINST = `#!/bin/sh
# midonet postinst: the state and run directories; nothing is started (enable the units you need).
set -e
if [ "$1" = configure ]; then
  install -d -m 0750 /var/lib/midonet
  install -d -m 0755 /run/midonet
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  # midonet-cli's start-up snapshot, made by the node installed here (a blob works with its maker
  # only); without it the CLI starts the usual way, a little slower.
  node /opt/midonet/dist/src/cli/snapshot-build.js --snapshot-only || true
fi
exit 0
`;

const PRERM = `#!/bin/sh
# midonet prerm: stop the daemons before their files go; remove the CLI snapshot postinst made.
set -e
if [ -d /run/systemd/system ]; then
  systemctl stop ${UNITS.map((u) => `${u}.service`).join(' ')} >/dev/null 2>&1 || true
fi
rm -f /opt/midonet/dist/cli/midonet-cli.blob /opt/midonet/dist/cli/midonet-cli.blob.node
exit 0
`;

const POSTRM = `#!/bin/sh
# midonet postrm: forget the units; on purge, remove /run/midonet and /var/lib/midonet when empty
# (it holds the host id and possibly the embedded store: never removed with data in it).
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if [ "$1" = purge ]; then
  rm -rf /run/midonet
  rmdir --ignore-fail-on-non-empty /var/lib/midonet 2>/dev/null || true
fi
exit 0
`;

function write(path: string, text: string, mode = 0o644): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

export async function buildDeb(
  outDir: string,
  step: (label: string) => void = () => undefined,
): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const arch = (await run('dpkg', ['--print-architecture'])).trim();
  const stage = mkdtempSync(join(tmpdir(), 'midonet-deb-'));
  try {
    const opt = join(stage, 'opt', 'midonet');
    step('copying the built project to /opt/midonet');
    mkdirSync(join(opt, 'dist'), { recursive: true });
    for (const d of ['bin', 'docs']) cpSync(join(ROOT, d), join(opt, d), { recursive: true });
    for (const d of ['src', 'bench'])
      cpSync(join(ROOT, 'dist', d), join(opt, 'dist', d), { recursive: true });
    // The CLI's bundle; postinst makes its start-up snapshot with the node installed there.
    mkdirSync(join(opt, 'dist', 'cli'), { recursive: true });
    cpSync(join(ROOT, 'dist', 'cli', 'midonet-cli.cjs'), join(opt, 'dist', 'cli', 'midonet-cli.cjs'));
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(opt, f));
    step('production node_modules (npm prune --omit=dev)');
    cpSync(join(ROOT, 'node_modules'), join(opt, 'node_modules'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    await run('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], {
      timeoutMs: 300000,
      cwd: opt,
    });
    rmSync(join(opt, 'node_modules', '.midonet-lock-hash'), { force: true });
    step('links, units, default files, examples, completions, dashboard');
    mkdirSync(join(stage, 'usr', 'bin'), { recursive: true });
    for (const p of PROGRAMS) symlinkSync(`/opt/midonet/bin/${p}`, join(stage, 'usr', 'bin', p));
    for (const u of UNITS) {
      write(
        join(stage, 'lib', 'systemd', 'system', `${u}.service`),
        readFileSync(join(ROOT, 'packaging', 'systemd', `${u}.service`), 'utf8'),
      );
      write(join(stage, 'etc', 'default', u), readFileSync(join(ROOT, 'packaging', 'default', u), 'utf8'));
    }
    for (const f of readdirSync(join(ROOT, 'packaging', 'examples')))
      write(
        join(stage, 'usr', 'share', 'doc', 'midonet', 'examples', f),
        readFileSync(join(ROOT, 'packaging', 'examples', f), 'utf8'),
      );
    write(join(stage, 'usr', 'share', 'bash-completion', 'completions', 'midonet-cli'), BASH_SCRIPT);
    write(join(stage, 'usr', 'share', 'zsh', 'vendor-completions', '_midonet-cli'), ZSH_SCRIPT);
    write(
      join(stage, 'usr', 'share', 'midonet', 'grafana', 'midonet-dashboard.json'),
      readFileSync(join(ROOT, 'packaging', 'grafana', 'midonet-dashboard.json'), 'utf8'),
    );
    step('control files and maintainer scripts');
    const size = Number((await run('du', ['-sk', '--exclude=DEBIAN', stage])).split(/\s/)[0]);
    write(
      join(stage, 'DEBIAN', 'control'),
      [
        'Package: midonet',
        `Version: ${pkg.version}`,
        `Architecture: ${arch}`,
        'Maintainer: midonet-ts maintainers <maintainers@example.org>',
        `Installed-Size: ${size}`,
        'Depends: nodejs (>= 20), openvswitch-switch',
        'Recommends: frr, iproute2',
        'Section: net',
        'Priority: optional',
        'Homepage: https://example.org/midonet-ts',
        'Description: MidoNet-style network virtualization over Open vSwitch',
        ' Virtual bridges, routers and filter chains spread over many hypervisors: midonet-agent',
        ' (the OpenFlow controller of each hypervisor), midonet-router (BGP through FRR),',
        ' midonet-api, midonet-cli, midonet-cni and midonet-lab.',
        '',
      ].join('\n'),
    );
    write(join(stage, 'DEBIAN', 'conffiles'), `${UNITS.map((u) => `/etc/default/${u}`).join('\n')}\n`);
    write(join(stage, 'DEBIAN', 'postinst'), POSTINST, 0o755);
    write(join(stage, 'DEBIAN', 'prerm'), PRERM, 0o755);
    write(join(stage, 'DEBIAN', 'postrm'), POSTRM, 0o755);
    step('dpkg-deb --build');
    mkdirSync(outDir, { recursive: true });
    const deb = join(outDir, `midonet_${pkg.version}_${arch}.deb`);
    await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', stage, deb], {
      timeoutMs: 600000,
    });
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--out');
  const out = resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : join(ROOT, 'out'));
  const bar = await progress('package');
  let done = 0;
  const STEPS = 6;
  try {
    const deb = await buildDeb(out, (label) => {
      if (!bar.drawing) process.stderr.write(`package: ${label}\n`);
      bar.update(done++, STEPS, label);
    });
    bar.update(STEPS, STEPS, 'done');
    bar.stop();
    console.log(deb);
  } catch (e) {
    bar.stop();
    process.stderr.write(`package: error: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  }
}
