/**
 * Contract aspect: objects. Create, read, list, update and delete of every kind; references that
 * block a delete unless cascading; versions that refuse stale writes; transactions that apply all or
 * nothing; an update that changes nothing writes nothing; an id created again after a delete.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kind, Obj } from '../../src/state/model.js';
import { rejects, type ContractContext } from './support.js';

export function objectsContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);
  it('creates, reads, lists, updates and deletes every kind', async () => {
    const s = c.fx().store;
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
  it('refuses to delete what others reference unless cascading', async () => {
    const s = c.fx().store;
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
    const s = c.fx().store;
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
    const s = c.fx().store;
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

  it('writes nothing for an update that changes nothing: unlinking an unlinked port, unbinding an unbound one', async () => {
    const s = c.fx().store;
    const br = await s.create('bridge', { name: uniq('br') });
    const p = await s.create('port', { name: uniq('p'), deviceId: br.id });
    const before = await s.position();
    const unlinked = await s.transact([{ op: 'update', kind: 'port', id: p.id, set: { peerId: null } }]);
    assert.equal(unlinked.position, 0, 'no change was committed');
    assert.deepEqual(unlinked.changes, []);
    assert.equal((unlinked.results[0] as typeof p).version, 1, 'the result is the stored object');
    const unbound = await s.update('port', p.id, { hostId: null, interfaceName: null });
    assert.equal(unbound.version, 1);
    const same = await s.update(
      'bridge',
      br.id,
      { name: br.name, adminStateUp: true },
      { expectedVersion: 1 },
    );
    assert.equal(same.version, 1);
    assert.equal(await s.position(), before, 'nothing was logged');
    assert.equal((await s.get('port', p.id))!.version, 1);
    await rejects(
      s.update('bridge', br.id, { adminStateUp: true }, { expectedVersion: 7 }),
      'conflict',
      /version 7 expected but the stored version is 1/,
    );
  });

  it('shows an id deleted and created again as the new object everywhere', async () => {
    const s = c.fx().store;
    const id = '22222222-2222-4222-8222-222222222222';
    const first = await s.create('bridge', { name: uniq('br') }, { id });
    await s.update('bridge', id, { vlanAware: true });
    await s.delete('bridge', id);
    assert.equal(await s.get('bridge', id), undefined);
    const again = await s.create('bridge', { name: uniq('br') }, { id });
    assert.equal(again.version, 1);
    assert.deepEqual(await s.get('bridge', id), again);
    assert.deepEqual((await s.resolve('bridge', again.name)).id, id);
    await rejects(s.resolve('bridge', first.name), 'not-found', /no bridge named or with id/);
    assert.deepEqual(
      (await s.list('bridge')).filter((b) => b.id === id),
      [again],
      'listed once, as it is now',
    );
    const snap = await s.snapshot();
    assert.deepEqual(
      snap.objects.filter((o) => o.object.id === id).map((o) => o.object),
      [again],
    );
  });
}
