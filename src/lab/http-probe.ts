/**
 * http-probe: the lab's HTTP client for load balancer tests, run inside a namespace (a VM, the ISP).
 *
 *   http-probe get --url URL --count N [--timeout-ms T] [--interval-ms I]
 *       makes N GET requests one after another, each on a new TCP connection (so each is a new
 *       connection to balance), I ms apart (default 0); prints one JSON line
 *       {"answers": {BODY: count}, "failed": count, "log": [{"t": ms since start, "body": BODY | null}]}
 *       where BODY is the trimmed response body (a member answers its name) and null a failure
 *       (refused, reset, a status other than 200, or no answer within T ms, default 2000).
 *
 * Invariant: bounded in count (at most 5,000 requests) and time (each request T ms at most); talks
 * only to the URL it is given.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

function opt(args: string[], name: string, dflt?: string): string {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1]!;
  if (dflt !== undefined) return dflt;
  throw new Error(`http-probe: --${name} is required`);
}

function getOnce(url: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: string | null) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(v);
      }
    };
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 4096) body += d;
      });
      res.on('end', () => finish(res.statusCode === 200 ? body.trim() : null));
      res.on('error', () => finish(null));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(null);
    }, timeoutMs);
    req.on('error', () => finish(null));
    req.end();
  });
}

async function get(args: string[]): Promise<void> {
  const url = opt(args, 'url');
  const count = Math.min(5000, Number(opt(args, 'count')));
  const timeoutMs = Number(opt(args, 'timeout-ms', '2000'));
  const intervalMs = Number(opt(args, 'interval-ms', '0'));
  const answers: Record<string, number> = {};
  const log: Array<{ t: number; body: string | null }> = [];
  let failed = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const body = await getOnce(url, timeoutMs);
    log.push({ t: Math.round(started - t0), body });
    if (body === null) failed++;
    else answers[body] = (answers[body] ?? 0) + 1;
    const wait = intervalMs - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  process.stdout.write(`${JSON.stringify({ answers, failed, log })}\n`);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'get') {
  get(rest).catch((e: unknown) => {
    process.stderr.write(`http-probe: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  });
} else {
  process.stderr.write('usage: http-probe get --url URL --count N [--timeout-ms T] [--interval-ms I]\n');
  process.exit(2);
}
