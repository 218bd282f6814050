import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuse, type RequestHandler } from './http-guards.ts';
import type { GatewayMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function isMetricsRequest(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.url ?? '').split('?', 1)[0] === METRICS_PATH;
}

function serve(metrics: GatewayMetrics, token: string | undefined, req: IncomingMessage, res: ServerResponse): void {
  if (token && !tokenMatches(req.headers.authorization, token)) {
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
}

/**
 * The metrics listener (JOBGATE_METRICS_HOST/PORT, loopback by default):
 * /metrics, behind the metrics token when one is configured; nothing else.
 */
export function metricsListener(metrics: GatewayMetrics, token: string | undefined): RequestHandler {
  return (req, res) => {
    if (isMetricsRequest(req)) serve(metrics, token, req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
  };
}

/**
 * /metrics on the API port: only with a metrics token configured (its labels
 * carry tenant ids and queue names); without one the route does not exist there.
 */
export function withMetrics(metrics: GatewayMetrics, token: string | undefined, next: RequestHandler): RequestHandler {
  return (req, res) => {
    if (token && isMetricsRequest(req)) serve(metrics, token, req, res);
    else next(req, res);
  };
}
