/**
 * One FRR instance (zebra + bgpd) inside a network namespace with its own path space (`-N NAME`, run
 * files in /var/run/frr/NAME, configuration in /etc/frr/NAME), driven only through vtysh. Used for the
 * speakers of midonet-router and for the lab's ISP.
 *
 * Invariants: the instance is named by its namespace, so everything it started is found again from
 * the name alone (pid files in its run directory, `ip netns pids`), and `stop` works after any crash;
 * `apply` runs each VtyBlock as one vtysh call, so a rejected command is reported as a VtyError naming
 * the block's store object and the command vtysh refused, and the blocks before it stay applied.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExecError, run, tryRun, processAlive } from '../exec.js';
import type { VtyBlock } from './frr-config.js';
import { quote } from '../quote.js';

export const FRR_BIN = '/usr/lib/frr';
export const FRR_RUN_BASE = '/var/run/frr';
export const FRR_ETC_BASE = '/etc/frr';

export class VtyError extends Error {
  constructor(
    message: string,
    /** The store object whose block failed. */
    readonly object: string,
  ) {
    super(message);
    this.name = 'VtyError';
  }
}

/** vtysh takes a newline inside a command as the start of another one: such a command is an error. */
function notOneLine(commands: readonly string[]): Error | undefined {
  const bad = commands.find((c) => !/^[\x20-\x7e]+$/.test(c));
  return bad === undefined
    ? undefined
    : new Error(`vtysh: command ${quote(bad)} is not one line of printable text`);
}

function frrIds(): { uid: number; gid: number } | undefined {
  try {
    const passwd = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('frr:'));
    if (!passwd) return undefined;
    const f = passwd.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return undefined;
  }
}

export class FrrInstance {
  readonly runDir: string;
  readonly etcDir: string;

  /**
   * `name` is FRR's path space and, unless `netns` says otherwise, the network namespace it runs in
   * (`netns: null`: the caller's own namespace, e.g. a container's).
   */
  constructor(
    readonly name: string,
    readonly netns: string | null = name,
  ) {
    this.runDir = join(FRR_RUN_BASE, name);
    this.etcDir = join(FRR_ETC_BASE, name);
  }

  private pid(daemon: string): number | undefined {
    const f = join(this.runDir, `${daemon}.pid`);
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').trim());
    return pid > 0 && processAlive(pid) ? pid : undefined;
  }

  /** True when zebra and bgpd of this instance run. */
  running(): boolean {
    return this.pid('zebra') !== undefined && this.pid('bgpd') !== undefined;
  }

  /** Starts zebra and bgpd in the namespace (which must exist) and waits until vtysh answers. */
  async start(timeoutMs = 15000): Promise<void> {
    const ids = frrIds();
    for (const d of [this.runDir, this.etcDir]) {
      mkdirSync(d, { recursive: true });
      if (ids) chownSync(d, ids.uid, ids.gid);
    }
    const vtyConf = join(this.etcDir, 'vtysh.conf');
    if (!existsSync(vtyConf)) writeFileSync(vtyConf, '');
    if (ids) chownSync(vtyConf, ids.uid, ids.gid);
    for (const daemon of ['zebra', 'bgpd']) {
      if (this.pid(daemon) !== undefined) continue;
      await run(
        join(FRR_BIN, daemon),
        [
          '-N',
          this.name,
          '-d',
          '-F',
          'traditional',
          '-A',
          '127.0.0.1',
          '-i',
          join(this.runDir, `${daemon}.pid`),
        ],
        { netns: this.netns ?? undefined, timeoutMs },
      );
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = await tryRun('vtysh', ['-N', this.name, '-c', 'show bgp summary json'], {
        netns: this.netns ?? undefined,
        timeoutMs: 5000,
      });
      if (out?.trim().startsWith('{') === true && this.running()) return;
      if (Date.now() > deadline)
        throw new Error(`FRR in ${this.name}: vtysh did not answer within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the daemons (TERM, then KILL) and removes the path space's directories. */
  async stop(): Promise<void> {
    for (const daemon of ['bgpd', 'zebra']) {
      const pid = this.pid(daemon);
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 40 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      if (processAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    rmSync(this.runDir, { recursive: true, force: true });
    rmSync(this.etcDir, { recursive: true, force: true });
  }

  /** Runs vtysh commands (each one `-c`, each one line); resolves with the output. */
  vtysh(commands: readonly string[], timeoutMs = 30000): Promise<string> {
    const bad = notOneLine(commands);
    if (bad !== undefined) return Promise.reject(bad);
    return run('vtysh', ['-N', this.name, ...commands.flatMap((c) => ['-c', c])], {
      netns: this.netns ?? undefined,
      timeoutMs,
    });
  }

  /** Feeds many commands on stdin (one vtysh process; for large scripts such as 10,000 networks). */
  async vtyshScript(commands: readonly string[], timeoutMs = 120000): Promise<void> {
    const refused = notOneLine(commands);
    if (refused !== undefined) throw refused;
    const out = await run('vtysh', ['-N', this.name], {
      netns: this.netns ?? undefined,
      input: `${commands.join('\n')}\n`,
      timeoutMs,
    });
    const bad = out.split('\n').find((l) => l.startsWith('% '));
    if (bad) throw new Error(`FRR in ${this.name}: vtysh: ${bad}`);
  }

  /** A JSON show command. */
  async showJson(command: string, timeoutMs = 30000): Promise<unknown> {
    const out = await this.vtysh([command], timeoutMs);
    try {
      return JSON.parse(out) as unknown;
    } catch {
      throw new Error(`FRR in ${this.name}: '${command}' did not return JSON: ${out.slice(0, 200)}`);
    }
  }

  /** Applies blocks in order; the first rejected one throws a VtyError naming its object. */
  async apply(blocks: readonly VtyBlock[]): Promise<void> {
    for (const b of blocks) {
      if (b.refused !== undefined)
        throw new VtyError(`${b.object}: not sent to vtysh: ${b.refused}`, b.object);
      try {
        const out = await this.vtysh(b.commands);
        const bad = out.split('\n').find((l) => l.startsWith('% '));
        if (bad) throw new ExecError(bad, 1, bad, out);
      } catch (e) {
        const err = e as ExecError;
        const said = `${err.stdout ?? ''}\n${err.stderr ?? ''}`
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.startsWith('%'));
        const why = said.length > 0 ? said.join('; ') : err.message;
        throw new VtyError(`${b.object}: vtysh rejected the configuration: ${why}`, b.object);
      }
    }
  }
}
