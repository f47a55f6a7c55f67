import pino, { type Logger } from 'pino';

/** Structured JSON logs (pipe through `pino-pretty` to read them in a terminal). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'touchpoint' } });
}
