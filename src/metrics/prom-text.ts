/**
 * Reads the Prometheus text exposition format back into numbers: what tests and operators' scripts
 * need to check a scrape. Only samples are read (HELP/TYPE comments are skipped).
 *
 * Invariant: the key of a sample is its name plus its label set exactly as printed
 * (`name{le="0.001"}`), so a caller looks up what it saw in the text; values parse as JavaScript
 * numbers (`NaN`, `+Inf` included).
 */
export function parsePromText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{.*\})?) (\S+)(?: \d+)?$/.exec(line);
    if (m) out.set(m[1]!, m[2] === '+Inf' ? Infinity : m[2] === '-Inf' ? -Infinity : Number(m[2]));
  }
  return out;
}
