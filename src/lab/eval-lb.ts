/**
 * The evaluation's "load balancer" step (part 2, after the layer 4 steps): the same TCP probes and
 * iperf3 run as the other steps, but to a VIP of a load balancer on the lab's router, whose pools'
 * only member is the destination VM (its echo port and its iperf3 port), so the figures read as the
 * cost of the balancer's path (member choice and translation on the first packet, the translated
 * flow after) against plain OVS NORMAL, like every other step of the report.
 *
 * The VIP is the last usable address of the destination's subnet (the router port's subnet, which
 * no lab VM takes). Each probe flow is a new source port, so each first packet is a new connection
 * that chooses a member.
 *
 * Invariant: what the step adds (the balancer when the router had none, its pools, members and VIPs)
 * is deleted at the end, also on failure; a balancer the router already had is kept, with only the
 * step's pools and VIPs removed from it.
 */
import { formatIpv4, parseCidr, prefixMask } from '../addr.js';
import type { TopologyStore } from '../state/store.js';
import type { CaseResult } from './eval-report.js';
import { ROUTER, type LabVm } from './lab.js';

export const LB_STEP_NAME = 'routed + load balancer (VIP)';
/** The probes' echo port and iperf3's port on the member (eval.ts). */
const ECHO_PORT = 7;
const IPERF_PORT = 5201;

/** The last usable address of the subnet of router port address `cidr`. */
export function lastUsable(cidr: string): string {
  const c = parseCidr(cidr, false);
  if (typeof c === 'string' || c.len > 30) throw new Error(`eval: no VIP address in ${cidr}`);
  const broadcast = ((c.addr & prefixMask(c.len)) | ~prefixMask(c.len)) >>> 0;
  return formatIpv4(broadcast - 1);
}

export interface LbStepProbes {
  /** First/later RTT of TCP flows to `to` (eval.ts `measure`). */
  measure(name: string, to: string): Promise<CaseResult>;
  /** iperf3 throughput to `to`, in Mbit/s. */
  iperf(to: string): Promise<number>;
}

export async function loadBalancerStep(
  store: TopologyStore,
  dst: LabVm,
  probes: LbStepProbes,
): Promise<CaseResult> {
  const router = await store.resolve('router', ROUTER);
  const port = (await store.list('port', { refersTo: router.id })).find(
    (p) => p.deviceId === router.id && p.address?.startsWith(`${dst.gateway}/`),
  );
  if (port?.address == null) throw new Error(`eval: router ${ROUTER} has no port on ${dst.name}'s bridge`);
  const vip = lastUsable(port.address);
  const stamp = Date.now();
  const existing = (await store.list('load-balancer', { refersTo: router.id })).find(
    (l) => l.routerId === router.id,
  );
  const lb =
    existing ?? (await store.create('load-balancer', { name: `eval-lb-${stamp}`, routerId: router.id }));
  const pools: string[] = [];
  try {
    for (const p of [ECHO_PORT, IPERF_PORT]) {
      const pool = await store.create('pool', { name: `eval-lb-${p}-${stamp}`, loadBalancerId: lb.id });
      pools.push(pool.id);
      await store.create('pool-member', {
        name: `eval-lb-${p}-${stamp}-${dst.name}`,
        poolId: pool.id,
        address: dst.ip,
        port: p,
      });
      await store.create('vip', {
        name: `eval-lb-${p}-${stamp}`,
        loadBalancerId: lb.id,
        poolId: pool.id,
        address: vip,
        port: p,
      });
    }
    await new Promise((r) => setTimeout(r, 300)); // let agents apply it
    const c = await probes.measure(LB_STEP_NAME, vip);
    c.throughputMbps = await probes.iperf(vip);
    return c;
  } finally {
    for (const id of pools) await store.delete('pool', id, { cascade: true }).catch(() => undefined);
    if (existing === undefined)
      await store.delete('load-balancer', lb.id, { cascade: true }).catch(() => undefined);
  }
}
