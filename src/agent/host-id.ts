/**
 * The stable identity of this hypervisor: a UUID kept in STATE_DIR/host_uuid, made once and read on
 * every start, so a restarted agent is the same host to the store and keeps its port bindings.
 *
 * Invariant: the file holds exactly one UUID; a file with anything else is an error, not overwritten
 * (an operator may have put it there on purpose).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isUuid } from '../state/model.js';

export function stableHostId(stateDir: string): string {
  const file = join(stateDir, 'host_uuid');
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (!isUuid(text))
      throw new Error(`${file}: expected one UUID, found ${JSON.stringify(text.slice(0, 60))}`);
    return text;
  }
  mkdirSync(stateDir, { recursive: true });
  const id = randomUUID();
  writeFileSync(`${file}.tmp`, `${id}\n`, { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
  return id;
}
