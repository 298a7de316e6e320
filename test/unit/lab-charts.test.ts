// Charts of the first-packet latency study: a plausible report renders to three SVG + PNG pairs with
// titled axes, and a report with unmeasured throughput and NaN statistics (a case that lost every
// packet) still renders, with the absent values left out rather than crashing the renderer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { renderCharts } from '../../src/lab/charts.js';
import type { CaseResult, EvalReport, RttStats } from '../../src/lab/eval-report.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function rtt(median: number, n = 200, lost = 0): RttStats {
  return { n, lost, median, p90: median * 1.4, p99: median * 2.1 };
}

function result(name: string, first: number, later: number, extra: Partial<CaseResult> = {}): CaseResult {
  return { name, first: rtt(first), later: rtt(later), firstMinusLaterMs: first - later, ...extra };
}

const STEPS = ['no filter', 'dst-ip', 'src-ip', 'src-port', 'dst-port', 'proto', 'tcp-flags', 'tcp-window'];

function sampleReport(): EvalReport {
  return {
    machine: {
      hostname: 'lab-1',
      cpus: 2,
      cpuModel: 'Example CPU',
      memoryGiB: 24,
      kernel: '6.1.0',
      node: 'v20.20.2',
      ovs: '3.1.0',
    },
    startedAt: '2025-01-01T00:00:00.000Z',
    durationS: 312,
    settings: { flows: 200, packetsPerFlow: 5, quick: false, method: 'udp-probe' },
    baseline: {
      sameHost: result('NORMAL, same host', 0.78, 0.23),
      crossHost: result('NORMAL, cross host', 0.95, 0.31),
      throughputMbps: 2150,
    },
    base: [result('agent, same host', 2.4, 0.24), result('agent, cross host', 2.9, 0.33)],
    features: STEPS.map((s, i) =>
      result(s, 2.3 + i * 0.12, 0.24 + i * 0.004, { throughputMbps: 2100 - i * 35, packetIns: 200 }),
    ),
    ruleGrowth: [1, 10, 100, 1000, 10000].map((n) =>
      result(`${n} rules`, 2.3 + Math.log10(n) * 0.6, 0.24, { rules: n }),
    ),
    targets: [{ name: 'first - later, same host', value: 2.16, target: 5, unit: 'ms', met: true }],
  };
}

async function withTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'midonet-charts-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const AXIS_TITLES: Record<string, string[]> = {
  'first-vs-later.svg': ['filter feature step', 'median RTT (ms)'],
  'rtt-vs-rules.svg': ['rules in the chain (log scale)', 'median RTT (ms)'],
  'throughput.svg': ['filter feature step', 'throughput (Mbit/s)'],
};

async function checkFiles(paths: string[]): Promise<void> {
  assert.deepEqual(
    paths.map((p) => basename(p)),
    [
      'first-vs-later.svg',
      'first-vs-later.png',
      'rtt-vs-rules.svg',
      'rtt-vs-rules.png',
      'throughput.svg',
      'throughput.png',
    ],
  );
  for (const p of paths) {
    if (p.endsWith('.svg')) {
      const svg = await readFile(p, 'utf8');
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(svg, /<\/svg>\s*$/);
      for (const title of AXIS_TITLES[basename(p)] ?? []) {
        assert.ok(svg.includes(title), `${basename(p)} mentions ${title}`);
      }
      assert.ok(!svg.includes('NaN'), `${basename(p)} has no NaN coordinates`);
    } else {
      const png = await readFile(p);
      assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, `${basename(p)} is a PNG`);
      assert.ok((await stat(p)).size > 5 * 1024, `${basename(p)} is more than 5 KB`);
    }
  }
}

test('a full report renders three charts as SVG and PNG', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'charts');
    await checkFiles(await renderCharts(sampleReport(), out));
    const labels: [string, string][] = [
      ['first-vs-later.svg', 'OVS NORMAL first 0.78 ms'],
      ['first-vs-later.svg', 'OVS NORMAL later 0.23 ms'],
      ['rtt-vs-rules.svg', 'OVS NORMAL first 0.78 ms'],
      ['throughput.svg', 'OVS NORMAL 2150 Mbit/s'],
    ];
    for (const [file, label] of labels) {
      assert.ok((await readFile(join(out, file), 'utf8')).includes(label), `${file} labels ${label}`);
    }
  });
});

test('missing throughput and NaN statistics render as absent values', async () => {
  const r = sampleReport();
  const lostAll: RttStats = { n: 200, lost: 200, median: NaN, p90: NaN, p99: NaN };
  r.features = r.features.map((c, i) => {
    const { throughputMbps: _t, ...rest } = c;
    if (i === 1) return { ...rest, first: lostAll, later: lostAll, firstMinusLaterMs: NaN };
    return i % 2 === 0 ? rest : c;
  });
  r.ruleGrowth[4] = { ...r.ruleGrowth[4]!, first: lostAll, firstMinusLaterMs: NaN };
  r.baseline.throughputMbps = NaN;
  await withTempDir(async (dir) => {
    const paths = await renderCharts(r, dir);
    await checkFiles(paths);
    const fvl = await readFile(join(dir, 'first-vs-later.svg'), 'utf8');
    assert.ok(fvl.includes('n/a'), 'a step that lost every packet is marked n/a');
    const tput = await readFile(join(dir, 'throughput.svg'), 'utf8');
    assert.ok(!tput.includes('OVS NORMAL'), 'no NORMAL rule or legend entry for a NaN baseline');
    assert.ok(tput.includes('n/a'), 'unmeasured steps are marked n/a');
  });
});

test('an empty report still renders', async () => {
  const r = sampleReport();
  r.features = [];
  r.ruleGrowth = [];
  await withTempDir(async (dir) => {
    const paths = await renderCharts(r, dir);
    assert.equal(paths.length, 6);
  });
});
