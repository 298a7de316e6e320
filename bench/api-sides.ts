/**
 * The sides bench/api compares, behind one interface: the store opened in this process, a midonet-api
 * process (this tree's or another built tree's) driven over keep-alive HTTP by the client of
 * api-client.ts, and a bare node:http
 * process that answers every GET with one fixed JSON object (the floor of an HTTP read here).
 *
 * Invariant: every side owns what it started (a process, a store handle) and `stop` ends it; `cpu`
 * reads the CPU time of the process doing the side's work, so a phase's cost per operation is the
 * difference of two readings over the operations between them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createToken } from '../src/api/tokens.js';
import { httpClient } from './api-client.js';
import { openStore } from '../src/state/open.js';
import type { Op } from '../src/state/store.js';

export const INFLIGHT = 16;

/** One side of the comparison. */
export interface Side {
  readonly name: string;
  /** Creates a bridge named `name` (one transaction); its id. */
  create(name: string): Promise<string>;
  get(id: string): Promise<void>;
  /** One transaction of these creates. */
  transact(ops: Op[]): Promise<void>;
  /** CPU seconds the process doing the work has used so far. */
  cpu(): number;
  stop(): Promise<void>;
}

/** Runs `n` jobs with at most `width` in flight; returns the seconds it took. */
export async function timed(n: number, width: number, job: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await job(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** CPU seconds of this process. */
export function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds (user + system) of another process, from /proc (clock ticks of 1/100 s). */
function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

export async function storeSide(url: string): Promise<Side> {
  const store = await openStore(url);
  return {
    name: 'store',
    create: async (name) => (await store.create('bridge', { name })).id,
    get: async (id) => {
      if ((await store.get('bridge', id)) === undefined) throw new Error(`store: no bridge ${id}`);
    },
    transact: async (ops) => void (await store.transact(ops)),
    cpu: ownCpu,
    stop: () => store.close(),
  };
}

/** Starts `args` with node and waits until GET `base`/health answers 200. */
async function startServer(args: string[], base: string, what: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return child;
    } catch {
      /* not yet listening */
    }
    if (i > 100 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not start`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const freePort = () => 18000 + Math.floor(Math.random() * 2000);

/**
 * midonet-api of the built tree at `root` (its bin/ and dist/) over a store at `storeUrl`, with an
 * admin token; `nodeArgs` go before the script (e.g. --cpu-prof).
 */
export async function apiSide(opts: {
  name: string;
  root: string;
  storeUrl: string;
  dir: string;
  nodeArgs?: string[];
}): Promise<Side> {
  const seed = await openStore(opts.storeUrl);
  const token = (await createToken(seed, 'bench', 'admin', Date.now())).token;
  await seed.close();
  const port = freePort();
  const cfg = join(opts.dir, `${opts.name}.json`);
  writeFileSync(
    cfg,
    JSON.stringify({
      store: opts.storeUrl,
      listen: `127.0.0.1:${port}`,
      logLevel: 'warn',
      rateLimit: { max: 1_000_000 },
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const child = await startServer(
    [...(opts.nodeArgs ?? []), join(opts.root, 'bin', 'midonet-api'), '--config', cfg],
    base,
    `midonet-api (${opts.name})`,
  );
  const client = httpClient(
    base,
    { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    INFLIGHT,
  );
  const call = client.call;
  return {
    name: opts.name,
    async create(name) {
      const r = await call('POST', '/v1/bridges', JSON.stringify({ name }));
      if (r.status !== 201) throw new Error(`${opts.name}: POST: ${r.status} ${r.body}`);
      return (JSON.parse(r.body) as { id: string }).id;
    },
    async get(id) {
      const r = await call('GET', `/v1/bridges/${id}`);
      if (r.status !== 200) throw new Error(`${opts.name}: GET: ${r.status}`);
    },
    async transact(ops) {
      const r = await call('POST', '/v1/transactions', JSON.stringify({ ops }));
      if (r.status !== 200) throw new Error(`${opts.name}: POST /v1/transactions: ${r.status} ${r.body}`);
    },
    cpu: () => procCpu(child.pid!),
    stop: () => {
      client.close();
      return stopChild(child);
    },
  };
}

/** A node:http process answering every GET with `body` (and /health with 200): reads only. */
export async function floorSide(body: string): Promise<Side> {
  const port = freePort();
  const script = `
    const body = ${JSON.stringify(body)};
    require('node:http').createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          etag: '"1"',
        });
        res.end(body);
      });
    }).listen(${port}, '127.0.0.1');`;
  const base = `http://127.0.0.1:${port}`;
  const child = await startServer(['-e', script], base, 'the bare node:http server');
  const client = httpClient(base, {}, INFLIGHT);
  const call = client.call;
  const refuse = () => Promise.reject(new Error('floor: reads only'));
  return {
    name: 'floor',
    create: refuse,
    transact: refuse,
    async get(id) {
      const r = await call('GET', `/v1/bridges/${id}`);
      if (r.status !== 200) throw new Error(`floor: GET: ${r.status}`);
    },
    cpu: () => procCpu(child.pid!),
    stop: () => {
      client.close();
      return stopChild(child);
    },
  };
}
