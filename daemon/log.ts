import pino, { type Logger } from 'pino';

/** The daemon's structured logger: one JSON line per event on stderr (stdout stays free for CLI output). */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { app: 'longshot' } }, destination);
}

/** A logger that drops everything, for tests and quiet CLI runs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
