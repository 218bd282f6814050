import type { CORSOptions } from '@whatwg-node/server';

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
