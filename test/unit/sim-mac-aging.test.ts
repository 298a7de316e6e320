// MAC aging (MemoryMacTable.age): an entry installed flows still learn from is refreshed once a third
// of its lifetime has passed; a silent one expires at its lifetime and its tag is returned; young
// entries are left alone.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MemoryMacTable } from '../../src/sim/runtime-state.js';
import { Tags } from '../../src/sim/tags.js';

describe('MAC aging', () => {
  it('expires silent entries at their lifetime, refreshes entries in use, leaves young ones', () => {
    const t = new MemoryMacTable(3000);
    t.learn('br', 0, 0xa, 'p1', 0);
    t.learn('br', 0, 0xb, 'p2', 0);
    t.learn('br', 7, 0xc, 'p3', 2500);
    const busy = (b: string, vlan: number, mac: number) => b === 'br' && vlan === 0 && mac === 0xb;
    assert.deepEqual(t.age(900, busy), { expired: [], refreshed: [] }, 'under a third of the lifetime');
    const r1 = t.age(1500, busy);
    assert.deepEqual(r1.expired, []);
    assert.deepEqual(r1.refreshed, [{ bridgeId: 'br', vlan: 0, mac: 0xb, portId: 'p2' }]);
    const r2 = t.age(3000, busy);
    assert.deepEqual(r2.expired, [Tags.mac('br', 0, 0xa)], 'the silent entry expired');
    assert.equal(t.lookup('br', 0, 0xa, 3000), undefined);
    assert.equal(t.lookup('br', 0, 0xb, 3000)?.portId, 'p2', 'the busy one lives on');
    assert.equal(t.lookup('br', 7, 0xc, 3000)?.portId, 'p3', 'the young one too');
    assert.deepEqual(t.age(5600, () => false).expired, [Tags.mac('br', 7, 0xc)]);
  });
});
