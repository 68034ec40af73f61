/**
 * Logging: pino, JSON by default, readable lines on a TTY (pino-pretty).
 * Loggers are created by the entry point and passed down; no global logger.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export interface LogOptions {
  level?: string;
  /** File to write JSON lines to; default stderr. */
  file?: string;
  /** Force pretty (true) or JSON (false); default: pretty when stderr is a TTY. */
  pretty?: boolean;
  name?: string;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.CTSYNC_LOG_LEVEL ?? 'info';
  const base = { name: opts.name ?? 'ctsyncd' };
  if (opts.file) {
    return pino({ level, ...base }, pino.destination({ dest: opts.file, sync: false, mkdir: true }));
  }
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  if (pretty) {
    // pino-pretty as a stream (no worker thread), to stderr.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino({ level, ...base }, pinoPretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' }));
  }
  return pino({ level, ...base }, pino.destination(2));
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
