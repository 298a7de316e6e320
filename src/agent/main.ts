/**
 * midonet-agent's entry point: reads its configuration file (--config, default
 * /etc/midonet/midonet-agent.json), starts the daemon, and stops it cleanly on SIGTERM/SIGINT.
 * SIGHUP (`systemctl reload midonet-agent`) re-reads the file and applies what can change live:
 * logLevel, and flows.idleTimeout (for every reactive flow: the agent expires idle flows itself); other
 * changed keys are logged as needing a restart.
 *
 * Invariants: a bad configuration or a failed start prints one line naming the problem and exits 1;
 * no stack trace reaches the operator unless the log level is debug. A bad file at reload is logged
 * and changes nothing: the agent keeps running on the configuration it has.
 */
import { hideBin } from 'yargs/helpers';
import { loadConfig } from '../config.js';
import { daemonSetup } from '../daemon-args.js';
import { messageLine } from '../quote.js';
import { createLogger } from '../log.js';
import { AgentDaemon, AGENT_VERSION } from './daemon.js';
import { DEFAULT_AGENT_CONFIG, agentConfigSchema, reloadPlan, type AgentConfig } from './config.js';

export async function agentMain(argv: string[]): Promise<number> {
  const setup = await daemonSetup(
    'midonet-agent',
    argv,
    { config: DEFAULT_AGENT_CONFIG, version: AGENT_VERSION },
    agentConfigSchema,
  );
  if (typeof setup === 'number') return setup;
  const { args, cfg } = setup;
  const level = args.logLevel ?? cfg.logLevel;
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
  // What is in effect now: the file as loaded, plus what reloads applied.
  let running: AgentConfig = cfg;
  let started = false;
  let reloadPending = false;
  const reload = () => {
    if (!started) {
      reloadPending = true; // applied once start-up is done
      return;
    }
    let next: AgentConfig;
    try {
      next = loadConfig(args.config, agentConfigSchema, { optional: args.config === DEFAULT_AGENT_CONFIG });
    } catch (e) {
      log.error({ err: (e as Error).message }, 'reload: configuration not applied');
      return;
    }
    const plan = reloadPlan(running, next);
    const applied: string[] = [];
    if (plan.logLevel !== undefined) {
      if (args.logLevel === undefined) {
        log.level = plan.logLevel;
        applied.push('logLevel');
      } else
        log.warn({ logLevel: plan.logLevel }, 'reload: logLevel is set by --log-level; file value ignored');
      running = { ...running, logLevel: plan.logLevel };
    }
    if (plan.idleTimeout !== undefined) {
      agent.setIdleTimeout(plan.idleTimeout);
      running = { ...running, flows: { ...running.flows, idleTimeout: plan.idleTimeout } };
      applied.push('flows.idleTimeout');
    }
    if (plan.needsRestart.length > 0)
      log.warn({ keys: plan.needsRestart }, 'reload: changed keys need a restart');
    log.info({ applied, file: args.config }, 'reload: configuration re-read');
  };
  process.on('SIGHUP', reload);
  try {
    await agent.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'start failed');
    process.stderr.write(`midonet-agent: start failed: ${messageLine((e as Error).message)}\n`);
    await agent.stop().catch(() => undefined);
    return 1;
  }
  started = true;
  if (reloadPending) reload();
  return await new Promise<number>(() => undefined);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await agentMain(hideBin(process.argv));
}
