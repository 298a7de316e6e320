/**
 * The project's ZooKeeper servers: a standalone server or a 3-server ensemble on loopback, run from
 * Debian's `zookeeper` package with configuration rendered from services/zookeeper/zoo.cfg.
 *
 * Server i (1-based) uses client port 2180+i, quorum port 2887+i and election port 3887+i on
 * 127.0.0.1, and its own directory `<root>/zookeeper-i` (config, data with `myid`, log, pid file).
 *
 * Invariant: `startZooKeeper` returns only when every server answers the `srvr` four-letter word with
 * a serving mode (standalone, leader or follower), or throws naming the server and its log file.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { niced, startDaemon, type DaemonSpec } from './process.js';

export interface ZkServer {
  readonly index: number;
  readonly clientPort: number;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly dir: string;
}

export const ZK_JARS_DIR = '/usr/share/java';

export function zkServers(root: string, count: number): ZkServer[] {
  return Array.from({ length: count }, (_, k) => ({
    index: k + 1,
    clientPort: 2181 + k,
    quorumPort: 2888 + k,
    electionPort: 3888 + k,
    dir: join(root, `zookeeper-${k + 1}`),
  }));
}

export function zkConnectString(servers: readonly ZkServer[]): string {
  return servers.map((s) => `127.0.0.1:${s.clientPort}`).join(',');
}

/**
 * zoo.cfg for one server: the template with its placeholders filled, plus the ensemble lines.
 * `fsync`: whether a commit waits for the transaction log's fsync (ZooKeeper's `forceSync`; see the
 * template for what turning it off gives up).
 */
export function renderZooCfg(template: string, s: ZkServer, all: readonly ZkServer[], fsync = true): string {
  let cfg = template
    .replaceAll('@@DIR@@', s.dir)
    .replaceAll('@@CLIENT_PORT@@', String(s.clientPort))
    .replaceAll('@@FORCE_SYNC@@', fsync ? 'yes' : 'no');
  if (all.length > 1) {
    cfg += all.map((o) => `server.${o.index}=127.0.0.1:${o.quorumPort}:${o.electionPort}\n`).join('');
  }
  return cfg;
}

const LOG4J = (
  dir: string,
) => `# Logging of one project ZooKeeper server: INFO to zookeeper.log in its directory.
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=${dir}/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p %c{1}:%L - %m%n
`;

/** The server classpath: the ZooKeeper jars and the few libraries they need, from /usr/share/java. */
export function zkClasspath(confDir: string, jarsDir = ZK_JARS_DIR): string {
  const have = new Set(readdirSync(jarsDir));
  const want = [
    'zookeeper.jar',
    'zookeeper-jute.jar',
    'slf4j-api.jar',
    'slf4j-log4j12.jar',
    'log4j-1.2.jar',
    'commons-io.jar',
    'commons-cli.jar',
    'snappy-java.jar',
    'metrics-core.jar',
  ];
  const missing = want.slice(0, 2).filter((j) => !have.has(j));
  if (missing.length > 0) {
    throw new Error(
      `ZooKeeper jars not found in ${jarsDir} (${missing.join(', ')}); install the Debian package 'zookeeper'`,
    );
  }
  return [confDir, ...want.filter((j) => have.has(j)).map((j) => join(jarsDir, j))].join(':');
}

export function zkDaemon(s: ZkServer, heapMb: number): DaemonSpec {
  return {
    name: `zookeeper-${s.index}`,
    dir: s.dir,
    command: 'java',
    args: [
      `-Xms${heapMb}m`,
      `-Xmx${heapMb}m`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djute.maxbuffer=8388608',
      '-Dzookeeper.jmx.log4j.disable=true',
      // A small young generation: each collection copies a few MiB in a few ms (136 MiB took 44 ms).
      '-Xmn32m',
      // fsyncs of the transaction log over 20 ms are logged (zookeeper.log), GC pauses to gc.log.
      '-Dzookeeper.fsync.warningthresholdms=20',
      `-Xlog:gc:file=${join(s.dir, 'gc.log')}:time,uptime:filecount=2,filesize=10m`,
      `-Dmidonet.service=${s.dir}`,
      '-cp',
      zkClasspath(s.dir),
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      join(s.dir, 'zoo.cfg'),
    ],
    marker: `-Dmidonet.service=${s.dir}`,
  };
}

/** Sends a four-letter word and returns the reply (empty when nothing answers). */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const sock = connect({ host: '127.0.0.1', port });
    const done = () => {
      sock.destroy();
      resolve(out);
    };
    sock.setTimeout(timeoutMs, done);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', done);
    sock.on('error', done);
  });
}

export async function waitZkServing(s: ZkServer, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await fourLetterWord(s.clientPort, 'srvr');
    const mode = /Mode: (\w+)/.exec(reply)?.[1];
    if (mode && mode !== 'observer') return mode;
    if (Date.now() > deadline) {
      throw new Error(
        `zookeeper-${s.index} (127.0.0.1:${s.clientPort}) does not serve after ${timeoutMs} ms; see ${join(s.dir, 'zookeeper.log')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `count` servers with fresh data directories and waits until each serves. */
export async function startZooKeeper(
  root: string,
  templatePath: string,
  count: number,
  heapMb: number,
  fsync = true,
  nice = 0,
): Promise<ZkServer[]> {
  const template = readFileSync(templatePath, 'utf8');
  const servers = zkServers(root, count);
  for (const s of servers) {
    rmSync(s.dir, { recursive: true, force: true });
    mkdirSync(join(s.dir, 'data'), { recursive: true });
    writeFileSync(join(s.dir, 'zoo.cfg'), renderZooCfg(template, s, servers, fsync));
    writeFileSync(join(s.dir, 'log4j.properties'), LOG4J(s.dir));
    if (count > 1) writeFileSync(join(s.dir, 'data', 'myid'), `${s.index}\n`);
  }
  for (const s of servers) startDaemon(niced(zkDaemon(s, heapMb), nice));
  await Promise.all(servers.map((s) => waitZkServing(s, 60000)));
  return servers;
}
