/**
 * midonet-agent's entry point: reads its configuration file (--config, default
 * /etc/midonet/midonet-agent.json), starts the daemon, and stops it cleanly on SIGTERM/SIGINT.
 *
 * Invariant: a bad configuration or a failed start prints one line naming the problem and exits 1;
 * no stack trace reaches the operator unless the log level is debug.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, loadConfig } from '../config.js';
import { LOG_LEVELS, createLogger } from '../log.js';
import { AgentDaemon, AGENT_VERSION } from './daemon.js';
import { DEFAULT_AGENT_CONFIG, agentConfigSchema } from './config.js';

export async function agentMain(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('midonet-agent')
    .option('config', { type: 'string', default: DEFAULT_AGENT_CONFIG, describe: 'configuration file' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'overrides logLevel of the file' })
    .strict()
    .version(AGENT_VERSION)
    .help()
    .parseAsync();
  let cfg;
  try {
    cfg = loadConfig(args.config, agentConfigSchema, { optional: args.config === DEFAULT_AGENT_CONFIG });
  } catch (e) {
    process.stderr.write(`midonet-agent: ${(e as Error).message}\n`);
    return e instanceof ConfigError ? 1 : 2;
  }
  const level = args['log-level'] ?? cfg.logLevel;
  const log = createLogger({ name: 'midonet-agent', level });
  const agent = new AgentDaemon(cfg, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void agent.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await agent.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'start failed');
    process.stderr.write(`midonet-agent: start failed: ${(e as Error).message}\n`);
    await agent.stop().catch(() => undefined);
    return 1;
  }
  return await new Promise<number>(() => undefined);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await agentMain(hideBin(process.argv));
}
