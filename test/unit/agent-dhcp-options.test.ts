// DHCP options beyond the basics, against golden bytes: domain name (15), classless static routes (121,
// RFC 3442) with the gateway's default route added, operator-defined options by number; the option 121
// codec both ways and its malformed variants; the model's refusals for bad values.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { classifyDhcp, dhcpReply, type DhcpIntent } from '../../src/agent/dhcp-server.js';
import {
  buildDhcp,
  parseDhcp,
  DhcpMessageType as D,
  type Dhcp,
  type DhcpOption,
} from '../../src/packet/index.js';
import { parseFields } from '../../src/state/model-parse.js';
import { TEST_SERVER_IP, TEST_VM_MAC, testSubnet } from '../support/dhcp-subnet.js';
import { dhcpClientFrame } from '../support/dhcp-client-frame.js';

const VM = TEST_VM_MAC;
const SERVER = TEST_SERVER_IP;
const SUBNET = testSubnet({
  domainName: 'tenant.example',
  staticRoutes: [{ destination: '198.51.100.0/24', gateway: '192.0.2.254' }],
  extraOptions: [{ code: 252, hex: '687474703a2f2f77706164' }],
  hosts: [],
});

const hex = (s: string) => s.replace(/\s+/g, '');

/** The DHCP message of a client frame carrying just `options` (no message type). */
function message(options: DhcpOption[]): Uint8Array {
  return dhcpClientFrame({ src: VM, options }).subarray(14 + 20 + 8);
}

/** The option bytes of a DHCP message (after the 236-byte header and the magic cookie), as hex. */
function optionHex(dhcp: Uint8Array): string {
  return Buffer.from(dhcp.subarray(240)).toString('hex');
}

void test('option 121: golden bytes both ways (RFC 3442 widths 24, 20, 0)', () => {
  const routes = [
    { destination: '198.51.100.0/24', router: '192.0.2.254' },
    { destination: '203.0.112.0/20', router: '192.0.2.254' },
    { destination: '0.0.0.0/0', router: '192.0.2.1' },
  ];
  const bytes = message([{ type: 'classlessRoutes', value: routes }]);
  const golden = hex(`
    79 15
      18 c6 33 64       c0 00 02 fe
      14 cb 00 70       c0 00 02 fe
      00                c0 00 02 01
    ff`);
  assert.equal(optionHex(bytes).slice(0, golden.length), golden);
  const back = parseDhcp(bytes);
  if (back.kind !== 'dhcp') throw new Error(back.reason);
  assert.deepEqual(back.options, [{ type: 'classlessRoutes', value: routes }]);
  assert.deepEqual(buildDhcp(back), bytes, 'lossless');
});

void test('option 121: malformed routes make the message malformed, with the reason', () => {
  const withOption = (data: string): Uint8Array => {
    const base = message([{ type: 'raw', code: 121, data: Buffer.from(data, 'hex') }]);
    return base;
  };
  const cases: Array<[string, string, RegExp]> = [
    ['a prefix length above 32', '21c0000201c0000201', /prefix length 33, above 32/],
    ['a route cut short', '18c63364c00002', /runs past/],
  ];
  for (const [what, data, reason] of cases) {
    const r = parseDhcp(withOption(data));
    assert.equal(r.kind, 'malformed', what);
    assert.match(r.kind === 'malformed' ? r.reason : '', reason, what);
  }
});

