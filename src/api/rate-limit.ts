/**
 * midonet-api's bound on requests per token: a fixed window per key (the token's id; the address for
 * the open routes), counted in the authentication hook of server.ts, so a request passes one hook, not
 * two. (@fastify/rate-limit did the same as a hook of its own, with headers no client here reads.)
 *
 * Invariant: within one window of `windowMs` a key gets at most `max` requests through; the clock is a
 * parameter; windows that have ended are dropped whenever the table reaches `maxKeys`.
 */
export class RateLimit {
  /** By key: when its window began and how many requests it has taken in it. */
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number,
    private readonly maxKeys = 10000,
  ) {}

  /** Counts a request of `key`: undefined when it may go on, else the seconds until its window ends. */
  take(key: string): number | undefined {
    const now = this.now();
    let w = this.windows.get(key);
    if (w === undefined || now - w.start >= this.windowMs) {
      if (w === undefined && this.windows.size >= this.maxKeys) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.max) return Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
    w.count++;
    return undefined;
  }

  /** Drops the windows that have ended. */
  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
  }
}
