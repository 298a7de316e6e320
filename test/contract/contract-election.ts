/**
 * Contract aspect: leader election.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../until.js';
import type { ContractContext } from './support.js';

export function electionContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);
  it('elects one leader per group and replaces a leader that resigns', async () => {
    const s = c.fx().store;
    const group = uniq('uplink');
    const events: string[] = [];
    const a = await s.campaign(group, 'a', {
      onElected: () => events.push('a+'),
      onDeposed: () => events.push('a-'),
    });
    const other = await c.fx().reopen();
    try {
      const b = await other.campaign(group, 'b', {
        onElected: () => events.push('b+'),
        onDeposed: () => events.push('b-'),
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.leading, true, 'the first candidate leads');
      assert.equal(b.leading, false, 'only one leader');
      await a.resign();
      await until(() => b.leading, {
        what: 'the standby taking over after the leader resigns',
        timeoutMs: 15000,
      });
      assert.deepEqual(events, ['a+', 'b+']);
      await b.resign();
    } finally {
      await other.close();
    }
  });
}
