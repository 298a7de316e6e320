/**
 * The first packet across hosts waits for the egress agent (flow-sharing.ts): the forward flow is
 * installed at once, but the packet's PACKET_OUT is held until the egress host's agent answers that
 * the reply's flow is in its switch, or until the bounded wait runs out; a host that did not answer
 * in time is not waited for again until it answers. Timers are a recorder, fired by the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowController, Later, PeerSender } from '../../src/agent/controller.js';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../src/agent/peer-codec.js';
import type { Outgoing } from '../../src/openflow/index.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { bridgeWorld, HOST, OTHER } from '../support/bridge-world.js';
import { controllerOn, udp6Frame } from '../support/ipv6-world.js';
import { packetIn as pin } from '../support/packet-in.js';

const A = '02:00:00:00:00:01';
const C = '02:00:00:00:00:03';
const IP_A = '2001:db8::a';
const IP_C = '2001:db8::c';

const udpFrame = udp6Frame;

interface Lab {
  hv1: FlowController;
  hv2: FlowController;
  told: PeerMessage[];
  timers: Array<{ ms: number; release: () => Outgoing[] }>;
  /** Broadcasts (learned entries), for hv2 to apply. */
  said: PeerMessage[];
}

/** hv1 (A) and hv2 (C), each knowing where the other's VM is; hv1 has a timer recorder (`timer`). */
function lab(timer = true): Lab {
  const { b } = bridgeWorld();
  const told: PeerMessage[] = [];
  const said: PeerMessage[] = [];
  const timers: Lab['timers'] = [];
  const peers: PeerSender = {
    send: (_host, m) => {
      told.push(m);
      return true;
    },
    broadcast: (m) => void said.push(m),
  };
  const later: Later = (ms, release) => void timers.push({ ms, release });
  const hv1 = controllerOn(
    b.build(),
    HOST,
    { tap1: 1, tap2: 2, 'tun-gre': 10 },
    timer ? { peers, later } : { peers },
  );
  const hv2 = controllerOn(b.build(), OTHER, { tap3: 3, 'tun-gre': 10 }, { peers });
  hv2.packetIn(pin(udpFrame(C, A, IP_C, IP_A, 1, 2), 3), 1000);
  for (const m of said.splice(0)) if (m.kind === 'learned') hv1.applyLearned(m.entries, 1001);
  return { hv1, hv2, told, timers, said };
}

const packetOuts = (out: readonly Outgoing[]) => out.filter((m) => m.type === 'packet_out');

test("the first packet goes out on the egress agent's answer, written after the reply's flow", () => {
  const { hv1, hv2, told, timers, said } = lab();
  const frame = udpFrame(A, C, IP_A, IP_C, 4000, 53);
  const out = hv1.packetIn(pin(frame, 1), 1002);
  for (const m of said.splice(0)) if (m.kind === 'learned') hv2.applyLearned(m.entries, 1002);
  assert.deepEqual(new FakeOfTable().apply(out).outPorts(1, frame), [10], 'the forward flow is installed');
  assert.equal(packetOuts(out).length, 0, 'the packet itself waits');
  assert.equal(timers.length, 1);
  assert.equal(timers[0]!.ms, 5, 'for at most 5 ms');
  const ask = told.find((m) => m.kind === 'replyFlow');
  assert.ok(ask?.kind === 'replyFlow' && ask.id !== 0, 'hv1 asks hv2, with an id to answer');
  const got = decodePeerMessage(encodePeerMessage(ask));
  assert.ok(got.ok && got.msg.kind === 'replyFlow' && got.msg.id === ask.id, 'the id survives the wire');
  const sw2 = new FakeOfTable().apply(hv2.remoteReply(got.msg.portId, got.msg.packet, 1003));
  assert.deepEqual(sw2.outPorts(3, udpFrame(C, A, IP_C, IP_A, 53, 4000)), [10], "hv2 has the reply's flow");
  const released = hv1.sharing.answered(OTHER, ask.id);
  assert.equal(packetOuts(released).length, 1, 'the answer lets the packet go');
  const po = released[0]!;
  assert.ok(po.type === 'packet_out' && Buffer.compare(po.data, frame) === 0, 'with its own bytes');
  assert.deepEqual(timers[0]!.release(), [], 'the timer then finds nothing');
  assert.deepEqual(hv1.sharing.answered(OTHER, ask.id), [], 'nor does a second answer');
  assert.equal(hv1.stats.replyFlowAnswers, 1);
  assert.equal(hv1.sharing.holding, 0);
});

test('no answer in time: the packet goes on the timer, and that host is not waited for until it answers', () => {
  const { hv1, told, timers } = lab();
  const out = hv1.packetIn(pin(udpFrame(A, C, IP_A, IP_C, 4000, 53), 1), 1002);
  assert.equal(packetOuts(out).length, 0);
  assert.equal(packetOuts(timers[0]!.release()).length, 1, 'the timer lets the packet go');
  assert.equal(hv1.stats.replyFlowWaitsExpired, 1);
  const first = told.find((m) => m.kind === 'replyFlow');
  // The next new flow to that host is asked for but not held.
  hv1.forgetFlows();
  const out2 = hv1.packetIn(pin(udpFrame(A, C, IP_A, IP_C, 4001, 53), 1), 1003);
  assert.equal(packetOuts(out2).length, 1, 'not held while hv2 is silent');
  assert.equal(told.filter((m) => m.kind === 'replyFlow').length, 2, 'still asked');
  // A late answer: hv2 is waited for again.
  assert.ok(first?.kind === 'replyFlow');
  assert.deepEqual(hv1.sharing.answered(OTHER, first.id), [], 'nothing is held for it any more');
  hv1.forgetFlows();
  const out3 = hv1.packetIn(pin(udpFrame(A, C, IP_A, IP_C, 4002, 53), 1), 1004);
  assert.equal(packetOuts(out3).length, 0, 'held again');
});

test('without a timer nothing is held', () => {
  const { hv1, told } = lab(false);
  const out = hv1.packetIn(pin(udpFrame(A, C, IP_A, IP_C, 4000, 53), 1), 1002);
  assert.equal(packetOuts(out).length, 1);
  assert.ok(
    told.some((m) => m.kind === 'replyFlow'),
    'the reply flow is still asked for',
  );
});
