/**
 * `npm run services -- up [--zookeeper 1|3] [--cassandra 1|3] [--zk-fsync on|off] [--nice N]`, `... down`,
 * `... status`: starts and stops the project's own ZooKeeper and Cassandra for people and tests alike,
 * and prints the store URL to use with them (e.g. cassandra://127.0.0.1:9042?zk=127.0.0.1:2181&rf=1).
 * ZooKeeper's commits do not wait for its log's fsync unless `--zk-fsync on` (services/zookeeper/zoo.cfg
 * says what that gives up: commits acknowledged just before a power loss, not a process crash).
 * `--nice N` runs both at that scheduling priority (e.g. -10 on a machine they share with a lab).
 *
 * Everything lives under one directory (MIDONET_SERVICES_DIR, default run/services in the project):
 * one subdirectory per node with its pid file, and `state.json` with the URL of what is up.
 *
 * Invariant: `up` first stops whatever an earlier (possibly crashed) run left behind, so at most one
 * set of services runs; `down` stops every process that has a pid file there, and nothing else.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRunning, readPid, stopAll } from './process.js';
import { startZooKeeper, zkConnectString } from './zookeeper.js';
import { startCassandra } from './cassandra.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const servicesDir = join(projectRoot, 'services');

export function runDir(): string {
  return process.env.MIDONET_SERVICES_DIR ?? join(projectRoot, 'run', 'services');
}

/** The Cassandra version the pom names; the jars live in a directory named after it. */
export function cassandraVersion(): string {
  const pom = readFileSync(join(servicesDir, 'cassandra', 'pom.xml'), 'utf8');
  const v = /<cassandra\.version>([^<]+)<\/cassandra\.version>/.exec(pom)?.[1];
  if (!v) throw new Error('services/cassandra/pom.xml names no cassandra.version');
  return v;
}

export function cassandraLibDir(): string {
  return process.env.MIDONET_CASSANDRA_LIB ?? `/var/cache/midonet/cassandra-${cassandraVersion()}/lib`;
}

export function storeUrl(zkCount: number, cassandraCount: number): string {
  const zk = zkConnectString(
    Array.from({ length: zkCount }, (_, k) => ({
      index: k + 1,
      clientPort: 2181 + k,
      quorumPort: 0,
      electionPort: 0,
      dir: '',
    })),
  );
  const hosts = Array.from({ length: cassandraCount }, (_, k) => `127.0.0.${k + 1}:9042`).join(',');
  return `cassandra://${hosts}?zk=${zk}&rf=${cassandraCount >= 3 ? 3 : 1}`;
}

interface State {
  readonly url: string;
  readonly zookeeper: number;
  readonly cassandra: number;
  readonly startedAt: string;
}

function usage(): never {
  console.error(
    'usage: npm run services -- up [--zookeeper 0|1|3] [--cassandra 0|1|3] [--zk-fsync on|off] [--nice N] | down | status | url',
  );
  process.exit(2);
}

function count(args: string[], flag: string, dflt: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (![0, 1, 3].includes(v)) {
    console.error(`services: ${flag} ${args[i + 1] ?? '(missing)'}: allowed 0, 1 or 3`);
    process.exit(2);
  }
  return v;
}

async function down(root: string): Promise<void> {
  const stopped = await stopAll(root);
  rmSync(join(root, 'state.json'), { force: true });
  console.error(
    stopped.length > 0 ? `services: stopped ${stopped.sort().join(', ')}` : 'services: nothing was running',
  );
}

/** `--zk-fsync on|off` (default off: these are one-machine lab, bench and test services). */
function zkFsync(args: string[]): boolean {
  const i = args.indexOf('--zk-fsync');
  if (i < 0) return false;
  const v = args[i + 1];
  if (v !== 'on' && v !== 'off') {
    console.error(`services: --zk-fsync ${(v ?? '(missing)').slice(0, 20)}: allowed on or off`);
    process.exit(2);
  }
  return v === 'on';
}

/** `--nice N`: the services' scheduling priority, -20 to 19 (default 0). */
function niceness(args: string[]): number {
  const i = args.indexOf('--nice');
  if (i < 0) return 0;
  const v = args[i + 1] ?? '';
  if (!/^-?\d{1,2}$/.test(v) || Number(v) < -20 || Number(v) > 19) {
    console.error(`services: --nice ${(v || '(missing)').slice(0, 20)}: allowed -20 to 19`);
    process.exit(2);
  }
  return Number(v);
}

async function up(root: string, zk: number, cas: number, fsync: boolean, nice: number): Promise<void> {
  const leftovers = await stopAll(root);
  if (leftovers.length > 0)
    console.error(`services: stopped leftovers of an earlier run: ${leftovers.join(', ')}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const t0 = Date.now();
  try {
    await Promise.all([
      zk > 0
        ? startZooKeeper(root, join(servicesDir, 'zookeeper', 'zoo.cfg'), zk, 512, fsync, nice).then(() =>
            console.error(
              `services: zookeeper x${zk} serving after ${((Date.now() - t0) / 1000).toFixed(1)} s (fsync ${fsync ? 'on' : 'off'})`,
            ),
          )
        : undefined,
      cas > 0
        ? startCassandra(
            root,
            join(servicesDir, 'cassandra'),
            cassandraLibDir(),
            cas,
            cas >= 3 ? 768 : 1024,
            nice,
          ).then(() =>
            console.error(
              `services: cassandra x${cas} answering CQL after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
            ),
          )
        : undefined,
    ]);
  } catch (e) {
    console.error(`services: ${(e as Error).message}`);
    await stopAll(root);
    process.exit(1);
  }
  const state: State = {
    url: storeUrl(zk, cas),
    zookeeper: zk,
    cassandra: cas,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(root, 'state.json'), `${JSON.stringify(state)}\n`);
  console.log(state.url);
}

function status(root: string): void {
  const file = join(root, 'state.json');
  if (!existsSync(file)) {
    console.error('services: not up');
    process.exitCode = 1;
    return;
  }
  const state = JSON.parse(readFileSync(file, 'utf8')) as State;
  const names = [
    ...Array.from({ length: state.zookeeper }, (_, k) => `zookeeper-${k + 1}`),
    ...Array.from({ length: state.cassandra }, (_, k) => `cassandra-${k + 1}`),
  ];
  let ok = true;
  for (const n of names) {
    const rec = readPid(join(root, n));
    const alive = rec !== undefined && isRunning(rec);
    ok &&= alive;
    console.error(`  ${n.padEnd(12)} ${alive ? `running (pid ${rec.pid})` : 'NOT running'}`);
  }
  console.log(state.url);
  if (!ok) process.exitCode = 1;
}

async function main(args: string[]): Promise<void> {
  const root = runDir();
  switch (args[0]) {
    case 'up':
      return up(
        root,
        count(args, '--zookeeper', 1),
        count(args, '--cassandra', 1),
        zkFsync(args),
        niceness(args),
      );
    case 'down':
      return down(root);
    case 'status':
      return status(root);
    case 'url': {
      const file = join(root, 'state.json');
      if (!existsSync(file)) {
        console.error('services: not up');
        process.exit(1);
      }
      console.log((JSON.parse(readFileSync(file, 'utf8')) as State).url);
      return;
    }
    default:
      usage();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
