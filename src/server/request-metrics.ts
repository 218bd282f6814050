import type { ServerResponse } from 'node:http';
import type { Histogram } from 'prom-client';
import type { RequestHandler } from './http-guards.ts';

const ROUTES = ['/graphql', '/dashboard', '/health', '/ready', '/metrics'] as const;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The route a request URL belongs to, from a closed set: never the URL itself (unique per request, query strings carry secrets). */
export function routeLabel(url: string | undefined): string {
  const path = (url ?? '/').split('?', 1)[0]!;
  return ROUTES.find((route) => path === route || path.startsWith(`${route}/`)) ?? 'other';
}

export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : 'other';
}

/** `2xx` … `5xx`; `aborted` when the connection closed before any response was sent (a timeout, a client gone). */
export function statusLabel(res: ServerResponse): string {
  return res.headersSent ? `${Math.floor(res.statusCode / 100)}xx` : 'aborted';
}

/** Observes every HTTP request (401s and 404s included) by route, method and status class. */
export function withRequestMetrics(histogram: Histogram<'route' | 'method' | 'status'>, next: RequestHandler): RequestHandler {
  return (req, res) => {
    const stop = histogram.startTimer({ route: routeLabel(req.url), method: methodLabel(req.method) });
    res.once('close', () => stop({ status: statusLabel(res) }));
    next(req, res);
  };
}
