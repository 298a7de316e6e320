/**
 * Shared shape of every benchmark's output: a table for people, then one JSON line for programs,
 * `{"bench", "figures", "targets": [{"name", "value", "target", "unit", "met"}]}`, printed last.
 */
export interface Target {
  readonly name: string;
  readonly value: number;
  readonly target: number;
  readonly unit: string;
  /** 'min': value must be at least target; 'max': at most. */
  readonly kind: 'min' | 'max';
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function printTable(title: string, rows: ReadonlyArray<readonly [string, string]>): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

export function printReport(
  bench: string,
  figures: Record<string, number>,
  targets: readonly Target[],
): void {
  printTable(
    'targets',
    targets.map((t) => [
      t.name,
      `${round(t.value)} ${t.unit} (${t.kind === 'min' ? '>=' : '<='} ${t.target}) ${met(t) ? 'met' : 'NOT MET'}`,
    ]),
  );
  const out = {
    bench,
    figures: Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, round(v)])),
    targets: targets.map((t) => ({
      name: t.name,
      value: round(t.value),
      target: t.target,
      unit: t.unit,
      met: met(t),
    })),
  };
  console.log(JSON.stringify(out));
}

function met(t: Target): boolean {
  return t.kind === 'min' ? t.value >= t.target : t.value <= t.target;
}

export function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

/** The positive integer after `--name` on the command line, or `fallback`; exits 2 naming a bad one. */
export function intArg(bench: string, name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1] ?? '';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench ${bench}: ${name} must be a positive integer (got '${v.slice(0, 40)}')`);
    process.exit(2);
  }
  return n;
}
