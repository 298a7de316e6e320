/**
 * The agent's local copy of the topology it simulates on (stateDir/topology-snapshot.json): written
 * after the topology is loaded and, when it changed, every few seconds after; read at start-up only
 * when the store cannot be reached, so a host whose store is away after a reboot or an upgrade still
 * forwards and simulates on what it last knew, and catches up from the copy's change-feed position
 * once the store answers.
 *
 * Invariants: the file is replaced whole (written to a temporary file, then renamed), mode 0600, so a
 * reader never sees half of one; a file that does not parse or does not have the expected shape is
 * never used (`readLocalSnapshot` says why), and the copy never claims a later position than the
 * objects it holds.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { KINDS } from '../state/model.js';
import type { Snapshot } from '../state/store.js';

const FORMAT = 1;

export interface SavedSnapshot extends Snapshot {
  /** When it was written (ms since epoch). */
  readonly savedAt: number;
}

/** Writes `snap` to `path` (whole or not at all). */
export function writeLocalSnapshot(path: string, snap: Snapshot, now: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(
    tmp,
    JSON.stringify({ format: FORMAT, savedAt: now, position: snap.position, objects: snap.objects }),
    {
      mode: 0o600,
    },
  );
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The saved copy, or a sentence saying why there is none to use. */
export function readLocalSnapshot(path: string): SavedSnapshot | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `no local snapshot (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return `the local snapshot ${path} does not parse`;
  }
  const o = v as { format?: unknown; savedAt?: unknown; position?: unknown; objects?: unknown };
  if (o === null || typeof o !== 'object' || o.format !== FORMAT)
    return `the local snapshot ${path} has another format`;
  if (!Number.isSafeInteger(o.position) || (o.position as number) < 0 || typeof o.savedAt !== 'number')
    return `the local snapshot ${path} has no valid position`;
  if (!Array.isArray(o.objects)) return `the local snapshot ${path} has no object list`;
  const kinds = new Set<string>(KINDS);
  for (const x of o.objects as unknown[]) {
    const k = x as { kind?: unknown; object?: { id?: unknown } };
    if (typeof k?.kind !== 'string' || !kinds.has(k.kind) || typeof k.object?.id !== 'string')
      return `the local snapshot ${path} holds an object that is not one`;
  }
  return { position: o.position as number, savedAt: o.savedAt, objects: o.objects as Snapshot['objects'] };
}
