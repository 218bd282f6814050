import { refuse, type RequestHandler } from './http-guards.ts';

export const GRAPHQL_PATH = '/graphql';

/** Where Yoga serves GraphQL; every request there is authenticated first (withAuthentication). */
export const GRAPHQL_PATHS: ReadonlySet<string> = new Set([GRAPHQL_PATH, `${GRAPHQL_PATH}/`]);
const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

export function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?', 1)[0]!;
}

/**
 * Lets only Yoga's own routes reach it. Yoga matches them by the end of the
 * whole URL: `/anything/graphql`, or `/health?x=/graphql`, would run as a
 * GraphQL request (its body read) without passing withAuthentication. So
 * other paths are answered 404 here, and the probes reach Yoga without
 * their query string.
 */
export function withYogaRoutes(next: RequestHandler): RequestHandler {
  return (req, res) => {
    const path = pathOf(req.url);
    if (PROBE_PATHS.has(path)) req.url = path;
    else if (!GRAPHQL_PATHS.has(path)) {
      refuse(res, 404, 'NOT_FOUND', 'no such route');
      return;
    }
    next(req, res);
  };
}
