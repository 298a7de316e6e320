/**
 * The TopologyStore contract: one suite, written against the interface, run against every backend
 * (each backend's *.test.ts calls `storeContract` with a factory). It checks CRUD for every kind,
 * validation, version conflicts, atomicity, the change feed's order and resumption, and two writer
 * processes at once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { StoreError } from '../../src/state/errors.js';
import type { Change, TopologyStore } from '../../src/state/store.js';
import type { Kind, Obj } from '../../src/state/model.js';

const run = promisify(execFile);

export interface StoreFixture {
  /** A fresh, empty store. */
  readonly store: TopologyStore;
  /** A URL another process can open the same store with. */
  readonly url: string;
  /** A second handle on the same store, as another process would have. */
  reopen(): Promise<TopologyStore>;
  cleanup(): Promise<void>;
}

/** Expects a StoreError with this code whose message matches. */
export async function rejects(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Collects watch deliveries until `n` changes arrived (or times out). */
function collect(store: TopologyStore, from: number, n: number, timeoutMs = 5000): Promise<Change[]> {
  return new Promise((resolve, reject) => {
    const got: Change[] = [];
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`watch: got ${got.length} of ${n} changes in ${timeoutMs} ms`));
    }, timeoutMs);
    const w = store.watch(from, {
      onChanges: (cs) => {
        got.push(...cs);
        if (got.length >= n) {
          clearTimeout(timer);
          w.close();
          resolve(got);
        }
      },
      onError: reject,
    });
  });
}

