/**
 * A fake OpenFlow switch table for controller tests (faucet's fakeoftable): the controller's messages
 * are applied to an in-memory flow table, and a test asks what the switch would do with a packet —
 * "is this packet output on port Y, with which headers?" — instead of asserting on message fields.
 *
 * It interprets the OXM matches and actions the agent emits with OpenFlow's own semantics (highest
 * priority wins, masked fields, set_field, push/pop VLAN, dec_nw_ttl, output), independently of how
 * the agent built them, so a wrong match or action shows up as a wrong forwarding decision. A field
 * or action it does not know fails the test loudly.
 */
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { OFPP, type Action, type Outgoing, type OxmField } from '../../src/openflow/index.js';
import {
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  FlowMatch,
  ICMP_CODE,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  IPV6_DST_0,
  IPV6_SRC_0,
  ND_TARGET_0,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
} from '../../src/sim/flow-match.js';
import { parseIpv4, parseIpv6 } from '../../src/addr.js';

export interface FakeFlow {
  readonly cookie: bigint;
  readonly priority: number;
  readonly match: readonly OxmField[];
  readonly actions: readonly Action[];
  /** The meter its packets go through first (a `meter` instruction). */
  readonly meterId?: number;
}

/** A packet leaving the switch: the port, and its headers then (FlowMatch field order). */
export interface FakeOutput {
  readonly port: number;
  readonly headers: readonly number[];
  /** Tunnel destination and key when it goes out through a tunnel. */
  readonly tunDst?: string;
  readonly tunnelId?: bigint;
}

export type FakeResult =
  | { readonly kind: 'miss' }
  | {
      readonly kind: 'flow';
      readonly cookie: bigint;
      readonly outputs: readonly FakeOutput[];
      readonly meterId?: number;
    };

const mac = (s: string): number => parseInt(s.replace(/:/g, ''), 16);
const ip = (s: string): number => {
  const v = parseIpv4(s);
  if (v === undefined) throw new Error(`fake table: bad IPv4 ${s}`);
  return v;
};

/** IPv6 address field words of `h` from `f0` against a value and optional mask (IPv6 text). */
function masked6(h: readonly number[], f0: number, value: string, mask: string | undefined): boolean {
  const v = parseIpv6(value)!;
  const m = mask === undefined ? [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] : parseIpv6(mask)!;
  return v.every((w, i) => ((h[f0 + i]! ^ w) & m[i]!) >>> 0 === 0);
}

function fieldMatches(f: OxmField, h: readonly number[], inPort: number): boolean {
  const masked = (v: number, want: number, m: number | undefined) =>
    (v & (m ?? 0xffffffff)) >>> 0 === (want & (m ?? 0xffffffff)) >>> 0;
  const mac48 = (hi: number, lo: number, value: string, mask?: string) => {
    const v = h[hi]! * 0x100000000 + h[lo]!;
    const want = mac(value);
    const m = mask === undefined ? 0xffffffffffff : mac(mask);
    const split = (x: number) => [Math.floor(x / 0x100000000), x % 0x100000000] as const;
    const [vh, vl] = split(v);
    const [wh, wl] = split(want);
    const [mh, ml] = split(m);
    return (vh & mh) === (wh & mh) && (vl & ml) >>> 0 === (wl & ml) >>> 0;
  };
  switch (f.field) {
    case 'in_port':
      return f.value === inPort;
    case 'eth_dst':
      return mac48(ETH_DST_HI, ETH_DST_LO, f.value, f.mask);
    case 'eth_src':
      return mac48(ETH_SRC_HI, ETH_SRC_LO, f.value, f.mask);
    case 'vlan_vid':
      return (h[VLAN] === 0 ? 0 : 0x1000 | h[VLAN]!) === f.value;
    case 'eth_type':
      return h[ETH_TYPE] === f.value;
    case 'ipv4_src':
    case 'arp_spa':
      return masked(h[IP_SRC]!, ip(f.value), f.mask === undefined ? undefined : ip(f.mask));
    case 'ipv4_dst':
    case 'arp_tpa':
      return masked(h[IP_DST]!, ip(f.value), f.mask === undefined ? undefined : ip(f.mask));
    case 'ip_proto':
    case 'arp_op':
      return h[IP_PROTO] === f.value;
    case 'ip_dscp':
      return h[IP_TOS]! >> 2 === f.value;
    case 'ip_ecn':
      return (h[IP_TOS]! & 3) === f.value;
    case 'tcp_src':
    case 'udp_src':
      return h[TP_SRC] === f.value;
    case 'tcp_dst':
    case 'udp_dst':
      return h[TP_DST] === f.value;
    case 'icmpv4_type':
      return h[ICMP_TYPE] === f.value;
    case 'icmpv4_code':
      return h[ICMP_CODE] === f.value;
    case 'ip_frag':
      return masked(h[IP_FRAG]!, f.value, f.mask);
    case 'tcp_flags':
      return masked(h[TCP_FLAGS]!, f.value, f.mask);
    case 'tunnel_id':
      return BigInt(h[TUNNEL_ID]!) === f.value;
    case 'ipv6_src':
      return masked6(h, IPV6_SRC_0, f.value, f.mask);
    case 'ipv6_dst':
      return masked6(h, IPV6_DST_0, f.value, f.mask);
    case 'ipv6_nd_target':
      return masked6(h, ND_TARGET_0, f.value, undefined);
    case 'icmpv6_type':
      return h[ICMP_TYPE] === f.value;
    case 'icmpv6_code':
      return h[ICMP_CODE] === f.value;
    default:
      throw new Error(`fake table: match field ${f.field} is not interpreted`);
  }
}

