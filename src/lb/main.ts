/**
 * midonet-lb-health's entry point: health monitoring of load balancer members (monitor.ts).
 *
 *   midonet-lb-health --store URL [--host NAME] [--host-netns NS] [--namespace-prefix P]
 *                     [--link-subnet CIDR] [--link-subnet6 CIDR6] [--netns NS] [--candidate NAME]
 *                     [--metrics-listen H:P]
 *
 * Several may run (on different hosts): one leads each balancer, the others stand by. By default the
 * leader makes its checks from a namespace attached to the balancer's router through a port of its
 * own, bound on this host (--host, as the agent registered it; health-port.ts). --netns instead names
 * one existing namespace all checks are made from (no router port; for a host without an agent).
 *
 * Invariant: bad arguments or an unreachable store print one line and exit non-zero; SIGTERM/SIGINT
 * resign from every election (a standby takes over at once) and exit 0.
 */
import { hostname } from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { LOG_LEVELS, createLogger } from '../log.js';
import { openStore } from '../state/open.js';
import { messageLine, quote } from '../quote.js';
import { UsageError, usageMessage } from '../daemon-args.js';
import { parseCidr, parseIpv6Cidr, type Ipv6Prefix } from '../addr.js';
import { hostNameValue, netnsName } from '../config.js';
import type { TopologyStore } from '../state/store.js';
import { DEFAULT_LINK_BLOCK, DEFAULT_LINK_BLOCK6 } from './health-port.js';
import { daemonRegistry, startMetricsServer } from '../metrics/server.js';
import { registerLbHealthMetrics } from './metrics.js';
import { HealthMonitor, type CheckSource } from './monitor.js';
import { startLivenessBeat } from './liveness.js';

const PREFIX_RE = /^[a-z0-9][a-z0-9-]{0,11}$/;

/** One line naming the option, the value and what is allowed; undefined when every value is good. */
function badArgument(a: {
  netns?: string;
  host: string;
  hostNetns?: string;
  prefix: string;
  linkSubnet: string;
  linkSubnet6: string;
}): string | undefined {
  const bad = (opt: string, v: string, allowed: string) => `--${opt}: ${quote(v)} is not valid: ${allowed}`;
  if (a.netns !== undefined && !netnsName.safeParse(a.netns).success)
    return bad('netns', a.netns, "expected a namespace name (letters, digits, '_', '.', '-')");
  if (a.hostNetns !== undefined && !netnsName.safeParse(a.hostNetns).success)
    return bad('host-netns', a.hostNetns, "expected a namespace name (letters, digits, '_', '.', '-')");
  if (!hostNameValue.safeParse(a.host).success)
    return bad('host', a.host, "expected a host name (letters, digits, '_', '.', '-')");
  if (!PREFIX_RE.test(a.prefix))
    return bad('namespace-prefix', a.prefix, "expected 1 to 12 of lowercase letters, digits and '-'");
  const c = parseCidr(a.linkSubnet, true);
  if (typeof c === 'string') return bad('link-subnet', a.linkSubnet, c);
  if (c.len > 30)
    return bad('link-subnet', a.linkSubnet, 'the prefix length must be 30 or less (a /30 per balancer)');
  const c6 = parseIpv6Cidr(a.linkSubnet6, true);
  if (typeof c6 === 'string') return bad('link-subnet6', a.linkSubnet6, c6);
  if (c6.len < 32 || c6.len > 64)
    return bad('link-subnet6', a.linkSubnet6, 'the prefix length must be 32 to 64 (a /64 per balancer)');
  return undefined;
}

