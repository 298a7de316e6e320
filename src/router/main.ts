/**
 * midonet-router's entry point: reads its configuration file (--config, default
 * /etc/midonet/midonet-router.json), starts the daemon, and stops it cleanly on SIGTERM/SIGINT (FRR
 * instances stopped, speaker namespaces removed, learned routes withdrawn).
 *
 * Invariant: a bad configuration or a failed start prints one line naming the problem and exits 1.
 */
import { hideBin } from 'yargs/helpers';
import { daemonSetup } from '../daemon-args.js';
import { messageLine } from '../quote.js';
import { createLogger } from '../log.js';
import { DEFAULT_ROUTER_CONFIG, routerConfigSchema } from './config.js';
import { ROUTER_VERSION, RouterDaemon } from './daemon.js';

export async function routerMain(argv: string[]): Promise<number> {
  const setup = await daemonSetup(
    'midonet-router',
    argv,
    { config: DEFAULT_ROUTER_CONFIG, version: ROUTER_VERSION },
    routerConfigSchema,
  );
  if (typeof setup === 'number') return setup;
  const { args, cfg } = setup;
  const log = createLogger({ name: 'midonet-router', level: args.logLevel ?? cfg.logLevel });
  const daemon = new RouterDaemon(cfg, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void daemon.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await daemon.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'start failed');
    process.stderr.write(`midonet-router: start failed: ${messageLine((e as Error).message)}\n`);
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  return await new Promise<number>(() => undefined);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await routerMain(hideBin(process.argv));
}
