/**
 * `midonet-role ROLE`: what runs inside each container of the compose lab (docker-compose.yml names the
 * role of every service). Long-running roles (zookeeper, cassandra, agent, router, isp) start their
 * daemons and stay in the foreground (roles.ts, supervisor.ts); `setup` and `report` run once in the
 * `cli` container against the distributed store (setup.ts) and print JSON lines for the compose verb.
 *
 * Invariant: a bad role name or setting prints one line (`midonet-role: error: ...`) and exits 2 or
 * 1, never a stack trace; a role that fails after starting daemons stops them before exiting.
 */
import { createLogger } from '../log.js';
import { quote } from '../quote.js';
import { STORE_URL } from './layout.js';
import {
  RoleError,
  agentRole,
  cassandraRole,
  env,
  ispRole,
  routerRole,
  waitStore,
  zookeeperRole,
} from './roles.js';
import { report, setup, withStore } from './setup.js';
import { Supervisor } from './supervisor.js';

const DAEMONS = {
  zookeeper: zookeeperRole,
  cassandra: cassandraRole,
  agent: agentRole,
  router: routerRole,
  isp: ispRole,
} as const;
const ONCE = ['setup', 'report'] as const;
export const ROLES = [...Object.keys(DAEMONS), ...ONCE];

function fail(message: string, code: number): never {
  // One line: some driver errors carry a multi-line dump after their first line.
  process.stderr.write(`midonet-role: error: ${message.split('\n')[0]}\n`);
  process.exit(code);
}

export async function roleMain(argv: string[]): Promise<void> {
  const role = argv[0] ?? '';
  if (argv.length !== 1 || !ROLES.includes(role))
    fail(`role ${quote(argv.join(' '))}: allowed one of ${ROLES.join(', ')}`, 2);
  if (role === 'setup' || role === 'report') {
    try {
      const url = env('MIDONET_STORE', STORE_URL);
      const say = (l: string) => process.stdout.write(`${JSON.stringify({ say: l })}\n`);
      if (role === 'setup') {
        await waitStore(url, (why) => say(`setup: waiting for the store (${why})`));
        await withStore(url, (s) => setup(s, say));
      } else process.stdout.write(`${JSON.stringify({ report: await withStore(url, (s) => report(s)) })}\n`);
      process.exit(0);
    } catch (e) {
      fail((e as Error).message, 1);
    }
  }
  const log = createLogger({ name: `midonet-role-${role}`, level: 'info' });
  const sup = new Supervisor(log);
  try {
    await DAEMONS[role as keyof typeof DAEMONS](sup, log);
  } catch (e) {
    process.stderr.write(`midonet-role: error: ${role}: ${(e as Error).message}\n`);
    if (!(e instanceof RoleError)) log.debug({ err: e }, 'role failed');
    await sup.shutdown(`${role} failed`, 1);
  }
  log.info({ role }, 'role running');
  sup.run();
}
