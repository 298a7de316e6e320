/**
 * Rule conditions compiled into tests on a FlowMatch, and the one definition of "a rule matches".
 *
 * A condition holds when the packet has the field it names and the value satisfies it; `invert` flips
 * the outcome (so an inverted IP condition holds for a non-IP packet). Conditions are tested in a
 * fixed order, cheapest first, and the first failing one ends the test.
 *
 * Invariant: a test reads the packet only through FlowMatch's tracked reads, and only the bits its
 * outcome depends on (a /24 prefix reads 24 bits of the address, a TCP-flags test the flags in its
 * mask), so short-circuiting is sound for the mask. Both the compiled classifier and the naive
 * in-order scan used as its reference call `ruleMatches`, so they cannot disagree on a condition.
 */
import { inGroup6, prefix6Test } from './rule-match6.js';
import { macToNumber, parseIpv4, prefixMask } from '../addr.js';
import type { NatTarget } from './nat.js';
import type { Conditions, Rule, RuleAction } from '../state/model.js';
import {
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ICMP_CODE,
  ICMP_TYPE,
  IP_DST,
  IPV6_DST_0,
  IPV6_SRC_0,
  IP_FRAG,
  IP_SRC,
  IP_TOS,
  PROTO_ICMP,
  PROTO_TCP,
  TCP_ACK,
  TCP_FLAGS,
  TCP_SYN,
  TP_DST,
  TP_SRC,
  type FlowMatch,
} from './flow-match.js';
import { conntrackKey, reverseKey, tupleText6, type Conntrack } from './flow-state.js';
import { Tags, type Tag } from './tags.js';

/** A group as the rules see it: members and the tag to add when it is consulted. */
export interface GroupView<T> {
  readonly tag: Tag;
  readonly members: ReadonlySet<T>;
  /** IP address groups: their IPv6 members, canonical text (rule-match6.ts). */
  readonly members6?: ReadonlySet<string>;
}

/** What a rule test may consult besides the packet. */
export interface RuleEnv {
  /** The port the packet entered the current device through (null: none). */
  inPortId: string | null;
  /** The port the device chose for output (null: not yet chosen, or a flood). */
  outPortId: string | null;
  readonly now: number;
  /** The device whose chain is being evaluated: the zone of connection tracking and NAT. */
  readonly zone: string;
  readonly conntrack: Conntrack;
  portGroup(id: string): GroupView<string> | undefined;
  ipAddrGroup(id: string): GroupView<number> | undefined;
  addTag(tag: Tag): void;
  /** Records that an object the walk needed is not loaded. */
  need(id: string): void;
  /** Records that a forward flow passed a conntrack check. */
  trackForward(key: string): void;
}

type Test = (m: FlowMatch, env: RuleEnv) => boolean;

export interface CompiledRule {
  readonly id: string;
  readonly name: string | null;
  /** 0-based position in its chain. */
  readonly pos: number;
  readonly action: RuleAction;
  readonly jumpChainId: string | null;
  readonly conditions: Conditions;
  /** DSCP written into matching IPv4 packets (QoS marking), or null. */
  readonly setDscp: number | null;
  /** Compiled on first use (so recompiling a large chain only parses what the index needs). */
  tests: readonly Test[] | null;
  /** Parsed non-inverted destination/source prefixes (for the classifier's tries), else null. */
  readonly dstPrefix: Prefix | null;
  readonly srcPrefix: Prefix | null;
  /** NAT rules: their targets as numbers (empty for others). */
  readonly natTargets: readonly NatTarget[];
}

export interface Prefix {
  readonly addr: number;
  readonly len: number;
}

/**
 * Parses "a.b.c.d/len" without regular expressions (compiling 10,000 rules parses 20,000 of these);
 * null when malformed. The model has validated stored values already; this only has to be fast.
 */
export function parsePrefix(s: string): Prefix | null {
  let addr = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return null;
    } else if (c === 46 || c === 47) {
      if (digits === 0) return null;
      addr = addr * 256 + octet;
      octet = 0;
      digits = 0;
      if (c === 47) break;
      if (++dots > 3) return null;
    } else return null;
  }
  if (dots !== 3 || i >= s.length) return null;
  let len = 0;
  let ld = 0;
  for (i++; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57 || ++ld > 2) return null;
    len = len * 10 + (c - 48);
  }
  if (ld === 0 || len > 32) return null;
  return { addr: (addr & prefixMask(len)) >>> 0, len };
}

const ipAndBits = (f: number, addr: number, len: number): ((m: FlowMatch) => boolean) => {
  const pm = prefixMask(len);
  const net = (addr & pm) >>> 0;
  return (m) => m.isIpv4() && m.read(f, pm) === net;
};

function inv(test: Test, invert: boolean | undefined): Test {
  return invert === true ? (m, e) => !test(m, e) : test;
}

