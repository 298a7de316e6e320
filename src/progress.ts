/**
 * Progress of long operations (lab bring-up, evaluation cases, the package build) for people: a bar
 * redrawn in place on stderr when it is a terminal (cli-progress), nothing at all otherwise (logs, CI,
 * pipes) or when the caller prints JSON, so machine-read output is never mixed with it.
 *
 * Invariant: the bar writes to stderr only, and `stop` leaves the terminal on a fresh line; calls after
 * `stop` do nothing.
 */
import type { SingleBar } from 'cli-progress';

export interface Progress {
  /** `done` of `total` steps, the current one named by `label`. */
  update(done: number, total: number, label: string): void;
  stop(): void;
  /** True when a bar is drawn (step lines would only scroll it away). */
  readonly drawing: boolean;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined, drawing: false };

/** A bar for `title` on a terminal; silent when stderr is not one or `quiet` (e.g. --json) is set. */
export async function progress(title: string, quiet = false): Promise<Progress> {
  if (quiet || !process.stderr.isTTY || process.env.CI) return SILENT;
  const { SingleBar, Presets } = await import('cli-progress');
  const bar: SingleBar = new SingleBar(
    {
      format: `${title} [{bar}] {percentage}% {value}/{total} {label}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
    },
    Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    drawing: true,
    update(done, total, label) {
      if (stopped) return;
      const l = label.length > 48 ? `${label.slice(0, 47)}…` : label;
      if (!started) {
        bar.start(total, done, { label: l });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { label: l });
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}
