/**
 * The container engine behind the compose lab, Docker or Podman, and the one compose client both are
 * driven with: Debian's docker-compose 1.29 (or Docker's `docker compose` plugin when that is what a
 * Docker host has). With Podman, `podman system service` serves the Docker API on a unix socket for
 * the time of one verb, with the project's containers.conf (docker/podman/containers.conf: the runc
 * runtime, cgroupfs, no default ulimits or pids limit, which this machine's sandbox needs).
 * podman-compose is not used: Debian 12's 1.0.3 rejects a service's `networks:` mapping with static
 * addresses ("RuntimeError: missing networks", containers/podman-compose#579, fixed in 1.0.4).
 *
 * With MIDONET_COMPOSE_ENGINE=docker and no Docker daemon answering, the project's own dockerd
 * (dockerd.ts) is the engine, started when it does not run yet. With Docker (either), the compose files
 * are docker-compose.yml, docker-compose.local.yml and docker-compose.docker.yml (what replaces
 * `privileged: true`, which this machine's sandbox refuses).
 *
 * Invariant: the engine is chosen once per verb (MIDONET_COMPOSE_ENGINE, else a Docker daemon that
 * answers, else Podman); a missing engine or client is an EngineMissing error saying what to install;
 * the Podman service this module starts is stopped by `close`, and so is the project's dockerd when this
 * Engine started it and it holds no container; nothing else it did not start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tryRun, type RunOptions } from '../exec.js';
import { quote } from '../quote.js';
import { DOCKERD_SOCK, answers, dockerdRunning, startDockerd, stopDockerd } from './dockerd.js';
import { PROJECT, PROJECT_LABEL, SERVICE_LABEL } from './layout.js';
import { stopChild } from './supervisor.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CONTAINERS_CONF = join(REPO, 'docker', 'podman', 'containers.conf');
export const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.local.yml'];
/** On top of COMPOSE_FILES with the Docker engine. */
export const DOCKER_COMPOSE_FILE = 'docker-compose.docker.yml';

export const INSTALL_HINT =
  'install Podman (Debian 12: apt-get install podman runc catatonit netavark iptables ' +
  'docker-compose; `npm run compose -- up` installs them on Debian) or Docker Engine with docker-compose';

export class EngineMissing extends Error {}

/** The full path of an executable on PATH, or undefined. */
export function findProgram(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const f = join(dir, name);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly running: boolean;
  readonly status: string;
  readonly pid: number;
  readonly image: string;
}

export class Engine {
  private service: ChildProcess | undefined;
  /** This Engine started the project's dockerd (close() stops it again when it holds no container). */
  private startedDockerd = false;

  private constructor(
    readonly kind: 'podman' | 'docker',
    /** The engine's CLI. */
    readonly cli: string,
    /** The compose client: program and leading arguments. */
    readonly compose: readonly string[],
    readonly env: NodeJS.ProcessEnv,
    readonly runDir: string,
    /** The engine is the project's own dockerd (dockerd.ts). */
    readonly ownDockerd = false,
  ) {}

