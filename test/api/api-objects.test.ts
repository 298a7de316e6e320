/**
 * midonet-api through a real HTTP client (Node's fetch): every kind created, listed (filters, paging),
 * shown, updated (If-Match, 412) and deleted (cascade); every relation verb; the lease allocator; bad
 * input of every sort refused with the right status and structured JSON, and nothing written.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { API_KINDS, KIND_PATHS } from '../../src/api/kinds.js';
import { apiFixture, type ApiFixture } from './fixture.js';

let fx: ApiFixture;

async function ok(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const r = await fx.call(method, path, {
    ...(body !== undefined ? { body } : {}),
    ...(headers ? { headers } : {}),
  });
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function refused(
  method: string,
  path: string,
  status: number,
  code: string,
  pattern: RegExp,
  opts: Parameters<ApiFixture['call']>[2] = {},
) {
  const before = await fx.store.position();
  const r = await fx.call(method, path, opts);
  assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error.code, code);
  assert.equal(r.body.error.status, status);
  assert.match(r.body.error.message, pattern);
  assert.equal(await fx.store.position(), before, 'nothing was written');
  return r.body.error;
}

describe('midonet-api: objects and verbs', () => {
  before(async () => {
    fx = await apiFixture();
  });
  after(async () => {
    await fx.close();
  });

  it('serves every kind: create, list, show, update, delete, and every relation verb', async () => {
    const hv1 = await ok('POST', '/v1/hosts', { name: 'hv1', addresses: ['198.51.100.1'] });
    assert.equal(hv1.version, 1);
    await ok('POST', '/v1/hosts', { name: 'hv2', addresses: ['198.51.100.2'] });
    const tz = await ok('POST', '/v1/tunnel-zones', { name: 'tz', type: 'vxlan' });
    await ok('POST', '/v1/tunnel-zones/tz/members', { host: 'hv1' });
    await ok('POST', '/v1/tunnel-zones/tz/members', { host: 'hv2', address: '198.51.100.22' });
    assert.deepEqual(
      (await ok('GET', `/v1/tunnel-zones/${tz.id}`)).members.map((m: { address: string }) => m.address),
      ['198.51.100.1', '198.51.100.22'],
    );
    await ok('DELETE', '/v1/tunnel-zones/tz/members/hv2');
    const br = await ok('POST', '/v1/bridges', { name: 'br' });
    const rt = await ok('POST', '/v1/routers', { name: 'rt' });
    const rp = await ok('POST', '/v1/ports', { name: 'rp', deviceId: rt.id, address: '192.0.2.1/24' });
    assert.equal(rp.deviceKind, 'router');
    await ok('POST', '/v1/ports', { name: 'up', deviceId: br.id });
    await ok('POST', '/v1/ports/up/link', { peer: 'rp' });
    assert.equal((await ok('GET', '/v1/ports/rp')).peerId, (await ok('GET', '/v1/ports/up')).id);
    for (let i = 1; i <= 3; i++) await ok('POST', '/v1/ports', { name: `vm${i}`, deviceId: br.id });
    await ok('POST', '/v1/ports/vm1/bind', { host: 'hv1', interface: 'tap-vm1' });
    assert.equal((await ok('GET', '/v1/ports/vm1')).interfaceName, 'tap-vm1');
    await ok('POST', '/v1/routes', { routerId: rt.id, dstPrefix: '192.0.2.0/24', nextHopPortId: rp.id });
    const chain = await ok('POST', '/v1/chains', { name: 'in' });
    const r1 = await ok('POST', '/v1/chains/in/rules', {
      action: 'drop',
      conditions: { ipProto: { value: 6 } },
    });
    const r2 = await ok('POST', '/v1/chains/in/rules?position=1', { action: 'accept' });
    assert.deepEqual((await ok('GET', '/v1/chains/in')).ruleIds, [r2.id, r1.id], 'rule add at a position');
    await ok('POST', '/v1/rules', { chainId: chain.id, action: 'continue' });
    await ok('POST', '/v1/port-groups', { name: 'web', portIds: [] });
    await ok('POST', '/v1/port-groups/web/ports', { port: 'vm2' });
    await ok('POST', '/v1/port-groups/web/ports', { port: 'vm3' });
    await ok('DELETE', '/v1/port-groups/web/ports/vm2');
    assert.equal((await ok('GET', '/v1/port-groups/web')).portIds.length, 1);
    await ok('POST', '/v1/ip-address-groups', { name: 'admins', addresses: ['192.0.2.7'] });
    await ok('POST', '/v1/dhcp-subnets', {
      name: 'd',
      bridgeId: br.id,
      subnet: '192.0.2.0/24',
      gateway: '192.0.2.1',
      rangeStart: '192.0.2.100',
      rangeEnd: '192.0.2.120',
    });
    await ok('POST', '/v1/dhcp-subnets/d/hosts', { mac: '02:00:00:00:00:01', address: '192.0.2.10' });
    await ok('POST', '/v1/dhcp-subnets/d/hosts', { mac: '02:00:00:00:00:02', address: '192.0.2.11' });
    await ok('DELETE', '/v1/dhcp-subnets/d/hosts/02:00:00:00:00:02');
    const lease = await ok('POST', '/v1/dhcp-subnets/d/leases', {
      mac: '02:00:00:00:aa:01',
      host: 'hv1',
      port: 'vm2',
    });
    assert.equal(lease.address, '192.0.2.100');
    assert.equal(
      (await ok('POST', '/v1/dhcp-subnets/d/leases', { mac: '02:00:00:00:00:01' })).address,
      '192.0.2.10',
      'a static entry first',
    );
    await ok('POST', '/v1/bgp-peers', {
      name: 'isp',
      portId: rp.id,
      peerAddress: '192.0.2.254',
      peerAs: 64512,
      localAs: 64513,
    });
    await ok('POST', '/v1/bgp-networks', { routerId: rt.id, prefix: '198.51.100.0/24' });
    await ok('POST', '/v1/ports', { name: 'wan', deviceId: rt.id, address: '203.0.113.1/26' });
    await ok('POST', '/v1/ports/wan/bind', { host: 'hv1', interface: 'eth-up' });
    await ok('POST', '/v1/floating-ips', {
      name: 'fip',
      routerId: rt.id,
      address: '203.0.113.10',
      fixedAddress: '192.0.2.10',
    });
    await ok('POST', '/v1/port-forwards', {
      name: 'web',
      routerId: rt.id,
      address: '203.0.113.1',
      protocol: 'tcp',
      port: 8080,
      toAddress: '192.0.2.11',
      toPort: 80,
    });
    await ok('POST', '/v1/source-nats', {
      name: 'out',
      routerId: rt.id,
      subnet: '192.0.2.0/24',
      address: '203.0.113.1',
    });
    await ok('POST', '/v1/nat-blocks', {
      name: '203.0.113.1/udp/0',
      address: '203.0.113.1',
      protocol: 'udp',
      index: 0,
      hostId: hv1.id,
      expiresAt: Date.now() + 60_000,
    });
    const lb = await ok('POST', '/v1/load-balancers', { name: 'lb', routerId: rt.id });
    const pool = await ok('POST', '/v1/pools', { name: 'web', loadBalancerId: lb.id });
    await ok('POST', '/v1/vips', {
      name: 'web',
      loadBalancerId: lb.id,
      poolId: pool.id,
      address: '203.0.113.40',
      port: 80,
    });
    await ok('POST', '/v1/pool-members', { name: 'web1', poolId: pool.id, address: '192.0.2.10', port: 80 });
    await ok('POST', '/v1/health-monitors', { name: 'web', poolId: pool.id });
    const brPortIds = new Map<string, string>(
      (await ok('GET', `/v1/ports?deviceId=${br.id}`)).items.map((p: { id: string; name: string }) => [
        p.name,
        p.id,
      ]),
    );
    await ok('POST', '/v1/mirrors', {
      name: 'tap',
      portIds: [brPortIds.get('vm1')],
      toPortId: brPortIds.get('vm3'),
      direction: 'in',
      conditions: { ipProto: { value: 17 } },
    });

    for (const kind of API_KINDS) {
      const page = await ok('GET', `/v1/${KIND_PATHS[kind]}`);
      assert.ok(page.items.length > 0, `${kind} list`);
      assert.equal(page.next, null);
      const one = await fx.call('GET', `/v1/${KIND_PATHS[kind]}/${page.items[0].id}`);
      assert.equal(one.status, 200, `${kind} show`);
      assert.equal(one.headers.get('etag'), `"${one.body.version}"`);
    }

    // Filters by reference and field, and paging.
    const brPorts = await ok('GET', `/v1/ports?deviceId=${br.id}`);
    assert.deepEqual(
      brPorts.items.map((p: { name: string }) => p.name),
      ['up', 'vm1', 'vm2', 'vm3'],
    );
    assert.equal((await ok('GET', `/v1/ports?refersTo=${rt.id}`)).items.length, 2, 'rp and wan');
    assert.equal((await ok('GET', '/v1/ports?interfaceName=tap-vm1')).items[0].name, 'vm1');
    assert.equal((await ok('GET', `/v1/dhcp-leases?portId=${lease.portId}`)).items[0].id, lease.id);
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: { items: Array<{ name: string }>; next: string | null } = await ok(
        'GET',
        `/v1/ports?limit=2${next ? `&after=${next}` : ''}`,
      );
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((p) => p.name));
      next = page.next;
    } while (next !== null);
    assert.deepEqual(seen, ['rp', 'up', 'vm1', 'vm2', 'vm3', 'wan']);

    // If-Match: the current version passes, a stale one is 412 and changes nothing.
    const b1 = await fx.call('PATCH', '/v1/bridges/br', {
      body: { vlanAware: true },
      headers: { 'if-match': '"1"' },
    });
    assert.equal(b1.status, 200);
    assert.equal(b1.body.version, 2);
    await refused(
      'PATCH',
      '/v1/bridges/br',
      412,
      'conflict',
      /version 1 expected but the stored version is 2/,
      {
        body: { vlanAware: false },
        headers: { 'if-match': '"1"' },
      },
    );
    await refused('DELETE', '/v1/bridges/br', 412, 'conflict', /version 1 expected/, {
      headers: { 'if-match': '1' },
    });
    await ok('PATCH', '/v1/rules/' + r1.id + '?position=1', {});
    assert.equal((await ok('GET', '/v1/chains/in')).ruleIds[0], r1.id, 'rule moved');

    await ok('POST', '/v1/ports/vm1/unbind');
    await ok('POST', '/v1/ports/up/unlink');
    assert.equal((await ok('GET', '/v1/ports/rp')).peerId, null);
    await refused('DELETE', '/v1/routers/rt', 409, 'referenced', /cannot delete router 'rt': referenced by/);
    const gone = await ok('DELETE', '/v1/routers/rt?cascade=true');
    assert.ok(gone.deleted.some((d: { kind: string }) => d.kind === 'bgp-peer'));
    const gone2 = await ok('DELETE', '/v1/bridges/br?cascade=true');
    assert.ok(
      gone2.deleted.some((d: { kind: string }) => d.kind === 'dhcp-lease'),
      'leases went with the subnet',
    );
    assert.equal((await ok('GET', '/v1/dhcp-leases')).items.length, 0);
  });

  it('refuses bad input with a clear error, the right status, and writes nothing', async () => {
    await ok('POST', '/v1/bridges', { name: 'bad-input' });
    const e1 = await refused(
      'POST',
      '/v1/bridges',
      400,
      'invalid',
      /bridge\.vlanAware: 'x': expected boolean, got string/,
      {
        body: { name: 'b2', vlanAware: 'x', color: 'red' },
      },
    );
    assert.deepEqual(e1.issues.map((i: { field: string }) => i.field).sort(), [
      'bridge.color',
      'bridge.vlanAware',
    ]);
    assert.equal(e1.issues.find((i: { field: string }) => i.field === 'bridge.vlanAware').value, 'x');
    await refused('POST', '/v1/bridges', 400, 'bad-request', /not valid JSON/, { raw: '{"name": ' });
    await refused('POST', '/v1/bridges', 400, 'invalid', /must be a JSON object/, { raw: '[1,2]' });
    await refused('POST', '/v1/bridges', 415, 'unsupported-media-type', /must be JSON/, {
      raw: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await refused('POST', '/v1/bridges', 413, 'too-large', /./, {
      body: { name: 'x'.repeat(2 * 1024 * 1024) },
    });
    await refused('POST', '/v1/ports', 404, 'not-found', /no bridge or router with id/, {
      body: { name: 'p', deviceId: '6f1c9d2e-0b7a-4c1e-9a55-3f0d2b8c4e11' },
    });
    await refused('POST', '/v1/bridges', 409, 'exists', /'bad-input' is already used/, {
      body: { name: 'bad-input' },
    });
    await refused('POST', '/v1/ports', 400, 'invalid', /port\.deviceKind: is set by the store/, {
      body: { name: 'p', deviceId: 'x', deviceKind: 'bridge' },
    });
    await refused('GET', '/v1/bridges/nope', 404, 'not-found', /no bridge named or with id 'nope'/);
    await refused('GET', '/v1/bridges?colour=red', 400, 'invalid', /unknown field\(s\): colour/);
    await refused('GET', '/v1/bridges?limit=0', 400, 'invalid', /limit/);
    await refused('GET', '/v1/bridges?after=garbage', 400, 'invalid', /not a cursor/);
    await refused('PATCH', '/v1/bridges/bad-input', 400, 'invalid', /If-Match: 'abc'/, {
      body: {},
      headers: { 'if-match': 'abc' },
    });
    await refused('POST', '/v1/ports/nope/bind', 400, 'invalid', /interface: is required/, {
      body: { host: 'x' },
    });
    await refused('POST', '/v1/dhcp-subnets/nope/hosts/', 404, 'no-route', /no route POST/);
    await refused('POST', '/v1/transactions', 400, 'invalid', /ops\.0\.kind/, {
      body: { ops: [{ op: 'create', kind: 'api-token', fields: {} }] },
    });
    // A duplicate name is 'exists' (409): the planner's code decides, the message names the step.
    await refused('POST', '/v1/transactions', 409, 'exists', /transaction step 2: .*already used/, {
      body: {
        ops: [
          { op: 'create', kind: 'bridge', fields: { name: 'tx-1' } },
          { op: 'create', kind: 'bridge', fields: { name: 'tx-1' } },
        ],
      },
    });
    const hostile = await refused('GET', '/v1/bridges/%0Aevil%1B[31m', 404, 'not-found', /no bridge/);
    assert.doesNotMatch(hostile.message, /\p{Cc}/u, 'control characters never come back raw');
    assert.match(hostile.message, /'\\nevil\\x1b\[31m'/);
  });

  it('refuses a PATCH of nothing, naming the fields that can be changed, and leaves the object alone', async () => {
    const b = await ok('POST', '/v1/bridges', { name: 'patch-nothing' });
    const e = await refused('PATCH', '/v1/bridges/patch-nothing', 400, 'invalid', /nothing to change/, {
      body: {},
    });
    assert.match(
      e.message,
      /^bridge update: nothing to change: the body has no fields; give at least one of: name, /,
    );
    assert.match(e.message, /vlanAware/);
    assert.deepEqual(e.issues[0].field, '(body)');
    const p = await ok('POST', '/v1/ports', { name: 'patch-port', deviceId: b.id });
    const pe = await refused('PATCH', `/v1/ports/${p.id}`, 400, 'invalid', /nothing to change/, { body: {} });
    assert.doesNotMatch(
      pe.message,
      /deviceId|deviceKind|tunnelKey/,
      'fixed and managed fields are not offered',
    );
    assert.deepEqual(await ok('GET', '/v1/bridges/patch-nothing'), b, 'the object is as it was');
  });

  it('names a transaction op it does not know, escaped, and the ops it takes', async () => {
    const e = await refused('POST', '/v1/transactions', 400, 'invalid', /ops\.0\.op/, {
      body: { ops: [{ op: 'upsert\u001b[2J', kind: 'bridge', fields: { name: 'op-x' } }] },
    });
    assert.equal(e.message, "body: ops.0.op: 'upsert\\x1b[2J': allowed values: create, update, delete");
    assert.deepEqual(e.issues[0], {
      field: 'ops.0.op',
      value: 'upsert\u001b[2J',
      allowed: 'allowed values: create, update, delete',
    });
    const missing = await refused('POST', '/v1/transactions', 400, 'invalid', /ops\.1\.op/, {
      body: { ops: [{ op: 'create', kind: 'bridge', fields: { name: 'op-y' } }, { kind: 'bridge' }] },
    });
    assert.match(missing.message, /ops\.1\.op: is required; allowed values: create, update, delete$/);
  });

  it('runs several writes as one transaction, all or nothing', async () => {
    const id = '6f1c9d2e-0b7a-4c1e-9a55-3f0d2b8c4e12';
    const r = await ok('POST', '/v1/transactions', {
      ops: [
        { op: 'create', kind: 'bridge', id, fields: { name: 'tx-br' } },
        { op: 'create', kind: 'port', fields: { name: 'tx-p', deviceId: id } },
      ],
    });
    assert.equal(r.results.length, 2);
    assert.equal(r.changes.length, 2);
    assert.equal(r.position, await fx.store.position());
  });

  it('serves an OpenAPI 3.1 document that a validator accepts, generated from the model', async () => {
    const r = await fx.call('GET', '/openapi.json', { token: null });
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.equal(doc.openapi, '3.1.0');
    const res = await new Validator().validate(doc);
    assert.equal(res.valid, true, JSON.stringify(res.errors ?? null).slice(0, 2000));
    for (const kind of API_KINDS) {
      const p = `/v1/${KIND_PATHS[kind]}`;
      assert.ok(doc.paths[p]?.get && doc.paths[p]?.post, `${p} documented`);
      assert.ok(doc.paths[`${p}/{ref}`]?.patch && doc.paths[`${p}/{ref}`]?.delete, `${p}/{ref} documented`);
    }
    const portBody = doc.paths['/v1/ports'].post.requestBody.content['application/json'].schema;
    assert.ok(portBody.properties.interfaceName, 'fields come from the model');
    assert.equal(portBody.properties.deviceKind, undefined, 'managed fields are not in create bodies');
    assert.equal(portBody.additionalProperties, false, 'unknown fields are refused');
    for (const p of [
      '/v1/ports/{ref}/bind',
      '/v1/chains/{ref}/rules',
      '/v1/feed',
      '/v1/tokens',
      '/v1/transactions',
    ])
      assert.ok(doc.paths[p], `${p} documented`);
    assert.equal(
      Object.keys(doc.paths).some((p) => p.includes('api-token')),
      false,
    );
  });
});
