/**
 * The one way a test waits for something to become true: `until` polls `predicate` (sync or async)
 * until it returns a truthy value, and returns that value; after `timeoutMs` it fails with an error
 * naming `what` was awaited, how long, and the predicate's last error if it threw. Tests never sleep
 * for a fixed time to let something happen: they wait on a condition with this.
 */
export interface UntilOptions {
  /** What is awaited, for the error: "the agent applying change 42". */
  readonly what: string;
  /** Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Default 20 ms. */
  readonly intervalMs?: number;
}

export async function until<T>(
  predicate: () => T | Promise<T>,
  opts: UntilOptions,
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const timeoutMs = opts.timeoutMs ?? 10000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as Exclude<T, false | 0 | '' | null | undefined>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}
