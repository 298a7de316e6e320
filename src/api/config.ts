/**
 * midonet-api's configuration file (default /etc/midonet/midonet-api.json), validated at start like
 * every daemon's (loadConfig: file, key, value and what is allowed on any problem).
 *
 * Invariant: the API listens on loopback unless the file says otherwise, and it never serves bearer
 * tokens in clear text on a non-loopback address (unless an explicit
 * `plaintextOffLoopback: true` for a TLS-terminating proxy in front): such a `listen` needs `tlsCert`
 * and `tlsKey`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { absolutePath, intIn, storeUrl } from '../config.js';
import { LOG_LEVELS } from '../log.js';
import { DEFAULT_STORE_URL } from '../state/open.js';

export const DEFAULT_API_CONFIG = '/etc/midonet/midonet-api.json';
export const DEFAULT_API_LISTEN = '127.0.0.1:8181';

const path = absolutePath;

export interface ApiListen {
  readonly host: string;
  readonly port: number;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** `HOST:PORT` (IPv6 as `[::1]:PORT`) or the reason it is refused. */
export function parseListen(s: string): ApiListen | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return 'expected HOST:PORT, e.g. 127.0.0.1:8181 or [::1]:8181';
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range 0-65535`;
  if (!isLoopback(host) && !isIPv4(host) && !isIPv6(host))
    return `expected an IP address or localhost as HOST (got '${host}')`;
  return { host, port };
}

export const apiConfigSchema = z
  .object({
    /** Store URL (sqlite:PATH or the distributed backend's URL). */
    store: storeUrl.default(DEFAULT_STORE_URL),
    /** HOST:PORT to serve on; loopback unless TLS is configured. */
    listen: z
      .string()
      .superRefine((s, ctx) => {
        const r = parseListen(s);
        if (typeof r === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: r });
      })
      .default(DEFAULT_API_LISTEN),
    /** PEM certificate chain (with tlsKey); null serves plain HTTP. */
    tlsCert: path.nullable().default(null),
    /** PEM private key of tlsCert. */
    tlsKey: path.nullable().default(null),
    /** Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy). */
    plaintextOffLoopback: z.boolean().default(false),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Largest request body accepted (bytes); larger ones get 413. */
    bodyLimitBytes: intIn(1024, 64 * 1024 * 1024).default(1024 * 1024),
    rateLimit: z
      .object({
        /** Requests one token (or, before authentication, one client address) may make per window. */
        max: intIn(1, 1_000_000).default(6000),
        /** Window length (ms). */
        windowMs: intIn(1000, 3_600_000).default(60000),
      })
      .strict()
      .default({}),
    /** Largest page a list returns (`limit`); the default page is 100 or this, whichever is smaller. */
    maxPageSize: intIn(1, 100000).default(1000),
    /** Longest `wait` a write may ask for (ms). */
    maxWaitMs: intIn(0, 600000).default(60000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.tlsCert === null) !== (c.tlsKey === null))
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [c.tlsCert === null ? 'tlsCert' : 'tlsKey'],
        message: 'TLS needs both tlsCert and tlsKey',
      });
    const l = parseListen(c.listen);
    if (typeof l !== 'string' && !isLoopback(l.host) && c.tlsCert === null && !c.plaintextOffLoopback)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['listen'],
        message: `'${l.host}' is not a loopback address: configure tlsCert and tlsKey, or set plaintextOffLoopback behind a TLS proxy`,
      });
  });

export type ApiConfig = z.output<typeof apiConfigSchema>;
