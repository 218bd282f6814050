import { pino } from 'pino';
import type { LogLevel } from './config.ts';

export type Logger = pino.Logger;

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'jobgate' },
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'data', '*.data'], censor: '[redacted]' },
  });
}
