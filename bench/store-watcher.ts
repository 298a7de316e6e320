/**
 * Helper process of bench/store: watches a store from its current position and, for every bridge whose
 * name carries the writer's wall-clock send time (`lat-<ms>`), records how long the change took to
 * arrive. Prints "ready" once watching, and the latencies as one JSON array after `count` arrivals.
 */
import { performance } from 'node:perf_hooks';
import { openStore } from '../src/state/open.js';

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const store = await openStore(url!);
const latencies: number[] = [];
const now = () => performance.timeOrigin + performance.now();
const w = store.watch(await store.position(), {
  onChanges: (changes) => {
    const t = now();
    for (const c of changes) {
      const m = typeof c.object.name === 'string' ? /^lat-([0-9.]+)$/.exec(c.object.name) : null;
      if (m) latencies.push(t - Number(m[1]));
    }
    if (latencies.length >= count) {
      w.close();
      process.stdout.write(`${JSON.stringify(latencies)}\n`);
      void store.close();
    }
  },
});
process.stdout.write('ready\n');
