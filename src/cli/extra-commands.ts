/**
 * Commands beside the topology kinds: `trace` (simulate a packet against the stored topology). Each
 * is a yargs command module; main.ts mounts them.
 */
import type { CommandModule } from 'yargs';

export function extraCommands(_print: (s: string) => void): CommandModule[] {
  return [];
}