void test('an OFFER carries domain name, classless routes (with the default route) and extra options: golden bytes', () => {
  const i = classifyDhcp(dhcpClientFrame({ type: D.DISCOVER, src: VM }), SUBNET, SERVER) as Extract<
    DhcpIntent,
    { msg: Dhcp }
  >;
  const frame = dhcpReply(
    i,
    { kind: 'address', address: '192.0.2.100', hostname: 'vm1' },
    {
      subnet: SUBNET,
      server: { ip: SERVER, mac: '02:00:00:00:00:01' },
      mtu: 1450,
    },
  );
  const golden = hex(`
    35 01 02
    36 04 c0 00 02 01
    33 04 00 00 0e 10
    3a 04 00 00 07 08
    3b 04 00 00 0c 4e
    01 04 ff ff ff 00
    03 04 c0 00 02 01
    06 04 c0 00 02 35
    0c 03 76 6d 31
    0f 0e 74 65 6e 61 6e 74 2e 65 78 61 6d 70 6c 65
    1a 02 05 aa
    79 0d 18 c6 33 64 c0 00 02 fe 00 c0 00 02 01
    fc 0b 68 74 74 70 3a 2f 2f 77 70 61 64
    ff`);
  const dhcp = frame.subarray(14 + 20 + 8);
  assert.equal(optionHex(dhcp).slice(0, golden.length), golden);
});

void test('an explicit default static route replaces the gateway one in option 121', () => {
  const subnet = {
    ...SUBNET,
    staticRoutes: [{ destination: '0.0.0.0/0', gateway: '192.0.2.254' }],
    extraOptions: [],
  };
  const i = classifyDhcp(dhcpClientFrame({ type: D.DISCOVER, src: VM }), subnet, SERVER) as Extract<
    DhcpIntent,
    { msg: Dhcp }
  >;
  const frame = dhcpReply(
    i,
    { kind: 'address', address: '192.0.2.100' },
    {
      subnet,
      server: { ip: SERVER, mac: '02:00:00:00:00:01' },
      mtu: 0,
    },
  );
  const parsed = parseDhcp(frame.subarray(42));
  assert.equal(parsed.kind, 'dhcp');
  const o121 = parsed.kind === 'dhcp' ? parsed.options.find((o) => o.type === 'classlessRoutes') : undefined;
  assert.deepEqual(o121, {
    type: 'classlessRoutes',
    value: [{ destination: '0.0.0.0/0', router: '192.0.2.254' }],
  });
});

void test('the model refuses bad DHCP option values, naming the field', () => {
  const dhcp = (extra: Record<string, unknown>) =>
    parseFields('dhcp', { name: 'd', bridgeId: SUBNET.bridgeId, subnet: '192.0.2.0/24', ...extra });
  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'an option the server writes',
      { extraOptions: [{ code: 53, hex: '01' }] },
      'extraOptions.0.code',
      /written by the server \(message type\)/,
    ],
    [
      'option 0',
      { extraOptions: [{ code: 0, hex: '01' }] },
      'extraOptions.0.code',
      /greater than or equal to 1|1/,
    ],
    ['odd hex', { extraOptions: [{ code: 252, hex: 'abc' }] }, 'extraOptions.0.hex', /hex digits/],
    ['an empty value', { extraOptions: [{ code: 252, hex: '' }] }, 'extraOptions.0.hex', /1 to 255 bytes/],
    [
      'a route with host bits',
      { staticRoutes: [{ destination: '198.51.100.1/24', gateway: '192.0.2.1' }] },
      'staticRoutes.0.destination',
      /host bits/,
    ],
    [
      'a route prefix over 32',
      { staticRoutes: [{ destination: '198.51.100.0/33', gateway: '192.0.2.1' }] },
      'staticRoutes.0.destination',
      /0 to 32/,
    ],
    ['a domain name with a space', { domainName: 'a b.example' }, 'domainName', /domain name/],
    [
      'a domain label over 63',
      { domainName: `${'a'.repeat(64)}.example` },
      'domainName',
      /labels of 1 to 63/,
    ],
  ];
  for (const [what, extra, field, message] of bad) {
    const r = dhcp(extra);
    assert.equal(r.ok, false, what);
    if (r.ok) continue;
    assert.equal(r.issues[0]!.field, field, what);
    assert.match(r.issues[0]!.message, message, what);
  }
  const ok = dhcp({ extraOptions: [{ code: 252, hex: 'ABCD' }], domainName: 'tenant.example' });
  assert.ok(ok.ok);
  assert.deepEqual(ok.ok && ok.fields.extraOptions, [{ code: 252, hex: 'abcd' }]);
});
