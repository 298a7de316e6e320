/**
 * FRR rendering refuses, at the renderer, anything that would make one vtysh line into two: values
 * with newlines or other control characters, non-integer or out-of-range numbers, addresses and
 * prefixes that are not IPv4. Golden tests for the text of refused blocks; a property test over
 * hostile configurations (any strings, any numbers) for the invariant itself: every command is one
 * line of printable ASCII, every value rendered is a valid one, every invalid object is refused with a
 * reason, and the others are still rendered.
 */
import { strict as assert } from 'node:assert';
import { isIPv4 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  renderDiff,
  renderFull,
  renderRemove,
  scriptText,
  type BgpNeighbor,
  type BgpNetworkEntry,
  type BgpSpeakerConfig,
} from '../../src/router/frr-config.js';
import { FrrInstance } from '../../src/router/frr.js';
import { UNSAFE_TEXT } from '../../src/quote.js';
import { holds } from './property.js';

const good: BgpSpeakerConfig = {
  localAs: 64510,
  routerId: '203.0.113.1',
  neighbors: [
    { address: '203.0.113.2', remoteAs: 64500, keepalive: 1, holdTime: 3, object: "bgp-peer 'isp1'" },
  ],
  networks: [{ prefix: '192.0.2.0/25', object: 'bgp-network n1' }],
};

