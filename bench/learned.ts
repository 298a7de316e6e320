/**
 * bench/learned: what an agent that holds a small share of a topology receives of the learned
 * state (shared MAC and ARP tables) while every device learns, with the learned-state watch of every
 * entry filtered in the agent (before, issue 19) beside the watch subscribed per device in the store
 * (after, store.ts `LearnedWatchOptions`). `--devices N` bridges and routers (default 2,000, half
 * each) each learn `--keys K` entries (default 5) per round, renewed `--rounds R` times (default 3),
 * written by another handle in learn calls of 500 entries (what agents publish); the agent holds
 * `--held H` of the devices (default 40, 2%). Per mode, alternated `--trials T` times (default 2):
 * the entries the watch delivered (each one read and decoded by the store for it), those of held
 * devices (what the agent keeps), and the time from the first write to the last entry of a held
 * device delivered. Then 10 more devices are added to the scoped watch: the entries they get (their
 * current ones only). `--store URL` (default: a new SQLite file per trial; e.g. a cassandra:// URL
 * from `npm run services -- up`).
 *   npm run bench -- learned [--devices N] [--keys K] [--rounds R] [--held H] [--store URL]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../src/state/open.js';
import type { LearnedChange, LearnedEntry, LearnedWatch } from '../src/state/store.js';
import { intArg, printReport, printTable } from './report.js';

const DEVICES = intArg('learned', '--devices', 2000);
const KEYS = intArg('learned', '--keys', 5);
const ROUNDS = intArg('learned', '--rounds', 3);
const HELD = intArg('learned', '--held', 40);
const TRIALS = intArg('learned', '--trials', 2);
const storeAt = process.argv.indexOf('--store');
const STORE = storeAt < 0 ? undefined : process.argv[storeAt + 1];
const BATCH = 500;
const ADDED = 10;

type Mode = 'before' | 'after';

interface Result {
  received: number;
  kept: number;
  ms: number;
  added?: number;
}

const bridge = (t: string, i: number) => `${t}-dev-${i}`;
/** Even devices are bridges (MAC entries), odd ones routers (ARP entries). */
function entries(t: string, i: number, round: number, expiresAt: number): LearnedEntry[] {
  return Array.from({ length: KEYS }, (_, k) =>
    i % 2 === 0
      ? {
          table: 'mac' as const,
          scope: bridge(t, i),
          key: (0x020000000000 + k).toString(16),
          value: `port-${round}`,
          origin: 'writer',
          expiresAt,
        }
      : {
          table: 'arp' as const,
          scope: bridge(t, i),
          key: `10.0.${k}.1`,
          value: (0x020000000000 + round).toString(16),
          origin: 'writer',
          expiresAt,
        },
  );
}

async function until(what: string, f: () => boolean, ms = 120000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function trial(mode: Mode, n: number): Promise<Result> {
  const dir = STORE === undefined ? mkdtempSync(join(tmpdir(), 'learned-scope-')) : undefined;
  const url = dir === undefined ? STORE! : `sqlite:${join(dir, 'state.db')}`;
  const t = `t${n}${mode[0]}${Date.now().toString(36)}`;
  const writer = await openStore(url);
  const agent = await openStore(url);
  const held = new Set(Array.from({ length: HELD }, (_, i) => bridge(t, Math.floor((i * DEVICES) / HELD))));
  const sentinel = [...held][0]!;
  let received = 0;
  let kept = 0;
  const got: LearnedChange[] = [];
  let w: LearnedWatch | undefined;
  try {
    w = agent.watchLearned(
      0,
      {
        onEntries: (es) => {
          received += es.length;
          for (const e of es) if (held.has(e.scope) || e.scope.startsWith(`${t}-added`)) got.push(e);
        },
      },
      mode === 'after' ? { devices: held } : {},
    );
    const expiresAt = Date.now() + 600000;
    const mark = (key: string): LearnedEntry => ({
      table: 'arp',
      scope: sentinel,
      key,
      value: '020000000001',
      origin: 'writer',
      expiresAt,
    });
    await writer.learn([mark('10.255.0.1')]);
    await until('the start mark', () => got.some((e) => e.key === '10.255.0.1'));
    received = 0;
    got.length = 0;
    const start = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      let batch: LearnedEntry[] = [];
      for (let i = 0; i < DEVICES; i++) {
        batch.push(...entries(t, i, round, expiresAt));
        if (batch.length >= BATCH || i === DEVICES - 1) {
          await writer.learn(batch);
          batch = [];
          await new Promise((r) => setImmediate(r)); // publications come one by one, as agents flush
        }
      }
    }
    await writer.learn([mark('10.255.0.2')]);
    await until('the end mark', () => got.some((e) => e.key === '10.255.0.2'));
    const ms = performance.now() - start;
    kept = got.length - 1;
    const result: Result = { received: received - 1, kept, ms };
    if (mode === 'after') {
      const added = Array.from({ length: ADDED }, (_, i) => `${t}-added-${i}`);
      await writer.learn(
        added.flatMap((d, i) =>
          [0, 1, 2].flatMap((r) => entries(t, i, r, expiresAt).map((e) => ({ ...e, scope: d }))),
        ),
      );
      // The watch has passed them (the mark after them came in): the added devices get a snapshot.
      await writer.learn([mark('10.255.0.3')]);
      await until('the third mark', () => got.some((e) => e.key === '10.255.0.3'));
      received = 0;
      got.length = 0;
      w.addDevices(added);
      await until('the added devices’ entries', () => got.length >= ADDED * KEYS);
      result.added = received;
    }
    return result;
  } finally {
    w?.close();
    await agent.close();
    await writer.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

const runs: Record<Mode, Result[]> = { before: [], after: [] };
for (let n = 0; n < TRIALS; n++)
  for (const mode of n % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const))
    runs[mode].push(await trial(mode, n));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fig = (mode: Mode, k: 'received' | 'kept' | 'ms') => median(runs[mode].map((r) => r[k]));
const written = DEVICES * KEYS * ROUNDS;
printTable(
  `learned state, ${DEVICES} devices x ${KEYS} keys x ${ROUNDS} rounds (${written} entries written), agent holds ${HELD} (${((100 * HELD) / DEVICES).toFixed(1)}%), ${STORE ?? 'sqlite'}`,
  (['before', 'after'] as const).map((m) => [
    m === 'before'
      ? 'before: every entry, filtered in the agent'
      : 'after: subscribed per device in the store',
    `${fig(m, 'received')} entries received and decoded, ${fig(m, 'kept')} of held devices, ${fig(m, 'ms').toFixed(0)} ms (median of ${runs[m].length})`,
  ]),
);
const added = runs.after[0]?.added ?? 0;
console.log(
  `  ${ADDED} devices added to the scoped watch: ${added} entries received (their current ones, ${ADDED * KEYS})`,
);
printReport(
  'learned',
  {
    written,
    receivedBefore: fig('before', 'received'),
    receivedAfter: fig('after', 'received'),
    keptBefore: fig('before', 'kept'),
    keptAfter: fig('after', 'kept'),
    msBefore: fig('before', 'ms'),
    msAfter: fig('after', 'ms'),
    addedReceived: added,
  },
  [
    {
      name: 'entries received per entry of a held device (after)',
      value: fig('after', 'received') / Math.max(1, fig('after', 'kept')),
      target: 1,
      unit: 'x',
      kind: 'max',
    },
  ],
);
