/**
 * midonet-lb-health's figures for its metrics endpoint (src/metrics/server.ts): checks made by result,
 * member health transitions by member and new status, and how many balancers this process leads. Read
 * at scrape time from the monitor's counters, through the gauges' collect.
 *
 * Invariant: the values are the monitor's own counts since start (monotonic, so they are exported as
 * counters' values by gauges that are only ever set from them), never kept a second time here.
 */
import { Gauge, type Registry } from 'prom-client';
import type { HealthMonitor } from './monitor.js';

export function registerLbHealthMetrics(registry: Registry, monitor: HealthMonitor): void {
  new Gauge({
    name: 'midonet_lb_health_checks_total',
    help: 'Health checks made (by this process, while leading), by result',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.set({ result: 'pass' }, monitor.counts.passed);
      this.set({ result: 'fail' }, monitor.counts.checks - monitor.counts.passed);
    },
  });
  new Gauge({
    name: 'midonet_lb_health_transitions_total',
    help: 'Member status changes this process wrote, by member and new status',
    labelNames: ['member', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [member, t] of monitor.counts.byMember) {
        this.set({ member, status: 'up' }, t.up);
        this.set({ member, status: 'down' }, t.down);
      }
    },
  });
  new Gauge({
    name: 'midonet_lb_health_leading',
    help: 'Load balancers whose health checks this process leads',
    registers: [registry],
    collect() {
      this.set(monitor.leads().length);
    },
  });
}
