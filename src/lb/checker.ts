/**
 * The health checker: a small process the health monitor (monitor.ts) runs inside the namespace the
 * checks are made from, so a check takes the virtual path a client's connection takes. It reads one
 * JSON check a line on stdin, {"id", "type": "tcp"|"http", "address", "port", "timeoutMs", "path",
 * "expectedStatus"}, and writes one JSON line {"id", "ok", "detail"} for each on stdout.
 *
 * tcp: healthy when a connection is accepted within the timeout. http: when a GET of `path` answers
 * `expectedStatus` within the timeout. Checks run concurrently; each is bounded by its timeout.
 *
 * Invariant: every check gets exactly one answer line; the process ends when stdin closes.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

export interface Check {
  readonly id: string;
  readonly type: 'tcp' | 'http';
  readonly address: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly path: string;
  readonly expectedStatus: number;
}

export interface CheckResult {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Runs one check; never throws. */
export function runCheck(c: Check): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ id: c.id, ok, detail });
    };
    let cleanup: () => void = () => undefined;
    const timer = setTimeout(() => {
      cleanup();
      finish(false, `no answer within ${c.timeoutMs} ms`);
    }, c.timeoutMs);
    if (c.type === 'tcp') {
      const s = connect({ host: c.address, port: c.port });
      cleanup = () => s.destroy();
      s.once('connect', () => {
        s.destroy();
        finish(true, 'connected');
      });
      s.once('error', (e) => finish(false, e.message));
      return;
    }
    const req = request(
      { host: c.address, port: c.port, path: c.path, agent: false, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        finish(status === c.expectedStatus, `status ${status}`);
      },
    );
    cleanup = () => req.destroy();
    req.once('error', (e) => finish(false, e.message));
    req.end();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let c: Check;
    try {
      c = JSON.parse(line) as Check;
    } catch {
      return;
    }
    void runCheck(c).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
  });
  lines.on('close', () => process.exit(0));
}
