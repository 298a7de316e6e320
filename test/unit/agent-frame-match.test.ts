/**
 * The agent's packet-in match path (fillFromFrame) and the packet codec agree: named cases of the
 * frames where they used to differ (a TCP header in the Ethernet padding past the IPv4 total length,
 * short ICMP and SCTP headers, bad ARP headers, 802.3 frames), then fuzzed frames compared with the
 * codec's view (test/support/frame-oracle.ts), each kind of verdict reached many times.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DL_TYPE_NONE, fillFromFrame } from '../../src/agent/frame-match.js';
import {
  ETH_TYPE,
  FlowMatch,
  ICMP_CODE,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
  VLAN,
} from '../../src/sim/flow-match.js';
import { parseEthernet, findMalformed } from '../../src/packet/index.js';
import { codecView } from '../support/frame-oracle.js';
import { frameMatchTarget } from '../support/fuzz-targets.js';
import { seeded } from '../support/random-topology.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ETH = '020000000002 020000000001';

function fill(frame: Uint8Array): { m: FlowMatch; why: string | null } {
  const m = new FlowMatch();
  return { m, why: fillFromFrame(m, frame, 0) };
}

/** IPv4 header (checksum 0: neither side checks it) of `total` bytes, protocol `proto`, flags/offset `frag`. */
function ipv4(total: number, proto: number, frag = 0, version = 4): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(version * 16 + 5, 2)}00 ${h(total, 4)} 0001 ${h(frag, 4)} 40 ${h(proto, 2)} 0000 c0000201 c0000202`;
}

describe('fillFromFrame: named cases', () => {
  it('a TCP header in the Ethernet padding past the IPv4 total length fills no ports (as OVS does)', () => {
    // IPv4 total length 20: no transport header; 20 bytes of "TCP" follow as padding.
    const frame = hex(`${ETH} 0800 ${ipv4(20, 6)} 0016 0050 00000000 00000000 5012 ffff 00000000`);
    assert.equal(
      findMalformed(parseEthernet(frame))?.reason,
      'tcp: truncated header: 0 bytes, need at least 20',
    );
    const { m, why } = fill(frame);
    assert.equal(why, null);
    assert.deepEqual([m.orig[IP_PROTO], m.orig[TP_SRC], m.orig[TP_DST], m.orig[TCP_FLAGS]], [6, 0, 0, 0]);
    assert.deepEqual(codecView(frame, 0), { fields: m.orig });
  });

  it('the same TCP header inside the total length fills the ports', () => {
    const frame = hex(`${ETH} 0800 ${ipv4(40, 6)} 0016 0050 00000000 00000000 5012 ffff 00000000`);
    const { m, why } = fill(frame);
    assert.equal(why, null);
    assert.deepEqual([m.orig[TP_SRC], m.orig[TP_DST], m.orig[TCP_FLAGS]], [22, 80, 0x12]);
  });

  it('a TCP data offset below 5 or past the payload fills no ports', () => {
    for (const off of ['4012', 'f012']) {
      const { m, why } = fill(
        hex(`${ETH} 0800 ${ipv4(40, 6)} 0016 0050 00000000 00000000 ${off} ffff 00000000`),
      );
      assert.equal(why, null);
      assert.deepEqual([m.orig[TP_SRC], m.orig[TP_DST]], [0, 0]);
    }
  });

  it('an IPv4 total length past the frame leaves every IP field 0', () => {
    const { m, why } = fill(hex(`${ETH} 0800 ${ipv4(60, 17)} 0035 0035 0008 0000`));
    assert.equal(why, null);
    assert.deepEqual(
      [m.orig[ETH_TYPE], m.orig[IP_SRC], m.orig[IP_DST], m.orig[IP_PROTO], m.orig[TP_SRC]],
      [0x800, 0, 0, 0, 0],
    );
  });

  it('an IPv4 version other than 4 is not simulated (the codec refuses it, OVS would read it)', () => {
    const { why } = fill(hex(`${ETH} 0800 ${ipv4(28, 17, 0, 5)} 0035 0035 0008 0000`));
    assert.equal(why, 'IPv4 header of version 5');
  });

  it('a UDP length that disagrees with the IP payload is not simulated; a first fragment is held to nothing', () => {
    assert.equal(
      fill(hex(`${ETH} 0800 ${ipv4(28, 17)} 0035 0035 0100 0000`)).why,
      'UDP length 256 disagrees with the 8-byte IP payload',
    );
    const first = fill(hex(`${ETH} 0800 ${ipv4(28, 17, 0x2000)} 0035 0035 0100 0000`));
    assert.equal(first.why, null);
    assert.deepEqual([first.m.orig[TP_SRC], first.m.orig[IP_FRAG]], [53, 1]);
    const later = fill(hex(`${ETH} 0800 ${ipv4(28, 17, 0x0010)} 0035 0035 0100 0000`));
    assert.deepEqual([later.m.orig[TP_SRC], later.m.orig[IP_FRAG]], [0, 3]);
  });

  it('ICMP needs 8 bytes and SCTP 12 before their fields are read', () => {
    const icmp4 = fill(hex(`${ETH} 0800 ${ipv4(24, 1)} 0800 0000`));
    assert.deepEqual([icmp4.why, icmp4.m.orig[ICMP_TYPE]], [null, 0]);
    const icmp8 = fill(hex(`${ETH} 0800 ${ipv4(28, 1)} 0803 0000 00010001`));
    assert.deepEqual([icmp8.m.orig[ICMP_TYPE], icmp8.m.orig[ICMP_CODE]], [8, 3]);
    const sctp8 = fill(hex(`${ETH} 0800 ${ipv4(28, 132)} 0016 0050 00000000`));
    assert.deepEqual([sctp8.why, sctp8.m.orig[TP_SRC]], [null, 0]);
    const sctp12 = fill(hex(`${ETH} 0800 ${ipv4(32, 132)} 0016 0050 00000000 00000000`));
    assert.deepEqual([sctp12.m.orig[TP_SRC], sctp12.m.orig[TP_DST]], [22, 80]);
  });

  it('ARP fields only for Ethernet/IPv4 ARP; an opcode above 255 is not simulated', () => {
    const arp = (hrd: string, op: string) =>
      hex(
        `ffffffffffff 020000000001 0806 ${hrd} 0800 06 04 ${op} 020000000001 c0000201 000000000000 c0000202`,
      );
    const ok = fill(arp('0001', '0001'));
    assert.deepEqual(
      [ok.m.orig[IP_PROTO], ok.m.orig[IP_SRC], ok.m.orig[IP_DST]],
      [1, 0xc0000201, 0xc0000202],
    );
    const bad = fill(arp('0006', '0001'));
    assert.deepEqual(
      [bad.why, bad.m.orig[ETH_TYPE], bad.m.orig[IP_PROTO], bad.m.orig[IP_SRC]],
      [null, 0x806, 0, 0],
    );
    assert.equal(fill(arp('0001', '0101')).why, 'ARP opcode 257 does not fit the 8 bits OpenFlow matches');
  });

  it("802.3 frames get OVS's ethertype 0x05ff; LLC/SNAP, 802.1ad and short frames are not simulated", () => {
    const llc = fill(hex(`${ETH} 0026 4242 03 000000000000`));
    assert.deepEqual([llc.why, llc.m.orig[ETH_TYPE]], [null, DL_TYPE_NONE]);
    assert.equal(
      fill(hex(`${ETH} 0026 aaaa03 000000 0800 ${ipv4(20, 47)}`)).why,
      'LLC/SNAP-encapsulated frames are not simulated',
    );
    assert.equal(
      fill(hex(`${ETH} 88a8 0064 0800 ${ipv4(20, 47)}`)).why,
      '802.1ad service tags are not simulated',
    );
    assert.equal(fill(hex(`${ETH} 81`)).why, 'frame of 13 bytes is shorter than an Ethernet header');
    assert.equal(fill(hex(`${ETH} 8100 00`)).why, 'truncated 802.1Q tag');
    const tagged = fill(hex(`${ETH} 8100 a00a 0800 ${ipv4(20, 47)}`));
    assert.deepEqual([tagged.m.orig[VLAN], tagged.m.orig[ETH_TYPE]], [10, 0x800]);
  });

  it('a refused frame leaves every field 0 (never half-filled)', () => {
    const m = new FlowMatch();
    fillFromFrame(m, hex(`${ETH} 0800 ${ipv4(40, 6)} 0016 0050 00000000 00000000 5012 ffff 00000000`), 5);
    assert.notEqual(fillFromFrame(m, hex(`${ETH} 0800 ${ipv4(28, 17, 0, 6)} 0035 0035 0008 0000`), 5), null);
    assert.ok(m.orig.every((v) => v === 0));
  });
});

describe('fillFromFrame agrees with the packet codec on fuzzed frames', () => {
  it('20,000 frames: same verdict, same fields; every kind of verdict is reached', () => {
    const r = seeded(424242);
    const seen = { refused: 0, ports: 0, noPorts: 0, malformedL4: 0, arp: 0 };
    for (let i = 0; i < 20000; i++) {
      const b = frameMatchTarget.input(r);
      frameMatchTarget.run(b); // throws on any disagreement
      const m = new FlowMatch();
      if (fillFromFrame(m, b, 7) !== null) seen.refused++;
      else if (m.orig[TP_SRC] !== 0 || m.orig[TP_DST] !== 0) seen.ports++;
      else {
        seen.noPorts++;
        const e = parseEthernet(b);
        if (e.kind === 'ethernet' && e.payload.kind === 'ipv4' && e.payload.payload.kind === 'malformed')
          seen.malformedL4++;
      }
      if (m.orig[ETH_TYPE] === 0x806 && m.orig[IP_PROTO] !== 0) seen.arp++;
    }
    for (const [k, v] of Object.entries(seen))
      assert.ok(v > 200, `only ${v} frames of kind ${k}: ${JSON.stringify(seen)}`);
  });
});
