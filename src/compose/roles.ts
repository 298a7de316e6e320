/**
 * The long-running roles of the compose lab, one per container (`midonet-role ROLE`, docker-compose.yml
 * sets ROLE and the environment): ZooKeeper and Cassandra started as `npm run services` starts them
 * (src/services), a hypervisor (its own Open vSwitch with the userspace datapath, the underlay on
 * br-phy, midonet-agent) as the namespace lab starts one (src/lab/hypervisor.ts), the router host (a
 * hypervisor plus midonet-router), and the ISP (FRR with the namespace lab's ISP configuration).
 *
 * Settings come from environment variables; a missing or malformed one stops the role with one line
 * naming the variable, its value and what is allowed.
 *
 * Invariant: a role returns only after its daemons answer (ZooKeeper serves, Cassandra answers CQL,
 * OVS answers ovs-vsctl, FRR answers vtysh); then the Supervisor keeps the container exactly as alive
 * as its daemons.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, tryRun } from '../exec.js';
import type { Logger } from '../log.js';
import { openStore } from '../state/open.js';
import { parseIpv4 } from '../addr.js';
import { quote } from '../quote.js';
import { servicesDir } from '../services/main.js';
import { renderZooCfg, waitZkServing, zkDaemon, zkServers } from '../services/zookeeper.js';
import { cassandraDaemon, cassandraNodes, renderCassandraYaml, waitCql } from '../services/cassandra.js';
import { startOvs, stopOvs } from '../lab/ovs-daemons.js';
import { attachUnderlay } from '../lab/hypervisor.js';
import { ISP_PINGABLE, ispConfig } from '../lab/bgp-lab.js';
import { FrrInstance } from '../router/frr.js';
import { renderFull } from '../router/frr-config.js';
import { AGENT_ENV, AGENT_NODE_FLAGS } from '../agent/heap-shape.js';
import { RELAY_LEADER_NODE_FLAGS } from '../state/relay-leader-shape.js';
import { Supervisor } from './supervisor.js';

const AGENT_MAIN = fileURLToPath(new URL('../agent/main.js', import.meta.url));
const ROUTER_MAIN = fileURLToPath(new URL('../router/main.js', import.meta.url));
/** Where each role keeps its files inside its container. */
const OVS_DIR = '/var/run/openvswitch';
const ETC = '/etc/midonet';
const DATA = '/var/lib/midonet';

export class RoleError extends Error {}

export function env(name: string, dflt?: string): string {
  const v = process.env[name] ?? dflt;
  if (v === undefined || v === '') throw new RoleError(`environment variable ${name} is not set`);
  return v;
}

export function envIp(name: string, dflt?: string): string {
  const v = env(name, dflt);
  if (parseIpv4(v) === undefined)
    throw new RoleError(`${name}=${quote(v)}: expected an IPv4 address such as 198.51.100.11`);
  return v;
}

export function envInt(name: string, dflt: number, min: number, max: number): number {
  const raw = env(name, String(dflt));
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RoleError(`${name}=${quote(raw)}: expected a whole number from ${min} to ${max}`);
  return v;
}

export function envIface(name: string, dflt: string): string {
  const v = env(name, dflt);
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(v))
    throw new RoleError(`${name}=${quote(v)}: expected an interface name (1 to 15 letters, digits, _ . -)`);
  return v;
}

/**
 * Checksum offload off on the container's interfaces: a kernel that sends over a veth leaves TCP
 * checksums to be filled in later, and Open vSwitch's userspace datapath at the other end forwards them
 * unfilled, so TCP to the agents stalls past its first segments (seen here). For roles whose kernel
 * talks to a userspace datapath (the store, the ISP); the compose verb does the same in the VMs.
 */
export async function checksumOffloadOff(): Promise<void> {
  for (const iface of readdirSync('/sys/class/net')) {
    if (iface === 'lo') continue;
    await tryRun('ethtool', ['-K', iface, 'tx', 'off']);
  }
}