function macTest(hiF: number, loF: number, value: string, mask: string | undefined): Test {
  const v = macToNumber(value);
  const mk = mask === undefined ? 0xffffffffffff : macToNumber(mask);
  const mhi = Math.floor(mk / 0x100000000);
  const mlo = mk % 0x100000000;
  const vhi = Math.floor(v / 0x100000000) & mhi;
  const vlo = ((v % 0x100000000) & mlo) >>> 0;
  return (m) => m.read(hiF, mhi) === vhi && m.read(loF, mlo) === vlo;
}

/** Prepares one rule: its index hints now, its tests on first use. */
export function compileRule(rule: Rule, pos: number): CompiledRule {
  const c = rule.conditions;
  const dp = c.dstPrefix && !c.dstPrefix.invert ? parsePrefix(c.dstPrefix.value) : null;
  const sp = c.srcPrefix && !c.srcPrefix.invert ? parsePrefix(c.srcPrefix.value) : null;
  return {
    id: rule.id,
    name: rule.name,
    pos,
    action: rule.action,
    jumpChainId: rule.jumpChainId,
    conditions: c,
    setDscp: rule.setDscp ?? null,
    tests: null,
    dstPrefix: dp,
    srcPrefix: sp,
    natTargets: rule.natTargets.map((t) => ({
      addrFrom: parseIpv4(t.addressFrom) ?? 0,
      addrTo: parseIpv4(t.addressTo) ?? 0,
      portFrom: t.portFrom,
      portTo: t.portTo,
    })),
  };
}

/** Compiles a rule's conditions into tests, in evaluation order. */
function compileTests(c: Conditions): Test[] {
  const tests: Test[] = [];
  if (c.inPorts) {
    const set = new Set(c.inPorts.value);
    tests.push(inv((_m, e) => e.inPortId !== null && set.has(e.inPortId), c.inPorts.invert));
  }
  if (c.outPorts) {
    const set = new Set(c.outPorts.value);
    tests.push(inv((_m, e) => e.outPortId !== null && set.has(e.outPortId), c.outPorts.invert));
  }
  const groupTest = (id: string, which: 'in' | 'out'): Test => {
    return (_m, e) => {
      const g = e.portGroup(id);
      if (g === undefined) {
        e.need(id);
        return false;
      }
      e.addTag(g.tag);
      const p = which === 'in' ? e.inPortId : e.outPortId;
      return p !== null && g.members.has(p);
    };
  };
  if (c.inPortGroup) tests.push(inv(groupTest(c.inPortGroup.value, 'in'), c.inPortGroup.invert));
  if (c.outPortGroup) tests.push(inv(groupTest(c.outPortGroup.value, 'out'), c.outPortGroup.invert));
  if (c.ethertype) {
    const v = c.ethertype.value;
    tests.push(inv((m) => m.ethType === v, c.ethertype.invert));
  }
  if (c.srcMac)
    tests.push(inv(macTest(ETH_SRC_HI, ETH_SRC_LO, c.srcMac.value, c.srcMac.mask), c.srcMac.invert));
  if (c.dstMac)
    tests.push(inv(macTest(ETH_DST_HI, ETH_DST_LO, c.dstMac.value, c.dstMac.mask), c.dstMac.invert));
  if (c.ipProto) {
    const v = c.ipProto.value;
    tests.push(inv((m) => m.isIp() && m.ipProto === v, c.ipProto.invert));
  }
  const dp = c.dstPrefix ? parsePrefix(c.dstPrefix.value) : null;
  const sp = c.srcPrefix ? parsePrefix(c.srcPrefix.value) : null;
  // An IPv6 prefix does not parse as IPv4: it gets the IPv6 test (rule-match6.ts).
  const v6 = (f0: number, text: string) => prefix6Test(f0, text) ?? (() => false);
  if (c.dstPrefix)
    tests.push(
      inv(
        dp === null ? v6(IPV6_DST_0, c.dstPrefix.value) : ipAndBits(IP_DST, dp.addr, dp.len),
        c.dstPrefix.invert,
      ),
    );
  if (c.srcPrefix)
    tests.push(
      inv(
        sp === null ? v6(IPV6_SRC_0, c.srcPrefix.value) : ipAndBits(IP_SRC, sp.addr, sp.len),
        c.srcPrefix.invert,
      ),
    );
  if (c.ipTos) {
    const v = c.ipTos.value;
    tests.push(inv((m) => m.isIpv4() && m.read(IP_TOS, 0xff) === v, c.ipTos.invert));
  }
  const rangeTest = (f: number, r: { start: number; end: number }): Test => {
    const { start, end } = r;
    return (m) => {
      if (!m.hasIpPorts()) return false;
      const v = m.read(f, 0xffff);
      return v >= start && v <= end;
    };
  };
  if (c.dstPort) tests.push(inv(rangeTest(TP_DST, c.dstPort.value), c.dstPort.invert));
  if (c.srcPort) tests.push(inv(rangeTest(TP_SRC, c.srcPort.value), c.srcPort.invert));
  if (c.icmpType) {
    const v = c.icmpType.value;
    tests.push(inv((m) => m.isProto(PROTO_ICMP) && m.read(ICMP_TYPE, 0xff) === v, c.icmpType.invert));
  }
  if (c.icmpCode) {
    const v = c.icmpCode.value;
    tests.push(inv((m) => m.isProto(PROTO_ICMP) && m.read(ICMP_CODE, 0xff) === v, c.icmpCode.invert));
  }
  if (c.tcpFlags) {
    const { set, mask } = c.tcpFlags.value;
    const want = set & mask;
    tests.push(inv((m) => m.isIpProto(PROTO_TCP) && m.read(TCP_FLAGS, mask) === want, c.tcpFlags.invert));
  }
  if (c.fragmentPolicy) {
    const pol = c.fragmentPolicy.value;
    let t: Test;
    switch (pol) {
      case 'any':
        t = () => true;
        break;
      case 'header':
        t = (m) => m.isIpv4() && m.read(IP_FRAG, 2) === 0;
        break;
      case 'nonheader':
        t = (m) => m.isIpv4() && m.read(IP_FRAG, 2) === 2;
        break;
      case 'unfragmented':
        t = (m) => m.isIpv4() && m.read(IP_FRAG, 3) === 0;
        break;
    }
    tests.push(inv(t, c.fragmentPolicy.invert));
  }
  const addrGroupTest = (id: string, f: number): Test => {
    return (m, e) => {
      const v4 = m.isIpv4();
      if (!v4 && !m.isIpv6()) return false;
      const g = e.ipAddrGroup(id);
      if (g === undefined) {
        e.need(id);
        return false;
      }
      e.addTag(g.tag);
      return v4 ? g.members.has(m.readAll(f)) : inGroup6(m, g, f === IP_SRC ? IPV6_SRC_0 : IPV6_DST_0);
    };
  };
  if (c.ipAddrGroupSrc)
    tests.push(inv(addrGroupTest(c.ipAddrGroupSrc.value, IP_SRC), c.ipAddrGroupSrc.invert));
  if (c.ipAddrGroupDst)
    tests.push(inv(addrGroupTest(c.ipAddrGroupDst.value, IP_DST), c.ipAddrGroupDst.invert));
  if (c.tcpWindow) {
    const { start, end } = c.tcpWindow.value;
    tests.push(
      inv((m) => {
        if (!m.isIpProto(PROTO_TCP)) return false;
        const w = m.tcpWindow;
        return w >= start && w <= end;
      }, c.tcpWindow.invert),
    );
  }
  if (c.conntrack) {
    const want = c.conntrack.value;
    tests.push(
      inv((m, e) => {
        if (want === 'related') {
          // An ICMP error about a tracked connection: the quoted datagram is not matchable.
          const q = m.relatedTuple();
          if (q === null || q.length !== 5) return false;
          const [proto = 0, src = 0, sport = 0, dst = 0, dport = 0] = q;
          return (
            e.conntrack.state(conntrackKey(e.zone, proto, src, sport, dst, dport), e.now) === 'established'
          );
        }
        const key = conntrackKeyOf(m, e.zone);
        e.addTag(Tags.conntrack(key));
        e.addTag(Tags.conntrack(reverseKey(key)));
        let st = e.conntrack.state(key, e.now);
        if (st === 'established' && e.conntrack.ended?.(key, e.now) === true && opensConnection(m))
          st = 'new';
        if (st === 'new') e.trackForward(key);
        return st === want;
      }, c.conntrack.invert),
    );
  }
  return tests;
}

