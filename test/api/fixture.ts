/**
 * A midonet-api on loopback for tests: a fresh embedded store in a temp directory, an admin and a
 * reader token, the real server (fastify, listening on 127.0.0.1 with a kernel-chosen port) and a
 * `call` helper on Node's own fetch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiConfigSchema, type ApiConfig } from '../../src/api/config.js';
import { buildApi, type ApiServer } from '../../src/api/server.js';
import { createToken } from '../../src/api/tokens.js';
import { createLogger } from '../../src/log.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';

export interface ApiFixture {
  readonly store: TopologyStore;
  readonly storeUrl: string;
  readonly api: ApiServer;
  readonly base: string;
  readonly admin: string;
  readonly reader: string;
  call(
    method: string,
    path: string,
    opts?: {
      body?: unknown;
      raw?: string | Uint8Array;
      token?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function apiFixture(config: Partial<ApiConfig> = {}): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-api-'));
  const storeUrl = `sqlite:${join(dir, 'state.db')}`;
  const store = await openStore(storeUrl);
  const admin = (await createToken(store, 'admin', 'admin', Date.now())).token;
  const reader = (await createToken(store, 'reader', 'reader', Date.now())).token;
  const cfg = apiConfigSchema.parse({ store: storeUrl, listen: '127.0.0.1:0', ...config });
  const api = await buildApi({
    store,
    config: cfg,
    log: createLogger({ name: 'midonet-api', level: 'silent' }),
  });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = api.app.server.address() as { port: number };
  const base = `http://127.0.0.1:${addr.port}`;
  return {
    store,
    storeUrl,
    api,
    base,
    admin,
    reader,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const token = opts.token === undefined ? admin : opts.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | Uint8Array | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined && headers['content-type'] === undefined)
        headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: kept as text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await api.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
