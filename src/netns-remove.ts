/**
 * Removing a network namespace a daemon made (midonet-router's speakers, midonet-lb-health's health
 * namespaces): every process still inside is killed first, so none is left running in a namespace
 * that no longer has a name.
 *
 * Invariant: never throws; a namespace that is already gone is not an error.
 */
import { tryRun } from './exec.js';

export async function killNamespace(ns: string): Promise<void> {
  const pids = ((await tryRun('ip', ['netns', 'pids', ns])) ?? '').split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await tryRun('ip', ['netns', 'delete', ns]);
}
