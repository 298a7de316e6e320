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
 * Invariant: a malformed or failing request gets `{"ok": false, "error": "..."}`; the socket always
 * answers (REP requires it), and one request is served at a time.
 */
import { chmodSync, rmSync } from 'node:fs';
import { Reply } from 'zeromq';
import type { Logger } from '../log.js';

export type ControlHandler = (req: Record<string, unknown>) => Promise<unknown>;

export class ControlApi {
  private readonly sock = new Reply();
  private running = false;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    await this.sock.bind(`ipc://${this.path}`);
    chmodSync(this.path, 0o600);
    this.running = true;
    void this.serve();
  }

  private async serve(): Promise<void> {
    try {
      for await (const [frame] of this.sock) {
        let reply: unknown;
        try {
          const req = JSON.parse(String(frame)) as unknown;
          if (req === null || typeof req !== 'object' || typeof (req as { cmd?: unknown }).cmd !== 'string') {
            throw new Error('a request is a JSON object with a "cmd" string');
          }
          reply = { ok: true, result: await this.handler(req as Record<string, unknown>) };
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
  const { Request } = await import('zeromq');
  const sock = new Request({ receiveTimeout: timeoutMs, sendTimeout: timeoutMs, linger: 0 });
  try {
    sock.connect(`ipc://${path}`);
    await sock.send(JSON.stringify(req));
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