export class FakeOfTable {
  readonly flows: FakeFlow[] = [];
  /** PACKET_OUTs in the order they were sent. */
  readonly packetOuts: Array<{ readonly inPort: number; readonly actions: readonly Action[] }> = [];

  /** Applies the controller's messages in order. */
  apply(msgs: readonly Outgoing[]): this {
    for (const m of msgs) {
      if (m.type === 'flow_mod') {
        if (m.command === 'add') {
          const actions = m.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []));
          const meter = m.instructions.find((i) => i.type === 'meter');
          // An add replaces a flow with the same match and priority.
          const same = this.flows.findIndex(
            (f) => f.priority === m.priority && JSON.stringify(f.match) === JSON.stringify(m.match),
          );
          if (same >= 0) this.flows.splice(same, 1);
          this.flows.push({
            cookie: m.cookie,
            priority: m.priority,
            match: m.match,
            actions,
            ...(meter?.type === 'meter' ? { meterId: meter.meterId } : {}),
          });
        } else if (m.command === 'delete') {
          for (let i = this.flows.length - 1; i >= 0; i--)
            if ((this.flows[i]!.cookie & m.cookieMask) === (m.cookie & m.cookieMask)) this.flows.splice(i, 1);
        } else {
          throw new Error(`fake table: flow_mod ${m.command} is not interpreted`);
        }
      } else if (m.type === 'packet_out') {
        this.packetOuts.push({ inPort: m.inPort, actions: m.actions });
      }
    }
    return this;
  }

  /** What the switch does with `frame` entering OpenFlow port `inPort`. */
  process(inPort: number, frame: Uint8Array, tunnelId = 0): FakeResult {
    const m = new FlowMatch();
    const bad = fillFromFrame(m, frame, tunnelId);
    if (bad !== null) throw new Error(`fake table: ${bad}`);
    let best: FakeFlow | undefined;
    for (const f of this.flows) {
      if (best !== undefined && f.priority <= best.priority) continue;
      if (f.match.every((x) => fieldMatches(x, m.orig, inPort))) best = f;
    }
    if (best === undefined) return { kind: 'miss' };
    const outputs = run(best.actions, m.orig, inPort);
    return {
      kind: 'flow',
      cookie: best.cookie,
      outputs,
      ...(best.meterId !== undefined ? { meterId: best.meterId } : {}),
    };
  }

  /** The OpenFlow ports `frame` entering `inPort` goes out of; 'miss' when no flow matches. */
  outPorts(inPort: number, frame: Uint8Array, tunnelId = 0): number[] | 'miss' {
    const r = this.process(inPort, frame, tunnelId);
    return r.kind === 'miss' ? 'miss' : r.outputs.map((o) => o.port);
  }
}

/** Applies an action list to headers `h` of a packet that entered on `inPort`. */
export function run(actions: readonly Action[], orig: readonly number[], inPort: number): FakeOutput[] {
  const h = orig.slice();
  let tunDst: string | undefined;
  let tunnelId: bigint | undefined;
  const out: FakeOutput[] = [];
  const setMac = (hi: number, lo: number, v: string) => {
    const n = mac(v);
    h[hi] = Math.floor(n / 0x100000000);
    h[lo] = n % 0x100000000;
  };
  for (const a of actions) {
    switch (a.type) {
      case 'output':
        out.push({
          port: a.port === OFPP.IN_PORT ? inPort : a.port,
          headers: h.slice(),
          ...(tunDst !== undefined ? { tunDst } : {}),
          ...(tunnelId !== undefined ? { tunnelId } : {}),
        });
        break;
      case 'dec_nw_ttl':
        h[IP_TTL] = h[IP_TTL]! - 1;
        break;
      case 'push_vlan':
        break;
      case 'pop_vlan':
        h[VLAN] = 0;
        break;
      case 'set_field': {
        const f = a.field;
        switch (f.field) {
          case 'eth_src':
            setMac(ETH_SRC_HI, ETH_SRC_LO, f.value);
            break;
          case 'eth_dst':
            setMac(ETH_DST_HI, ETH_DST_LO, f.value);
            break;
          case 'vlan_vid':
            h[VLAN] = f.value & 0xfff;
            break;
          case 'ipv4_src':
            h[IP_SRC] = ip(f.value);
            break;
          case 'ipv4_dst':
            h[IP_DST] = ip(f.value);
            break;
          case 'ip_dscp':
            h[IP_TOS] = (f.value << 2) | (h[IP_TOS]! & 3);
            break;
          case 'ip_ecn':
            h[IP_TOS] = (h[IP_TOS]! & 0xfc) | f.value;
            break;
          case 'tcp_src':
          case 'udp_src':
            h[TP_SRC] = f.value;
            break;
          case 'tcp_dst':
          case 'udp_dst':
            h[TP_DST] = f.value;
            break;
          case 'ipv6_src':
          case 'ipv6_dst': {
            const w = parseIpv6(f.value);
            if (w === undefined) throw new Error(`fake table: ${f.field} ${f.value} is not IPv6`);
            const f0 = f.field === 'ipv6_src' ? IPV6_SRC_0 : IPV6_DST_0;
            for (let i = 0; i < 4; i++) h[f0 + i] = w[i]!;
            break;
          }
          case 'tun_ipv4_dst':
            tunDst = f.value;
            break;
          case 'tunnel_id':
            tunnelId = f.value;
            break;
          default:
            throw new Error(`fake table: set_field ${f.field} is not interpreted`);
        }
        break;
      }
      default:
        throw new Error(`fake table: action ${a.type} is not interpreted`);
    }
  }
  return out;
}
