/**
 * Round trips of what the golden tests do not reach: fields and items the codec does not describe
 * (NXM registers, experimenter actions, meter instructions, unknown HELLO elements and multipart
 * kinds) pass through byte for byte; address text forms normalise; helpers answer as documented.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  decodeMessage,
  encodeMessage,
  findField,
  helloOffersOpenFlow13,
  type Message,
  type MessageOf,
  OFP_NO_BUFFER,
  OFPG,
  OFPP,
} from '../../src/openflow/index.js';

function roundTrip(msg: Message): Buffer {
  const bytes = encodeMessage(msg);
  const r = decodeMessage(bytes);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.msg, msg);
  assert.deepEqual(encodeMessage(r.msg), bytes);
  return bytes;
}

function flowMod(
  match: MessageOf<'flow_mod'>['match'],
  instructions: MessageOf<'flow_mod'>['instructions'],
): Message {
  return {
    type: 'flow_mod',
    xid: 1,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 1,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match,
    instructions,
  };
}

test('in_phy_port, experimenter actions, meter and unknown instructions pass through', () => {
  roundTrip(
    flowMod(
      [
        { field: 'in_port', value: 1 },
        { field: 'in_phy_port', value: 1 },
        {
          field: 'raw',
          oxmClass: 0xffff,
          oxmField: 1,
          hasMask: false,
          payload: Buffer.from('4f4e4600' + '0001', 'hex'),
        },
      ],
      [
        { type: 'meter', meterId: 7 },
        {
          type: 'apply_actions',
          actions: [
            { type: 'copy_ttl_out' },
            { type: 'copy_ttl_in' },
            { type: 'set_queue', queueId: 2 },
            // Nicira experimenter action (NXAST_RESUBMIT), carried verbatim.
            { type: 'raw', code: 0xffff, body: Buffer.from('0000232000010001' + '00000000', 'hex') },
          ],
        },
        { type: 'raw', code: 0xffff, body: Buffer.from('00002320', 'hex') },
      ],
    ),
  );
});

test('unknown HELLO elements and multipart kinds pass through', () => {
  roundTrip({
    type: 'hello',
    xid: 1,
    version: 4,
    elements: [
      { type: 'raw', code: 9, body: Buffer.from('abcdef', 'hex') },
      { type: 'versionbitmap', bitmaps: [0x12] },
    ],
  });
  roundTrip({
    type: 'multipart_request',
    xid: 2,
    flags: 0,
    body: { type: 'raw', code: 4, body: Buffer.alloc(8, 0xff) },
  });
  roundTrip({
    type: 'multipart_reply',
    xid: 2,
    flags: 1,
    body: { type: 'raw', code: 3, body: Buffer.alloc(24, 1) },
  });
});

test('address text forms: MACs lowercase, IPv6 RFC 5952', () => {
  const bytes = encodeMessage(
    flowMod(
      [
        { field: 'eth_dst', value: 'AA:BB:CC:DD:EE:0F' },
        { field: 'eth_type', value: 0x86dd },
        { field: 'ipv6_src', value: '2001:0DB8:0000:0000:0000:0000:0000:0001' },
        { field: 'ipv6_dst', value: '::ffff:192.0.2.1' },
      ],
      [],
    ),
  );
  const r = decodeMessage(bytes);
  assert.ok(r.ok && r.msg.type === 'flow_mod');
  assert.deepEqual(r.msg.match, [
    { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:0f' },
    { field: 'eth_type', value: 0x86dd },
    { field: 'ipv6_src', value: '2001:db8::1' },
    { field: 'ipv6_dst', value: '::ffff:192.0.2.1' },
  ]);
  assert.deepEqual(findField(r.msg.match, 'ipv6_src'), { field: 'ipv6_src', value: '2001:db8::1' });
  assert.equal(findField(r.msg.match, 'tcp_dst'), undefined);
});

test('helloOffersOpenFlow13 reads the bitmap, or the version when there is none', () => {
  const hello = (version: number, bitmaps?: number[]): MessageOf<'hello'> => ({
    type: 'hello',
    xid: 1,
    version,
    elements: bitmaps === undefined ? [] : [{ type: 'versionbitmap', bitmaps }],
  });
  assert.equal(helloOffersOpenFlow13(hello(6, [0x52])), true);
  assert.equal(helloOffersOpenFlow13(hello(6, [0x42])), false);
  assert.equal(helloOffersOpenFlow13(hello(4)), true);
  assert.equal(helloOffersOpenFlow13(hello(1)), false);
});