/** Waits until the store answers (Cassandra takes a minute to start), then closes it again. */
export async function waitStore(
  url: string,
  waiting: (why: string) => void,
  timeoutMs = 600000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let tries = 0; ; tries++) {
    try {
      const store = await openStore(url);
      await store.close();
      return;
    } catch (e) {
      last = (e as Error).message.split('\n')[0]!;
      if (tries % 10 === 0) waiting(last);
    }
    if (Date.now() > deadline)
      throw new RoleError(`store ${url} did not answer within ${timeoutMs / 1000} s: ${last}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function pidAlive(file: string): boolean {
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid > 0;
  } catch {
    return false;
  }
}

/** Writes a daemon's configuration file into /etc/midonet; returns its path. */
function writeConfig(name: string, config: Record<string, unknown>): string {
  mkdirSync(ETC, { recursive: true });
  const path = join(ETC, name);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

export async function zookeeperRole(sup: Supervisor, log: Logger): Promise<void> {
  await checksumOffloadOff();
  const heapMb = envInt('MIDONET_ZOOKEEPER_HEAP_MB', 256, 64, 8192);
  // Data where the official image keeps it (/data, the zookeeper-data volume).
  const [s] = zkServers('/data', 1);
  mkdirSync(join(s!.dir, 'data'), { recursive: true });
  // The project's zoo.cfg serves loopback only; in a container the other containers are the clients.
  const cfg = renderZooCfg(readFileSync(join(servicesDir, 'zookeeper', 'zoo.cfg'), 'utf8'), s!, [s!]).replace(
    /^clientPortAddress=.*$/m,
    'clientPortAddress=0.0.0.0',
  );
  writeFileSync(join(s!.dir, 'zoo.cfg'), cfg);
  writeFileSync(
    join(s!.dir, 'log4j.properties'),
    'log4j.rootLogger=INFO, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n' +
      'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n' +
      'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p %c{1}:%L - %m%n\n',
  );
  const spec = zkDaemon(s!, heapMb);
  sup.spawn('zookeeper', spec.command, spec.args, s!.dir);
  const mode = await waitZkServing(s!, 120000);
  log.info({ mode, port: s!.clientPort }, 'zookeeper serving');
}

export async function cassandraRole(sup: Supervisor, log: Logger): Promise<void> {
  await checksumOffloadOff();
  const address = envIp('MIDONET_ADDRESS');
  const heapMb = envInt('MIDONET_CASSANDRA_HEAP_MB', 1024, 256, 32768);
  const libDir = env('MIDONET_CASSANDRA_LIB', '/opt/cassandra/lib');
  if (!existsSync(libDir) || !readdirSync(libDir).some((f) => f.startsWith('cassandra-all-')))
    throw new RoleError(
      `no Cassandra jars in ${libDir}: the image midonet-cassandra (docker/cassandra/Dockerfile) has them; npm run compose builds it`,
    );
  // Data where the official image keeps it (/var/lib/cassandra, the cassandra-data volume).
  const node = { ...cassandraNodes('/var/lib/cassandra', 1)[0]!, address };
  mkdirSync(node.dir, { recursive: true });
  const template = readFileSync(join(servicesDir, 'cassandra', 'cassandra.yaml'), 'utf8');
  writeFileSync(join(node.dir, 'cassandra.yaml'), renderCassandraYaml(template, node, [node]));
  // The project's logback.xml writes system.log; here the container's log is the place.
  const logback = join(node.dir, 'logback-console.xml');
  writeFileSync(
    logback,
    '<configuration scan="false">\n  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">\n' +
      '    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>\n  </appender>\n' +
      '  <root level="INFO"><appender-ref ref="CONSOLE" /></root>\n</configuration>\n',
  );
  const spec = cassandraDaemon(node, libDir, join(servicesDir, 'cassandra'), heapMb);
  const args = spec.args.map((a) =>
    a.startsWith('-Dlogback.configurationFile=') ? `-Dlogback.configurationFile=${logback}` : a,
  );
  sup.spawn('cassandra', spec.command, args, node.dir);
  await waitCql(node, 0, 600000);
  log.info({ address }, 'cassandra answering CQL');
}

/**
 * /proc/sys writable, as in a privileged container. With Docker the hypervisors and the ISP are not
 * privileged (docker-compose.docker.yml: the sandbox refuses it) and Docker mounts /proc/sys read-only;
 * `--security-opt systempaths=unconfined`, which lifts that, is an option of the docker client that
 * the API, and so docker-compose, refuses ("invalid --security-opt"). With CAP_SYS_ADMIN the read-only
 * bind mount over /proc/sys is taken away: midonet-router's BGP speakers set sysctls in their network
 * namespaces. Nothing to do with Podman (privileged) or where /proc/sys is writable already.
 */
export async function writableProcSys(): Promise<void> {
  const readOnly = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .some((f) => f[4] === '/proc/sys' && (f[5] ?? '').split(',').includes('ro'));
  for (let i = 0; i < 3 && readOnly(); i++) await run('umount', ['/proc/sys']);
  if (readOnly())
    throw new RoleError('/proc/sys stays read-only: the container needs CAP_SYS_ADMIN or privileged');
}

/** A hypervisor: Open vSwitch (userspace datapath), the underlay on br-phy, midonet-agent. */
export async function agentRole(sup: Supervisor, log: Logger): Promise<void> {
  await writableProcSys();
  const store = env('MIDONET_STORE');
  const hostName = env('MIDONET_HOST_NAME');
  const tunnelIp = envIp('MIDONET_TUNNEL_IP');
  const prefixLen = envInt('MIDONET_UNDERLAY_PREFIX_LEN', 24, 8, 30);
  const iface = envIface('MIDONET_UNDERLAY_IFACE', 'eth0');
  const ovs = await startOvs(OVS_DIR, undefined);
  sup.watch(
    'open vswitch',
    () => pidAlive(join(OVS_DIR, 'ovsdb-server.pid')) && pidAlive(join(OVS_DIR, 'ovs-vswitchd.pid')),
    () => stopOvs(OVS_DIR),
  );
  await attachUnderlay(ovs, iface, `${tunnelIp}/${prefixLen}`, undefined);
  log.info({ iface, address: `${tunnelIp}/${prefixLen}` }, 'underlay on br-phy');
  await waitStore(store, (why) => log.info({ store, why }, 'waiting for the store'));
  const config = writeConfig('midonet-agent.json', {
    store,
    hostName,
    stateDir: DATA,
    runDir: '/run/midonet',
    logLevel: env('MIDONET_LOG_LEVEL', 'info'),
    ovs: { dbSock: join(OVS_DIR, 'db.sock'), runDir: OVS_DIR, bridge: 'br-int', datapathType: 'netdev' },
    tunnel: { localIp: tunnelIp },
    heartbeatMs: 500,
    metrics: { listen: '127.0.0.1:9464' },
  });
  // The agent's memory shape (heap-shape.ts), as bin/midonet-agent and the namespace lab give it.
  sup.spawn(
    'midonet-agent',
    process.execPath,
    [...AGENT_NODE_FLAGS, AGENT_MAIN, '--config', config],
    undefined,
    AGENT_ENV,
  );
}

/** The router host: a hypervisor whose uplink interface joins br-int, plus midonet-router. */
export async function routerRole(sup: Supervisor, log: Logger): Promise<void> {
  const uplink = envIface('MIDONET_UPLINK_IFACE', 'eth1');
  if (!existsSync(`/sys/class/net/${uplink}`))
    throw new RoleError(`MIDONET_UPLINK_IFACE=${quote(uplink)}: no such interface in this container`);
  // The virtual router's port owns the uplink's address (edge-up); the interface only carries frames.
  await run('ip', ['addr', 'flush', 'dev', uplink]);
  await agentRole(sup, log);
  const config = writeConfig('midonet-router.json', {
    store: env('MIDONET_STORE'),
    hostName: env('MIDONET_HOST_NAME'),
    runDir: '/run/midonet',
    logLevel: env('MIDONET_LOG_LEVEL', 'info'),
    ovs: { dbSock: join(OVS_DIR, 'db.sock'), runDir: OVS_DIR, bridge: 'br-int' },
    hostNetns: null,
    pollMs: 500,
    heartbeatMs: 500,
    metrics: { listen: '127.0.0.1:9465' },
  });
  // A relay leader's node flags (relay-leader-shape.ts), as bin/midonet-router gives them.
  sup.spawn('midonet-router', process.execPath, [
    ...RELAY_LEADER_NODE_FLAGS,
    ROUTER_MAIN,
    '--config',
    config,
  ]);
}

/** The ISP: FRR with the namespace lab's ISP configuration (AS 64500, announces 203.0.113.128/25). */
export async function ispRole(sup: Supervisor, log: Logger): Promise<void> {
  await writableProcSys();
  await checksumOffloadOff();
  // The address "behind" the ISP that VMs ping, as in the namespace lab.
  await run('ip', ['addr', 'replace', `${ISP_PINGABLE}/32`, 'dev', 'lo']);
  const frr = new FrrInstance('isp', null);
  await frr.stop();
  await frr.start();
  sup.watch(
    'frr',
    () => frr.running(),
    () => frr.stop(),
  );
  await frr.apply(renderFull(ispConfig(), 'isp'));
  log.info({ config: ispConfig() }, 'isp: FRR configured');
}
