/**
 * `npm run compose -- up | status [--json] | down`: the compose lab verbs (lab.ts) with the engine
 * chosen by engine.ts. scripts/compose.sh installs what is missing first (Podman, runc, debootstrap,
 * ...; Cassandra's jars) and then runs this.
 *
 * Invariant: every failure prints one line or a short block starting `compose: error:` and exits
 * non-zero (1: the verb failed or found the lab not as asked; 2: bad usage), never a stack trace;
 * the Podman service a verb started is stopped before exit.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from '../quote.js';
import { Engine, EngineMissing } from './engine.js';
import { LabError, RUN_DIR, down, status, up } from './lab.js';
import { StepError } from './steps.js';

const USAGE = 'usage: npm run compose -- up | status [--json] | down';

export async function composeMain(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const json = rest.includes('--json');
  const unknown = rest.filter((a) => a !== '--json' || verb !== 'status');
  if (!['up', 'status', 'down'].includes(verb ?? '') || unknown.length > 0) {
    const bad = verb === undefined ? 'no verb' : quote(argv.join(' '));
    process.stderr.write(`compose: error: ${bad}: ${USAGE}\n`);
    return 2;
  }
  const base = process.env.MIDONET_COMPOSE_NODE_BASE;
  if (base !== undefined && base !== '' && !/^[a-z0-9][a-z0-9._/:-]{0,199}$/.test(base)) {
    process.stderr.write(
      `compose: error: MIDONET_COMPOSE_NODE_BASE=${quote(base)}: expected an image name such as localhost/midonet-node:20-bookworm\n`,
    );
    return 2;
  }
  let engine: Engine | undefined;
  try {
    engine = await Engine.detect(RUN_DIR);
    switch (verb) {
      case 'up':
        await up(engine);
        return 0;
      case 'status':
        return (await status(engine, json)) ? 0 : 1;
      default:
        await down(engine);
        return 0;
    }
  } catch (e) {
    const known = e instanceof EngineMissing || e instanceof LabError || e instanceof StepError;
    const what = known ? '' : `${(e as Error).name ?? 'Error'}: `;
    process.stderr.write(`compose: error: ${what}${(e as Error).message ?? String(e)}\n`);
    return 1;
  } finally {
    await engine?.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await composeMain(process.argv.slice(2));
}
