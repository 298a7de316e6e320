/**
 * midonet-api's entry point: reads its configuration file (--config, default
 * /etc/midonet/midonet-api.json), opens the store, serves HTTP(S) until SIGTERM/SIGINT, then stops
 * accepting requests, lets running ones finish and closes the store.
 *
 * Invariant: a bad configuration, an unreachable store or a port in use prints one line naming the
 * problem and exits 1; the process never serves on a half-valid configuration.
 */
import { hideBin } from 'yargs/helpers';
import { daemonSetup } from '../daemon-args.js';
import { messageLine } from '../quote.js';
import { createLogger } from '../log.js';
import { openStore } from '../state/open.js';
import { DEFAULT_API_CONFIG, apiConfigSchema, parseListen, type ApiListen } from './config.js';
import { API_VERSION, buildApi, type ApiServer } from './server.js';

export async function apiMain(argv: string[]): Promise<number> {
  const setup = await daemonSetup(
    'midonet-api',
    argv,
    { config: DEFAULT_API_CONFIG, version: API_VERSION },
    apiConfigSchema,
  );
  if (typeof setup === 'number') return setup;
  const { args, cfg } = setup;
  const log = createLogger({ name: 'midonet-api', level: args.logLevel ?? cfg.logLevel }).child({
    component: 'api',
  });
  const listen = parseListen(cfg.listen) as ApiListen;
  let api: ApiServer | undefined;
  try {
    // On the distributed backend the API server volunteers to lead the commit relay (its own writes
    // stay local; other processes' writes join its groups). The store URL's `relay=` overrides it.
    const store = await openStore(cfg.store, { relay: 'lead', logger: log });
    const server = await buildApi({ store, config: cfg, log });
    api = server;
    await api.app.listen({ host: listen.host, port: listen.port });
    const addr = api.app.server.address();
    log.info(
      {
        listen: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : cfg.listen,
        tls: cfg.tlsCert !== null,
        store: store.url,
      },
      'serving',
    );
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      void server
        .close()
        .then(() => store.close())
        .then(() => process.exit(0));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  } catch (e) {
    process.stderr.write(`midonet-api: start failed: ${messageLine((e as Error).message)}\n`);
    await api?.close().catch(() => undefined);
    return 1;
  }
  return await new Promise<number>(() => undefined);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await apiMain(hideBin(process.argv));
}
