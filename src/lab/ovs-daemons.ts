/**
 * Starting and stopping one Open vSwitch instance (ovsdb-server + ovs-vswitchd, userspace datapath) in
 * a network namespace (or the caller's own, e.g. a compose lab container), with its own database and
 * run directory: one per lab hypervisor.
 *
 * Invariant: the daemons write pid files in the run directory; `stopOvs` stops exactly the processes
 * those files name (SIGTERM, then SIGKILL), so a crashed run's daemons are found and stopped again.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, processAlive } from '../exec.js';
import { Ovs } from '../ovs/ovs.js';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export async function startOvs(dir: string, netns: string | undefined): Promise<Ovs> {
  mkdirSync(dir, { recursive: true });
  await stopOvs(dir);
  rmSync(join(dir, 'conf.db'), { force: true });
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  await run('ovsdb-tool', ['create', join(dir, 'conf.db'), SCHEMA]);
  await run(
    'ovsdb-server',
    [
      join(dir, 'conf.db'),
      `--remote=punix:${join(dir, 'db.sock')}`,
      `--pidfile=${join(dir, 'ovsdb-server.pid')}`,
      `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(dir, 'ovsdb-server.log')}`,
      '--detach',
    ],
    { netns, env },
  );
  const ovs = new Ovs({ dbSock: join(dir, 'db.sock'), runDir: dir });
  await ovs.vsctl(['--no-wait', 'init']);
  await run(
    'ovs-vswitchd',
    [
      `unix:${join(dir, 'db.sock')}`,
      `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`,
      `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
      `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
      '--detach',
    ],
    { netns, env, timeoutMs: 60000 },
  );
  return ovs;
}

export async function stopOvs(dir: string): Promise<void> {
  for (const name of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && processAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(file, { force: true });
  }
}