  static async detect(runDir: string): Promise<Engine> {
    const want = process.env.MIDONET_COMPOSE_ENGINE ?? '';
    if (!['', 'podman', 'docker'].includes(want))
      throw new EngineMissing(`MIDONET_COMPOSE_ENGINE=${quote(want)}: allowed podman or docker (or unset)`);
    const docker = findProgram('docker');
    const podman = findProgram('podman');
    const dockerCompose = findProgram('docker-compose');
    // DOCKER_HOST on the project's dockerd (as the README suggests for the docker client): that one.
    const ours = process.env.DOCKER_HOST === `unix://${DOCKERD_SOCK}` && want !== 'podman';
    if (
      want !== 'podman' &&
      !ours &&
      docker &&
      (await tryRun(docker, ['info'], { timeoutMs: 15000 })) !== undefined
    ) {
      const compose = dockerCompose
        ? [dockerCompose]
        : (await tryRun(docker, ['compose', 'version'])) !== undefined
          ? [docker, 'compose']
          : undefined;
      if (!compose)
        throw new EngineMissing(`Docker answers but has no compose client: install docker-compose`);
      return new Engine('docker', docker, compose, { ...process.env }, runDir);
    }
    if (want === 'docker' || ours) return Engine.projectDockerd(docker, dockerCompose, runDir);
    if (!podman)
      throw new EngineMissing(`no container engine found (neither docker nor podman): ${INSTALL_HINT}`);
    if (!dockerCompose)
      throw new EngineMissing(
        `podman is installed but docker-compose is not: apt-get install docker-compose`,
      );
    const sock = join(runDir, 'podman.sock');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CONTAINERS_CONF,
      DOCKER_HOST: `unix://${sock}`,
      // docker-compose builds through the API (podman has no `docker build` CLI).
      COMPOSE_DOCKER_CLI_BUILD: '0',
      DOCKER_BUILDKIT: '0',
    };
    const e = new Engine('podman', podman, [dockerCompose], env, runDir);
    await e.startPodmanService(sock);
    return e;
  }

  /** The project's own dockerd (dockerd.ts), started unless it runs. */
  private static async projectDockerd(
    docker: string | undefined,
    dockerCompose: string | undefined,
    runDir: string,
  ): Promise<Engine> {
    const dockerd = findProgram('dockerd', `${process.env.PATH ?? ''}${delimiter}/usr/sbin`);
    const what = !docker ? 'a docker client' : !dockerd ? 'dockerd' : !dockerCompose ? 'docker-compose' : '';
    if (what)
      throw new EngineMissing(
        `MIDONET_COMPOSE_ENGINE=docker but no Docker daemon answers and ${what} is not installed: ` +
          'apt-get install docker.io docker-compose (`npm run compose -- up` installs them on Debian)',
      );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: `unix://${DOCKERD_SOCK}`,
      // docker-compose 1.29 builds through the API, and the docker client uses the classic builder:
      // Debian's dockerd 20.10 comes without BuildKit's buildx.
      COMPOSE_DOCKER_CLI_BUILD: '0',
      DOCKER_BUILDKIT: '0',
    };
    const e = new Engine('docker', docker!, [dockerCompose!], env, runDir, true);
    if (!(dockerdRunning() && (await answers(DOCKERD_SOCK)))) {
      await stopDockerd();
      await startDockerd(dockerd!, (why) => new EngineMissing(`the project's dockerd: ${why}`));
      e.startedDockerd = true;
    }
    return e;
  }

  /**
   * Stops the project's dockerd when it holds no container (of the lab or any other); true when it
   * was stopped or did not run.
   */
  async stopDockerdIfIdle(): Promise<boolean> {
    if (!this.ownDockerd) return false;
    if (!dockerdRunning()) return true;
    const all = await this.cmd(['ps', '-a', '-q']).catch(() => undefined);
    if (all === undefined || all.trim() !== '') return false;
    await stopDockerd();
    return true;
  }

  /** `podman system service` on `sock`, until close() (or 10 idle minutes, should this process die). */
  private async startPodmanService(sock: string): Promise<void> {
    mkdirSync(this.runDir, { recursive: true });
    rmSync(sock, { force: true });
    const log = openSync(join(this.runDir, 'podman-service.log'), 'a');
    // Niced: builds and containers started through the service inherit it (a shared 2-core machine).
    this.service = spawn(
      'nice',
      ['-n', '10', this.cli, 'system', 'service', '--time=600', `unix://${sock}`],
      {
        env: this.env,
        stdio: ['ignore', log, log],
      },
    );
    const deadline = Date.now() + 30000;
    while (!(existsSync(sock) && (await answers(sock)))) {
      if (this.service.exitCode !== null || Date.now() > deadline)
        throw new EngineMissing(
          `podman system service did not start (see ${join(this.runDir, 'podman-service.log')})`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async close(): Promise<void> {
    const s = this.service;
    this.service = undefined;
    if (s) await stopChild(s);
    if (this.startedDockerd) await this.stopDockerdIfIdle();
    this.startedDockerd = false;
  }

  /** Runs the engine's CLI. */
  cmd(args: readonly string[], opts: Omit<RunOptions, 'env'> = {}): Promise<string> {
    return run(this.cli, args, { timeoutMs: 120000, ...opts, env: this.env });
  }

  /** The compose client's argument list for this project and both files. */
  composeArgs(args: readonly string[]): [string, string[]] {
    const files = [...COMPOSE_FILES, ...(this.kind === 'docker' ? [DOCKER_COMPOSE_FILE] : [])].flatMap(
      (f) => ['-f', join(REPO, f)],
    );
    return [this.compose[0]!, [...this.compose.slice(1), '-p', PROJECT, ...files, ...args]];
  }

  /** Every container of the compose project, running or not. */
  async containers(): Promise<ContainerInfo[]> {
    const ids = (await this.cmd(['ps', '-a', '-q', '--filter', `label=${PROJECT_LABEL}=${PROJECT}`]))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    const raw = JSON.parse(await this.cmd(['inspect', ...ids])) as Array<{
      Id: string;
      Name: string;
      State: { Running: boolean; Status: string; Pid: number };
      Config: { Labels: Record<string, string> | null; Image: string };
    }>;
    return raw
      .map((c) => ({
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        service: c.Config.Labels?.[SERVICE_LABEL] ?? '?',
        running: c.State.Running,
        status: c.State.Status,
        pid: c.State.Pid,
        image: c.Config.Image,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Networks and volumes of the compose project (names). */
  async networksAndVolumes(): Promise<{ networks: string[]; volumes: string[] }> {
    const list = async (what: 'network' | 'volume') =>
      (await this.cmd([what, 'ls', '--format', '{{.Name}}', '--filter', `label=${PROJECT_LABEL}=${PROJECT}`]))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .sort();
    return { networks: await list('network'), volumes: await list('volume') };
  }

  /** Id and labels of a local image, or undefined when there is no such image. */
  async image(name: string): Promise<{ id: string; labels: Record<string, string> } | undefined> {
    const out = await tryRun(this.cli, ['image', 'inspect', name], { env: this.env, timeoutMs: 60000 });
    if (out === undefined) return undefined;
    const [img] = JSON.parse(out) as Array<{
      Id: string;
      Config?: { Labels?: Record<string, string> | null };
    }>;
    return img ? { id: img.Id, labels: img.Config?.Labels ?? {} } : undefined;
  }
}
