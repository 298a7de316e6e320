// Port QoS (src/agent/qos.ts): which meters the local ports want (a rate, a default burst, a tunnel
// key within the datapath's meter ids), their ovs-ofctl text, and the sync's diff: only what changed
// is sent, and the ports whose meter changed are returned for their flows to be redone.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import { addFlow } from '../../src/agent/flow-mods.js';
import { MAX_METER_ID, PortMeters, defaultBurstKb, desiredMeters, meterText } from '../../src/agent/qos.js';
import { Tags } from '../../src/sim/tags.js';
import { TopologyBuilder } from '../../src/sim/builder.js';

function ports(specs: Array<Record<string, unknown>>) {
  const b = new TopologyBuilder();
  const br = b.bridge('br');
  for (const [i, s] of specs.entries()) b.port(br, `p${i}`, s);
  return b.build().all('port');
}

describe('port QoS meters', () => {
  it('a rated port wants a meter named by its tunnel key, with a default burst of 200 ms', () => {
    const all = ports([{ rateKbps: 100_000 }, {}, { rateKbps: 5000, burstKb: 800 }]);
    const [a, , c] = all;
    const { meters, unmetered } = desiredMeters(all);
    assert.deepEqual(unmetered, []);
    assert.deepEqual(
      [...meters.values()].map((m) => [m.portId, m.meterId, m.rateKbps, m.burstKb]),
      [
        [a!.id, a!.tunnelKey, 100_000, 20_000],
        [c!.id, c!.tunnelKey, 5000, 800],
      ],
    );
    assert.equal(defaultBurstKb(3), 1);
    assert.equal(
      meterText(meters.get(a!.tunnelKey)!),
      `meter=${a!.tunnelKey},kbps,burst,stats,band=type=drop,rate=100000,burst_size=20000`,
    );
  });

  it('a tunnel key above the highest meter id is reported, not metered', () => {
    const { meters, unmetered } = desiredMeters(ports([{ rateKbps: 1000, tunnelKey: MAX_METER_ID + 1 }]));
    assert.equal(meters.size, 0);
    assert.deepEqual(unmetered, ['p0']);
  });

  it('a sync sends only the difference and names the ports whose flows must be redone', async () => {
    const sent: string[] = [];
    const ofctl = (args: readonly string[]) => {
      sent.push(args.join(' '));
      return Promise.resolve('');
    };
    const pm = new PortMeters(createLogger({ name: 'test', level: 'silent' }));
    const [a, b] = ports([{ rateKbps: 1000 }, { rateKbps: 2000 }]);
    const want1 = desiredMeters([a!, b!]).meters;
    assert.deepEqual(await pm.sync(ofctl, 'br-int', want1, true), [Tags.port(a!.id), Tags.port(b!.id)]);
    assert.equal(sent[0], 'del-meters br-int');
    assert.match(sent[1]!, /^add-meter br-int meter=\d+,kbps/);
    assert.equal(pm.meterFor(a!.id), a!.tunnelKey);
    sent.length = 0;
    assert.deepEqual(await pm.sync(ofctl, 'br-int', want1, false), [], 'nothing changed');
    assert.deepEqual(sent, []);
    const want2 = desiredMeters([{ ...a!, rateKbps: 3000 }]).meters;
    const changed = await pm.sync(ofctl, 'br-int', want2, false);
    assert.deepEqual(sent, [
      `del-meter br-int meter=${b!.tunnelKey}`,
      `mod-meter br-int ${meterText(want2.get(a!.tunnelKey)!)}`,
    ]);
    assert.deepEqual(changed.sort(), [Tags.port(b!.id), Tags.port(a!.id)].sort());
    assert.equal(pm.meterFor(b!.id), undefined);
  });

  it('a flow of a metered port carries the meter instruction before its actions', () => {
    const msg = addFlow(
      7,
      [{ field: 'in_port', value: 1 }],
      [{ type: 'output', port: 2, maxLen: 0 }],
      { idleTimeout: 5, priority: 10 },
      42,
    );
    assert.equal(msg.type, 'flow_mod');
    if (msg.type !== 'flow_mod') return;
    assert.deepEqual(
      msg.instructions.map((i) => i.type),
      ['meter', 'apply_actions'],
    );
    const plain = addFlow(7, [], [], { idleTimeout: 5, priority: 10 });
    assert.equal(plain.type === 'flow_mod' && plain.instructions.length, 0);
  });
});
