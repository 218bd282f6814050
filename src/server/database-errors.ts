import { type GraphQLError } from 'graphql';
import { maskError } from 'graphql-yoga';
import { clientError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** SQLSTATE classes and socket errors that mean "PostgreSQL is not reachable right now". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND']);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Can't reach database server/i;

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let current = error;
    current && chain.length < 8;
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause
  ) {
    chain.push(current);
  }
  return chain;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return causes(error).some((cause) => {
    const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
    return (
      (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET.has(code))) ||
      (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message))
    );
  });
}

export function serviceUnavailable(): GraphQLError {
  return clientError('SERVICE_UNAVAILABLE', 'The job store is unavailable; retry shortly.', { http: { status: 503 } });
}

/**
 * Yoga's error masking, except that an outage of PostgreSQL is reported as
 * such (SERVICE_UNAVAILABLE, HTTP 503): clients may retry, and can tell it
 * from a bug. Everything else unexpected stays masked and is logged.
 */
export function createMaskError(logger: Logger): typeof maskError {
  return (error, message, isDev) => {
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error }, 'database unavailable');
      return serviceUnavailable();
    }
    return maskError(error, message, isDev);
  };
}
