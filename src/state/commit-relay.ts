/**
 * The commit relay of one distributed-store handle, as its store URL sets it
 * (`relay=use|lead|standby|off`, cassandra-url.ts): the writer side (commit-relay-client.ts) unless
 * `off`, the leader side (commit-relay-leader.ts) when `lead` or `standby`, and the check the commit loop makes after a failed commit
 * (`takenBack`, cassandra-pipeline.ts). The protocol and its invariants: commit-relay-wire.ts.
 *
 * Invariant: with `off` nothing of the relay runs and the handle commits exactly as without it.
 */
import { networkInterfaces } from 'node:os';
import { pino, type Logger } from 'pino';
import { RelayClient } from './commit-relay-client.js';
import { RelayLeader, type RelayedTransact } from './commit-relay-leader.js';
import type { CassandraUrl, RelayMode } from './cassandra-url.js';
import type { ChangeLog } from './distributed-log.js';
import type { ZkSession } from './zk.js';

/** Where handles opened without a logger log (one per process). */
let fallbackLog: Logger | undefined;

export interface Relay {
  readonly client: RelayClient | undefined;
  readonly leader: RelayLeader | undefined;
}

export function makeRelay(
  zk: ZkSession,
  cfg: CassandraUrl,
  submit: RelayedTransact,
  log: Pick<ChangeLog, 'since' | 'head' | 'poke'>,
  logger: Logger | undefined,
  /** The mode when the URL does not say (openStore's `relay`: `lead` in the API server). */
  fallback: RelayMode = 'use',
): Relay {
  const mode = cfg.relay ?? fallback;
  const out = (logger ?? (fallbackLog ??= pino({ level: 'warn' }, pino.destination(2)))).child({
    component: 'store.relay',
  });
  const leader =
    mode === 'lead' || mode === 'standby'
      ? new RelayLeader(zk, cfg.root, cfg.relayHost ?? relayHostFor(cfg.zk), submit, out, mode === 'standby')
      : undefined;
  const client =
    mode === 'off'
      ? undefined
      : new RelayClient(zk, cfg.root, log, out, () => (leader?.isLeader ? leader.token : undefined));
  return { client, leader };
}

/**
 * Of relayed transactions' markers, those whose writers took them back: the marker exists (the
 * writer's fence; the leader creates one only in the commit that just failed) or its bucket is gone
 * (swept: no commit can create it any more).
 */
export async function takenBack(zk: ZkSession, markers: readonly string[]): Promise<Set<string>> {
  const back = new Set<string>();
  const parent = (m: string) => m.slice(0, m.lastIndexOf('/'));
  await Promise.all(
    markers.map(async (m) => {
      if ((await zk.exists(m)) || !(await zk.exists(parent(m)))) back.add(m);
    }),
  );
  return back;
}

/** The leader's default address: loopback when ZooKeeper is only on this host, else the first
 * external IPv4 address. */
function relayHostFor(zkConnect: string): string {
  const local = zkConnect.split(',').every((h) => /^(127\.|localhost:|\[?::1\]?:)/.test(h));
  if (local) return '127.0.0.1';
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}
