/**
 * The local control API of a daemon (midonet-agent; midonet-router serves one too), used by
 * midonet-cli and the lab: a ZeroMQ REP socket on ipc://RUN_DIR/agent-control.sock (mode 0600), one
 * JSON request -> one JSON reply. The agent's requests:
 *   {"cmd": "stats"}                              counters and the simulation latency histogram
 *   {"cmd": "flows"}                              installed reactive flows: match, actions, tags, packets
 *   {"cmd": "trace", "port": ID, "count": N, "timeoutMs": T}   traces of the next N packets entering a port
 *   {"cmd": "barrier"}                            returns once the switch has applied every FLOW_MOD sent so far
 *   {"cmd": "forget"}                             forgets every learned MAC/ARP entry and reactive flow
 *   {"cmd": "conntrack"} / {"cmd": "nat"}         the agent's tracked connections / NAT bindings
 *   {"cmd": "macs"|"arp"|"flow-history"|"simulate", ...}   operators' views of the live tables, why
 *                                                 recent flows went, and a made-up packet's trace
 *                                                 (src/agent/control-commands.ts); `flows` also takes
 *                                                 "port", "device" and "tag" filters
 *
 * Invariants:
 * - A malformed or failing request gets `{"ok": false, "error": "..."}`; the socket always answers
 *   (REP requires it), and one request is served at a time.
 * - Bounded: a request over `maxRequestBytes` (64 KiB) gets an error naming its size and the limit
 *   (ZeroMQ drops the connection of a peer sending more than 1 MiB, so such a request is never held
 *   in memory); a `timeoutMs` must be an integer of 1 to `maxRequestMs` (60 s), and no request holds
 *   the socket longer than that: after it, the reply is an error and the socket serves the next one.
 * - The socket file is created with mode 0600 from the start: the process umask is 0177 while ZeroMQ
 *   binds (it binds on its own thread, so the umask is held until the bind has completed, and then
 *   restored), so there is no moment when another user could connect. Nothing is chmod'ed afterwards.
 */
import { rmSync } from 'node:fs';
import { Reply } from 'zeromq';
import type { Logger } from '../log.js';
import { quote } from '../quote.js';
import { retryInterrupted } from './zmq-interrupted.js';

export type ControlHandler = (req: Record<string, unknown>) => Promise<unknown>;

export { HARD_REQUEST_BYTES, MAX_REQUEST_BYTES, MAX_REQUEST_MS, MAX_TRACE_COUNT } from './limits.js';
import { HARD_REQUEST_BYTES, MAX_REQUEST_BYTES, MAX_REQUEST_MS } from './limits.js';

export interface ControlLimits {
  readonly maxRequestBytes?: number;
  readonly maxRequestMs?: number;
}

/**
 * Binds `sock` to `address` with the process umask 0177, so an ipc socket file is created 0600. The
 * umask is process-wide: it is held only for the bind (which ZeroMQ completes on its own thread) and
 * restored afterwards, also on failure.
 */
export async function bindPrivate(
  sock: { bind(address: string): Promise<void> },
  address: string,
): Promise<void> {
  const old = process.umask(0o177);
  try {
    await sock.bind(address);
  } finally {
    process.umask(old);
  }
}

/** Checks a request's size and shape; returns it, or throws an Error naming what is wrong. */
export function parseRequest(frame: Buffer, limits: Required<ControlLimits>): Record<string, unknown> {
  if (frame.length > limits.maxRequestBytes)
    throw new Error(`request of ${frame.length} bytes is over the limit of ${limits.maxRequestBytes} bytes`);
  let req: unknown;
  try {
    req = JSON.parse(frame.toString('utf8'));
  } catch {
    throw new Error('a request is a JSON object with a "cmd" string (this one is not JSON)');
  }
  if (
    req === null ||
    typeof req !== 'object' ||
    Array.isArray(req) ||
    typeof (req as { cmd?: unknown }).cmd !== 'string'
  )
    throw new Error('a request is a JSON object with a "cmd" string');
  const r = req as Record<string, unknown>;
  if ('timeoutMs' in r) {
    const t = r.timeoutMs;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > limits.maxRequestMs)
      throw new Error(`timeoutMs ${quote(t)} is not allowed: an integer of 1 to ${limits.maxRequestMs} ms`);
  }
  return r;
}

export class ControlApi {
  private readonly sock: Reply;
  private running = false;
  private readonly limits: Required<ControlLimits>;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
    limits: ControlLimits = {},
  ) {
    this.limits = {
      maxRequestBytes: limits.maxRequestBytes ?? MAX_REQUEST_BYTES,
      maxRequestMs: limits.maxRequestMs ?? MAX_REQUEST_MS,
    };
    this.sock = retryInterrupted(
      () => new Reply({ maxMessageSize: Math.max(HARD_REQUEST_BYTES, this.limits.maxRequestBytes + 1) }),
    );
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    await bindPrivate(this.sock, `ipc://${this.path}`);
    this.running = true;
    void this.serve();
  }

  /** The handler's answer, or an error once the request has held the socket for `maxRequestMs`. */
  private async answer(req: Record<string, unknown>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const limit = this.limits.maxRequestMs;
    // A trace may wait its whole timeoutMs (<= limit): allow a moment to assemble the reply.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${limit + 1000} ms`)), limit + 1000);
    });
    try {
      return await Promise.race([this.handler(req), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async serve(): Promise<void> {
    try {
      for await (const [frame] of this.sock) {
        let reply: unknown;
        try {
          const req = parseRequest(frame!, this.limits);
          reply = { ok: true, result: await this.answer(req) };
        } catch (e) {
          reply = { ok: false, error: (e as Error).message };
        }
        await this.sock.send(
          JSON.stringify(reply, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)),
        );
      }
    } catch (e) {
      if (this.running) this.log.error({ err: (e as Error).message }, 'control API stopped');
    }
  }

  close(): void {
    this.running = false;
    this.sock.close();
    rmSync(this.path, { force: true });
  }
}

/** Client side: one request to an agent's control socket (used by midonet-cli and tests). */
export async function controlRequest(
  path: string,
  req: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<unknown> {
  const body = JSON.stringify(req);
  const size = Buffer.byteLength(body);
  if (size > MAX_REQUEST_BYTES)
    throw new Error(
      `agent at ${path}: request of ${size} bytes is over the limit of ${MAX_REQUEST_BYTES} bytes`,
    );
  const { Request } = await import('zeromq');
  const sock = retryInterrupted(
    () => new Request({ receiveTimeout: timeoutMs, sendTimeout: timeoutMs, linger: 0 }),
  );
  try {
    retryInterrupted(() => sock.connect(`ipc://${path}`));
    await sock.send(body);
    const [reply] = await sock.receive();
    const r = JSON.parse(String(reply)) as { ok: boolean; result?: unknown; error?: string };
    if (!r.ok) throw new Error(`agent at ${path}: ${r.error}`);
    return r.result;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'EAGAIN')
      throw new Error(`agent at ${path}: no answer in ${timeoutMs} ms (is the agent running?)`);
    throw e;
  } finally {
    sock.close();
  }
}
