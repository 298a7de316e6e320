/**
 * Actions from header differences (MidoNet's calculateActionsFromMatchDiff).
 *
 * Each output carries the headers as they were when the packet reached that exterior port. The
 * datapath applies actions in order, so for each output we emit the set-field actions that turn the
 * headers left by the previous output into this one's, then the TTL decrements still owed, then the
 * output. Outputs are ordered by TTL decrements (a decrement cannot be undone).
 *
 * Invariant: the actions are a function of the original packet and the final headers only; no device
 * appends an action itself.
 */
import {
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  IP_DST,
  IP_SRC,
  IP_TOS,
  IPV6_DST_0,
  IPV6_SRC_0,
  TP_DST,
  TP_SRC,
  VLAN,
  words6,
} from './flow-match.js';
import type { Output } from './context.js';
import type { Action, SetFieldName } from './result.js';

const SETTABLE: ReadonlyArray<readonly [SetFieldName, number, number]> = [
  ['eth_src', ETH_SRC_HI, ETH_SRC_LO],
  ['eth_dst', ETH_DST_HI, ETH_DST_LO],
  ['vlan_vid', VLAN, -1],
  ['ip_src', IP_SRC, -1],
  ['ip_dst', IP_DST, -1],
  ['ip_tos', IP_TOS, -1],
  ['tp_src', TP_SRC, -1],
  ['tp_dst', TP_DST, -1],
];

/** IPv6 addresses, four words each, set whole (a load balancer's translation, load-balancer.ts). */
const SETTABLE6: ReadonlyArray<readonly ['ipv6_src' | 'ipv6_dst', number]> = [
  ['ipv6_src', IPV6_SRC_0],
  ['ipv6_dst', IPV6_DST_0],
];

function differs6(a: readonly number[], b: readonly number[], f0: number): boolean {
  return a[f0] !== b[f0] || a[f0 + 1] !== b[f0 + 1] || a[f0 + 2] !== b[f0 + 2] || a[f0 + 3] !== b[f0 + 3];
}

/**
 * `copies`: mirror copies of the packet as it was at interior ports (mirror.ts), placed among the
 * outputs like them; they are no egress (a packet only copied is still a drop).
 */
export function actionsFromDiff(
  orig: readonly number[],
  outputs: readonly Output[],
  emits: readonly Action[],
  dropReason: string | null,
  copies: readonly Output[] = [],
): Action[] {
  const acts: Action[] = [];
  const all = copies.length > 0 ? [...outputs, ...copies] : outputs;
  const outs = all.length > 1 ? [...all].sort((a, b) => a.ttlDecrements - b.ttlDecrements) : all;
  let prev = orig;
  let ttl = 0;
  for (const o of outs) {
    const h = o.headers ?? orig;
    if (h !== prev) {
      for (const [field, hi, lo] of SETTABLE) {
        if (h[hi] !== prev[hi] || (lo >= 0 && h[lo] !== prev[lo])) {
          const value = lo >= 0 ? h[hi]! * 0x100000000 + h[lo]! : h[hi]!;
          acts.push({ kind: 'setField', field, value });
        }
      }
      for (const [field, f0] of SETTABLE6)
        if (differs6(h, prev, f0)) acts.push({ kind: 'setField6', field, value: words6(h, f0) });
      prev = h;
    }
    for (; ttl < o.ttlDecrements; ttl++) acts.push({ kind: 'decTtl' });
    acts.push({ kind: 'output', portId: o.portId });
  }
  for (const e of emits) acts.push(e);
  if (outputs.length === 0) acts.push({ kind: 'drop', reason: dropReason ?? 'no egress port' });
  return acts;
}
