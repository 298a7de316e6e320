/**
 * The agent's packet-in match path against Open vSwitch's own flow extraction: fuzzed frames (the
 * frame fuzzer's inputs, fixed seed) are written to a pcap file and `ovs-ofctl parse-pcap` prints the
 * flow OVS extracts from each (lib/flow.c `flow_extract`, the code the datapath classifies with). For
 * every frame `fillFromFrame` accepts, each field the simulation has must equal OVS's, or the flow the
 * agent installs for it could never match and every such packet would come back to the agent.
 *
 * Needs the `ovs-ofctl` binary only (no running switch). `ovs-ofctl` parses up to two VLAN tags where
 * ovs-vswitchd's default `vlan-limit` is one, so frames with a second tag are left out of the
 * comparison.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { parseIpv6 } from '../../src/addr.js';
import {
  setArpSha,
  setIpv6Src,
  setWords6,
  IPV6_DST_0,
  ND_TARGET_0,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  FlowMatch,
  ICMP_CODE,
  ICMP_ID,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  NUM_FIELDS,
  TCP_FLAGS,
  TCP_WINDOW,
  TP_DST,
  TP_SRC,
  VLAN,
  FIELD_NAMES,
} from '../../src/sim/flow-match.js';
import { frameMatchTarget } from '../support/fuzz-targets.js';
import { seeded } from '../support/random-topology.js';

const FRAMES = 3000;

function pcap(frames: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(head);
  for (const f of frames) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

const TCP_FLAG_BITS: Record<string, number> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
  ns: 0x100,
};
const OTHER_KEYWORDS: Record<string, number> = { rarp: 0x8035, mpls: 0x8847, mplsm: 0x8848, nsh: 0x894f };
const IP6_KEYWORDS: Record<string, number | undefined> = { tcp6: 6, udp6: 17, icmp6: 58, sctp6: 132 };
const IP_KEYWORDS: Record<string, number | undefined> = {
  ip: undefined,
  tcp: 6,
  udp: 17,
  icmp: 1,
  sctp: 132,
  igmp: 2,
};

function ipNum(s: string | undefined): number {
  if (s === undefined) return 0;
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** The simulation's fields (TCP window, tunnel and in_port aside) from one line of `parse-pcap`. */
function ovsFields(line: string): number[] {
  const kv = new Map<string, string>();
  const words: string[] = [];
  for (const tok of line.split(',')) {
    const eq = tok.indexOf('=');
    if (eq < 0) words.push(tok);
    else kv.set(tok.slice(0, eq), tok.slice(eq + 1));
  }
  const f = new Array<number>(NUM_FIELDS).fill(0);
  const mac = (s: string) => {
    const h = s.replace(/:/g, '');
    return [parseInt(h.slice(0, 4), 16), parseInt(h.slice(4), 16)] as const;
  };
  [f[ETH_DST_HI], f[ETH_DST_LO]] = mac(kv.get('dl_dst')!);
  [f[ETH_SRC_HI], f[ETH_SRC_LO]] = mac(kv.get('dl_src')!);
  f[VLAN] = Number(kv.get('dl_vlan') ?? 0);
  const kw = words[0];
  if (kw === 'arp') {
    f[ETH_TYPE] = 0x0806;
    f[IP_SRC] = ipNum(kv.get('arp_spa'));
    f[IP_DST] = ipNum(kv.get('arp_tpa'));
    f[IP_PROTO] = Number(kv.get('arp_op') ?? 0);
    setArpSha(f, parseInt((kv.get('arp_sha') ?? '0').replace(/:/g, ''), 16));
  } else if (kw !== undefined && kw in IP_KEYWORDS) {
    f[ETH_TYPE] = 0x0800;
    f[IP_SRC] = ipNum(kv.get('nw_src'));
    f[IP_DST] = ipNum(kv.get('nw_dst'));
    f[IP_PROTO] = IP_KEYWORDS[kw] ?? Number(kv.get('nw_proto') ?? 0);
    f[IP_TOS] = Number(kv.get('nw_tos') ?? 0) | Number(kv.get('nw_ecn') ?? 0);
    f[IP_TTL] = Number(kv.get('nw_ttl') ?? 0);
    f[IP_FRAG] = { no: 0, first: 1, later: 3 }[kv.get('nw_frag') ?? 'no'] ?? -1;
    if (kw === 'tcp' || kw === 'udp' || kw === 'sctp') {
      f[TP_SRC] = Number(kv.get('tp_src') ?? 0);
      f[TP_DST] = Number(kv.get('tp_dst') ?? 0);
    }
    if (kw === 'tcp') {
      const flags = kv.get('tcp_flags') ?? '0';
      f[TCP_FLAGS] =
        flags === '0' ? 0 : flags.split('|').reduce((a, n) => a | (TCP_FLAG_BITS[n] ?? 0x1000), 0) & 0xff;
    }
    if (kw === 'icmp') {
      f[ICMP_TYPE] = Number(kv.get('icmp_type') ?? 0);
      f[ICMP_CODE] = Number(kv.get('icmp_code') ?? 0);
    }
  } else if (kw?.startsWith('ipv6') || ['tcp6', 'udp6', 'icmp6', 'sctp6'].includes(kw ?? '')) {
    f[ETH_TYPE] = 0x86dd;
    const src = parseIpv6(kv.get('ipv6_src') ?? '::');
    if (src !== undefined) setIpv6Src(f, src);
    const dst = parseIpv6(kv.get('ipv6_dst') ?? '::');
    if (dst !== undefined) setWords6(f, IPV6_DST_0, dst);
    f[IP_PROTO] = IP6_KEYWORDS[kw ?? ''] ?? Number(kv.get('nw_proto') ?? 0);
    f[IP_TOS] = Number(kv.get('nw_tos') ?? 0) | Number(kv.get('nw_ecn') ?? 0);
    f[IP_TTL] = Number(kv.get('nw_ttl') ?? 0);
    if (kw === 'tcp6' || kw === 'udp6') {
      f[TP_SRC] = Number(kv.get('tp_src') ?? 0);
      f[TP_DST] = Number(kv.get('tp_dst') ?? 0);
    }
    if (kw === 'tcp6') {
      const flags = kv.get('tcp_flags') ?? '0';
      f[TCP_FLAGS] =
        flags === '0' ? 0 : flags.split('|').reduce((a, n) => a | (TCP_FLAG_BITS[n] ?? 0x1000), 0) & 0xff;
    }
    if (kw === 'icmp6') {
      f[ICMP_TYPE] = Number(kv.get('icmp_type') ?? 0);
      f[ICMP_CODE] = Number(kv.get('icmp_code') ?? 0);
      const target = parseIpv6(kv.get('nd_target') ?? '::');
      if (target !== undefined) setWords6(f, ND_TARGET_0, target);
    }
  } else if (kw !== undefined && kw in OTHER_KEYWORDS) {
    f[ETH_TYPE] = OTHER_KEYWORDS[kw]!;
  } else {
    f[ETH_TYPE] = parseInt(kv.get('dl_type') ?? 'x', 16);
  }
  return f;
}

