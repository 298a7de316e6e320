/**
 * The metrics endpoint every midonet daemon serves: one HTTP server on a loopback address with
 * `GET /metrics` (Prometheus text format from the daemon's own prom-client Registry) and
 * `GET /health` (JSON `{ok, ...}` with status 200 when ok, 503 otherwise). The agent uses it
 * (src/agent/metrics.ts); midonet-router reuses it with its own registry and health check.
 *
 * Invariants:
 * - The server listens only on a loopback address (127.0.0.0/8, ::1, localhost): metrics and health
 *   say things about the host that are not for the network. A configuration naming any other address
 *   fails at load time (`metricsConfigSchema`) and, should a caller bypass it, at `startMetricsServer`
 *   with a ConfigError naming the value and what is allowed.
 * - Each daemon has its own Registry (never prom-client's global one), so several daemons or tests in
 *   one process do not collide; `daemonRegistry` adds the process metrics (prom-client's defaults).
 * - A scrape or health check never hangs forever: the health callback is raced against a timeout and
 *   a check that throws or times out reports not-ok.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ipv6Equal, parseIpv4, parseIpv6 } from '../addr.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';

/** A parsed loopback listen address. */
export interface ListenAddress {
  /** Host as given to listen() (no brackets for IPv6). */
  readonly host: string;
  /** TCP port; 0 lets the kernel choose one (tests). */
  readonly port: number;
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const v4 = parseIpv4(host);
  if (v4 !== undefined) return v4 >>> 24 === 127;
  const v6 = parseIpv6(host);
  return v6 !== undefined && ipv6Equal(v6, [0, 0, 0, 1]);
}

/**
 * Parses `HOST:PORT` (IPv6 as `[::1]:PORT`) and checks HOST is loopback. Returns the address or the
 * reason it is refused (a sentence naming what is allowed).
 */
export function parseLoopbackListen(s: string): ListenAddress | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return 'expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464';
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range 0-65535`;
  if (!isLoopbackHost(host))
    return `metrics listen only on a loopback address; allowed hosts: 127.0.0.0/8, [::1], localhost (got '${host}')`;
  return { host, port };
}

/** The `metrics` section of a daemon's configuration file; `listen: null` turns the endpoint off. */
export function metricsConfigSchema(defaultListen: string) {
  return z
    .object({
      /** HOST:PORT on loopback for /metrics and /health, or null for no endpoint. */
      listen: z
        .string()
        .superRefine((s, ctx) => {
          const r = parseLoopbackListen(s);
          if (typeof r === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: r });
        })
        .nullable()
        .default(defaultListen),
    })
    .strict()
    .default({});
}

/** A fresh registry with prom-client's process metrics (CPU, memory, event loop, GC, handles). */
export function daemonRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** What /health reports; `ok` decides the status code. */
export interface HealthReport {
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

export interface MetricsServerOptions {
  /** HOST:PORT on loopback. */
  readonly listen: string;
  readonly registry: Registry;
  /** The daemon's own health check; must not throw for an unhealthy daemon (return ok: false). */
  readonly health: () => Promise<HealthReport>;
  readonly log: Logger;
  /** A health check slower than this reports `{ok: false, error: 'health check timed out'}` (ms). */
  readonly healthTimeoutMs?: number;
}

export interface MetricsServer {
  /** The address actually bound (the kernel's port when 0 was asked). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function handle(opts: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    const body = await opts.registry.metrics();
    res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body);
    return;
  }
  if (path === '/health') {
    let report: HealthReport;
    try {
      report = await timeout(opts.health(), opts.healthTimeoutMs ?? 2000, 'health check');
    } catch (e) {
      report = { ok: false, error: (e as Error).message };
    }
    res
      .writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' })
      .end(`${JSON.stringify(report)}\n`);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics or /health\n');
}

/** Starts the endpoint; rejects with ConfigError for a non-loopback address, or the listen error. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const addr = parseLoopbackListen(opts.listen);
  if (typeof addr === 'string') throw new ConfigError(`metrics listen '${opts.listen}': ${addr}`);
  const log = opts.log.child({ component: 'metrics' });
  const server: Server = createServer((req, res) => {
    handle(opts, req, res).catch((e: Error) => {
      log.warn({ err: e.message, url: req.url }, 'metrics request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${e.message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`metrics: cannot listen on ${opts.listen}: ${e.code ?? e.message}`)),
    );
    server.listen(addr.port, addr.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const address = { host: addr.host, port: bound.port };
  log.info({ listen: `${addr.host}:${bound.port}` }, 'metrics endpoint listening');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
