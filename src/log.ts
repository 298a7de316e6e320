/**
 * Logging: one pino root logger per process, JSON lines to stdout (journald keeps them as they are) or
 * to stderr for the CLI, whose stdout is its output; components log through a child logger
 * (`logger.child({ component: 'agent.flows' })`) so every line says where it came from.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export { LOG_LEVELS, type LogLevel } from './log-levels.js';
import type { LogLevel } from './log-levels.js';

export function createLogger(opts: { name: string; level: LogLevel; destination?: 1 | 2 }): Logger {
  return pino(
    { name: opts.name, level: opts.level, base: { pid: process.pid } },
    pino.destination({ dest: opts.destination ?? 1, sync: true }),
  );
}
