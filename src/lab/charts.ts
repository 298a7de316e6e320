/**
 * charts: renders the first-packet latency study (an EvalReport) as charts, each written as SVG and
 * as PNG, without a browser.
 *
 *   floor           the agent against OVS NORMAL, ovs-testcontroller and the minimal controller
 *                   (chart-floor.ts): first packet, packets 2-5, packets 6+
 *   first-vs-later  per filter feature step, grouped bars of the median RTT of first packets (the
 *                   packet-in that the agent simulates) and of later packets (the installed flow),
 *                   whiskers from median to p90, OVS NORMAL's first/later medians as labelled rules
 *   rtt-vs-rules    first and later median RTT against the number of rules (log x, 1..10000), with
 *                   OVS NORMAL's first-packet median as a dashed rule
 *   throughput      iperf3 Mbit/s per feature step, with OVS NORMAL's throughput as a rule
 *
 * The pipeline is data -> vega-lite spec (chartSpecs, pure) -> vega spec (vega-lite compile) -> SVG
 * (a headless vega View, renderer 'none') -> PNG (resvg, system fonts, 1440 px wide). With no canvas
 * to measure text, vega's text-width hook is pointed once, process-wide, at an estimate for DejaVu
 * Sans (Debian's base font, which resvg finds in /usr/share/fonts), so layout matches the PNG.
 *
 * Invariant: a value that is missing or not finite (a step without iperf3, a case that lost every
 * packet and so has a NaN median) is never plotted as a number and never throws: its bar, point or
 * rule is left out, and where a step has no bar it is marked "n/a" at the axis, so an absent
 * measurement cannot be mistaken for a zero one. Steps keep the order the report gives them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CaseResult, EvalReport } from './eval-report.js';
import { floorChart } from './chart-floor.js';
import {
  AGENT_TPUT,
  CONFIG,
  FIRST,
  HEIGHT,
  LATER,
  NORMAL_FIRST,
  NORMAL_LATER,
  NORMAL_TPUT,
  PNG_WIDTH,
  WIDTH,
  colorScale,
  finite,
  fmt,
  refLayers,
  subtitle,
  type ChartSpec,
  type RefLine,
} from './chart-style.js';

export type { ChartSpec } from './chart-style.js';

/** "n/a" markers at the bottom of the plot for steps that have no value. */
function absentLayer(
  rows: { step: string; kind?: string }[],
  x: Record<string, unknown>,
  grouped: boolean,
): TopLevelSpec {
  return {
    data: { values: rows },
    mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 10, color: '#888888' },
    encoding: {
      x,
      ...(grouped ? { xOffset: { field: 'kind', type: 'nominal' } } : {}),
      y: { value: HEIGHT },
      text: { value: 'n/a' },
    },
  };
}

function stepAxis(steps: string[]): Record<string, unknown> {
  return {
    field: 'step',
    type: 'nominal',
    title: 'filter feature step',
    scale: steps.length > 0 ? { domain: steps } : {},
    axis: { labelAngle: steps.length > 6 ? -30 : 0, labelLimit: 140 },
  };
}

