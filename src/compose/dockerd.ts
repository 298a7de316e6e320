/**
 * The project's own Docker daemon for the compose lab, for MIDONET_COMPOSE_ENGINE=docker where no Docker
 * daemon answers (the project's machines: a docker client, no daemon). Debian's dockerd (package
 * docker.io, which scripts/lib/deps.sh installs) runs with everything of its own: data root
 * /var/lib/midonet-docker (the image cache, kept), exec root and pid files under /run/midonet-dockerd,
 * its API on unix:///run/midonet-docker.sock, never the system's /var/run/docker.sock. It is started
 * with --iptables=false --ip-forward=false --bridge=none: it adds no iptables rule, changes no FORWARD
 * policy or sysctl and makes no docker0 (the lab's networks are internal and need no NAT; a build
 * reaches Debian's mirror and npm through the host's network, docker-compose.docker.yml).
 *
 * It runs from the verb that starts it until a verb leaves it holding no container: `down` stops it,
 * and so does a verb that started it and made nothing (e.g. `status` with no lab, a failed build).
 *
 * Invariant: only the dockerd whose pid record (with its exec root on the command line) is in
 * /run/midonet-dockerd is ever signalled; once stopped, nothing of it is left on the host but its data
 * root: no process, no socket, no mount under its exec root.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { run } from '../exec.js';
import { isRunning, readPid, startDaemon, stopDaemon } from '../services/process.js';

/** The daemon's pid record, log, pid file and exec root. */
export const DOCKERD_DIR = '/run/midonet-dockerd';
export const DOCKERD_SOCK = '/run/midonet-docker.sock';
export const DOCKERD_DATA = '/var/lib/midonet-docker';
const EXEC_ROOT = join(DOCKERD_DIR, 'exec');

/** True when an engine answers the Docker API's ping on the unix socket `sock`. */
export function answers(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: sock, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** True while the project's dockerd runs (its pid record names a live dockerd). */
export function dockerdRunning(): boolean {
  const rec = readPid(DOCKERD_DIR);
  return rec !== undefined && isRunning(rec);
}

/**
 * Starts the project's dockerd (niced: builds and containers inherit it on a shared 2-core machine)
 * and waits until it answers; `fail` makes the error to throw, given what went wrong.
 */
export async function startDockerd(dockerd: string, fail: (why: string) => Error): Promise<void> {
  mkdirSync(DOCKERD_DIR, { recursive: true });
  rmSync(DOCKERD_SOCK, { force: true });
  startDaemon({
    name: 'dockerd',
    dir: DOCKERD_DIR,
    command: 'nice',
    args: [
      '-n',
      '10',
      dockerd,
      `--data-root=${DOCKERD_DATA}`,
      `--exec-root=${EXEC_ROOT}`,
      `--pidfile=${join(DOCKERD_DIR, 'dockerd.pid')}`,
      `--host=unix://${DOCKERD_SOCK}`,
      '--iptables=false',
      '--ip-forward=false',
      '--bridge=none',
    ],
    marker: `--exec-root=${EXEC_ROOT}`,
  });
  const log = join(DOCKERD_DIR, 'stdout.log');
  const deadline = Date.now() + 60000;
  while (!(await answers(DOCKERD_SOCK))) {
    if (!dockerdRunning()) {
      await stopDockerd();
      throw fail(`dockerd exited at start (see ${log})`);
    }
    if (Date.now() > deadline) {
      await stopDockerd();
      throw fail(`dockerd did not answer on ${DOCKERD_SOCK} within 60 s (see ${log})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Mount points under `dir`, deepest first (dockerd leaves its netns/default bind mount behind). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Stops the project's dockerd, if it runs, and removes its exec root, pid file and socket. */
export async function stopDockerd(): Promise<boolean> {
  const stopped = (await stopDaemon(DOCKERD_DIR, 30000)) !== undefined;
  if (existsSync(EXEC_ROOT)) {
    for (const m of mountsUnder(EXEC_ROOT)) await run('umount', [m]);
    rmSync(EXEC_ROOT, { recursive: true, force: true });
  }
  rmSync(join(DOCKERD_DIR, 'dockerd.pid'), { force: true });
  rmSync(DOCKERD_SOCK, { force: true });
  return stopped;
}
