/**
 * `midonet-cli watch [--from N] [--kind K] [--count N]`: follows the store's change feed and prints
 * each change as it commits (`42 update port 'vm1' (id) version 3`), or one JSON object per line with
 * --json. Without --from it starts at the current position (only new changes); it ends after --count
 * changes, on Ctrl-C, or when the feed fails (the error is the one line).
 *
 * Invariant: prints every change after the start position exactly once, in commit order.
 */
import { quote } from '../quote.js';
import type { Kind } from '../state/model.js';
import type { Change, TopologyStore } from '../state/store.js';
import { CliError } from './options.js';

export interface WatchOptions {
  readonly from?: number;
  readonly kind?: Kind;
  readonly count?: number;
  readonly json: boolean;
  readonly print: (s: string) => void;
  /** Stops watching early (tests; the CLI uses SIGINT). */
  readonly signal?: AbortSignal;
}

export function changeLine(c: Change): string {
  const n = typeof c.object.name === 'string' ? `${quote(c.object.name)} (${c.id})` : c.id;
  return `${c.seq} ${c.op} ${c.kind} ${n} version ${c.version}`;
}

export async function watchChanges(store: TopologyStore, o: WatchOptions): Promise<number> {
  const from = o.from ?? (await store.position());
  let seen = 0;
  return new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      w.close();
      process.off('SIGINT', onInt);
      if (err) reject(err);
      else resolve(seen);
    };
    const onInt = () => finish();
    process.once('SIGINT', onInt);
    o.signal?.addEventListener('abort', () => finish());
    const w = store.watch(from, {
      onChanges: (cs) => {
        for (const c of cs) {
          if (done) return;
          if (o.kind !== undefined && c.kind !== o.kind) continue;
          o.print(o.json ? JSON.stringify(c) : changeLine(c));
          seen++;
          if (o.count !== undefined && seen >= o.count) return finish();
        }
      },
      onError: (e) => finish(new CliError(`watch: ${e.message}`)),
    });
  });
}
