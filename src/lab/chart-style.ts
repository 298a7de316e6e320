/**
 * What every chart of the evaluation shares: size, fonts, colors of the series, the subtitle that says
 * how the study ran, and labelled reference lines (OVS NORMAL's figures).
 *
 * Invariant: a series has one color in every chart (COLORS), so a reader who learned it once can read
 * them all; nothing here renders or does I/O.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { EvalReport } from './eval-report.js';

/** Plot area size, in CSS pixels (the legend and axes come on top of it). */
/** One chart to render: its file stem and its vega-lite spec. */
export interface ChartSpec {
  /** file name without extension, e.g. 'first-vs-later' */
  name: string;
  /** the vega-lite spec, data inline */
  spec: TopLevelSpec;
}

export const WIDTH = 640;
export const HEIGHT = 360;
/** PNG width in pixels: twice the SVG's size, for sharp text. */
export const PNG_WIDTH = 1440;
/** Font families tried in order; DejaVu is what Debian installs with its base fonts. */
export const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

export const FIRST = 'first packet';
export const LATER = 'later packets';
export const NORMAL_FIRST = 'OVS NORMAL first';
export const NORMAL_LATER = 'OVS NORMAL later';
export const AGENT_TPUT = 'agent (iperf3)';
export const NORMAL_TPUT = 'OVS NORMAL';
export const TRANSIENT = 'packets 2-5';
export const STEADY = 'packets 6+';

export const COLORS: Record<string, string> = {
  [FIRST]: '#e45756',
  [LATER]: '#4c78a8',
  [NORMAL_FIRST]: '#9d2a1e',
  [NORMAL_LATER]: '#1f3f6e',
  [AGENT_TPUT]: '#54a24b',
  [NORMAL_TPUT]: '#333333',
  [TRANSIENT]: '#9ecae9',
  [STEADY]: '#2f5f8a',
};

/** The value when it is a finite number, else undefined. */
export function finite(v: number | undefined): number | undefined {
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** Rounds for labels: 3 significant digits, no exponent for the values this study sees. */
export function fmt(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

export function colorScale(domain: string[]): { domain: string[]; range: string[] } {
  return { domain, range: domain.map((d) => COLORS[d] ?? '#888888') };
}

/** The chart's notes that apply (empty ones dropped), then how and where the study ran. */
export function subtitle(report: EvalReport, notes: string[]): string {
  const s = report.settings;
  // The full method is in report.json and the tables; a subtitle long enough to hold it squashes the plot.
  const how = `${s.flows} flows x ${s.packetsPerFlow} packets per case, a new flow each time${s.quick ? ' (quick)' : ''}; ${report.machine.hostname}`;
  return [...notes.filter((n) => n !== ''), how].join('; ');
}

export const CONFIG = {
  font: FONT,
  background: 'white',
  title: {
    fontSize: 16,
    subtitleFontSize: 12,
    subtitleColor: '#555555',
    anchor: 'start' as const,
    offset: 10,
  },
  axis: { labelFontSize: 12, titleFontSize: 13, titlePadding: 8 },
  legend: { labelFontSize: 12, titleFontSize: 12, symbolSize: 160 },
  view: { stroke: '#dddddd' },
};

/** A labelled horizontal reference line: a rule at y across the plot, its label right of the plot. */
export interface RefLine {
  kind: string;
  y: number;
  label: string;
}

/** Rule + label layers for reference lines, colored by the shared color scale. */
export function refLayers(lines: RefLine[]): TopLevelSpec[] {
  return [
    {
      data: { values: lines },
      mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 2 },
      encoding: {
        y: { field: 'y', type: 'quantitative' },
        color: { field: 'kind', type: 'nominal' },
      },
    },
    {
      data: { values: lines },
      mark: { type: 'text', align: 'left', baseline: 'middle', dx: 6, fontSize: 11, fontWeight: 'bold' },
      encoding: {
        x: { value: 'width' },
        y: { field: 'y', type: 'quantitative' },
        text: { field: 'label', type: 'nominal' },
        color: { field: 'kind', type: 'nominal' },
      },
    },
  ] as TopLevelSpec[];
}
