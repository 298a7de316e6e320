/**
 * midonet-api against hostile bodies: unknown keys that carry terminal escapes, are 100,000 characters
 * long or number in the thousands, a reference 100,000 characters long, a body that is `null`, one
 * over the size limit, one that is not UTF-8. Every answer names the field and what is wrong in a short, escaped message
 * (values and keys cut, a long list of keys counted), and nothing is written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UNSAFE_TEXT } from '../../src/quote.js';
import { apiFixture, type ApiFixture } from './fixture.js';

let fx: ApiFixture;

async function refused(
  path: string,
  status: number,
  opts: Parameters<ApiFixture['call']>[2],
): Promise<{ message: string; issues?: Array<{ field: string; value?: unknown; allowed: string }> }> {
  const before = await fx.store.position();
  const r = await fx.call('POST', path, opts);
  assert.equal(r.status, status, JSON.stringify(r.body).slice(0, 500));
  assert.equal(await fx.store.position(), before, 'nothing was written');
  const text = JSON.stringify(r.body);
  assert.ok(text.length < 3000, `a short answer: ${text.length} characters`);
  assert.doesNotMatch(r.body.error.message, UNSAFE_TEXT);
  for (const i of r.body.error.issues ?? []) assert.doesNotMatch(i.field, UNSAFE_TEXT);
  return r.body.error;
}

describe('midonet-api: hostile bodies', () => {
  before(async () => {
    fx = await apiFixture({ bodyLimitBytes: 1024 * 1024 });
  });
  after(async () => {
    await fx.close();
  });

  it('names unknown keys escaped, cut and counted', async () => {
    const esc = await refused('/v1/bridges', 400, { raw: '{"name":"b","a\\u001b[2Jb":1}' });
    assert.match(esc.message, /unknown field\(s\): 'a\\x1b\[2Jb'/);
    assert.equal(esc.issues?.[0]?.field, "bridge.'a\\x1b[2Jb'");

    const long = await refused('/v1/bridges', 400, { body: { name: 'b', ['k'.repeat(100000)]: 1 } });
    assert.match(long.message, /unknown field\(s\): 'k{64}\.\.\.' \(100000 characters\)/);

    const many: Record<string, unknown> = { name: 'b' };
    for (let i = 0; i < 5000; i++) many[`extra${i}`] = i;
    const counted = await refused('/v1/bridges', 400, { body: many });
    assert.match(counted.message, /unknown field\(s\): extra0, extra1, extra2, extra3, extra4 and 4995 more/);

    const query = await fx.call('GET', `/v1/bridges?${'q'.repeat(5000)}=1`);
    assert.equal(query.status, 400);
    assert.ok(JSON.stringify(query.body).length < 3000, 'a short answer to a long query key');
  });

  it('quotes and cuts a reference that names nothing', async () => {
    const e = await refused('/v1/ports', 404, {
      body: { name: 'p', deviceId: `x\u001b[2J${'y'.repeat(100000)}` },
    });
    assert.match(
      e.message,
      /^port\.deviceId: no bridge or router with id 'x\\x1b\[2Jy+\.\.\.' \(100005 characters\)$/,
    );
  });

  it('says a null body is null', async () => {
    const e = await refused('/v1/bridges', 400, { raw: 'null' });
    assert.equal(e.issues?.[0]?.value, 'null');
  });

  it('names the size limit of a body too large', async () => {
    const e = await refused('/v1/bridges', 413, { body: { name: 'x'.repeat(2 * 1024 * 1024) } });
    assert.match(e.message, /larger than 1048576 bytes.*\(bodyLimitBytes\)/);
  });

  it('refuses query parameters on a route that takes none', async () => {
    await fx.call('POST', '/v1/bridges', { body: { name: 'q-b' } });
    for (const path of ['/v1/snapshot?kind=bridge', '/v1/position?x=1', '/v1/bridges/q-b?fields=name']) {
      const r = await fx.call('GET', path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.match(
        r.body.error.message,
        /^query: unknown parameter\(s\) (kind|x|fields): this route takes none$/,
      );
    }
    const esc = await fx.call('GET', '/v1/position?a%1B%5B2Jb=1');
    assert.equal(esc.body.error.message, "query: unknown parameter(s) 'a\\x1b[2Jb': this route takes none");
    assert.equal((await fx.call('GET', '/v1/bridges/q-b')).status, 200);
    assert.equal((await fx.call('GET', '/v1/bridges?limit=5')).status, 200);
  });

  it('says why a JSON body was refused, and takes an empty one as none', async () => {
    const proto = await refused('/v1/bridges', 400, { raw: '{"name":"pb","__proto__":{"x":1}}' });
    assert.match(proto.message, /a key '__proto__'/);
    const broken = await refused('/v1/bridges', 400, { raw: '{"name":\n\u001b' });
    assert.match(broken.message, /^the body is not valid JSON: Unexpected token '\\x1b'/);
    const empty = await refused('/v1/bridges', 400, {
      raw: '',
      headers: { 'content-type': 'application/json' },
    });
    assert.match(empty.message, /the body must be a JSON object/);
    await fx.call('POST', '/v1/bridges', { body: { name: 'del-me' } });
    const del = await fx.call('DELETE', '/v1/bridges/del-me', {
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(del.status, 200, JSON.stringify(del.body));
  });

  it('refuses a body that is not UTF-8 instead of storing U+FFFD in its place', async () => {
    const bytes = (...parts: Array<string | number[]>) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const ff = await refused('/v1/bridges', 400, { raw: bytes('{"name":"a', [0xff], 'b"}') });
    assert.equal(ff.message, 'the body is not valid UTF-8 (byte 0xff at offset 10): JSON bodies are UTF-8');
    // A lead byte without its continuation, an overlong '/', a surrogate: each is refused where it starts.
    const cut = await refused('/v1/bridges', 400, { raw: bytes('{"name":"', [0xe2, 0x82], '"}') });
    assert.match(cut.message, /byte 0xe2 at offset 9/);
    await refused('/v1/bridges', 400, { raw: bytes('{"name":"', [0xc0, 0xaf], '"}') });
    await refused('/v1/bridges', 400, { raw: bytes('{"name":"', [0xed, 0xa0, 0x80], '"}') });
    const names = (await fx.store.list('bridge')).map((b) => b.name);
    assert.ok(!names.some((n) => n.includes('\ufffd')), `no U+FFFD stored: ${JSON.stringify(names)}`);
    // UTF-8 itself, U+FFFD sent as UTF-8 included, is taken as it is.
    const r = await fx.call('POST', '/v1/bridges', { raw: bytes('{"name":"\u00e9\u20ac\u{1f600}"}') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.name, '\u00e9\u20ac\u{1f600}');
  });

  it('answers a path it cannot decode or a part too long in its own shape, and takes the longest names', async () => {
    for (const path of ['/v1/bridges/%FF', '/v1/bridges/%E2%82', '/v1/bridges/%']) {
      const r = await fx.call('GET', path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'bad-request');
      assert.match(
        r.body.error.message,
        /^the path '\/v1\/bridges\/%[^']*' has a %-escape that is not complete or not UTF-8$/,
      );
    }
    const long = await fx.call('GET', `/v1/bridges/${'x'.repeat(5000)}`);
    assert.equal(long.status, 414);
    assert.equal(long.body.error.code, 'too-long');
    assert.match(
      long.body.error.message,
      /^a part of the path '\/v1\/bridges\/x+\.\.\.' \(5012 characters\) is longer than 1024/,
    );
    // A name of the longest length allowed can be shown, changed and deleted by name.
    const name = `\u00e9${'n'.repeat(254)}`;
    assert.equal((await fx.call('POST', '/v1/bridges', { body: { name } })).status, 201);
    const ref = `/v1/bridges/${encodeURIComponent(name)}`;
    assert.equal((await fx.call('GET', ref)).status, 200);
    assert.equal((await fx.call('PATCH', ref, { body: { vlanAware: true } })).status, 200);
    assert.equal((await fx.call('DELETE', ref)).status, 200);
  });

  it('answers headers too large in its own error shape', async () => {
    const r = await fx.call('GET', '/v1/position', { headers: { 'x-padding': 'p'.repeat(20000) } });
    assert.equal(r.status, 431);
    assert.deepEqual(r.body, {
      error: {
        status: 431,
        code: 'headers-too-large',
        message: 'the request headers are larger than this server takes (16 KB)',
      },
    });
  });
});