export function storeContract(backend: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`TopologyStore contract: ${backend}`, () => {
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

    it('creates, reads, lists, updates and deletes every kind', async () => {
      const host = await s.create('host', { name: uniq('host'), addresses: ['198.51.100.1'] });
      const tz = await s.create('tunnel-zone', {
        name: uniq('tz'),
        type: 'vxlan',
        members: [{ hostId: host.id, address: '198.51.100.1' }],
      });
      const chain = await s.create('chain', { name: uniq('chain') });
      const other = await s.create('chain', { name: uniq('chain') });
      const br = await s.create('bridge', { name: uniq('br'), inboundChainId: chain.id });
      const rt = await s.create('router', { name: uniq('rt') });
      const bp = await s.create('port', {
        name: uniq('bp'),
        deviceId: br.id,
        hostId: host.id,
        interfaceName: 'veth0',
      });
      const rp = await s.create('port', { name: uniq('rp'), deviceId: rt.id, address: '192.0.2.1/24' });
      const route = await s.create('route', {
        routerId: rt.id,
        dstPrefix: '203.0.113.0/24',
        nextHopPortId: rp.id,
        gateway: '192.0.2.254',
      });
      const rule = await s.create('rule', {
        chainId: chain.id,
        action: 'jump',
        jumpChainId: other.id,
        conditions: {
          dstPrefix: { value: '192.0.2.0/24' },
          dstPort: { value: '80-90', invert: true },
          inPorts: { value: [bp.id] },
        },
      });
      const pg = await s.create('port-group', { name: uniq('pg'), portIds: [bp.id] });
      const ipg = await s.create('ip-address-group', { name: uniq('ipg'), addresses: ['192.0.2.10'] });
      const dhcp = await s.create('dhcp', {
        name: uniq('dhcp'),
        bridgeId: br.id,
        subnet: '192.0.2.0/24',
        gateway: '192.0.2.1',
        hosts: [{ mac: '02:00:00:00:00:0A', address: '192.0.2.10' }],
      });
      const peer = await s.create('bgp-peer', {
        name: uniq('peer'),
        portId: rp.id,
        peerAddress: '192.0.2.254',
        peerAs: 64512,
        localAs: 64513,
      });
      const net = await s.create('bgp-network', { routerId: rt.id, prefix: '198.51.100.0/24' });
      const all: Array<[Kind, Obj]> = [
        ['host', host],
        ['tunnel-zone', tz],
        ['chain', chain],
        ['bridge', br],
        ['router', rt],
        ['port', bp],
        ['port', rp],
        ['route', route],
        ['rule', rule],
        ['port-group', pg],
        ['ip-address-group', ipg],
        ['dhcp', dhcp],
        ['bgp-peer', peer],
        ['bgp-network', net],
      ];
      for (const [kind, o] of all) {
        assert.equal(o.version, 1);
        const got = await s.get(kind, o.id);
        assert.ok(got, `${kind} ${o.id} can be read back`);
        if (kind !== 'chain') assert.deepEqual(got, o);
        assert.ok(
          (await s.list(kind)).some((x) => x.id === o.id),
          `${kind} listed`,
        );
      }
      assert.equal(rp.deviceKind, 'router');
      assert.match(rp.mac!, /^02:/, 'a router port gets a generated MAC');
      assert.equal(dhcp.hosts[0]!.mac, '02:00:00:00:00:0a', 'MACs are normalized');
      assert.deepEqual((await s.get('rule', rule.id))!.conditions.dstPort, {
        value: { start: 80, end: 90 },
        invert: true,
      });
      assert.deepEqual((await s.get('chain', chain.id))!.ruleIds, [rule.id]);
      assert.deepEqual((await s.resolve('bridge', br.name)).id, br.id, 'resolve by name');
      assert.deepEqual((await s.resolve('bridge', br.id)).id, br.id, 'resolve by id');
      assert.deepEqual(
        (await s.list('port', { refersTo: br.id })).map((p) => p.id),
        [bp.id],
      );

      const up = await s.update('bridge', br.id, { adminStateUp: false }, { expectedVersion: 1 });
      assert.equal(up.version, 2);
      assert.equal(up.adminStateUp, false);
      assert.equal(up.inboundChainId, chain.id, 'fields not given are kept');

      // Delete in dependency order works without --cascade.
      for (const [kind, o] of [...all].reverse()) {
        if (kind === 'host') continue;
        const refs = await s.referrers(o.id);
        if (refs.length === 0) await s.delete(kind, o.id);
      }
      assert.equal(await s.get('bgp-network', net.id), undefined);
    });

    it('rejects malformed values naming field, value and what is allowed', async () => {
      const br = await s.create('bridge', { name: uniq('br') });
      const rt = await s.create('router', { name: uniq('rt') });
      await rejects(
        s.create('bridge', { name: uniq('br'), inboundChainId: 'not-a-uuid' }),
        'invalid',
        /bridge\.inboundChainId: 'not-a-uuid': expected a UUID/,
      );
      await rejects(
        s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.300/24' }),
        'invalid',
        /port\.address: '192\.0\.2\.300\/24'/,
      );
      await rejects(
        s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.1/24', mac: 'zz:00' }),
        'invalid',
        /port\.mac: 'zz:00': expected a MAC/,
      );
      await rejects(
        s.create('route', { routerId: rt.id, dstPrefix: '192.0.2.1/24', type: 'blackhole' }),
        'invalid',
        /host bits are set; did you mean 192\.0\.2\.0\/24/,
      );
      await rejects(
        s.create('route', { routerId: rt.id, dstPrefix: '192.0.2.0/24', type: 'sideways' }),
        'invalid',
        /route\.type: 'sideways': allowed values: normal, blackhole, reject/,
      );
      const chain = await s.create('chain', { name: uniq('c') });
      await rejects(
        s.create('rule', { chainId: chain.id, action: 'drop', conditions: { srcPort: { value: '90-80' } } }),
        'invalid',
        /range start is above its end/,
      );
      await rejects(
        s.create('rule', { chainId: chain.id, action: 'drop', conditions: { dstPort: { value: '70000' } } }),
        'invalid',
        /0 to 65535/,
      );
      await rejects(
        s.create('bridge', { name: uniq('br'), colour: 'blue' }),
        'invalid',
        /unknown field\(s\): colour/,
      );
      await rejects(s.create('bridge', {}), 'invalid', /bridge\.name: is required/);
      await rejects(s.create('bridge', { name: br.name }), 'exists', /already used/);
      await rejects(
        s.create('port', { name: uniq('p'), deviceId: br.id, tunnelKey: 5 }),
        'invalid',
        /tunnelKey: is set by the store/,
      );
    });

    it('rejects references that cannot work', async () => {
      const br = await s.create('bridge', { name: uniq('br') });
      const rt = await s.create('router', { name: uniq('rt') });
      const rt2 = await s.create('router', { name: uniq('rt') });
      const missing = '00000000-0000-4000-8000-000000000001';
      await rejects(
        s.create('bridge', { name: uniq('br'), inboundChainId: missing }),
        'not-found',
        /inboundChainId: no object with id/,
      );
      await rejects(
        s.create('bridge', { name: uniq('br'), inboundChainId: rt.id }),
        'invalid',
        /is a router; expected chain/,
      );
      await rejects(
        s.create('port', { name: uniq('p'), deviceId: missing }),
        'not-found',
        /no bridge or router/,
      );
      await rejects(
        s.create('port', { name: uniq('p'), deviceId: rt.id }),
        'invalid',
        /address: is required on a router port/,
      );
      const p2 = await s.create('port', { name: uniq('p'), deviceId: rt2.id, address: '192.0.2.1/24' });
      await rejects(
        s.create('route', { routerId: rt.id, dstPrefix: '0.0.0.0/0', nextHopPortId: p2.id }),
        'invalid',
        /nextHopPortId: port '.*' is not a port of router/,
      );
      await rejects(
        s.create('route', { routerId: rt.id, dstPrefix: '0.0.0.0/0' }),
        'invalid',
        /nextHopPortId: is required for a normal route/,
      );
      const a = await s.create('port', { name: uniq('a'), deviceId: br.id });
      const b = await s.create('port', { name: uniq('b'), deviceId: rt.id, address: '192.0.2.1/24' });
      const c = await s.create('port', { name: uniq('c'), deviceId: rt2.id, address: '198.51.100.1/24' });
      const linked = await s.update('port', a.id, { peerId: b.id });
      assert.equal(linked.peerId, b.id);
      assert.equal((await s.get('port', b.id))!.peerId, a.id, 'links are symmetric');
      await rejects(s.update('port', c.id, { peerId: b.id }), 'invalid', /already linked/);
      await rejects(
        s.update('port', a.id, { peerId: c.id }),
        'invalid',
        /already linked to port .*; unlink it first/,
      );
      await s.update('port', a.id, { peerId: null });
      assert.equal((await s.get('port', b.id))!.peerId, null, 'unlink clears both sides');
      const host = await s.create('host', { name: uniq('h') });
      await s.create('port', { name: uniq('x'), deviceId: br.id, hostId: host.id, interfaceName: 'tap1' });
      await rejects(
        s.create('port', { name: uniq('y'), deviceId: br.id, hostId: host.id, interfaceName: 'tap1' }),
        'exists',
        /already bound/,
      );
      // Chain cycles through jumps are refused.
      const c1 = await s.create('chain', { name: uniq('c') });
      const c2 = await s.create('chain', { name: uniq('c') });
      const c3 = await s.create('chain', { name: uniq('c') });
      await s.create('rule', { chainId: c1.id, action: 'jump', jumpChainId: c2.id });
      await s.create('rule', { chainId: c2.id, action: 'jump', jumpChainId: c3.id });
      await rejects(
        s.create('rule', { chainId: c3.id, action: 'jump', jumpChainId: c1.id }),
        'invalid',
        /would create a loop/,
      );
      await rejects(
        s.create('rule', { chainId: c3.id, action: 'jump' }),
        'invalid',
        /jumpChainId: is required for action jump/,
      );
      const dhcpBad = s.create('dhcp', {
        name: uniq('d'),
        bridgeId: br.id,
        subnet: '192.0.2.0/24',
        gateway: '203.0.113.1',
      });
      await rejects(dhcpBad, 'invalid', /dhcp\.gateway: '203\.0\.113\.1' is outside the subnet/);
    });

    it('refuses to delete what others reference unless cascading', async () => {
      const br = await s.create('bridge', { name: uniq('br') });
      const chain = await s.create('chain', { name: uniq('c') });
      const p = await s.create('port', { name: uniq('p'), deviceId: br.id, inboundChainId: chain.id });
      const d = await s.create('dhcp', { name: uniq('d'), bridgeId: br.id, subnet: '192.0.2.0/24' });
      const r1 = await s.create('rule', { chainId: chain.id, action: 'drop' });
      await rejects(
        s.delete('bridge', br.id),
        'referenced',
        new RegExp(`referenced by .*port '${p.name}' \\(deviceId\\).*--cascade`),
      );
      assert.ok(await s.get('bridge', br.id), 'nothing deleted after a refusal');
      await rejects(s.delete('chain', chain.id), 'referenced', /port .* \(inboundChainId\)/);
      // A rule is removed from its chain's order without --cascade.
      await s.delete('rule', r1.id);
      assert.deepEqual((await s.get('chain', chain.id))!.ruleIds, []);
      // Cascade: the chain goes, the port loses its inbound chain but stays.
      await s.delete('chain', chain.id, { cascade: true });
      assert.equal((await s.get('port', p.id))!.inboundChainId, null);
      const gone = await s.delete('bridge', br.id, { cascade: true });
      assert.deepEqual(new Set(gone.map((g) => g.id)), new Set([br.id, p.id, d.id]));
      assert.equal(await s.get('port', p.id), undefined);
    });

    it('refuses stale versions', async () => {
      const br = await s.create('bridge', { name: uniq('br') });
      await s.update('bridge', br.id, { vlanAware: true }, { expectedVersion: 1 });
      await rejects(
        s.update('bridge', br.id, { vlanAware: false }, { expectedVersion: 1 }),
        'conflict',
        /version 1 expected but the stored version is 2/,
      );
      await rejects(s.delete('bridge', br.id, { expectedVersion: 1 }), 'conflict', /stored version is 2/);
      assert.equal((await s.get('bridge', br.id))!.vlanAware, true);
    });

    it('applies a transaction atomically or not at all', async () => {
      const before = await s.position();
      const brId = '11111111-1111-4111-8111-111111111111';
      const name = uniq('br');
      await rejects(
        s.transact([
          { op: 'create', kind: 'bridge', id: brId, fields: { name } },
          { op: 'create', kind: 'port', fields: { name: uniq('p'), deviceId: brId } },
          {
            op: 'create',
            kind: 'route',
            fields: { routerId: brId, dstPrefix: '0.0.0.0/0', type: 'blackhole' },
          },
        ]),
        'invalid',
        /transaction step 3: .*is a bridge; expected router/,
      );
      assert.equal(await s.get('bridge', brId), undefined, 'the first step was not kept');
      assert.equal(await s.position(), before, 'no change was logged');
      const r = await s.transact([
        { op: 'create', kind: 'bridge', id: brId, fields: { name } },
        { op: 'create', kind: 'port', fields: { name: uniq('p'), deviceId: brId } },
      ]);
      assert.equal(r.changes.length, 2);
      assert.equal(r.changes[0]!.tx, r.changes[1]!.tx, 'one transaction id');
      assert.equal(r.position, r.changes[1]!.seq);
    });

    it('delivers every change in commit order and resumes from a position', async () => {
      const start = await s.position();
      const seen = collect(s, start, 5);
      const br = await s.create('bridge', { name: uniq('br') });
      await s.update('bridge', br.id, { adminStateUp: false });
      const p = await s.create('port', { name: uniq('p'), deviceId: br.id });
      await s.delete('bridge', br.id, { cascade: true });
      const got = await seen;
      assert.deepEqual(
        got.map((c) => [c.kind, c.op, c.version]),
        [
          ['bridge', 'create', 1],
          ['bridge', 'update', 2],
          ['port', 'create', 1],
          ['bridge', 'delete', 3],
          ['port', 'delete', 2],
        ],
      );
      assert.equal(got[4]!.object.id, p.id, 'a delete carries the object as it was');
      for (let i = 1; i < got.length; i++) assert.ok(got[i]!.seq > got[i - 1]!.seq, 'seq grows');
      // Resume from the middle: the rest, nothing twice.
      const resumed = await collect(s, got[1]!.seq, 3);
      assert.deepEqual(
        resumed.map((c) => c.seq),
        got.slice(2).map((c) => c.seq),
      );
      assert.deepEqual(
        (await s.changesSince(got[2]!.seq)).map((c) => c.seq).slice(0, 2),
        got.slice(3).map((c) => c.seq),
      );
    });

    it('lets another handle see commits through the watch feed', async () => {
      const other = await fx.reopen();
      try {
        const from = await other.position();
        const seen = collect(other, from, 1);
        const br = await s.create('bridge', { name: uniq('br') });
        const [c] = await seen;
        assert.equal(c!.id, br.id);
        const snap = await other.snapshot();
        assert.ok(snap.position >= c!.seq);
        assert.ok(snap.objects.some((o) => o.kind === 'bridge' && o.object.id === br.id));
      } finally {
        await other.close();
      }
    });

    it('records host liveness', async () => {
      const h = await s.create('host', { name: uniq('h') });
      await s.heartbeat(h.id, 60000, { agentVersion: '0.1.0' });
      let l = (await s.liveness()).find((x) => x.hostId === h.id);
      assert.equal(l?.alive, true);
      assert.equal(l?.info.agentVersion, '0.1.0');
      await s.goodbye(h.id);
      l = (await s.liveness()).find((x) => x.hostId === h.id);
      assert.equal(l?.alive, false);
    });

    it('elects one leader per group and replaces a leader that resigns', async () => {
      const group = uniq('uplink');
      const events: string[] = [];
      const a = await s.campaign(group, 'a', {
        onElected: () => events.push('a+'),
        onDeposed: () => events.push('a-'),
      });
      const other = await fx.reopen();
      try {
        const b = await other.campaign(group, 'b', {
          onElected: () => events.push('b+'),
          onDeposed: () => events.push('b-'),
        });
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(a.leading, true, 'the first candidate leads');
        assert.equal(b.leading, false, 'only one leader');
        await a.resign();
        const deadline = Date.now() + 15000;
        while (!b.leading && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(b.leading, true, 'the standby takes over after the leader resigns');
        assert.deepEqual(events, ['a+', 'b+']);
        await b.resign();
      } finally {
        await other.close();
      }
    });

    it('keeps two writer processes consistent', async () => {
      const writer = fileURLToPath(new URL('./writer-process.js', import.meta.url));
      const prefix = uniq('w');
      const start = await s.position();
      const count = 150;
      await Promise.all([
        run(process.execPath, [writer, fx.url, 'ports', `${prefix}-a`, String(count)]),
        run(process.execPath, [writer, fx.url, 'ports', `${prefix}-b`, String(count)]),
      ]);
      const changes = await s.changesSince(start, 100000);
      assert.equal(changes.length, 2 * (count + 1), 'every write of both processes is in the feed');
      for (let i = 1; i < changes.length; i++)
        assert.equal(changes[i]!.seq, changes[i - 1]!.seq + 1, 'no gap in the feed');
      for (const w of ['a', 'b']) {
        const br = await s.resolve('bridge', `${prefix}-${w}`);
        assert.equal((await s.list('port', { refersTo: br.id })).length, count, `ports of writer ${w}`);
      }
      const ports = await s.list('port');
      assert.equal(new Set(ports.map((p) => p.tunnelKey)).size, ports.length, 'tunnel keys stay unique');

      // Two processes update one object with the versions they read: no update is lost.
      const target = await s.create('bridge', { name: `${prefix}-shared` });
      const bumps = 60;
      await Promise.all([
        run(process.execPath, [writer, fx.url, 'bump', target.name, String(bumps)]),
        run(process.execPath, [writer, fx.url, 'bump', target.name, String(bumps)]),
      ]);
      const after = (await s.get('bridge', target.id))!;
      assert.equal(after.version, 1 + 2 * bumps, 'every accepted update raised the version once');
      assert.equal(after.adminStateUp, true, 'an even number of flips');
    });
  });
}
