/**
 * Running child processes: always with an argument array (execFile/spawn, never a shell), optionally
 * inside a network namespace (`ip netns exec NS ...`), with input on stdin and a timeout.
 *
 * Invariant: a failure is an ExecError whose message names the command line, the exit status and the
 * first lines of stderr, so the caller's log says what failed without re-running anything.
 */
import { execFile } from 'node:child_process';

export class ExecError extends Error {
  constructor(
    message: string,
    readonly code: number | string | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

export interface RunOptions {
  /** Run inside this network namespace. */
  readonly netns?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin. */
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Working directory (default: this process's). */
  readonly cwd?: string;
}

function display(cmd: string, args: readonly string[]): string {
  return [cmd, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
    .join(' ');
}

/** Runs a command to completion; resolves with its stdout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 30000,
        maxBuffer: 64 * 1024 * 1024,
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        const why = e.killed
          ? `timed out after ${opts.timeoutMs ?? 30000} ms`
          : `exit ${String(e.code ?? 'signal')}`;
        const first = stderr.trim().split('\n').slice(0, 3).join(' | ');
        reject(
          new ExecError(
            `${display(file, argv)}: ${why}${first ? `: ${first}` : ''}`,
            e.code ?? null,
            stderr,
            stdout,
          ),
        );
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but resolves to undefined instead of failing (for clean-up of what may not exist). */
export async function tryRun(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string | undefined> {
  try {
    return await run(cmd, args, opts);
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
