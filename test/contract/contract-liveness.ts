/**
 * Contract aspect: host liveness.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContractContext } from './support.js';

export function livenessContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);
  it('records host liveness', async () => {
    const s = c.fx().store;
    const h = await s.create('host', { name: uniq('h') });
    await s.heartbeat(h.id, 60000, { agentVersion: '0.1.0' });
    let l = (await s.liveness()).find((x) => x.hostId === h.id);
    assert.equal(l?.alive, true);
    assert.equal(l?.info.agentVersion, '0.1.0');
    await s.goodbye(h.id);
    l = (await s.liveness()).find((x) => x.hostId === h.id);
    assert.equal(l?.alive, false);
  });

  it('renews liveness with the newest info, and a beat after goodbye makes the host alive again', async () => {
    const s = c.fx().store;
    const h = await s.create('host', { name: uniq('h') });
    await s.heartbeat(h.id, 60000, { flows: 1 });
    await s.heartbeat(h.id, 60000, { flows: 2 });
    let l = (await s.liveness()).find((x) => x.hostId === h.id);
    assert.equal(l?.alive, true);
    assert.equal(l?.info.flows, 2);
    await s.goodbye(h.id);
    await s.heartbeat(h.id, 60000, { flows: 3 });
    l = (await s.liveness()).find((x) => x.hostId === h.id);
    assert.equal(l?.alive, true);
    assert.equal(l?.info.flows, 3);
  });
}
