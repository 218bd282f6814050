import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayMetrics } from './metrics.ts';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * Refuses request bodies over `maxBytes` with 413 before Yoga reads them:
 * by Content-Length when announced, by counting otherwise.
 */
export function withBodyLimit(maxBytes: number, next: RequestHandler): RequestHandler {
  return (req, res) => {
    const announced = Number(req.headers['content-length'] ?? 0);
    const message = `request body exceeds ${maxBytes} bytes`;
    if (announced > maxBytes) {
      req.resume();
      refuse(res, 413, 'PAYLOAD_TOO_LARGE', message);
      return;
    }
    if (req.headers['transfer-encoding']) {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) {
          refuse(res, 413, 'PAYLOAD_TOO_LARGE', message);
          req.destroy();
        }
      });
    }
    next(req, res);
  };
}

/** Serves Prometheus metrics at /metrics, behind a bearer token when one is configured. */
export function withMetrics(metrics: GatewayMetrics, token: string | undefined, next: RequestHandler): RequestHandler {
  return (req, res) => {
    if (req.url !== '/metrics' || req.method !== 'GET') {
      next(req, res);
      return;
    }
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      refuse(res, 401, 'UNAUTHENTICATED', 'metrics need the metrics token');
      return;
    }
    metrics.registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
      },
      () => refuse(res, 500, 'INTERNAL_SERVER_ERROR', 'metrics unavailable'),
    );
  };
}