/** Chart 1: first vs later packet median RTT per feature step. */
function firstVsLater(report: EvalReport): ChartSpec {
  const steps = report.features.map((c) => c.name);
  const bars: { step: string; kind: string; median: number; p90?: number; lost: number; n: number }[] = [];
  const absent: { step: string; kind: string }[] = [];
  for (const c of report.features) {
    for (const [kind, s] of [
      [FIRST, c.first],
      [LATER, c.later],
    ] as const) {
      const median = finite(s.median);
      const p90 = finite(s.p90);
      if (median === undefined) absent.push({ step: c.name, kind });
      else
        bars.push({
          step: c.name,
          kind,
          median,
          lost: s.lost,
          n: s.n,
          ...(p90 !== undefined && p90 >= median ? { p90 } : {}),
        });
    }
  }
  const whiskers = bars.filter((b) => b.p90 !== undefined);
  const refs: RefLine[] = [];
  const nf = finite(report.baseline.sameHost.first.median);
  const nl = finite(report.baseline.sameHost.later.median);
  if (nf !== undefined) refs.push({ kind: NORMAL_FIRST, y: nf, label: `OVS NORMAL first ${fmt(nf)} ms` });
  if (nl !== undefined) refs.push({ kind: NORMAL_LATER, y: nl, label: `OVS NORMAL later ${fmt(nl)} ms` });
  const kinds = [FIRST, LATER, ...refs.map((r) => r.kind)];
  const x = stepAxis(steps);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'First-packet vs later-packet RTT per filter feature',
      subtitle: subtitle(report, [
        'median RTT, whiskers to p90',
        refs.length > 0 ? 'dashed: plain OVS NORMAL, same host' : '',
        absent.length > 0 ? 'n/a: no packet answered' : '',
      ]),
    },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x,
          xOffset: { field: 'kind', type: 'nominal', scale: { domain: [FIRST, LATER], paddingInner: 0.08 } },
          y: { field: 'median', type: 'quantitative', title: 'median RTT (ms)' },
          color: {
            field: 'kind',
            type: 'nominal',
            title: null,
            scale: colorScale(kinds),
            legend: { orient: 'top', direction: 'horizontal' },
          },
        },
      },
      {
        data: { values: whiskers },
        mark: { type: 'rule', color: '#222222', strokeWidth: 1.5 },
        encoding: {
          x,
          xOffset: { field: 'kind', type: 'nominal', scale: { domain: [FIRST, LATER] } },
          y: { field: 'median', type: 'quantitative' },
          y2: { field: 'p90' },
        },
      },
      {
        data: { values: whiskers },
        mark: { type: 'tick', color: '#222222', thickness: 1.5, size: 10 },
        encoding: {
          x,
          xOffset: { field: 'kind', type: 'nominal', scale: { domain: [FIRST, LATER] } },
          y: { field: 'p90', type: 'quantitative' },
        },
      },
      ...refLayers(refs),
      absentLayer(absent, x, true),
    ],
  };
  return { name: 'first-vs-later', spec: spec as unknown as TopLevelSpec };
}

/** Chart 2: first and later median RTT against rule count. */
function rttVsRules(report: EvalReport): ChartSpec {
  const points: { rules: number; kind: string; median: number; p90?: number }[] = [];
  let maxRules = 10000;
  for (const c of report.ruleGrowth) {
    const rules = finite(ruleCount(c));
    if (rules === undefined || rules < 1) continue;
    maxRules = Math.max(maxRules, rules);
    for (const [kind, s] of [
      [FIRST, c.first],
      [LATER, c.later],
    ] as const) {
      const median = finite(s.median);
      const p90 = finite(s.p90);
      if (median !== undefined)
        points.push({ rules, kind, median, ...(p90 !== undefined && p90 >= median ? { p90 } : {}) });
    }
  }
  const refs: RefLine[] = [];
  const nf = finite(report.baseline.sameHost.first.median);
  if (nf !== undefined) refs.push({ kind: NORMAL_FIRST, y: nf, label: `OVS NORMAL first ${fmt(nf)} ms` });
  const ticks = [1, 10, 100, 1000, 10000, 100000, 1000000].filter((t) => t <= maxRules);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'RTT against number of rules in the chain',
      subtitle: subtitle(report, [
        'median RTT, whiskers to p90',
        refs.length > 0 ? 'dashed: plain OVS NORMAL first packet, same host' : '',
      ]),
    },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', point: { size: 70, filled: true }, strokeWidth: 2.5, tooltip: true },
        encoding: {
          x: {
            field: 'rules',
            type: 'quantitative',
            title: 'rules in the chain (log scale)',
            scale: { type: 'log', domain: [0.7, maxRules * 1.4], nice: false },
            axis: { values: ticks, format: ',d', grid: true },
          },
          y: { field: 'median', type: 'quantitative', title: 'median RTT (ms)' },
          color: {
            field: 'kind',
            type: 'nominal',
            title: null,
            scale: colorScale([FIRST, LATER, ...refs.map((r) => r.kind)]),
            legend: { orient: 'top', direction: 'horizontal' },
          },
        },
      },
      {
        data: { values: points.filter((p) => p.p90 !== undefined) },
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.6 },
        encoding: {
          x: { field: 'rules', type: 'quantitative' },
          y: { field: 'median', type: 'quantitative' },
          y2: { field: 'p90' },
          color: { field: 'kind', type: 'nominal' },
        },
      },
      ...refLayers(refs),
    ],
  };
  return { name: 'rtt-vs-rules', spec: spec as unknown as TopLevelSpec };
}

/** The case's rule count: its `rules` field, else a leading number in its name ('1000 rules'). */
function ruleCount(c: CaseResult): number | undefined {
  if (c.rules !== undefined) return c.rules;
  const m = /^\s*(\d+)/.exec(c.name);
  return m ? Number(m[1]) : undefined;
}

