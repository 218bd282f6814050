import type { IncomingMessage } from 'node:http';
import { getCORSHeadersByRequestAndOptions, type CORSOptions } from '@whatwg-node/server';

export type CorsPolicy = (request: Request) => CORSOptions;

/**
 * Which browser origins may call the API cross-origin. Tokens travel in the
 * Authorization header, never in cookies, so credentials are allowed only for
 * the origins listed in JOBGATE_CORS_ORIGINS; `*` (or an empty list) lets any
 * other origin call without them. Preflights (OPTIONS) are answered by Yoga.
 */
export function corsPolicy(allowed: readonly string[]): CorsPolicy {
  const anyOrigin = allowed.length === 0 || allowed.includes('*');
  // `['*']` makes Yoga answer with the request's own origin and `Vary: Origin`.
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin !== null && allowed.includes(origin)) return { origin: ['*'], credentials: true };
    return anyOrigin ? { origin: ['*'], credentials: false } : false;
  };
}

/** The CORS headers Yoga would add, for responses the gateway gives before Yoga (a 401 before the body is read). */
export function corsHeaders(policy: CorsPolicy, req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  const request = new Request('http://gateway/', { headers: { origin } });
  return getCORSHeadersByRequestAndOptions(request, policy(request)) ?? {};
}
