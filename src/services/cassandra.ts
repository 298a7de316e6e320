/**
 * The project's Cassandra nodes: a 1-node cluster on 127.0.0.1 or a 3-node cluster on 127.0.0.1,
 * 127.0.0.2 and 127.0.0.3, run with Java 17 from the jars Maven resolved (scripts/lib/deps.sh,
 * services/cassandra/pom.xml), with configuration rendered from services/cassandra/cassandra.yaml and
 * the JVM flags of services/cassandra/jvm17.options.
 *
 * Every node is a seed and gets a fixed, evenly spaced token (num_tokens 1, no bootstrap), so all nodes
 * of a fresh cluster start at once without streaming or waiting for ring settlement.
 *
 * Invariant: `startCassandra` returns only when every node answers CQL and sees all the others as
 * peers, or throws naming the node and its log file.
 */
import cassandra from 'cassandra-driver';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { niced, startDaemon, type DaemonSpec } from './process.js';

export interface CassandraNode {
  readonly index: number;
  readonly address: string;
  readonly token: string;
  readonly dir: string;
}

export function cassandraNodes(root: string, count: number): CassandraNode[] {
  const span = 2n ** 64n / BigInt(count);
  return Array.from({ length: count }, (_, k) => ({
    index: k + 1,
    address: `127.0.0.${k + 1}`,
    token: String(-(2n ** 63n) + span * BigInt(k)),
    dir: join(root, `cassandra-${k + 1}`),
  }));
}

export function renderCassandraYaml(
  template: string,
  n: CassandraNode,
  all: readonly CassandraNode[],
): string {
  return template
    .replaceAll('@@CLUSTER@@', 'midonet')
    .replaceAll('@@TOKEN@@', n.token)
    .replaceAll('@@DIR@@', n.dir)
    .replaceAll('@@ADDRESS@@', n.address)
    .replaceAll('@@SEEDS@@', all.map((o) => `${o.address}:7000`).join(','));
}

/** JVM flags from an options file: one per line, '#' comments and blank lines skipped. */
export function parseJvmOptions(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('-'));
}

export function cassandraDaemon(
  n: CassandraNode,
  libDir: string,
  servicesDir: string,
  heapMb: number,
): DaemonSpec {
  const jamm = readdirSync(libDir).find((f) => /^jamm-.*\.jar$/.test(f));
  const opts = parseJvmOptions(readFileSync(join(servicesDir, 'jvm17.options'), 'utf8'));
  return {
    name: `cassandra-${n.index}`,
    dir: n.dir,
    command: 'java',
    args: [
      ...opts,
      `-Xms${heapMb}M`,
      `-Xmx${heapMb}M`,
      '-XX:MaxDirectMemorySize=256M',
      `-Xlog:gc:file=${join(n.dir, 'gc.log')}:time,uptime:filecount=2,filesize=10m`,
      ...(jamm ? [`-javaagent:${join(libDir, jamm)}`] : []),
      `-Dcassandra.config=file://${join(n.dir, 'cassandra.yaml')}`,
      `-Dcassandra.logdir=${n.dir}`,
      `-Dcassandra.storagedir=${n.dir}`,
      `-Dlogback.configurationFile=${join(servicesDir, 'logback.xml')}`,
      `-Dmidonet.service=${n.dir}`,
      '-cp',
      `${libDir}/*`,
      'org.apache.cassandra.service.CassandraDaemon',
    ],
    marker: `-Dmidonet.service=${n.dir}`,
  };
}

/** Waits until the node answers CQL and lists `peers` other nodes. */
export async function waitCql(n: CassandraNode, peers: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const client = new cassandra.Client({
      contactPoints: [`${n.address}:9042`],
      localDataCenter: 'datacenter1',
      socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
      policies: {
        loadBalancing: new cassandra.policies.loadBalancing.AllowListPolicy(
          new cassandra.policies.loadBalancing.DCAwareRoundRobinPolicy('datacenter1'),
          [`${n.address}:9042`],
        ),
      },
    });
    try {
      await client.connect();
      const r = await client.execute('SELECT peer FROM system.peers_v2');
      if (r.rowLength >= peers) return;
      last = `sees ${r.rowLength} of ${peers} peers`;
    } catch (e) {
      last = (e as Error).message;
    } finally {
      await client.shutdown().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `cassandra-${n.index} (${n.address}:9042) not ready after ${timeoutMs} ms (${last}); see ${join(n.dir, 'system.log')}`,
  );
}

/** Starts `count` nodes with fresh data directories and waits until CQL answers on each. */
export async function startCassandra(
  root: string,
  servicesDir: string,
  libDir: string,
  count: number,
  heapMb: number,
  nice = 0,
): Promise<CassandraNode[]> {
  if (!existsSync(libDir) || !readdirSync(libDir).some((f) => f.startsWith('cassandra-all-'))) {
    throw new Error(
      `Cassandra jars not found in ${libDir}; run 'source scripts/lib/deps.sh && midonet_cassandra_jars' (Maven resolves them)`,
    );
  }
  const template = readFileSync(join(servicesDir, 'cassandra.yaml'), 'utf8');
  const nodes = cassandraNodes(root, count);
  for (const n of nodes) {
    rmSync(n.dir, { recursive: true, force: true });
    mkdirSync(n.dir, { recursive: true });
    writeFileSync(join(n.dir, 'cassandra.yaml'), renderCassandraYaml(template, n, nodes));
  }
  for (const n of nodes) startDaemon(niced(cassandraDaemon(n, libDir, servicesDir, heapMb), nice));
  await Promise.all(nodes.map((n) => waitCql(n, count - 1, 180000)));
  return nodes;
}