/** Chart 3: iperf3 throughput per feature step. */
function throughput(report: EvalReport): ChartSpec {
  const steps = report.features.map((c) => c.name);
  const bars: { step: string; kind: string; mbps: number }[] = [];
  const absent: { step: string }[] = [];
  for (const c of report.features) {
    const mbps = finite(c.throughputMbps);
    if (mbps === undefined) absent.push({ step: c.name });
    else bars.push({ step: c.name, kind: AGENT_TPUT, mbps });
  }
  const refs: RefLine[] = [];
  const nt = finite(report.baseline.throughputMbps);
  if (nt !== undefined) refs.push({ kind: NORMAL_TPUT, y: nt, label: `OVS NORMAL ${fmt(nt)} Mbit/s` });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'TCP throughput per filter feature (iperf3)',
      subtitle: subtitle(report, [
        refs.length > 0 ? 'dashed: plain OVS NORMAL, same host' : '',
        absent.length > 0 ? 'n/a: not measured' : '',
      ]),
    },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', tooltip: true, width: { band: 0.6 } },
        encoding: {
          x: stepAxis(steps),
          y: { field: 'mbps', type: 'quantitative', title: 'throughput (Mbit/s)' },
          color: {
            field: 'kind',
            type: 'nominal',
            title: null,
            scale: colorScale([AGENT_TPUT, ...refs.map((r) => r.kind)]),
            legend: { orient: 'top', direction: 'horizontal' },
          },
        },
      },
      ...refLayers(refs),
      absentLayer(absent, stepAxis(steps), false),
    ],
  };
  return { name: 'throughput', spec: spec as unknown as TopLevelSpec };
}

/** The charts' vega-lite specs for a report (the floor chart when the report has a floor). Pure: no I/O. */
export function chartSpecs(report: EvalReport): ChartSpec[] {
  const floor = floorChart(report);
  return [firstVsLater(report), rttVsRules(report), throughput(report), ...(floor ? [floor] : [])];
}

/** The part of vega's (untyped) text-measurement hook that this module replaces. */
interface VegaTextMetrics {
  width: (item: { fontSize?: number; fontWeight?: string | number }, text: unknown) => number;
}

/**
 * Width of a text in DejaVu Sans, in pixels, from per-character advance classes (em fractions,
 * rounded up). Without a canvas vega estimates every character as 0.8 em, which makes titles and
 * legends reserve about 40% too much room and leaves a wide empty band right of the chart.
 */
function dejaVuWidth(text: string, fontSize: number, bold: boolean): number {
  let em = 0;
  for (const ch of text) {
    if (" .,:;!|'il".includes(ch)) em += 0.32;
    else if ('()[]{}-/frtj'.includes(ch)) em += 0.42;
    else if ('mwMW%'.includes(ch)) em += 0.98;
    else if (ch >= 'A' && ch <= 'Z') em += 0.74;
    else em += 0.64;
  }
  return Math.ceil(em * fontSize * (bold ? 1.1 : 1));
}

let textMetricsSet = false;

/** Points vega's text measurement at dejaVuWidth, once; it is a process-wide hook (as in vl-convert). */
function useDejaVuTextMetrics(): void {
  if (textMetricsSet) return;
  const tm = (vega as unknown as { textMetrics?: VegaTextMetrics }).textMetrics;
  if (tm === undefined) return;
  tm.width = (item, text) => {
    const s = typeof text === 'string' || typeof text === 'number' ? String(text).trim() : '';
    const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
    return dejaVuWidth(s, item.fontSize ?? 11, bold);
  };
  textMetricsSet = true;
}

/** Renders a vega-lite spec to SVG text with a headless vega view. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  useDejaVuTextMetrics();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Converts SVG text to PNG bytes, PNG_WIDTH pixels wide, with the machine's fonts. */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'width', value: PNG_WIDTH },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/**
 * Writes each chart of the report as NAME.svg and NAME.png into outDir (created when missing) and
 * returns the paths written, SVG before PNG, in chart order.
 */
export async function renderCharts(report: EvalReport, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const chart of chartSpecs(report)) {
    const svg = await renderSvg(chart.spec);
    const svgPath = join(outDir, `${chart.name}.svg`);
    const pngPath = join(outDir, `${chart.name}.png`);
    await writeFile(svgPath, svg);
    await writeFile(pngPath, svgToPng(svg));
    written.push(svgPath, pngPath);
  }
  return written;
}
