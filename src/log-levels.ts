/**
 * The log levels every process accepts, apart from the logger itself (log.ts), so configuration can
 * be checked without loading pino (midonet-cli's start-up pays for every module it loads).
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
