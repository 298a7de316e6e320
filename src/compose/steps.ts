/**
 * Long steps of the compose verb (debootstrap, image builds, `docker-compose up`, the setup run): each
 * runs a program from an argument array with its output passed on line by line (prefixed, to stderr,
 * for people) and the last lines kept, so a failure says which step failed and what the program said
 * last, and the full output is in a log file named in the message.
 *
 * Invariant: a step either resolves or throws a StepError naming the step, the exit status and the
 * log file; a step that overruns its time limit is killed (its whole process group) and fails.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(`step '${step}' failed: ${message}`);
    this.name = 'StepError';
  }
}

export interface StreamOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs: number;
  /** Every output line goes here too (e.g. to parse JSON lines); default: stderr with a prefix. */
  readonly onLine?: (line: string) => void;
  /** The full output is appended to this file. */
  readonly log: string;
  /** Bytes written to the program's stdin, if any. */
  readonly input?: Buffer | string;
  /** Instead of the program's own stdin pipe (e.g. another program's stdout). */
  readonly stdin?: NodeJS.ReadableStream;
}

/** Runs `cmd args` as the step `name`; resolves with the output lines. */
export function streamStep(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: StreamOptions,
): Promise<string[]> {
  mkdirSync(dirname(opts.log), { recursive: true });
  appendFileSync(opts.log, `\n== ${new Date().toISOString()} ${name}: ${[cmd, ...args].join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.stdin || opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const lines: string[] = [];
    const say = opts.onLine ?? ((l: string) => process.stderr.write(`  | ${l}\n`));
    const take = (buf: { rest: string }) => (chunk: Buffer) => {
      appendFileSync(opts.log, chunk);
      const parts = (buf.rest + chunk.toString()).split(/\r?\n|\r/);
      buf.rest = parts.pop() ?? '';
      for (const l of parts) {
        if (l.trim() === '') continue;
        lines.push(l);
        say(l);
      }
    };
    const out = { rest: '' };
    const err = { rest: '' };
    child.stdout?.on('data', take(out));
    child.stderr?.on('data', take(err));
    if (opts.stdin && child.stdin) opts.stdin.pipe(child.stdin);
    else if (opts.input !== undefined) child.stdin?.end(opts.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new StepError(name, `${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const b of [out, err]) {
        if (b.rest.trim() === '') continue;
        lines.push(b.rest);
        say(b.rest);
      }
      if (code === 0) return resolve(lines);
      const why = timedOut
        ? `timed out after ${opts.timeoutMs / 1000} s`
        : `exit ${code ?? signal ?? 'unknown'}`;
      const last = lines.slice(-8).join('\n    ');
      reject(
        new StepError(
          name,
          `${cmd} ${why}; full output in ${opts.log}${last ? `; last lines:\n    ${last}` : ''}`,
        ),
      );
    });
  });
}