/** The id of the host named `name` as its agent registered it (waits for the agent, up to 60 s). */
async function findHost(store: TopologyStore, name: string): Promise<string> {
  const deadline = Date.now() + 60000;
  for (;;) {
    const h = (await store.list('host')).find((x) => x.name === name);
    if (h) return h.id;
    if (Date.now() > deadline)
      throw new Error(
        `--host: no host named ${quote(name)} in the store (is the agent of this host running?)`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function lbHealthMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = await lbHealthArgs(argv);
  } catch (e) {
    process.stderr.write(`midonet-lb-health: ${messageLine((e as Error).message)}\n`);
    return 2;
  }
  return await lbHealthRun(args);
}

function lbHealthArgs(argv: string[]) {
  return yargs(argv)
    .scriptName('midonet-lb-health')
    .option('store', { type: 'string', demandOption: true, describe: 'store URL (sqlite:PATH, ...)' })
    .option('host', {
      type: 'string',
      describe: 'this host as its agent registered it: health ports are bound here (default: host name)',
    })
    .option('host-netns', {
      type: 'string',
      describe: "namespace where br-int's interfaces live (default: the root namespace)",
    })
    .option('namespace-prefix', {
      type: 'string',
      default: 'mlb-',
      describe: 'health namespaces are PREFIX + 8 hex digits of the balancer id',
    })
    .option('link-subnet', {
      type: 'string',
      default: DEFAULT_LINK_BLOCK,
      describe: 'block the health ports take a /30 from',
    })
    .option('link-subnet6', {
      type: 'string',
      default: DEFAULT_LINK_BLOCK6,
      describe: 'IPv6 block the health ports take a /64 from (checks of IPv6 members)',
    })
    .option('netns', {
      type: 'string',
      describe: 'make every check from this existing namespace instead (no health port)',
    })
    .option('candidate', { type: 'string', describe: 'name in the elections (default: host/pid)' })
    .option('metrics-listen', {
      type: 'string',
      describe: 'HOST:PORT on loopback for /metrics and /health (default: none)',
    })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as const })
    .strict()
    .help()
    .fail((msg, err) => {
      throw new UsageError(usageMessage(err?.message ?? msg));
    })
    .parseAsync();
}

async function lbHealthRun(args: Awaited<ReturnType<typeof lbHealthArgs>>): Promise<number> {
  const hostName = args.host ?? hostname();
  const problem = badArgument({
    ...(args.netns !== undefined ? { netns: args.netns } : {}),
    ...(args['host-netns'] !== undefined ? { hostNetns: args['host-netns'] } : {}),
    host: hostName,
    prefix: args['namespace-prefix'],
    linkSubnet: args['link-subnet'],
    linkSubnet6: args['link-subnet6'],
  });
  if (problem !== undefined) {
    process.stderr.write(`midonet-lb-health: ${problem}\n`);
    return 2;
  }
  const log = createLogger({ name: 'midonet-lb-health', level: args['log-level'] });
  let store;
  try {
    store = await openStore(args.store);
  } catch (e) {
    process.stderr.write(`midonet-lb-health: --store: ${(e as Error).message}\n`);
    return 1;
  }
  const monitorLog = log.child({ component: 'lb.health' });
  let source: CheckSource;
  try {
    source =
      args.netns !== undefined
        ? { kind: 'netns', netns: args.netns }
        : {
            kind: 'router-port',
            env: {
              hostId: await findHost(store, hostName),
              hostNetns: args['host-netns'] ?? null,
              namespacePrefix: args['namespace-prefix'],
              linkBlock: parseCidr(args['link-subnet'], true) as { addr: number; len: number },
              linkBlock6: parseIpv6Cidr(args['link-subnet6'], true) as Ipv6Prefix,
              log: monitorLog,
            },
          };
  } catch (e) {
    process.stderr.write(`midonet-lb-health: ${(e as Error).message}\n`);
    await store.close();
    return 1;
  }
  const candidate = args.candidate ?? `${hostName}/${process.pid}`;
  const monitor = new HealthMonitor(store, { candidate, source }, monitorLog);
  const beat: { current?: { stop(): Promise<void> } } = {};
  const stop = () => {
    void monitor
      .stop()
      .then(() => beat.current?.stop())
      .then(() => store.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await monitor.start();
  } catch (e) {
    process.stderr.write(`midonet-lb-health: --store: ${(e as Error).message}\n`);
    return 1;
  }
  beat.current = startLivenessBeat(store, monitor, { candidate, hostName }, monitorLog);
  const listen = args['metrics-listen'];
  if (listen !== undefined) {
    const registry = daemonRegistry();
    registerLbHealthMetrics(registry, monitor);
    await startMetricsServer({
      listen,
      registry,
      health: () => Promise.resolve({ ok: true, store: store.url, leading: monitor.leads().length }),
      log,
    });
  }
  return await new Promise<number>(() => undefined);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await lbHealthMain(hideBin(process.argv));
}
