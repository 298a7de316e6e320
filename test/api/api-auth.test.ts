/**
 * midonet-api's doors: bearer tokens (none, unknown, malformed, deleted: 401; a reader writing: 403),
 * token administration (the secret shown once, never a digest), the per-token rate limit (429), TLS
 * when a certificate is configured, and a configuration that would serve tokens in clear text on the
 * network refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiConfigSchema } from '../../src/api/config.js';
import { apiFixture, type ApiFixture } from './fixture.js';

const run = promisify(execFile);

describe('midonet-api: tokens, roles, limits, TLS', () => {
  let fx: ApiFixture;
  before(async () => {
    fx = await apiFixture({ rateLimit: { max: 40, windowMs: 60000 } });
  });
  after(async () => {
    await fx.close();
  });

  it('refuses requests without a valid token, and readers writing', async () => {
    const none = await fx.call('GET', '/v1/bridges', { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="midonet-api"');
    assert.match(none.body.error.message, /a bearer token is required/);
    const unknown = `mnt_${'0'.repeat(32)}_${'A'.repeat(43)}`;
    assert.equal((await fx.call('GET', '/v1/bridges', { token: unknown })).status, 401);
    assert.equal((await fx.call('GET', '/v1/bridges', { token: 'not-a-token' })).status, 401);
    const forged = fx.reader.slice(0, -1) + (fx.reader.endsWith('A') ? 'B' : 'A');
    assert.equal(
      (await fx.call('GET', '/v1/bridges', { token: forged })).status,
      401,
      'right id, wrong secret',
    );
    assert.equal((await fx.call('GET', '/v1/bridges', { token: fx.reader })).status, 200, 'readers read');
    const before = await fx.store.position();
    const w = await fx.call('POST', '/v1/bridges', { token: fx.reader, body: { name: 'x' } });
    assert.equal(w.status, 403);
    assert.match(w.body.error.message, /token 'reader' has role reader: it may only read/);
    assert.equal((await fx.call('DELETE', '/v1/bridges/x', { token: fx.reader })).status, 403);
    assert.equal((await fx.call('GET', '/v1/tokens', { token: fx.reader })).status, 403);
    assert.equal(await fx.store.position(), before, 'nothing was written');
    assert.equal((await fx.call('GET', '/health', { token: null })).status, 200, '/health is open');
  });

  it('makes tokens shown once, lists them without digests, and revokes them', async () => {
    const made = await fx.call('POST', '/v1/tokens', { body: { name: 'ci', role: 'reader' } });
    assert.equal(made.status, 201);
    assert.match(made.body.token, /^mnt_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    assert.equal(made.body.secretHash, undefined);
    const list = await fx.call('GET', '/v1/tokens');
    assert.deepEqual(list.body.map((t: { name: string }) => t.name).sort(), ['admin', 'ci', 'reader']);
    assert.ok(!JSON.stringify(list.body).includes('secretHash'));
    const snap = await fx.call('GET', '/v1/snapshot');
    assert.ok(!JSON.stringify(snap.body).includes('secretHash'), 'the snapshot carries no digest');
    const changes = await fx.call('GET', '/v1/changes?from=0');
    assert.ok(changes.body.changes.some((c: { kind: string }) => c.kind === 'api-token'));
    assert.ok(!JSON.stringify(changes.body).includes('secretHash'), 'the feed carries no digest');
    assert.equal((await fx.call('GET', '/v1/bridges', { token: made.body.token })).status, 200);
    const bad = await fx.call('POST', '/v1/tokens', { body: { name: 'x', role: 'root' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.issues[0].field, 'role');
    assert.match(bad.body.error.issues[0].allowed, /allowed values: admin, reader/);
    assert.equal((await fx.call('DELETE', '/v1/tokens/ci')).status, 200);
    const after = await fx.call('GET', '/v1/bridges', { token: made.body.token });
    assert.equal(after.status, 401, 'a revoked token is refused by the very next request');
  });

  it('bounds requests per token', async () => {
    const t = (await fx.call('POST', '/v1/tokens', { body: { name: 'busy', role: 'reader' } })).body
      .token as string;
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await fx.call('GET', '/v1/position', { token: t })).status);
    assert.ok(statuses.slice(0, 40).every((s) => s === 200));
    const last = await fx.call('GET', '/v1/position', { token: t });
    assert.equal(last.status, 429);
    assert.equal(last.body.error.code, 'rate-limited');
    assert.match(last.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal((await fx.call('GET', '/v1/position', { token: fx.reader })).status, 200, 'per token');
  });

  it('serves HTTPS when a certificate is configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midonet-tls-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]);
      const tls = await apiFixture({ tlsCert: cert, tlsKey: key });
      try {
        const port = (tls.api.app.server.address() as { port: number }).port;
        const body = await new Promise<string>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              path: '/v1/position',
              ca: readFileSync(cert),
              headers: { authorization: `Bearer ${tls.reader}` },
            },
            (res) => {
              let s = '';
              res.on('data', (d: Buffer) => (s += d.toString()));
              res.on('end', () => resolve(s));
            },
          );
          req.on('error', reject);
          req.end();
        });
        assert.match(body, /"position":\d+/);
        await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'no clear text on a TLS port');
      } finally {
        await tls.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens on loopback by default and refuses clear text on the network', () => {
    assert.equal(apiConfigSchema.parse({}).listen, '127.0.0.1:8181');
    const r = apiConfigSchema.safeParse({ listen: '192.0.2.10:8181' });
    assert.equal(r.success, false);
    assert.match(r.error.issues[0]!.message, /not a loopback address: configure tlsCert and tlsKey/);
    assert.equal(
      apiConfigSchema.safeParse({ listen: '192.0.2.10:8181', tlsCert: '/c', tlsKey: '/k' }).success,
      true,
    );
  });
});
