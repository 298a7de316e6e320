/**
 * Contract aspect: port mirrors and port QoS. A mirror with port and bridge sources and a filter is
 * stored and updated; the issue's bad inputs (a destination that is one of its sources, directly or
 * as a port of its source bridge; an unknown port; no source; a rate of 0; a burst without a rate)
 * are refused naming the field and the value, and nothing is written; a source port's delete clears
 * it from the mirror, the destination's is refused while the mirror exists.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { rejects, type ContractContext } from './support.js';

const GHOST = '6f1c9d2e-0b7a-4c1e-9a55-3f0d2b8c4e11';

export function mirrorContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);

  async function world() {
    const s = c.fx().store;
    const br = await s.create('bridge', { name: uniq('mir-br') });
    const br2 = await s.create('bridge', { name: uniq('mir-br2') });
    const a = await s.create('port', { name: uniq('mir-a'), deviceId: br.id });
    const b = await s.create('port', { name: uniq('mir-b'), deviceId: br.id });
    const tap = await s.create('port', { name: uniq('mir-tap'), deviceId: br2.id });
    return { s, br, br2, a, b, tap };
  }

  it('stores a mirror with sources, a direction, a filter and a destination', async () => {
    const { s, br, a, b, tap } = await world();
    const m = await s.create('mirror', {
      name: uniq('m'),
      portIds: [a.id],
      toPortId: tap.id,
      conditions: { ipProto: { value: 17 }, dstPort: { value: '5000-5010' } },
    });
    assert.equal(m.direction, 'both');
    assert.deepEqual(m.conditions.dstPort, { value: { start: 5000, end: 5010 }, invert: false });
    const u = await s.update('mirror', m.id, { bridgeId: br.id, portIds: [], direction: 'in' });
    assert.equal(u.version, 2);
    await s.update('mirror', m.id, { portIds: [b.id], bridgeId: null });
    // A source port's delete clears it from the mirror.
    await s.delete('port', b.id);
    assert.deepEqual((await s.get('mirror', m.id))!.portIds, []);
    // The destination cannot go while the mirror exists.
    await rejects(s.delete('port', tap.id), 'referenced', /mirror '.*' \(toPortId\)/);
    await s.delete('mirror', m.id);
  });

  it('refuses a destination that is a source, an unknown port, no source; writes nothing', async () => {
    const { s, br, a, b, tap } = await world();
    const before = (await s.list('mirror')).length;
    const name = uniq('bad');
    await rejects(
      s.create('mirror', { name, portIds: [a.id, b.id], toPortId: b.id }),
      'invalid',
      /mirror\.toPortId: '.*mir-b.*' is one of the mirror's source ports/,
    );
    await rejects(
      s.create('mirror', { name, bridgeId: br.id, toPortId: a.id }),
      'invalid',
      /mirror\.toPortId: '.*mir-a.*' is a port of the source bridge/,
    );
    await rejects(
      s.create('mirror', { name, portIds: [a.id], toPortId: GHOST }),
      'not-found',
      new RegExp(`toPortId.*${GHOST}`),
    );
    await rejects(
      s.create('mirror', { name, portIds: [GHOST], toPortId: tap.id }),
      'not-found',
      new RegExp(`portIds.*${GHOST}`),
    );
    await rejects(
      s.create('mirror', { name, toPortId: tap.id }),
      'invalid',
      /mirror\.portIds: the mirror has no source/,
    );
    await rejects(
      s.create('mirror', {
        name,
        portIds: [a.id],
        toPortId: tap.id,
        conditions: { conntrack: { value: 'new' } },
      }),
      'invalid',
      /conntrack/,
    );
    assert.equal((await s.list('mirror')).length, before, 'nothing written');
    // An update that would make the destination a source leaves the mirror as it was.
    const m = await s.create('mirror', { name, portIds: [a.id], toPortId: tap.id });
    await rejects(
      s.update('mirror', m.id, { portIds: [a.id, tap.id] }),
      'invalid',
      /is one of the mirror's source ports/,
    );
    assert.equal((await s.get('mirror', m.id))!.version, 1);
    await s.delete('mirror', m.id);
  });

  it('refuses a rate of 0 and a burst without a rate on a port, naming field and value', async () => {
    const { s, a } = await world();
    await rejects(s.update('port', a.id, { rateKbps: 0 }), 'invalid', /rateKbps.*0|0.*rateKbps/);
    await rejects(
      s.update('port', a.id, { burstKb: 500 }),
      'invalid',
      /port\.burstKb: 500 is given without a rate/,
    );
    assert.equal((await s.get('port', a.id))!.version, 1, 'nothing written');
    const p = await s.update('port', a.id, { rateKbps: 100000, burstKb: 10000 });
    assert.deepEqual([p.rateKbps, p.burstKb], [100000, 10000]);
  });
}