describe('FRR rendering of hostile values (golden)', () => {
  it('a neighbour address or a prefix carrying a second command is refused; the rest is rendered', () => {
    const cfg: BgpSpeakerConfig = {
      ...good,
      neighbors: [
        ...good.neighbors,
        {
          address: '203.0.113.6\nno router bgp 64510',
          remoteAs: 64501,
          keepalive: null,
          holdTime: null,
          object: "bgp-peer 'evil'",
        },
      ],
      networks: [{ prefix: '192.0.2.0/25 route-map x\nend', object: "bgp-network 'n2\n! injected'" }],
    };
    assert.equal(
      scriptText(renderFull(cfg, "port 'edge-up'")).split('\n').slice(15).join('\n'),
      `! bgp-peer 'evil'
! refused: neighbor address '203.0.113.6\\nno router bgp 64510' is not an IPv4 address
! bgp-network 'n2\\n! injected'
! refused: network prefix '192.0.2.0/25 route-map x\\nend' is not an IPv4 prefix (A.B.C.D/LEN)
`,
    );
  });

  it('a local AS that is not an integer 1..4294967295 refuses every block, and the removal too', () => {
    for (const as of [0, 1.5, -1, 2 ** 32, NaN, Infinity]) {
      const blocks = renderFull({ ...good, localAs: as });
      assert.ok(blocks.every((b) => b.refused?.startsWith('local AS ') === true && b.commands.length === 0));
      assert.ok(renderRemove(as).refused !== undefined);
    }
    assert.equal(
      scriptText([renderRemove(1.5, "port 'up'")]),
      `! port 'up'\n! refused: local AS 1.5 is not an AS number (an integer 1 to 4294967295)\n`,
    );
    assert.deepEqual(renderRemove(64510).commands, ['configure terminal', 'no router bgp 64510', 'end']);
  });

  it('timers FRR would refuse are refused before vtysh', () => {
    const n = (keepalive: number | null, holdTime: number | null): BgpNeighbor => ({
      ...good.neighbors[0]!,
      keepalive,
      holdTime,
    });
    const refused = (x: BgpNeighbor) => renderFull({ ...good, neighbors: [x] })[1]!.refused;
    assert.equal(
      refused(n(30000, null)),
      'timers keepalive 30000 hold 90000: the hold time must be 0 or 3 to 65535 and not below the keepalive',
    );
    assert.equal(
      refused(n(10, 2)),
      'timers keepalive 10 hold 2: the hold time must be 0 or 3 to 65535 and not below the keepalive',
    );
    assert.equal(refused(n(1.5, 3)), 'keepalive 1.5 is not a number of seconds 0 to 65535');
    assert.equal(refused(n(0, 0)), undefined);
    assert.equal(refused(n(60, 180)), undefined);
  });

  it('a diff from or to a hostile configuration refuses the hostile objects only', () => {
    const to: BgpSpeakerConfig = { ...good, routerId: '203.0.113.1\nend', networks: [] };
    const blocks = renderDiff(good, to, "port 'up'");
    assert.deepEqual(
      blocks.map((b) => [b.object, b.refused ?? b.commands.join('; ')]),
      [
        ["port 'up'", "router id '203.0.113.1\\nend' is not an IPv4 address"],
        [
          'bgp-network n1',
          'configure terminal; router bgp 64510; address-family ipv4 unicast; no network 192.0.2.0/25; exit-address-family; end',
        ],
      ],
    );
  });

  it('vtysh itself refuses a command that is not one line, without running vtysh', async () => {
    const frr = new FrrInstance('mnt-no-such-namespace');
    await assert.rejects(
      frr.vtysh(['show version\nconfigure terminal']),
      /is not one line of printable text/,
    );
    await assert.rejects(
      frr.vtyshScript(['end', 'no router bgp 1\u001b[2J']),
      /is not one line of printable text/,
    );
    await assert.rejects(
      frr.apply([
        { object: "bgp-peer 'x'", commands: [], refused: 'neighbor address "x" is not an IPv4 address' },
      ]),
      /bgp-peer 'x': not sent to vtysh: neighbor address/,
    );
  });
});

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '203.0.113.9',
    '192.0.2.0/24',
    '10.0.0.1\n',
    '\r',
    'a b',
    '1.2.3.4/33',
    '01.2.3.4',
    '0.0.0.0',
  ),
  fc.tuple(fc.ipV4(), fc.constantFrom('', '\n', '\r\nend', ' ', '\u0000', '\u2028')).map(([a, s]) => a + s),
);
const hostileNumber = fc.oneof(
  fc.integer({ min: -5, max: 2 ** 32 + 5 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, 65535, 65536, 1, 3),
);
const neighbor: fc.Arbitrary<BgpNeighbor> = fc.record({
  address: hostileString,
  remoteAs: hostileNumber,
  keepalive: fc.option(hostileNumber, { nil: null }),
  holdTime: fc.option(hostileNumber, { nil: null }),
  object: hostileString,
});
const network: fc.Arbitrary<BgpNetworkEntry> = fc.record({ prefix: hostileString, object: hostileString });
const config: fc.Arbitrary<BgpSpeakerConfig> = fc.record({
  localAs: hostileNumber,
  routerId: hostileString,
  neighbors: fc.array(neighbor, { maxLength: 4 }),
  networks: fc.array(network, { maxLength: 4 }),
});

const isAs = (v: number) => Number.isInteger(v) && v >= 1 && v <= 4294967295;
const isPrefix = (s: string) => {
  const [a, len, ...rest] = s.split('/');
  return rest.length === 0 && isIPv4(a!) && /^(3[0-2]|[12]?[0-9])$/.test(len ?? '');
};

describe('FRR rendering of hostile values (property)', () => {
  it('every command is one printable line; what is rendered is valid; what is invalid is refused', () => {
    holds(
      fc.property(config, config, (from, to) => {
        for (const blocks of [renderFull(to, 'speaker'), renderDiff(from, to, 'speaker')]) {
          let lines = 0;
          for (const b of blocks) {
            assert.equal(b.refused !== undefined, b.commands.length === 0);
            for (const c of b.commands) assert.match(c, /^[\x20-\x7e]+$/);
            lines += 1 + (b.refused !== undefined ? 1 : 0) + b.commands.length;
            if (b.refused !== undefined) assert.ok(!UNSAFE_TEXT.test(b.refused), b.refused);
          }
          const text = scriptText(blocks);
          assert.equal(text.split('\n').length - 1, lines, 'no value adds a line to the script');
        }
        const full = renderFull(to, 'speaker');
        assert.equal(full.length, 1 + to.neighbors.length + to.networks.length);
        const asOk = isAs(to.localAs);
        assert.equal(full[0]!.refused === undefined, asOk && isIPv4(to.routerId));
        for (const [i, n] of to.neighbors.entries()) {
          const b = full[1 + i]!;
          if (b.refused === undefined) {
            assert.ok(asOk && isIPv4(n.address) && isAs(n.remoteAs), `rendered ${JSON.stringify(n)}`);
            assert.ok(b.commands.includes(`neighbor ${n.address} remote-as ${n.remoteAs}`));
          } else if (asOk && isIPv4(n.address) && isAs(n.remoteAs))
            assert.match(b.refused, /keepalive|hold time|timers/);
        }
        for (const [i, n] of to.networks.entries()) {
          const b = full[1 + to.neighbors.length + i]!;
          assert.equal(
            b.refused === undefined,
            asOk && isPrefix(n.prefix),
            `network ${JSON.stringify(n.prefix)}`,
          );
        }
      }),
      { seed: 15, numRuns: 2000 },
    );
  });
});
