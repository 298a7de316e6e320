/**
 * midonet-lb-health's entry point: health monitoring of load balancer members (monitor.ts).
 *
 *   midonet-lb-health --store URL [--netns NS] [--candidate NAME] [--log-level LEVEL]
 *
 * Several may run (on different hosts): one leads each balancer, the others stand by. --netns names
 * the namespace the checks are made from (one attached to the balancer's router, so checks take the
 * path clients take); without it they are made from this process's namespace.
 *
 * Invariant: bad arguments or an unreachable store print one line and exit non-zero; SIGTERM/SIGINT
 * resign from every election (a standby takes over at once) and exit 0.
 */
import { hostname } from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { LOG_LEVELS, createLogger } from '../log.js';
import { openStore } from '../state/open.js';
import { quote } from '../quote.js';
import { daemonRegistry, startMetricsServer } from '../metrics/server.js';
import { registerLbHealthMetrics } from './metrics.js';
import { HealthMonitor } from './monitor.js';

const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export async function lbHealthMain(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('midonet-lb-health')
    .option('store', { type: 'string', demandOption: true, describe: 'store URL (sqlite:PATH, ...)' })
    .option('netns', { type: 'string', describe: 'network namespace the checks are made from' })
    .option('candidate', { type: 'string', describe: 'name in the elections (default: host/pid)' })
    .option('metrics-listen', {
      type: 'string',
      describe: 'HOST:PORT on loopback for /metrics and /health (default: none)',
    })
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as const })
    .strict()
    .help()
    .parseAsync();
  if (args.netns !== undefined && !NETNS_RE.test(args.netns)) {
    process.stderr.write(
      `midonet-lb-health: --netns: ${quote(args.netns)} is not a namespace name (letters, digits, _ . -)\n`,
    );
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
  const monitor = new HealthMonitor(
    store,
    { candidate: args.candidate ?? `${hostname()}/${process.pid}`, netns: args.netns ?? null },
    log.child({ component: 'lb.health' }),
  );
  const stop = () => {
    void monitor
      .stop()
      .then(() => store.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await monitor.start();
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
