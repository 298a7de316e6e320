/**
 * bench/isolation: tenant isolation as a property (test/support/isolation.ts) over 100,000 random
 * two-tenant topologies, 40 packets each (any headers, and fuzzed frames through the packet-in match
 * path): packets delivered to, generated from or learned by the other tenant are violations (target 0).
 * A control run joins the tenants with one link in 1,000 topologies; the property must find it in most.
 *
 *   npm run bench -- isolation [--cases N] [--packets P] [--seed S]
 */
import { isolationCase } from '../test/support/isolation.js';
import { intArg, printReport, printTable } from './report.js';

const cases = intArg('isolation', '--cases', 100_000);
const packets = intArg('isolation', '--packets', 40);
const first = intArg('isolation', '--seed', 1);
const CONTROL = 1000;

let delivered = 0;
let outputs = 0;
let violating = 0;
const examples: string[] = [];
const t0 = performance.now();
for (let seed = first; seed < first + cases; seed++) {
  const r = isolationCase(seed, packets);
  delivered += r.delivered;
  outputs += r.outputs;
  if (r.violations.length > 0) {
    violating++;
    if (examples.length < 5) examples.push(r.violations[0]!);
  }
  if ((seed - first + 1) % 10_000 === 0) process.stderr.write(`  ${seed - first + 1} cases\n`);
}
const seconds = (performance.now() - t0) / 1000;
let found = 0;
for (let seed = first; seed < first + CONTROL; seed++)
  if (isolationCase(seed, packets, { leak: true }).violations.length > 0) found++;

printTable('tenant isolation (random two-tenant topologies, no router path between them)', [
  ['cases (topologies)', String(cases)],
  ['packets', String(cases * packets)],
  ['packets delivered somewhere', String(delivered)],
  ['outputs checked (generated packets included)', String(outputs)],
  ['cases with a violation', String(violating)],
  ['cases per second', (cases / seconds).toFixed(0)],
  [`control: a link between the tenants found in`, `${found} of ${CONTROL} topologies`],
]);
for (const e of examples) console.log(`    ${e.slice(0, 400)}`);
printReport(
  'isolation',
  {
    cases,
    packets: cases * packets,
    delivered,
    outputs,
    violating_cases: violating,
    cases_per_s: cases / seconds,
    control_found: found / CONTROL,
  },
  [
    { name: 'cases with a packet crossing tenants', value: violating, target: 0, unit: 'cases', kind: 'max' },
    {
      name: 'control: a link between tenants found',
      value: found / CONTROL,
      target: 0.5,
      unit: 'of cases',
      kind: 'min',
    },
  ],
);
