import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** How long a refused request's connection stays half-open after the answer, dropping what still arrives. */
const LINGER_MS = 2_000;

/**
 * node:http closes a `Connection: close` response's socket as soon as the
 * answer is written (`destroySoon`); body bytes that arrive after that make
 * the kernel reset the connection, which can destroy the answer before the
 * client reads it. This socket instead only ends its side, keeps reading
 * (node:http drops the rest of the body unread) and goes after LINGER_MS or
 * when the client closes.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
  };
}

/** Answers with a GraphQL error and closes the connection: whatever of the body is left is not read. */
export function refuse(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): void {
  if (res.headersSent) return;
  if (res.socket) lingerOnClose(res.socket);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }] }));
}

/**
 * Deepest nesting of arrays and objects accepted in a request's JSON (an HTTP
 * body, graphql-ws variables). Far beyond any real document, and far below
 * what the recursive code that handles job data (JSON.stringify, pg, the
 * GraphQL executor) survives: deeper input would fail there with
 * INTERNAL_SERVER_ERROR instead of BAD_USER_INPUT.
 */
export const MAX_JSON_DEPTH = 1_000;

/**
 * Follows the nesting depth of JSON text fed chunk by chunk (brackets inside
 * strings do not count; the bytes it looks at never occur inside a UTF-8
 * sequence). Returns true once the depth exceeds `maxDepth`.
 */
export function jsonDepthGauge(maxDepth: number): (chunk: Uint8Array) => boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === 0x5c) escaped = true;
        else if (byte === 0x22) inString = false;
      } else if (byte === 0x22) inString = true;
      else if (byte === 0x5b || byte === 0x7b) {
        if (++depth > maxDepth) return true;
      } else if (byte === 0x5d || byte === 0x7d) depth--;
    }
    return false;
  };
}

/** Whether a parsed JSON value nests deeper than `maxDepth` (without recursion). */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Refuses request bodies over `maxBytes` with 413 before Yoga reads them:
 * by Content-Length when announced, by counting otherwise. Refuses JSON
 * bodies nested deeper than `maxDepth` with 400 (BAD_USER_INPUT) before Yoga
 * parses and runs them.
 */
export function withBodyLimit(maxBytes: number, next: RequestHandler, maxDepth = MAX_JSON_DEPTH): RequestHandler {
  return (req, res) => {
    const announced = Number(req.headers['content-length'] ?? 0);
    const message = `request body exceeds ${maxBytes} bytes`;
    if (announced > maxBytes) {
      req.resume();
      refuse(res, 413, 'PAYLOAD_TOO_LARGE', message);
      return;
    }
    const counting = Boolean(req.headers['transfer-encoding']);
    const tooDeep = /json/i.test(req.headers['content-type'] ?? '') ? jsonDepthGauge(maxDepth) : null;
    if (counting || tooDeep) {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (counting && received > maxBytes) {
          refuse(res, 413, 'PAYLOAD_TOO_LARGE', message);
          req.destroy();
        } else if (tooDeep?.(chunk)) {
          // Destroying the request keeps Yoga from ever running it.
          refuse(res, 400, 'BAD_USER_INPUT', `request JSON is nested deeper than ${maxDepth} levels`);
          req.destroy();
        }
      });
    }
    next(req, res);
  };
}
