/**
 * What keeps a compose lab container alive: the role process is the container's main process (under
 * the engine's init, `init: true`), starts its daemons, then stays in the foreground while they run.
 * Programs that stay in the foreground (midonet-agent, midonet-router) are its children with their
 * output on the container's log; daemons that detach (Open vSwitch, FRR, ZooKeeper, Cassandra) are
 * watched by pid. The first one that ends stops the rest and the role exits 1, so the engine reports
 * the container as exited instead of half alive; SIGTERM (`docker-compose down`) stops all and exits 0.
 *
 * Invariant: every process this role started is either a child it holds or named by a stop function
 * registered here, so nothing it started outlives a clean stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { processAlive } from '../exec.js';
import type { Logger } from '../log.js';

interface Watched {
  readonly name: string;
  readonly alive: () => boolean;
  readonly stop: () => Promise<unknown>;
}

export class Supervisor {
  private readonly watched: Watched[] = [];
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {
    process.on('SIGTERM', () => void this.shutdown('SIGTERM', 0));
    process.on('SIGINT', () => void this.shutdown('SIGINT', 0));
  }

  /** Watches a detached daemon: `alive` is polled, `stop` is called at shutdown (in reverse order). */
  watch(name: string, alive: () => boolean, stop: () => Promise<unknown>): void {
    this.watched.push({ name, alive, stop });
  }

  /** Watches a daemon by its pid. */
  watchPid(name: string, pid: number, stop: () => Promise<unknown>): void {
    this.watch(name, () => processAlive(pid), stop);
  }

  /** Starts a foreground program with its output on the container's log. */
  spawn(
    name: string,
    command: string,
    args: readonly string[],
    cwd?: string,
    env?: Readonly<Record<string, string>>,
  ): void {
    const child = spawn(command, [...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    this.children.set(name, child);
    child.on('exit', (code, signal) => {
      this.children.delete(name);
      if (!this.stopping) {
        this.log.error({ program: name, code, signal }, 'program ended; stopping the container');
        void this.shutdown(`${name} ended`, 1);
      }
    });
  }

  /** Polls the watched daemons until shutdown. */
  run(): void {
    this.timer = setInterval(() => {
      const dead = this.watched.find((w) => !w.alive());
      if (dead && !this.stopping) {
        this.log.error({ daemon: dead.name }, 'daemon ended; stopping the container');
        void this.shutdown(`${dead.name} ended`, 1);
      }
    }, 1000);
  }

  async shutdown(why: string, code: number): Promise<never> {
    if (this.stopping) return new Promise<never>(() => undefined);
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.log.info({ why }, 'stopping');
    await Promise.all([...this.children.values()].map((c) => stopChild(c)));
    for (const w of [...this.watched].reverse()) {
      try {
        await w.stop();
      } catch (e) {
        this.log.warn({ daemon: w.name, err: (e as Error).message }, 'stop failed');
      }
    }
    process.exit(code);
  }
}

/** Stops a child process: SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
export function stopChild(c: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => {
      c.kill('SIGKILL');
      resolve();
    }, graceMs).unref();
  });
}