/** Whether ovs-ofctl (vlan limit 2) and ovs-vswitchd (vlan limit 1) would parse `b` differently. */
function secondTag(b: Uint8Array): boolean {
  const t = (o: number) => (b[o]! << 8) | b[o + 1]!;
  return b.length >= 20 && t(12) === 0x8100 && (t(16) === 0x8100 || t(16) === 0x88a8);
}

test(`fillFromFrame gives the fields ovs-ofctl parse-pcap extracts, on ${FRAMES} fuzzed frames`, () => {
  const r = seeded(20261201);
  const frames: Uint8Array[] = [];
  while (frames.length < FRAMES) {
    const b = frameMatchTarget.input(r);
    if (b.length >= 14 && !secondTag(b)) frames.push(b);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mn-frame-ovs-'));
  try {
    writeFileSync(join(dir, 'frames.pcap'), pcap(frames));
    const out = execFileSync('ovs-ofctl', ['parse-pcap', join(dir, 'frames.pcap')], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, frames.length, 'one flow per frame');
    let compared = 0;
    let withPorts = 0;
    const m = new FlowMatch();
    for (const [i, b] of frames.entries()) {
      if (fillFromFrame(m, b, 0) !== null) continue;
      compared++;
      const ovs = ovsFields(lines[i]!);
      const ours = [...m.orig];
      // TCP window and ICMP echo identifier: OVS does not extract them (the simulation never caches them).
      [ours[TCP_WINDOW], ours[ICMP_ID]] = [0, 0];
      if (ours[TP_SRC] !== 0 || ours[TP_DST] !== 0) withPorts++;
      const diff = FIELD_NAMES.filter((_n, k) => ours[k] !== ovs[k]).map((n, _k) => n);
      assert.deepEqual(
        diff,
        [],
        `frame ${Buffer.from(b).toString('hex')}\novs: ${lines[i]}\ndiffers in ${diff.join(', ')}: ours ${JSON.stringify(ours)} ovs ${JSON.stringify(ovs)}`,
      );
    }
    assert.ok(compared > FRAMES / 2, `only ${compared} of ${FRAMES} frames were accepted`);
    assert.ok(withPorts > FRAMES / 10, `only ${withPorts} accepted frames had L4 ports`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
