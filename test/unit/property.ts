/**
 * Property-test helper shared by the unit tests: fc.assert, but the failure message carries the
 * property's own error and the counterexample (node's test reporter hides error causes).
 */
import fc from 'fast-check';

export function holds<T extends [unknown, ...unknown[]]>(p: fc.IProperty<T>, params: fc.Parameters<T>): void {
  const out = fc.check(p, params);
  if (out.failed) {
    const e = out.errorInstance;
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}\ncounterexample: ${JSON.stringify(out.counterexample, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    );
  }
}
