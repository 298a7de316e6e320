/**
 * Packet-ins per flow of an evaluation case, and how many of them were duplicates: packet-ins that
 * matched a flow the agent had just installed or was installing (its `duplicates` stat), sent on with
 * PACKET_OUT and the flow's actions without a new simulation or FLOW_MOD. On this machine they are the
 * forward flow's packet 2 racing Open vSwitch's revalidator: the first packet's miss leaves a datapath
 * flow that sends to the controller until it is revalidated (docs/first-packet-tail.md).
 *
 * Invariant: pure (no I/O); a figure that cannot be computed (no packet-in count, no flows, or agents
 * whose stats have no `duplicates`) is absent or prints as '-', never as a made-up number.
 */

/** What the per-flow figures are read from: a case's counts over its flows. */
export interface PacketInCounts {
  /** packet-ins the agents saw during the case */
  packetIns?: number;
  /** of those, duplicates (absent when an agent's stats do not count them) */
  duplicates?: number;
  /** flows measured */
  flows?: number;
}

/** The case's packet-ins and duplicates per flow; undefined without a packet-in count or flows. */
export function perFlowOf(c: PacketInCounts): { packetIns: number; duplicates?: number } | undefined {
  if (c.packetIns === undefined || !c.flows) return undefined;
  return {
    packetIns: c.packetIns / c.flows,
    ...(c.duplicates === undefined ? {} : { duplicates: c.duplicates / c.flows }),
  };
}

/** e.g. '1.20 (0.20 dup)'; '1.20' when duplicates were not counted; '-' when nothing can be computed. */
export function perFlowText(c: PacketInCounts): string {
  const p = perFlowOf(c);
  if (p === undefined || !Number.isFinite(p.packetIns)) return '-';
  const dup = p.duplicates;
  return dup === undefined || !Number.isFinite(dup)
    ? p.packetIns.toFixed(2)
    : `${p.packetIns.toFixed(2)} (${dup.toFixed(2)} dup)`;
}

/** The case's packet-in count with its duplicates, e.g. '52 (12 dup)'; '-' without a count. */
export function packetInsText(c: PacketInCounts): string {
  if (c.packetIns === undefined) return '-';
  return c.duplicates === undefined ? String(c.packetIns) : `${c.packetIns} (${c.duplicates} dup)`;
}

/**
 * One of the agents' counters (`key` of their stats) over a phase: the sum after minus the sum before;
 * undefined when any agent's stats lack it (an agent that does not count it).
 */
export function counterDelta<K extends string>(
  key: K,
  before: ReadonlyArray<{ [k in K]?: number }>,
  after: ReadonlyArray<{ [k in K]?: number }>,
): number | undefined {
  const sum = (ss: ReadonlyArray<{ [k in K]?: number }>): number | undefined => {
    let n = 0;
    for (const s of ss) {
      const v = s[key];
      if (typeof v !== 'number') return undefined;
      n += v;
    }
    return n;
  };
  const a = sum(after);
  const b = sum(before);
  return a === undefined || b === undefined ? undefined : a - b;
}

/** The agents' duplicates over a phase (their `duplicates` stat; counterDelta). */
export function duplicatesDelta(
  before: ReadonlyArray<{ duplicates?: number }>,
  after: ReadonlyArray<{ duplicates?: number }>,
): number | undefined {
  return counterDelta('duplicates', before, after);
}
