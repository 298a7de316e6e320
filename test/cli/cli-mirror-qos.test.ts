/**
 * midonet-cli for port mirrors and port QoS: bad input (a mirror whose destination is one of its
 * sources, an unknown port, no source, a filter reading connection state; a rate of 0, a burst without
 * a rate) gets one clear line naming the option or field and the value, a non-zero exit, and nothing
 * written; good input round-trips.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner } from '../support/cli-runner.js';

let dir: string;
let store: string;

const { ok, fails } = cliRunner(() => store);

describe('midonet-cli: port mirrors and port QoS', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midonet-cli-mq-'));
    store = `sqlite:${join(dir, 'state.db')}`;
    await ok('bridge', 'create', 'br');
    await ok('bridge', 'create', 'br2');
    for (const p of ['vm1', 'vm2', 'tap-port']) await ok('port', 'create', p, '--bridge', 'br');
    await ok('port', 'create', 'other', '--bridge', 'br2');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a mirror whose destination is a source, an unknown port, no source; writes nothing', async () => {
    await fails(
      ['mirror', 'create', 'm', '--ports', 'vm1,vm2', '--to-port', 'vm2'],
      1,
      /mirror\.toPortId: 'vm2' is one of the mirror's source ports; the destination must not be a source/,
    );
    await fails(
      ['mirror', 'create', 'm', '--bridge', 'br', '--to-port', 'tap-port'],
      1,
      /mirror\.toPortId: 'tap-port' is a port of the source bridge/,
    );
    await fails(
      ['mirror', 'create', 'm', '--ports', 'vm1', '--to-port', 'nosuch'],
      1,
      /no port named or with id 'nosuch'/,
    );
    await fails(
      ['mirror', 'create', 'm', '--ports', 'vm1,ghost', '--to-port', 'tap-port'],
      1,
      /no port named or with id 'ghost'/,
    );
    await fails(
      ['mirror', 'create', 'm', '--to-port', 'tap-port'],
      1,
      /mirror\.portIds: the mirror has no source/,
    );
    await fails(
      ['mirror', 'create', 'm', '--ports', 'vm1', '--to-port', 'tap-port', '--conntrack', 'new'],
      2,
      /mirror create: unknown option '--conntrack'/,
    );
    await fails(
      ['mirror', 'create', 'm', '--ports', 'vm1', '--to-port', 'tap-port', '--direction', 'sideways'],
      2,
      /--direction: 'sideways' is not valid: allowed values: in, out, both/,
    );
    assert.equal(await ok('mirror', 'list'), 'no mirror objects');
  });

  it('an update that makes the destination a source is refused and the mirror stays as it was', async () => {
    await ok('mirror', 'create', 'm1', '--bridge', 'br2', '--to-port', 'tap-port', '--proto', '17');
    await fails(
      ['mirror', 'update', 'm1', '--bridge', 'br'],
      1,
      /mirror\.toPortId: 'tap-port' is a port of the source bridge/,
    );
    const m = JSON.parse(await ok('mirror', 'show', 'm1', '--json')) as { bridgeId: string; version: number };
    assert.equal(m.version, 1);
    // Deleting the destination port is refused while the mirror exists.
    await fails(['port', 'delete', 'tap-port'], 1, /referenced by mirror 'm1' \(toPortId\)/);
    await ok('mirror', 'delete', 'm1');
  });

  it('refuses a rate of 0 and a burst without a rate; sets and clears a rate', async () => {
    await fails(
      ['port', 'update', 'vm1', '--rate-kbps', '0'],
      2,
      /--rate-kbps: '0' is not valid: expected a whole number from 1/,
    );
    await fails(
      ['port', 'update', 'vm1', '--burst-kb', '800'],
      1,
      /port\.burstKb: 800 is given without a rate; set rateKbps too/,
    );
    const before = JSON.parse(await ok('port', 'show', 'vm1', '--json')) as {
      version: number;
      rateKbps: null;
    };
    assert.equal(before.rateKbps, null);
    await ok('port', 'update', 'vm1', '--rate-kbps', '100000', '--burst-kb', '10000');
    const set = JSON.parse(await ok('port', 'show', 'vm1', '--json')) as {
      rateKbps: number;
      burstKb: number;
    };
    assert.deepEqual([set.rateKbps, set.burstKb], [100000, 10000]);
    // Clearing the rate while a burst is left is refused too: nothing half-written.
    await fails(
      ['port', 'update', 'vm1', '--rate-kbps', 'none'],
      1,
      /port\.burstKb: 10000 is given without a rate/,
    );
    await ok('port', 'update', 'vm1', '--rate-kbps', 'none', '--burst-kb', 'none');
    const cleared = JSON.parse(await ok('port', 'show', 'vm1', '--json')) as {
      rateKbps: null;
      burstKb: null;
    };
    assert.deepEqual([cleared.rateKbps, cleared.burstKb], [null, null]);
  });
});
