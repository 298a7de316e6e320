/**
 * The DHCP lease contract, run against every backend like the store contract: the dynamic range's
 * validation, the allocator's order of choice (static entry, own lease, requested, lowest free),
 * renewal, release, decline with quarantine, reuse of expired leases, exhaustion, leases following
 * their subnet and port, and two writer processes allocating at once never getting one address twice.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { allocate, decline, release, renew } from '../../src/state/leases.js';
import type { TopologyStore } from '../../src/state/store.js';
import { rejects, type StoreFixture } from './store-contract.js';

const run = promisify(execFile);
const T0 = Date.parse('2030-01-01T00:00:00Z');

function mac(i: number): string {
  return `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
}

export function leaseContract(backend: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`DHCP lease contract: ${backend}`, () => {
    let fx: StoreFixture;
    let s: TopologyStore;
    before(async () => {
      fx = await makeFixture();
      s = fx.store;
    });
    after(async () => {
      await fx.cleanup();
    });
    let n = 0;
    const uniq = (p: string) => `${p}-${++n}`;

    /** A bridge with a router port at .1 and a DHCP subnet 192.0.2.0/24 whose range is given. */
    async function subnet(
      rangeStart: string | null,
      rangeEnd: string | null,
      extra: Record<string, unknown> = {},
    ) {
      const br = await s.create('bridge', { name: uniq('br') });
      const rt = await s.create('router', { name: uniq('rt') });
      const rp = await s.create('port', { name: uniq('rp'), deviceId: rt.id, address: '192.0.2.1/24' });
      await s.create('port', { name: uniq('up'), deviceId: br.id, peerId: rp.id });
      const d = await s.create('dhcp', {
        name: uniq('d'),
        bridgeId: br.id,
        subnet: '192.0.2.0/24',
        gateway: '192.0.2.1',
        rangeStart,
        rangeEnd,
        ...extra,
      });
      return { br, d };
    }

    it('validates the dynamic range', async () => {
      const br = await s.create('bridge', { name: uniq('br') });
      const base = { bridgeId: br.id, subnet: '192.0.2.0/24', gateway: '192.0.2.1' };
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: '192.0.2.10' }),
        'invalid',
        /needs both dhcp\.rangeStart and dhcp\.rangeEnd/,
      );
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: '192.0.2.10', rangeEnd: '198.51.100.9' }),
        'invalid',
        /dhcp\.rangeEnd: '198\.51\.100\.9' is not a host address of the subnet 192\.0\.2\.0\/24; allowed 192\.0\.2\.1 to 192\.0\.2\.254/,
      );
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: '192.0.2.0', rangeEnd: '192.0.2.9' }),
        'invalid',
        /rangeStart: '192\.0\.2\.0' is not a host address/,
      );
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: '192.0.2.20', rangeEnd: '192.0.2.10' }),
        'invalid',
        /'192\.0\.2\.20' is above dhcp\.rangeEnd '192\.0\.2\.10'/,
      );
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: '192.0.2.1', rangeEnd: '192.0.2.10' }),
        'invalid',
        /contains the gateway 192\.0\.2\.1/,
      );
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: 'x', rangeEnd: '192.0.2.10' }),
        'invalid',
        /dhcp\.rangeStart: 'x': expected a dotted-quad IPv4 address/,
      );
      // A router port linked to the bridge holds .1 too, even with the gateway elsewhere.
      const rt = await s.create('router', { name: uniq('rt') });
      const rp = await s.create('port', { name: uniq('rp'), deviceId: rt.id, address: '192.0.2.5/24' });
      await s.create('port', { name: uniq('up'), deviceId: br.id, peerId: rp.id });
      await rejects(
        s.create('dhcp', { name: uniq('d'), ...base, rangeStart: '192.0.2.2', rangeEnd: '192.0.2.9' }),
        'invalid',
        new RegExp(`contains 192\\.0\\.2\\.5, the address of router port '${rp.name}'`),
      );
      assert.equal((await s.list('dhcp', { refersTo: br.id })).length, 0, 'nothing was written');
      const ok = await s.create('dhcp', {
        name: uniq('d'),
        ...base,
        rangeStart: '192.0.2.10',
        rangeEnd: '192.0.2.20',
      });
      assert.equal(ok.rangeStart, '192.0.2.10');
    });

    it('allocates in order: static entry, own lease, requested, lowest free', async () => {
      const { d } = await subnet('192.0.2.10', '192.0.2.20', {
        hosts: [{ mac: '02:00:00:00:ff:01', address: '192.0.2.200' }],
      });
      const a = await allocate(s, d.name, { mac: mac(1), now: T0 });
      assert.equal(a.address, '192.0.2.10');
      assert.equal(a.expiresAt, T0 + d.leaseTime * 1000);
      assert.equal(a.state, 'active');
      const again = await allocate(s, d.id, { mac: '02-00-00-00-00-01', now: T0 + 5000 });
      assert.equal(again.id, a.id, 'the same client keeps its lease');
      assert.equal(again.expiresAt, T0 + 5000 + d.leaseTime * 1000, 'renewed');
      assert.equal(
        (await allocate(s, d.name, { mac: mac(2), now: T0, requested: '192.0.2.15' })).address,
        '192.0.2.15',
      );
      assert.equal(
        (await allocate(s, d.name, { mac: mac(3), now: T0, requested: '192.0.2.15' })).address,
        '192.0.2.11',
      );
      assert.equal(
        (await allocate(s, d.name, { mac: mac(4), now: T0, requested: '192.0.2.99' })).address,
        '192.0.2.12',
        'an address outside the range is not given',
      );
      const fixed = await allocate(s, d.name, { mac: '02:00:00:00:ff:01', now: T0 });
      assert.equal(fixed.address, '192.0.2.200', 'a static entry wins, even outside the range');
      const leases = await s.list('dhcp-lease', { refersTo: d.id });
      assert.deepEqual(leases.map((l) => l.address).sort(), [
        '192.0.2.10',
        '192.0.2.11',
        '192.0.2.12',
        '192.0.2.15',
        '192.0.2.200',
      ]);
    });

    it('renews, releases, and quarantines declined addresses', async () => {
      const { d } = await subnet('192.0.2.10', '192.0.2.11');
      const a = await allocate(s, d.name, { mac: mac(1), now: T0 });
      const r = await renew(s, d.name, { mac: mac(1), now: T0 + 1000 });
      assert.equal(r.expiresAt, T0 + 1000 + d.leaseTime * 1000);
      assert.equal(r.version, a.version + 1);
      await rejects(renew(s, d.name, { mac: mac(9), now: T0 }), 'not-found', /holds no lease/);
      const declined = await decline(s, d.name, {
        mac: mac(1),
        address: a.address,
        now: T0,
        quarantineMs: 60000,
      });
      assert.equal(declined.state, 'declined');
      const b = await allocate(s, d.name, { mac: mac(1), now: T0 + 1 });
      assert.equal(b.address, '192.0.2.11', 'the declined address is quarantined');
      await rejects(
        allocate(s, d.name, { mac: mac(2), now: T0 + 2 }),
        'exhausted',
        new RegExp(
          `dhcp '${d.name}': no free address in its range 192\\.0\\.2\\.10-192\\.0\\.2\\.11 \\(2 addresses: 1 leased, 1 declined`,
        ),
      );
      const c = await allocate(s, d.name, { mac: mac(2), now: T0 + 60000 });
      assert.equal(c.address, '192.0.2.10', 'after the quarantine the address is reused');
      assert.equal(c.id, declined.id, 'in place: the expired lease object is taken over');
      assert.equal((await release(s, d.name, mac(1)))?.address, '192.0.2.11');
      assert.equal(await release(s, d.name, mac(1)), undefined, 'release is idempotent');
      assert.deepEqual(
        (await s.list('dhcp-lease', { refersTo: d.id })).map((l) => l.mac),
        [mac(2)],
      );
    });

    it('reuses expired leases and names the subnet and range when exhausted', async () => {
      const { d } = await subnet('192.0.2.30', '192.0.2.32');
      for (let i = 1; i <= 3; i++) await allocate(s, d.name, { mac: mac(i), now: T0 });
      await rejects(
        allocate(s, d.name, { mac: mac(4), now: T0 + 1000 }),
        'exhausted',
        new RegExp(
          `dhcp '${d.name}': no free address in its range 192\\.0\\.2\\.30-192\\.0\\.2\\.32 \\(3 addresses: 3 leased`,
        ),
      );
      const later = T0 + d.leaseTime * 1000 + 1;
      const l = await allocate(s, d.name, { mac: mac(4), now: later });
      assert.equal(l.address, '192.0.2.30');
      assert.equal((await s.list('dhcp-lease', { refersTo: d.id })).length, 3, 'no lease object was added');
    });

    it('refuses a second lease of one address, and leases outside the range', async () => {
      const { d } = await subnet('192.0.2.10', '192.0.2.20', {
        hosts: [{ mac: '02:00:00:00:ff:01', address: '192.0.2.12' }],
      });
      const lease = { dhcpId: d.id, expiresAt: T0 };
      await s.create('dhcp-lease', { ...lease, mac: mac(1), address: '192.0.2.10' });
      await rejects(
        s.create('dhcp-lease', { ...lease, mac: mac(2), address: '192.0.2.10' }),
        'exists',
        new RegExp(`'192\\.0\\.2\\.10' is already leased in dhcp '${d.name}'`),
      );
      await rejects(
        s.create('dhcp-lease', { ...lease, mac: mac(1), address: '192.0.2.11' }),
        'exists',
        /02:00:00:00:00:01 already holds lease/,
      );
      await rejects(
        s.create('dhcp-lease', { ...lease, mac: mac(3), address: '192.0.2.12' }),
        'exists',
        /is reserved for MAC 02:00:00:00:ff:01/,
      );
      await rejects(
        s.create('dhcp-lease', { ...lease, mac: mac(3), address: '192.0.2.50' }),
        'invalid',
        /outside the range 192\.0\.2\.10-192\.0\.2\.20/,
      );
      await rejects(
        s.create('dhcp-lease', { ...lease, mac: mac(3), address: '192.0.2.1' }),
        'invalid',
        /is the gateway/,
      );
      await rejects(
        s.transact([
          { op: 'create', kind: 'dhcp-lease', fields: { ...lease, mac: mac(4), address: '192.0.2.13' } },
          { op: 'create', kind: 'dhcp-lease', fields: { ...lease, mac: mac(5), address: '192.0.2.13' } },
        ]),
        'exists',
        /already leased/,
      );
      assert.equal((await s.list('dhcp-lease', { refersTo: d.id })).length, 1, 'nothing else was written');
    });

    it('deletes leases with their subnet and their port', async () => {
      const { br, d } = await subnet('192.0.2.10', '192.0.2.20');
      const p = await s.create('port', { name: uniq('pod'), deviceId: br.id });
      const l = await allocate(s, d.name, { mac: mac(1), now: T0, portId: p.id });
      assert.equal(l.portId, p.id);
      const gone = await s.delete('port', p.id);
      assert.deepEqual(gone.map((x) => x.kind).sort(), ['dhcp-lease', 'port']);
      await allocate(s, d.name, { mac: mac(2), now: T0 });
      const all = await s.delete('dhcp', d.id);
      assert.deepEqual(all.map((x) => x.kind).sort(), ['dhcp', 'dhcp-lease'], 'no --cascade needed');
    });

    it('never gives one address twice to two writers at once', async (t) => {
      const url = fx.url;
      if (url === undefined) return t.skip('this backend lives in one process');
      const { d } = await subnet('192.0.2.100', '192.0.2.139');
      const writer = fileURLToPath(new URL('./writer-process.js', import.meta.url));
      const each = 20;
      const [a, b] = await Promise.all(
        ['aa', 'bb'].map(
          async (tag) =>
            JSON.parse(
              (await run(process.execPath, [writer, url, 'leases', d.name, String(each), tag])).stdout,
            ) as string[],
        ),
      );
      const all = [...a!, ...b!];
      assert.equal(all.length, 2 * each);
      assert.equal(new Set(all).size, all.length, `no address twice: ${all.sort().join(' ')}`);
      const stored = await s.list('dhcp-lease', { refersTo: d.id });
      assert.equal(stored.length, 2 * each, 'the range is exactly full');
      // In one process, many allocations at once through one handle settle too.
      const { d: d2 } = await subnet('192.0.2.100', '192.0.2.115');
      const got = await Promise.all(
        Array.from({ length: 16 }, (_, i) => allocate(s, d2.name, { mac: mac(i), now: T0 })),
      );
      assert.equal(new Set(got.map((l) => l.address)).size, 16);
    });
  });
}
