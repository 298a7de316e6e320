/**
 * The evaluation's QoS step (part 2, after the filter steps): the same TCP probes and iperf3 run as
 * the other steps, with the source VM's port limited to QOS_LIMIT_KBPS by an OpenFlow meter (the
 * port's `rateKbps`), so the report shows what a rate-limited port costs the first packet (it is sent
 * through the switch's table to meet the meter) and how close iperf3 comes to the configured rate.
 *
 * Invariant: the port's rate is set back to what it was at the end, also on failure.
 */
import type { TopologyStore } from '../state/store.js';
import type { CaseResult, TargetResult } from './eval-report.js';
import type { LabVm } from './lab.js';

export const QOS_STEP_NAME = 'QoS: port limited to 50 Mbit/s';
export const QOS_LIMIT_KBPS = 50_000;
/** How long agents get to apply the port change and install its meter. */
const SETTLE_MS = 1000;

export interface QosStepProbes {
  /** First/later RTT of TCP flows from the source to its destination (eval.ts `measure`). */
  measure(name: string): Promise<CaseResult>;
  /** iperf3 throughput from the source to its destination, in Mbit/s. */
  iperf(): Promise<number>;
}

export async function qosStep(store: TopologyStore, src: LabVm, probes: QosStepProbes): Promise<CaseResult> {
  const port = await store.resolve('port', src.port);
  const before = (port as { rateKbps?: number | null }).rateKbps ?? null;
  await store.update('port', port.id, { rateKbps: QOS_LIMIT_KBPS });
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const c = await probes.measure(QOS_STEP_NAME);
    c.throughputMbps = await probes.iperf();
    return c;
  } finally {
    await store.update('port', port.id, { rateKbps: before }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}

/** iperf3 through the limited port against the limit: within 10% either way. */
export function qosTargets(steps: readonly CaseResult[]): TargetResult[] {
  const s = steps.find((c) => c.name === QOS_STEP_NAME);
  if (s?.throughputMbps === undefined || !Number.isFinite(s.throughputMbps)) return [];
  const v = Number((s.throughputMbps / (QOS_LIMIT_KBPS / 1000)).toFixed(2));
  return [
    {
      name: `iperf3 through a port limited to ${QOS_LIMIT_KBPS / 1000} Mbit/s / the limit`,
      value: v,
      target: 1,
      unit: 'x',
      goal: 'within 10% of 1x',
      met: v >= 0.9 && v <= 1.1,
    },
  ];
}
