/**
 * One running health checker (checker.ts) as the monitor talks to it: a child process started in a
 * network namespace (`ip netns exec NS node checker.js`, argument array, no shell) or in this
 * process's own, fed one JSON check a line and answering one JSON result a line.
 *
 * Invariant: every `check` resolves exactly once, with the checker's answer or, if the checker dies
 * first, with a failed result ('checker exited'); a checker that dies unasked is started again after
 * half a second until `stop`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { Check, CheckResult } from './checker.js';

const CHECKER = fileURLToPath(new URL('./checker.js', import.meta.url));

export class CheckerProcess {
  private child: ChildProcess | undefined;
  private readonly waiting = new Map<string, (r: CheckResult) => void>();
  private seq = 0;
  private stopped = false;

  /** `netns`: the namespace the checks are made from; null: this process's own. */
  constructor(
    readonly netns: string | null,
    private readonly log: Logger,
  ) {
    this.start();
  }

  private start(): void {
    const argv = [CHECKER];
    const child =
      this.netns === null
        ? spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] })
        : spawn('ip', ['netns', 'exec', this.netns, process.execPath, ...argv], {
            stdio: ['pipe', 'pipe', 'inherit'],
          });
    child.stdin?.on('error', () => undefined); // a dead checker's pipe; 'exit' answers the waiting
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as CheckResult;
        this.waiting.get(r.id)?.(r);
        this.waiting.delete(r.id);
      } catch {
        // not a result line
      }
    });
    child.once('exit', (code) => {
      for (const [id, done] of this.waiting) done({ id, ok: false, detail: 'checker exited' });
      this.waiting.clear();
      if (this.stopped) return;
      this.log.warn({ code, netns: this.netns }, 'health checker exited; starting it again');
      setTimeout(() => {
        if (!this.stopped) this.start();
      }, 500);
    });
    this.child = child;
  }

  check(c: Omit<Check, 'id'>): Promise<CheckResult> {
    const id = String(++this.seq);
    const child = this.child;
    if (this.stopped || child === undefined || child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve({ id, ok: false, detail: 'checker not running' });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      child.stdin?.write(`${JSON.stringify({ ...c, id })}\n`);
    });
  }

  /** Ends the checker (its stdin closes; it is killed too); waits until it has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.stdin?.end();
    child.kill();
    await gone;
  }
}
