/**
 * midonet-router's entry point: reads its configuration file (--config, default
 * /etc/midonet/midonet-router.json), starts the daemon, and stops it cleanly on SIGTERM/SIGINT (FRR
 * instances stopped, speaker namespaces removed, learned routes withdrawn).
 *
 * Invariant: a bad configuration or a failed start prints one line naming the problem and exits 1.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, loadConfig } from '../config.js';
import { LOG_LEVELS, createLogger } from '../log.js';
import { DEFAULT_ROUTER_CONFIG, routerConfigSchema } from './config.js';
import { ROUTER_VERSION, RouterDaemon } from './daemon.js';

export async function routerMain(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('midonet-router')
    .option('config', { type: 'string', default: DEFAULT_ROUTER_CONFIG, describe: 'configuration file' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'overrides logLevel of the file' })
    .strict()
    .version(ROUTER_VERSION)
    .help()
    .parseAsync();
  let cfg;
  try {
    cfg = loadConfig(args.config, routerConfigSchema, { optional: args.config === DEFAULT_ROUTER_CONFIG });
  } catch (e) {
    process.stderr.write(`midonet-router: ${(e as Error).message}\n`);
    return e instanceof ConfigError ? 1 : 2;
  }
  const log = createLogger({ name: 'midonet-router', level: args['log-level'] ?? cfg.logLevel });
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
    process.stderr.write(`midonet-router: start failed: ${(e as Error).message}\n`);
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  return await new Promise<number>(() => undefined);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await routerMain(hideBin(process.argv));
}
