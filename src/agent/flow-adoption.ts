/**
 * A restart that keeps flows: the reactive flows an earlier run of the agent left in the switch are
 * judged, one by one, against the current topology and state (restored from the store before the
 * judging starts). A flow is kept, under its own cookie, when simulating the packet its match
 * describes gives exactly that flow again (the same match, mask included, and the same actions);
 * every other reactive flow is deleted. So traffic on flows that are still right never comes to the
 * agent after a restart, and no stale flow survives one.
 *
 * Why re-simulating a match is sound: a flow's match is the mask of the simulation that made it over
 * the packet that caused it, and every decision of a simulation is a function of the masked bits
 * (flow-match.ts); the unmasked fields of the rebuilt packet are zero, which the simulation may not
 * read without widening the mask, and a wider mask is a different match, so the flow is not kept.
 *
 * Invariant: a kept flow is one the agent would install now for any packet it matches; the result
 * lists a deletion for every reactive flow not kept, and nothing for a kept one.
 */
import { parseIpv4, parseIpv6, parseMac } from '../addr.js';
import type { Action, FlowStats, Match, Outgoing } from '../openflow/index.js';
import {
  setArpSha,
  setIpv6Src,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ICMP_CODE,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  NUM_FIELDS,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
} from '../sim/flow-match.js';
import { deleteByCookie } from './flow-mods.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';

/** A flow of an earlier run, as the controller judges it. */
export interface FoundFlow {
  readonly cookie: number;
  /** OpenFlow ingress port. */
  readonly inPort: number;
  /** The packet the match describes (fields it does not name are 0). */
  readonly packet: number[];
  /** canonicalFlow of its match and actions. */
  readonly canonical: string;
}

/**
 * What judges one found flow: keeps it (null) or says why not (the caller deletes it). A flow kept may
 * take the place of one kept before it (the same match hash, flow-table.ts): that one is handed to
 * `displaced`, and the caller deletes it too, so no flow stays in the switch that the agent does not
 * record (none would ever be invalidated or expired).
 */
export interface FlowJudge {
  adoptFlow(f: FoundFlow, now: number, displaced: (cookie: number) => void): string | null;
}

const ONF_EXPERIMENTER = 0x4f4e4600;
const ONF_TCP_FLAGS = 42;

/**
 * The match as the agent writes it: Open vSwitch reports TCP flags in OpenFlow 1.3 as the ONF
 * extension field (experimenter class, field 42) where the agent wrote the Nicira one.
 */
export function normalizeMatch(match: Match): Match {
  return match.map((f) => {
    if (f.field !== 'raw' || f.oxmClass !== 0xffff || f.oxmField !== ONF_TCP_FLAGS) return f;
    const b = f.payload;
    if (b.length !== (f.hasMask ? 8 : 6) || b.readUInt32BE(0) !== ONF_EXPERIMENTER) return f;
    const value = b.readUInt16BE(4);
    return f.hasMask ? { field: 'tcp_flags', value, mask: b.readUInt16BE(6) } : { field: 'tcp_flags', value };
  });
}

/** The order-free text of a match and the ordered text of its actions, for comparing flows. */
export function canonicalFlow(match: Match, actions: readonly Action[]): string {
  const fields = match.map((f) => JSON.stringify(f, bigintText)).sort();
  return `${fields.join(',')} => ${JSON.stringify(actions, bigintText)}`;
}

function bigintText(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `0x${v.toString(16)}` : v;
}

const mask32 = (v: unknown, m: unknown, parse: (x: string) => number | undefined): number | undefined => {
  const value = typeof v === 'string' ? parse(v) : undefined;
  if (value === undefined) return undefined;
  if (m === undefined) return value;
  const mm = typeof m === 'string' ? parse(m) : undefined;
  return mm === undefined ? undefined : (value & mm) >>> 0;
};

/**
 * The packet a match describes, entering at its in_port: each field it names holds the (masked)
 * value, every other field 0. A string (why) for a match the agent does not write.
 */