/**
 * A TCP SYN without ACK: it opens a connection again on the 5-tuple of one in its closing time. Read
 * only for such a tuple, so other flows do not match on TCP flags.
 */
function opensConnection(m: FlowMatch): boolean {
  return m.isIpProto(PROTO_TCP) && m.read(TCP_FLAGS, TCP_SYN | TCP_ACK) === TCP_SYN;
}

/**
 * The conntrack key of the current headers in `zone`; reads the whole 5-tuple (IPv4 or IPv6: an IPv6
 * key has its addresses in brackets, flow-state.ts tupleText6). Anything else shares one key.
 */
export function conntrackKeyOf(m: FlowMatch, zone: string): string {
  const et = m.ethType;
  if (et !== ETH_TYPE_IPV4 && et !== ETH_TYPE_IPV6) return conntrackKey(zone, 0, 0, 0, 0, 0);
  const proto = m.ipProto;
  const ports = proto === 6 || proto === 17 || proto === 132;
  const sport = ports ? m.tpSrc : 0;
  const dport = ports ? m.tpDst : 0;
  if (et === ETH_TYPE_IPV6) return `${zone}|${tupleText6(proto, m.ipv6Src(), sport, m.ipv6Dst(), dport)}`;
  return conntrackKey(zone, proto, m.ipSrc, sport, m.ipDst, dport);
}

/** True when every condition of the rule holds for the packet. */
export function ruleMatches(r: CompiledRule, m: FlowMatch, env: RuleEnv): boolean {
  const ts = r.tests ?? (r.tests = compileTests(r.conditions));
  for (let i = 0; i < ts.length; i++) if (!ts[i]!(m, env)) return false;
  return true;
}
