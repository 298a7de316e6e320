/**
 * Helper process of bench/store-distributed: W lightweight watcher clients, each with its own
 * ZooKeeper session and change-log watch (what an agent holds; no Cassandra connection), standing in
 * for agents. For every bridge whose name carries the writer's send time (`lat-<ms>`), each watcher
 * records how long the change took to reach it. Prints "ready" once all watch, then one JSON array of
 * all latencies after every watcher saw `count` such changes.
 *   node store-distributed-watcher.js ZK_CONNECT ROOT FROM WATCHERS COUNT
 */
import { performance } from 'node:perf_hooks';
import { ChangeLog } from '../src/state/distributed-log.js';
import { ZkSession } from '../src/state/zk.js';

const [zkConnect, root, fromText, watchersText, countText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const from = Number(fromText);
const count = Number(countText);
const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
let done = 0;
const sessions: ZkSession[] = [];
const watchers = Number(watchersText);
for (let i = 0; i < watchers; i += 50) {
  sessions.push(
    ...(await Promise.all(
      Array.from({ length: Math.min(50, watchers - i) }, () =>
        ZkSession.open(zkConnect, { sessionTimeoutMs: 20000 }),
      ),
    )),
  );
}
for (const zk of sessions) {
  const log = new ChangeLog(
    zk,
    root,
    'bench',
    () => Promise.reject(new Error('bench watchers do not resync')),
    5000,
  );
  let seen = 0;
  const w = log.watch(from, {
    onChanges: (changes) => {
      const t = now();
      for (const c of changes) {
        const m = typeof c.object.name === 'string' ? /^lat-([0-9.]+)$/.exec(c.object.name) : null;
        if (m) {
          latencies.push(t - Number(m[1]));
          seen++;
        }
      }
      if (seen >= count) {
        w.close();
        log.close();
        zk.close();
        if (++done === sessions.length) process.stdout.write(`${JSON.stringify(latencies)}\n`);
      }
    },
  });
}
process.stdout.write('ready\n');
