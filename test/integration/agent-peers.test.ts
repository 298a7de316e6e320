/**
 * The channel between agents on loopback, with real ZeroMQ and CURVE: a message sent by a known agent
 * arrives; a connection from a key no live agent published is refused in the handshake and counted,
 * and its messages never arrive.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { curveKeyPair } from 'zeromq';
import { PeerChannel } from '../../src/agent/peers.js';
import type { PeerMessage } from '../../src/agent/peer-codec.js';
import { createLogger } from '../../src/log.js';
import { until } from '../until.js';

const log = createLogger({ name: 'test', level: 'silent' });
const channels: PeerChannel[] = [];
after(() => {
  for (const c of channels) c.close();
});

function channel(hostId: string, got: PeerMessage[]): PeerChannel {
  const c = new PeerChannel(hostId, curveKeyPair(), (m) => got.push(m), log);
  channels.push(c);
  return c;
}

const hello = (from: string): PeerMessage => ({
  kind: 'learned',
  from,
  entries: [
    { table: 'arp', scope: 'r1', key: '192.0.2.1', value: '020000000001', origin: from, expiresAt: 1e13 },
  ],
});

test('agents that know each other exchange messages; an unknown key is refused and counted', async () => {
  const gotA: PeerMessage[] = [];
  const gotB: PeerMessage[] = [];
  const gotX: PeerMessage[] = [];
  const a = channel('a', gotA);
  const b = channel('b', gotB);
  const x = channel('x', gotX);
  await a.listen('tcp://127.0.0.1:0');
  await b.listen('tcp://127.0.0.1:0');
  const info = (c: PeerChannel, hostId: string) => ({ hostId, endpoint: c.endpoint!, key: c.publicKey });
  a.setPeers([info(b, 'b')]);
  b.setPeers([info(a, 'a')]);
  // x knows a, but a does not know x.
  x.setPeers([info(a, 'a')]);
  await until(
    () => {
      b.send('a', hello('b'));
      x.send('a', hello('x'));
      return gotA.some((m) => m.from === 'b');
    },
    { timeoutMs: 10000, what: 'a message from b reaches a' },
  );
  await until(() => a.stats.refusedKeys > 0, { timeoutMs: 10000, what: "a refuses x's key" });
  assert.ok(!gotA.some((m) => m.from === 'x'), 'nothing from the unknown key arrived');
  assert.deepEqual(
    gotA.find((m) => m.from === 'b'),
    hello('b'),
  );
});
