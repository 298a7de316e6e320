/**
 * bench/bgp: time from the lab ISP announcing 1, 100 and 10,000 prefixes to all of them being routes
 * (source bgp) in the virtual router, and from withdrawing them to none being left; median of several
 * runs. Target: 10,000 prefixes imported in under 10 s. Real FRR on both sides (a one-host lab with
 * --bgp, in a temporary run directory, torn down at the end also on failure).
 * The prefixes are /30s of 198.18.0.0/15 (RFC 2544's benchmarking range): the documentation ranges
 * hold fewer than 10,000 distinct prefixes. They are only routes; no packet is sent to them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { labDown, labUp } from '../src/lab/lab.js';
import { ispFrr } from '../src/lab/bgp-lab.js';
import { openStore } from '../src/state/open.js';
import { formatIpv4, parseIpv4 } from '../src/addr.js';
import { printReport, printTable, quantile, round } from './report.js';
import { uniqueLabName } from '../src/lab/layout.js';

const SIZES: ReadonlyArray<[number, number]> = [
  [1, 5],
  [100, 5],
  [10000, 3],
];
const BASE = parseIpv4('198.18.0.0')!;
const prefixes = (n: number) => Array.from({ length: n }, (_, i) => `${formatIpv4((BASE + i * 4) >>> 0)}/30`);
const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

const runDir = mkdtempSync(join(tmpdir(), 'midonet-bench-bgp-'));
try {
  const lab = await labUp({
    runDir,
    name: uniqueLabName('bb'),
    hosts: 1,
    vmsPerHost: 1,
    tunnel: 'gre',
    bgp: true,
  });
  const store = await openStore(lab.storeUrl);
  const frr = ispFrr(lab.bgp!.isp.netns);
  const count = async () =>
    (await store.list('route')).filter((r) => r.source === 'bgp' && r.dstPrefix.startsWith('198.1')).length;
  const until = async (what: string, ok: (n: number) => boolean, timeoutMs: number) => {
    const t0 = performance.now();
    for (;;) {
      if (ok(await count())) return (performance.now() - t0) / 1000;
      if (performance.now() - t0 > timeoutMs)
        throw new Error(`bench bgp: ${what} not done within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // The session must be up first (the ISP's own prefix is learned).
  const t0 = Date.now();
  while (!(await store.list('route')).some((r) => r.source === 'bgp')) {
    if (Date.now() - t0 > 60000) throw new Error('bench bgp: the session did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  const figures: Record<string, number> = {};
  const rows: Array<[string, string]> = [];
  for (const [n, runs] of SIZES) {
    const imp: number[] = [];
    const wd: number[] = [];
    const ps = prefixes(n);
    for (let k = 0; k < runs; k++) {
      const t = performance.now();
      await frr.vtyshScript([
        'configure terminal',
        'router bgp 64500',
        'address-family ipv4 unicast',
        ...ps.map((p) => `network ${p}`),
        'end',
      ]);
      await until(`import of ${n}`, (c) => c === n, 120000);
      imp.push((performance.now() - t) / 1000);
      const w = performance.now();
      await frr.vtyshScript([
        'configure terminal',
        'router bgp 64500',
        'address-family ipv4 unicast',
        ...ps.map((p) => `no network ${p}`),
        'end',
      ]);
      await until(`withdrawal of ${n}`, (c) => c === 0, 120000);
      wd.push((performance.now() - w) / 1000);
    }
    figures[`import_${n}_s`] = round(median(imp));
    figures[`withdraw_${n}_s`] = round(median(wd));
    rows.push([`${n} prefixes: import (median of ${runs})`, `${median(imp).toFixed(2)} s`]);
    rows.push([`${n} prefixes: withdraw (median of ${runs})`, `${median(wd).toFixed(2)} s`]);
  }
  await store.close();
  printTable('BGP route import (ISP announces -> routes in the virtual router)', rows);
  printReport('bgp', figures, [
    { name: 'import of 10,000 prefixes', value: figures.import_10000_s!, target: 10, unit: 's', kind: 'max' },
  ]);
} finally {
  await labDown(runDir);
}
