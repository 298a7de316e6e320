/**
 * The distributed store's services for a benchmark: the Cassandra + ZooKeeper the caller names
 * (a cassandra:// URL), or, without one, a 1-node ZooKeeper and Cassandra started for the run
 * (`npm run services -- up`) that `stop` stops again.
 *
 * Invariant: `stop` stops only services this call started; given ones are left running.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface BenchServices {
  readonly url: string;
  readonly stop: () => void;
}

export function benchServices(given: string | undefined): BenchServices {
  const services = fileURLToPath(new URL('../src/services/main.js', import.meta.url));
  if (given?.startsWith('cassandra://')) return { url: given, stop: () => undefined };
  const url = execFileSync(process.execPath, [services, 'up', '--zookeeper', '1', '--cassandra', '1'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return { url, stop: () => execFileSync(process.execPath, [services, 'down'], { stdio: 'inherit' }) };
}