export function packetOfMatch(match: Match): { inPort: number; packet: number[] } | string {
  const p = new Array<number>(NUM_FIELDS).fill(0);
  // TTL is never matched (routers decrement it in the datapath): any live value will do.
  p[IP_TTL] = 64;
  let inPort: number | undefined;
  for (const f of match) {
    if (f.field === 'raw') return `an OXM field of class 0x${f.oxmClass.toString(16)} number ${f.oxmField}`;
    const v = f.value as unknown;
    const m = 'mask' in f ? (f.mask as unknown) : undefined;
    switch (f.field) {
      case 'in_port':
        inPort = Number(v);
        break;
      case 'tunnel_id':
        p[TUNNEL_ID] = Number(BigInt(v as bigint) & (m === undefined ? 0xffffffn : BigInt(m as bigint)));
        break;
      case 'eth_dst':
      case 'eth_src': {
        const mac = typeof v === 'string' ? parseMac(v) : undefined;
        if (mac === undefined) return `${f.field} ${String(v)}`;
        const mm = m === undefined ? 0xffffffffffff : typeof m === 'string' ? parseMac(m) : undefined;
        if (mm === undefined) return `${f.field} mask ${String(m)}`;
        const hi = Math.floor(mac / 0x100000000) & Math.floor(mm / 0x100000000);
        const lo = ((mac >>> 0) & (mm >>> 0)) >>> 0;
        p[f.field === 'eth_dst' ? ETH_DST_HI : ETH_SRC_HI] = hi;
        p[f.field === 'eth_dst' ? ETH_DST_LO : ETH_SRC_LO] = lo;
        break;
      }
      case 'arp_sha': {
        const mac = typeof v === 'string' && m === undefined ? parseMac(v) : undefined;
        if (mac === undefined) return `${f.field} ${String(v)}`;
        setArpSha(p, mac);
        break;
      }
      case 'ipv6_src': {
        const w = typeof v === 'string' && m === undefined ? parseIpv6(v) : undefined;
        if (w === undefined) return `${f.field} ${String(v)}`;
        setIpv6Src(p, w);
        break;
      }
      case 'vlan_vid':
        p[VLAN] = Number(v) & 0xfff;
        break;
      case 'eth_type':
        p[ETH_TYPE] = Number(v);
        break;
      case 'ipv4_src':
      case 'ipv4_dst':
      case 'arp_spa':
      case 'arp_tpa': {
        const ip = mask32(v, m, parseIpv4);
        if (ip === undefined) return `${f.field} ${String(v)}`;
        p[f.field === 'ipv4_src' || f.field === 'arp_spa' ? IP_SRC : IP_DST] = ip;
        break;
      }
      case 'arp_op':
      case 'ip_proto':
        p[IP_PROTO] = Number(v);
        break;
      case 'ip_dscp':
        p[IP_TOS] = (p[IP_TOS]! & 3) | (Number(v) << 2);
        break;
      case 'ip_ecn':
        p[IP_TOS] = (p[IP_TOS]! & 0xfc) | (Number(v) & 3);
        break;
      case 'ip_frag':
        p[IP_FRAG] = Number(v) & (m === undefined ? 3 : Number(m));
        break;
      case 'tcp_src':
      case 'udp_src':
        p[TP_SRC] = Number(v);
        break;
      case 'tcp_dst':
      case 'udp_dst':
        p[TP_DST] = Number(v);
        break;
      case 'tcp_flags':
        p[TCP_FLAGS] = Number(v) & (m === undefined ? 0xfff : Number(m));
        break;
      case 'icmpv4_type':
        p[ICMP_TYPE] = Number(v);
        break;
      case 'icmpv4_code':
        p[ICMP_CODE] = Number(v);
        break;
      default:
        return `a match on ${f.field}`;
    }
  }
  return inPort === undefined ? 'no in_port' : { inPort, packet: p };
}

/** The actions of a flow's instructions: its one apply_actions list, none, or undefined (other). */
function actionsOf(s: FlowStats): Action[] | undefined {
  if (s.instructions.length === 0) return [];
  const [only] = s.instructions;
  return s.instructions.length === 1 && only?.type === 'apply_actions' ? only.actions : undefined;
}

/**
 * Judges the reactive flows of `found` (proactive ones are left alone) with `judge`; returns how many
 * were kept and the deletions of the others.
 */
export function adoptFlows(
  judge: FlowJudge,
  found: readonly FlowStats[],
  priority: number,
  now: number,
): { kept: number; dropped: number; out: Outgoing[]; why: string[] } {
  const out: Outgoing[] = [];
  const why: string[] = [];
  let kept = 0;
  for (const s of found) {
    if ((s.cookie & PROACTIVE_COOKIE_BIT) !== 0n) continue;
    const match = normalizeMatch(s.match);
    const at = packetOfMatch(match);
    const actions = actionsOf(s);
    let reason: string | null;
    if (s.cookie <= 0n || s.cookie > BigInt(Number.MAX_SAFE_INTEGER)) reason = 'not a cookie of the agent';
    else if (s.priority !== priority) reason = `priority ${s.priority}`;
    else if (typeof at === 'string') reason = `a match the agent does not write (${at})`;
    else if (actions === undefined) reason = 'instructions the agent does not write';
    else {
      const canonical = canonicalFlow(match, actions);
      reason = judge.adoptFlow(
        { cookie: Number(s.cookie), inPort: at.inPort, packet: at.packet, canonical },
        now,
        (old) => {
          kept--;
          if (why.length < 5)
            why.push(`flow 0x${old.toString(16)}: a later flow with the same match hash was kept`);
          out.push(deleteByCookie(BigInt(old)));
        },
      );
      if (reason !== null) reason = `${canonical}: ${reason}`;
    }
    if (reason === null) {
      kept++;
    } else {
      if (why.length < 5) why.push(reason);
      out.push(deleteByCookie(s.cookie));
    }
  }
  return { kept, dropped: out.length, out, why };
}
